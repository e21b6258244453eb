"""The stack diff: uat is production-like, and every way it differs from prd is declared."""

from __future__ import annotations

import base64
import json
from functools import cached_property
from ipaddress import IPv4Address

import pulumi_azure_native as azure_native
import pytest

from caas import cli, estate
from caas import diff as stack_diff
from caas.config import EstateConfig
from caas.diff import Change, Normaliser, Report
from caas.mocks import _extra_outputs
from caas.plan import Plan, Project
from tests.conftest import ROOT, parse, stack_data

DR_GROUP = ("azure-native:resources:ResourceGroup", "foundation-dr-rg", "")
LOCK = ("azure-native:authorization:ManagementLockAtResourceGroupLevel", "foundation-rg-lock", "")
VAULT = "azure-native:keyvault:Vault"


@pytest.fixture(scope="session")
def uat_prd(project: Project, plans: dict[str, Plan]) -> Report:
    """uat against prd, naming the declaration behind protection (three renders beyond the shipped plans)."""
    return stack_diff.diff(project, "uat", "prd", rendered=plans, explain=["profile.protect"])


def cfg(stack: str) -> EstateConfig:
    return parse(stack_data(stack), stack)


def test_shipped_uat_has_no_undeclared_difference_from_prd(uat_prd: Report) -> None:
    """CI's gate: every difference between the shipped uat and prd is declared, so the exit status is 0."""
    assert uat_prd.changes, "uat and prd differ (protection, DR, retention); an empty diff means nothing compared"
    assert uat_prd.undeclared == [] and uat_prd.exit_code == 0
    assert uat_prd.unseparated == []


def test_declarations_are_the_profile_fields_and_config_keys_that_differ(uat_prd: Report) -> None:
    """Declarations are exactly the differing effective-profile fields and differing stack-file keys."""
    keys = {d.key for d in uat_prd.declarations}
    assert keys == {
        "profile.protect",
        "profile.disasterRecovery",
        "profile.logRetentionDays",
        "profile.backupRedundancy",
        "profile.scale",
        "caas:network",
    }
    protect = next(d for d in uat_prd.declarations if d.key == "profile.protect")
    assert (protect.a, protect.b) == (False, True)


def test_explain_names_the_declaration_behind_each_difference(uat_prd: Report) -> None:
    """Leaving a declaration out brings back exactly the differences it explains."""
    by = {c.key: c.declared_by for c in uat_prd.changes}
    assert by[LOCK] == ("profile.protect",)
    assert by[(VAULT, "keyvault-vault", "opts.protect")] == ("profile.protect",)
    retention = ("azure-native:operationalinsights:Workspace", "observability-workspace", "retentionInDays")
    assert by[retention] == by[DR_GROUP] == ()  # not brought back without protect; others not isolated here


def test_environment_specific_values_are_normalised(uat_prd: Report) -> None:
    """Names, address ranges, hostnames and generated ids never show up as differences."""
    text = json.dumps([[c.a, c.b] for c in uat_prd.changes])
    for raw in ("-uat-", "-prd-", "10.42.", "10.43.", "uat-shop"):
        assert raw not in text
    settings = {c.setting for c in uat_prd.changes}
    assert not any(s.startswith(("tags", "resourceGroupName", "addressPrefix")) for s in settings)
    assert settings <= {"", "opts.protect", "retentionInDays"}


def test_reverse_direction_uses_the_valid_counterfactual(project: Project, plans: dict[str, Plan]) -> None:
    """prd refuses uat's weaker profile, so prd-vs-uat renders uat with prd's declarations; same verdict."""
    report = stack_diff.diff(project, "prd", "uat", rendered=plans)
    assert report.exit_code == 0 and report.unseparated == []
    assert {c.source for c in report.changes} == {"profile/config"}
    kinds = {c.key: c.kind for c in report.changes}
    assert kinds[DR_GROUP] == "missing" and kinds[LOCK] == "missing"


def test_code_branching_on_the_environment_is_undeclared(
    project: Project, plans: dict[str, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prd-only resource created by code that reads the environment itself makes the diff fail (exit 1),
    while a prd-only default the model derives (a tag in cfg.tag_set) counts as declared by the model."""
    original_tags, original_build = EstateConfig.tag_set, estate.build

    def tags(self: EstateConfig) -> dict[str, str]:
        return {**original_tags.func(self), **({"tier": "gold"} if self.environment == "prd" else {})}

    def build(cfg: EstateConfig) -> dict:
        outputs = original_build(cfg)
        if cfg.environment == "prd":
            azure_native.resources.ResourceGroup("sandbox-rg", resource_group_name="rg-sandbox", location="westeurope")
        return outputs

    derived = cached_property(tags)
    derived.__set_name__(EstateConfig, "tag_set")
    monkeypatch.setattr(EstateConfig, "tag_set", derived)
    monkeypatch.setattr(estate, "build", build)
    # uat and shared render as before; prd and the counterfactuals are rendered under the change.
    rendered = {k: v for k, v in plans.items() if k in ("shared", "uat")}
    report = stack_diff.diff(project, "uat", "prd", rendered=rendered)
    assert report.exit_code == 1
    assert [c.key for c in report.undeclared] == [("azure-native:resources:ResourceGroup", "sandbox-rg", "")]
    sources = {c.source for c in report.changes if c.setting == "tags.tier"}
    assert sources == {"model default"}
    assert next(c for c in report.changes if c.key == LOCK).source == "profile/config"


def test_normaliser_tokens_come_from_the_model() -> None:
    """Each stack's own environment, ranges and hostnames become the same tokens; other values stay."""
    uat, prd = Normaliser.of(cfg("uat")), Normaliser.of(cfg("prd"))
    pairs = [
        ("kv-acme-uat-weu", "kv-acme-prd-weu", "kv-acme-<env>-weu"),
        ("stacmeuatweunfs", "stacmeprdweunfs", "stacme<env>weunfs"),
        ("10.42.0.0/22", "10.43.0.0/22", "<subnet.aks>/22"),
        ("10.42.4.10", "10.43.4.10", "<subnet.vms>+10"),
        ("10.42.0.0/20", "10.43.0.0/20", "<addressSpace>/20"),
        ("uat-shop.acme-shop.com", "shop.acme-shop.com", "<host:live.shop>"),
        ("uat-shop-edit-acme-shop-com", "shop-edit-acme-shop-com", "<host-dashed:edit.shop>"),
        ("urn:pulumi:uat::caas-acme::a:b:C::x", "urn:pulumi:prd::caas-acme::a:b:C::x", "urn:a:b:C::x"),
    ]
    for a, b, token in pairs:
        assert uat.text(a) == prd.text(b) == token, (a, b)
    # The hub is the same for all, and words merely containing an environment code are not names.
    int_ = Normaliser.of(cfg("int"))
    for same in ("10.40.0.0/20", "privateEndpoints", "maintenance", "uatx", "Standard_LRS"):
        assert uat.text(same) == prd.text(same) == int_.text(same) == same

    # Base64 (cloud-init) is compared by its normalised text.
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    assert uat.text(b64("host: uat-shop.acme-shop.com\n")) == prd.text(b64("host: shop.acme-shop.com\n"))


def test_generated_ids_compare_by_where_they_are_used() -> None:
    """A GUID or public IP found in one plan only becomes a token naming its first use; config values stay."""
    one, two, three, four = (str(n) * 8 + "-" + "-".join([str(n) * 4] * 3) + "-" + str(n) * 12 for n in range(1, 5))
    a: dict = {("t", "x"): {"principalId": one, "tenant": three, "ips": ["203.0.113.7"], "peer": "198.51.100.1"}}
    b: dict = {("t", "x"): {"principalId": two, "tenant": four, "ips": ["203.0.113.9"], "peer": "198.51.100.2"}}
    stack_diff._opaque_ids(a, b, keep=frozenset({three}))
    assert a[("t", "x")]["principalId"] == b[("t", "x")]["principalId"] == "<id@t::x:principalId>"
    assert a[("t", "x")]["ips"] == b[("t", "x")]["ips"] == ["<id@t::x:ips>"]
    assert a[("t", "x")]["tenant"] != b[("t", "x")]["tenant"]  # a configured id that differs is a difference
    assert a[("t", "x")]["peer"] != b[("t", "x")]["peer"]  # an address outside the generated range as well


def test_mocked_public_addresses_are_in_the_generated_range() -> None:
    """The diff's idea of a generated public address matches what the mocks answer."""
    rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip"
    address = _extra_outputs("azure-native:network:PublicIPAddress", "pip", {}, rid)["ipAddress"]
    assert IPv4Address(address) in stack_diff.GENERATED_ADDRESSES


def test_json_output_lists_every_change_with_its_status(uat_prd: Report) -> None:
    """The JSON form carries the verdict, the declarations and each change."""
    document = json.loads(stack_diff.as_json(uat_prd))
    assert document["undeclared"] == 0 and document["a"] == "uat" and document["b"] == "prd"
    assert len(document["changes"]) == len(uat_prd.changes)
    assert all(c["declared"] for c in document["changes"])
    assert "UNDECLARED" not in stack_diff.as_table(uat_prd)


def test_table_marks_undeclared_differences() -> None:
    """An undeclared change is printed as UNDECLARED, first, and sets exit status 1."""
    report = Report(
        "uat",
        "prd",
        [],
        [Change("changed", VAULT, "keyvault-vault", "properties.sku.name", "standard", "premium", "undeclared")],
    )
    table = stack_diff.as_table(report)
    assert "UNDECLARED  changed  azure-native:keyvault:Vault keyvault-vault  properties.sku.name  standard" in table
    assert report.exit_code == 1


def test_cli_exit_status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """diff exits 1 on an undeclared difference, 0 without, 2 on a stack it cannot compare."""
    undeclared = Change("changed", VAULT, "v", "x", 1, 2, "undeclared")
    for changes, status in (([undeclared], 1), ([], 0)):
        report = Report("uat", "prd", [], changes)
        monkeypatch.setattr(stack_diff, "diff", lambda *args, report=report, **kwargs: report)
        assert cli.main(["diff", "uat", "prd", "--format", "json", "--dir", str(ROOT)]) == status
        assert json.loads(capsys.readouterr().out)["undeclared"] == len(changes)
    monkeypatch.undo()
    assert cli.main(["diff", "shared", "prd", "--dir", str(ROOT)]) == 2
    assert "diff compares environment stacks" in capsys.readouterr().err
    assert cli.main(["diff", "uat", "nope", "--dir", str(ROOT)]) == 2
    assert "Pulumi.nope.yaml: no such stack file" in capsys.readouterr().err
