"""The stack diff: uat is production-like, and every way it differs from prd is declared."""

from __future__ import annotations

import base64
import copy
import json
import sys
from ipaddress import IPv4Address
from types import SimpleNamespace

import pytest

from caas import cli
from caas import config as model
from caas import diff as stack_diff
from caas.config import EstateConfig
from caas.diff import Change, Declaration, Normaliser, Renderer, Report, Stack
from caas.mocks import _extra_outputs
from caas.plan import Plan, Project
from caas.specs import derive
from components.roles import ROLES
from tests.conftest import ROOT, parse, stack_data

DR_GROUP = ("azure-native:resources:ResourceGroup", "foundation-dr-rg", "")
LOCK = ("azure-native:authorization:ManagementLockAtResourceGroupLevel", "foundation-rg-lock", "")
VAULT = "azure-native:keyvault:Vault"


@pytest.fixture(scope="session")
def renderer(project: Project, plans: dict[str, Plan], counterfactuals: dict) -> Renderer:
    """Shares the shipped plans and the counterfactual renders (made ahead, in parallel) between the diffs."""
    renderer = Renderer(project, plans)
    renderer._counterfactuals.update(counterfactuals)
    return renderer


@pytest.fixture(scope="session")
def uat_prd(project: Project, renderer: Renderer) -> Report:
    """uat against prd; its two counterfactual renders come from the renderer's cache."""
    return stack_diff.diff(project, "uat", "prd", renderer=renderer)


def cfg(stack: str) -> EstateConfig:
    return parse(stack_data(stack), stack)


def test_shipped_uat_has_no_undeclared_difference_from_prd(uat_prd: Report) -> None:
    """CI's gate: every difference between the shipped uat and prd is declared, so the exit status is 0."""
    assert uat_prd.changes, "uat and prd differ (protection, DR, retention); an empty diff means nothing compared"
    assert uat_prd.undeclared == [] and uat_prd.exit_code == 0
    assert uat_prd.unseparated == []


def test_declared_differences_name_their_source(uat_prd: Report) -> None:
    """Protection comes from the profile; a retention the data model keys by environment is a model default."""
    source = {c.key: c.source for c in uat_prd.changes}
    assert source[LOCK] == source[(VAULT, "keyvault-vault", "opts.protect")] == "profile/config"
    pitr = ("azure-native:resources:Resource", "icm-database-db-live-pitr", "properties.retentionDays")
    assert source[pitr] == "model default"
    grant = ("azure-native:authorization:RoleAssignment", "k8s-pwa-live-partner-storefront-agency", "roleDefinitionId")
    assert source[grant] == "model default"  # the partner's role per environment, a table in the model
    assert {c.source for c in uat_prd.changes} == {"profile/config", "model default"}


def test_declarations_are_the_profile_fields_and_config_keys_that_differ(uat_prd: Report) -> None:
    """Declarations are exactly the differing effective-profile fields and differing stack-file keys."""
    uat, prd = cfg("uat"), cfg("prd")
    profile = {
        f"profile.{field.alias}"
        for name, field in type(uat.profile).model_fields.items()
        if getattr(uat.profile, name) != getattr(prd.profile, name)
    }
    a, b = stack_data("uat"), stack_data("prd")
    config = {k for k in set(a) | set(b) if a.get(k) != b.get(k)} - {"caas:environment", "caas:profile"}
    assert {"profile.protect", "profile.scale", "caas:network"} <= profile | config
    assert [d.key for d in uat_prd.declarations] == [*(k for k in uat_prd_order(profile)), *sorted(config)]
    protect = next(d for d in uat_prd.declarations if d.key == "profile.protect")
    assert (protect.a, protect.b) == (False, True)


def uat_prd_order(keys: set[str]) -> list[str]:
    """Profile declarations come in the Profile's field order."""
    order = [f"profile.{field.alias}" for field in type(cfg("uat").profile).model_fields.values()]
    return [k for k in order if k in keys]


def test_environment_specific_values_are_normalised(uat_prd: Report) -> None:
    """Names, address ranges, hostnames and generated ids never show up as differences."""
    text = json.dumps([[c.a, c.b] for c in uat_prd.changes])
    for raw in ("-uat-", "-prd-", "acmeuat", "acmeprd", "10.42.", "10.43.", "uat-shop"):
        assert raw not in text
    settings = {c.setting for c in uat_prd.changes}
    assert not any(s.startswith(("tags", "resourceGroupName", "location")) for s in settings)
    # Subnets in both stacks differ only in their ranges, which are the same tokens on both sides.
    assert [c for c in uat_prd.changes if c.type == "azure-native:network:Subnet" and c.kind == "changed"] == []


def test_reverse_direction_falls_back_to_the_valid_counterfactual(
    project: Project, renderer: Renderer, uat_prd: Report, plans: dict[str, Plan]
) -> None:
    """prd refuses uat's weaker profile, so prd-vs-uat labels with uat rendered with prd's declarations (the
    render uat-vs-prd made already); the verdict and labels mirror uat-vs-prd."""

    class NoBranching(Renderer):
        """uat's model deployed as prd renders like uat itself when no code branches on the environment (the
        shipped verdict above shows none); standing in for that render keeps this test render-free."""

        def counterfactual(self, stack: Stack, disguise: str | None = None) -> tuple[Plan, EstateConfig]:
            if disguise is not None:
                return plans["uat"], stack.cfg
            return super().counterfactual(stack, disguise)

    reverse = NoBranching(project, plans)
    reverse._counterfactuals = renderer._counterfactuals
    report = stack_diff.diff(project, "prd", "uat", renderer=reverse)
    assert report.exit_code == 0 and report.unseparated == []
    flipped = {"added": "missing", "missing": "added", "changed": "changed"}
    assert {(c.key, flipped[c.kind], c.source) for c in report.changes} == {
        (c.key, c.kind, c.source) for c in uat_prd.changes
    }


def test_explain_attributes_what_leaving_a_declaration_out_brings_back() -> None:
    """A difference is explained by each declaration whose absence makes it reappear; a declaration the
    model cannot do without is listed as not separable."""
    decls = (Declaration("profile.protect", False, True), Declaration("caas:network", {}, {}))
    change = Change("added", VAULT, "v", "", None, "present", "profile/config")
    remaining: dict = {}

    def residue(skip: frozenset[str]) -> dict:
        if "caas:network" in skip:
            raise model.ConfigError(["rejected"])
        return {change.key: change} if "profile.protect" in skip else {}

    way = SimpleNamespace(decls=decls, residue=residue)
    report = Report("uat", "prd", list(decls), [change])
    stack_diff._explain(report, way, remaining, None)  # type: ignore[arg-type]
    assert report.changes[0].declared_by == ("profile.protect",)
    assert report.unexplained == ["caas:network"]
    assert "declared (profile.protect)" in stack_diff.as_table(report)


def test_morph_applies_the_other_stacks_declarations(project: Project) -> None:
    """The counterfactual config is A's, with B's effective profile and B's differing keys, except skipped ones."""
    a, b = Stack.load(project, "uat"), Stack.load(project, "prd")
    decls = stack_diff.declarations(a, b)
    morphed = stack_diff.morph(a, b, decls, skip=frozenset({"profile.protect"}))
    profile = json.loads(morphed.raw["caas:profile"])
    assert profile["protect"] is False and profile["disasterRecovery"] is True and profile["scale"] == "production"
    assert morphed.raw["caas:network"] == b.raw["caas:network"]
    assert morphed.raw["caas:environment"] == "uat" and morphed.name == "uat"


def test_a_changed_prd_setting_without_declaration_fails(
    project: Project, renderer: Renderer, plans: dict[str, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    """prd's plan with one input changed that nothing declares: exactly that setting is undeclared."""
    patched = copy.deepcopy(plans["prd"])
    vault = patched.one(VAULT, "keyvault-vault")
    vault.inputs["properties"]["enableRbacAuthorization"] = False
    monkeypatch.setitem(renderer.rendered, "prd", patched)
    report = stack_diff.diff(project, "uat", "prd", renderer=renderer)
    assert report.exit_code == 1
    assert [(c.key, c.a, c.b) for c in report.undeclared] == [
        ((VAULT, "keyvault-vault", "properties.enableRbacAuthorization"), True, False)
    ]


def test_the_undeclared_check_render_shows_code_the_other_environment(renderer: Renderer, uat_prd: Report) -> None:
    """In the render that finds undeclared differences, component code sees uat while every name, size and
    protection the model derives is prd's (here: the foundation's lock note against the resource group name).
    So a component branching on the environment renders differently there than in prd: undeclared."""
    disguised = [plan for (name, _, _, disguise), (plan, _) in renderer._counterfactuals.items() if disguise]
    assert len(disguised) == 1 and uat_prd.changes
    lock = disguised[0].one("azure-native:authorization:ManagementLockAtResourceGroupLevel", "foundation-rg-lock")
    assert lock.inputs["notes"].startswith("uat estate of acme")
    assert lock.inputs["resourceGroupName"] == "rg-acme-prd-weu"
    # A component looking up a model table by the environment it sees (the partner's role) gets prd's row.
    grant = disguised[0].one("azure-native:authorization:RoleAssignment", "k8s-pwa-live-partner-storefront-agency")
    assert grant.inputs["roleDefinitionId"].endswith(ROLES["Azure Kubernetes Service RBAC Reader"])


def test_model_tables_keyed_by_environment_answer_for_the_rendered_model() -> None:
    """During the undeclared-check render a model table keyed by environment gives the rendered model's row for
    the environment code sees, whoever imported it; afterwards it is as before. Tables outside the model stay."""
    inside, outside = {"uat": "writer", "prd": "reader"}, {"uat": "writer", "prd": "reader"}
    modules = {"caas.sections.probe": SimpleNamespace(TABLE=inside), "components.probe": SimpleNamespace(T=outside)}
    with pytest.MonkeyPatch.context() as patch:
        for name, module in modules.items():
            patch.setitem(sys.modules, name, module)
        with stack_diff._environment_tables("prd", "uat"):
            assert inside["uat"] == "reader" and outside["uat"] == "writer"
    assert inside == {"uat": "writer", "prd": "reader"}


def test_model_defaults_are_fixed_before_the_environment_is_swapped() -> None:
    """The undeclared-check render sees B's derived facts (a default keyed by environment included) while
    code outside the model reads A's environment; fields other than the environment are B's."""
    prd = cfg("prd")
    disguised = stack_diff._disguised(prd, "uat")
    assert disguised.environment == "uat"
    assert derive(disguised).tag_set["environment"] == "prd" and derive(disguised).names.env == "prd"
    assert derive(disguised).hostnames == derive(prd).hostnames and disguised.profile == prd.profile
    assert disguised.network == prd.network and isinstance(disguised, EstateConfig)


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


def test_ids_written_in_the_code_stay_verbatim() -> None:
    """A built-in role id is a constant, not a generated id: choosing another role stays a difference."""
    writer, reader = ROLES["Azure Kubernetes Service RBAC Writer"], ROLES["Azure Kubernetes Service RBAC Reader"]
    assert {writer, reader} <= stack_diff._constants()
    a: dict = {("t", "x"): {"roleDefinitionId": f"/roleDefinitions/{writer}"}}
    b: dict = {("t", "x"): {"roleDefinitionId": f"/roleDefinitions/{reader}"}}
    stack_diff._opaque_ids(a, b, keep=stack_diff._constants())
    assert a[("t", "x")]["roleDefinitionId"].endswith(writer) and b[("t", "x")]["roleDefinitionId"].endswith(reader)


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
