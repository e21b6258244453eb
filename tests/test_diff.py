"""The stack diff: uat is production-like, and every way it differs from prd is declared."""

from __future__ import annotations

import base64
import copy
import functools
import json
from dataclasses import fields, replace
from ipaddress import IPv4Address

import pytest

from caas import cli
from caas import diff as stack_diff
from caas.config import EstateConfig
from caas.diff import Change, Normaliser, Report, Stack
from caas.mocks import _extra_outputs
from caas.plan import Plan, Project
from caas.specs import derive
from components.roles import ROLES
from tests.conftest import ROOT, parse, stack_data

DR_GROUP = ("azure-native:resources:ResourceGroup", "foundation-dr-rg", "")
LOCK = ("azure-native:authorization:ManagementLockAtResourceGroupLevel", "foundation-rg-lock", "")
VAULT = "azure-native:keyvault:Vault"


@pytest.fixture(scope="session")
def uat_prd(project: Project, plans: dict[str, Plan]) -> Report:
    """uat against prd, on the session's plans."""
    return stack_diff.diff(project, "uat", "prd", plans=plans)


def cfg(stack: str) -> EstateConfig:
    return parse(stack_data(stack), stack)


def test_shipped_uat_has_no_undeclared_difference_from_prd(uat_prd: Report) -> None:
    """CI's gate: every difference between the shipped uat and prd is declared, so the exit status is 0."""
    assert uat_prd.changes, "uat and prd differ (protection, DR, retention); an empty diff means nothing compared"
    assert uat_prd.undeclared == []
    assert uat_prd.exit_code == 0
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
    # Each names the declaration that explains it: the setting's values are the spec difference's.
    declared_by = {c.key: c.declared_by for c in uat_prd.changes}
    assert declared_by[(VAULT, "keyvault-vault", "opts.protect")] == ("profile.protect",)
    assert declared_by[grant] == declared_by[(*grant[:2], "description")] == ("rules.partner_role",)
    assert declared_by[pitr] == ("rules.retention",)
    maintenance = ("azure-native:containerservice:MaintenanceConfiguration", "aks-maintenance-upgrade")
    assert declared_by[(*maintenance, "maintenanceWindow.startTime")] == ("caas:aks.maintenanceWindow.startTime",)


def test_declarations_are_the_profile_fields_rules_and_config_keys_that_differ(uat_prd: Report) -> None:
    """Declarations are exactly the differing effective-profile fields, environment rules and stack-file leaves."""
    uat, prd = cfg("uat"), cfg("prd")
    profile = {
        f"profile.{field.alias}"
        for name, field in type(uat.profile).model_fields.items()
        if getattr(uat.profile, name) != getattr(prd.profile, name)
    }
    rules = [f"rules.{f.name}" for f in fields(uat.rules) if getattr(uat.rules, f.name) != getattr(prd.rules, f.name)]
    a, b = stack_data("uat"), stack_data("prd")
    config = {k for k in set(a) | set(b) if a.get(k) != b.get(k)} - {"caas:environment", "caas:profile"}
    keys = [d.key for d in uat_prd.declarations]
    assert {"profile.protect", "profile.scale", "rules.partner_role", "rules.retention"} <= set(keys)
    assert {
        "caas:network.addressSpace",
        "caas:aks.maintenanceWindow.dayOfWeek",
        "caas:vpn.sites",
    } <= set(keys)
    leaves = keys[len(profile) + len(rules) :]
    assert keys[: len(profile) + len(rules)] == [*uat_prd_order(profile), *rules]
    assert leaves == sorted(leaves)
    assert {k.split(".")[0] for k in leaves} == config
    protect = next(d for d in uat_prd.declarations if d.key == "profile.protect")
    assert (protect.a, protect.b) == (False, True)
    window = next(d for d in uat_prd.declarations if d.key == "caas:aks.maintenanceWindow.startTime")
    assert (window.a, window.b) == (a["caas:aks"]["maintenanceWindow"]["startTime"], "02:00")


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


def test_reverse_direction_mirrors(project: Project, plans: dict[str, Plan], uat_prd: Report) -> None:
    """prd against uat finds the same differences, flipped, with the same verdict and labels."""
    report = stack_diff.diff(project, "prd", "uat", plans=plans)
    assert report.exit_code == 0
    assert report.unexplained == uat_prd.unexplained == []
    flipped = {"added": "missing", "missing": "added", "changed": "changed"}
    assert {(c.key, flipped[c.kind], c.source) for c in report.changes} == {
        (c.key, c.kind, c.source) for c in uat_prd.changes
    }


def test_explain_attributes_what_taking_or_leaving_out_a_declaration_changes() -> None:
    """A spec difference is explained by each declaration that changes it when taken alone, or brings it back when
    left out of all of them (both of two declarations needed together); one that differs with every declaration
    taken is undeclared; a declaration the model cannot take alone is listed as not separable."""
    base = {"alone": 1, "together": 1, "nobody": 1, "same": 1}
    target = {"alone": 2, "together": 2, "nobody": 2, "same": 1}

    def settings_with(keys: frozenset[str]) -> dict | None:
        if keys == {"caas:network"}:
            return None  # rejected by the model
        return {
            "alone": 2 if "profile.scale" in keys else 1,
            "together": 2 if {"profile.disasterRecovery", "caas:network"} <= keys else 1,
            "nobody": 1,
            "same": 1,
        }

    result = stack_diff.attribute(
        base, target, ["profile.scale", "profile.disasterRecovery", "caas:network"], settings_with
    )
    assert result.declared_by == {"alone": ("profile.scale",), "together": ("profile.disasterRecovery", "caas:network")}
    assert result.undeclared == {"nobody"}
    assert result.unexplained == ["caas:network"]
    change = Change("added", VAULT, "v", "", None, "present", "profile/config", ("profile.protect",))
    report = Report("uat", "prd", [], [change], explain=True)
    assert "declared (profile.protect)" in stack_diff.as_table(report)
    assert "declared (profile/config)" in stack_diff.as_table(replace(report, explain=False))


def test_a_variant_takes_exactly_the_named_inputs_from_b(project: Project) -> None:
    """A's model with B's value of the named declarations (a profile field, a rule, a config leaf); the environment
    and everything else stay A's."""
    inputs = stack_diff.Inputs(Stack.load(project, "uat"), Stack.load(project, "prd"))
    uat, prd = inputs.a.cfg, inputs.b.cfg
    variant = inputs.variant({"profile.scale", "rules.partner_role", "caas:aks.maintenanceWindow.startTime"})
    assert variant is not None
    assert variant.environment == "uat"
    assert variant.profile == uat.profile.model_copy(update={"scale": "production"})
    assert variant.rules == replace(uat.rules, partner_role=prd.rules.partner_role)
    assert variant.aks.maintenance_window.start_time == prd.aks.maintenance_window.start_time
    assert variant.aks.maintenance_window.day_of_week == uat.aks.maintenance_window.day_of_week
    assert variant.network == uat.network
    assert variant.monitoring == uat.monitoring
    assert derive(variant).access.namespace_role == prd.rules.partner_role  # type: ignore[union-attr]
    assert derive(uat).access.namespace_role == uat.rules.partner_role  # type: ignore[union-attr]
    gateway = inputs.variant({"caas:vpn.sites"})
    assert gateway is not None
    assert gateway.vpn == prd.vpn


def test_a_changed_prd_setting_without_declaration_fails(project: Project, plans: dict[str, Plan]) -> None:
    """prd's plan with one input changed that nothing declares: exactly that setting is undeclared."""
    patched = copy.deepcopy(plans["prd"])
    vault = patched.one(VAULT, "keyvault-vault")
    vault.inputs["properties"]["enableRbacAuthorization"] = False
    report = stack_diff.diff(project, "uat", "prd", plans={**plans, "prd": patched})
    assert report.exit_code == 1
    assert [(c.key, c.a, c.b) for c in report.undeclared] == [
        ((VAULT, "keyvault-vault", "properties.enableRbacAuthorization"), True, False)
    ]
    assert "KeyVault keyvault" in report.undeclared[0].note


def test_every_component_and_output_has_its_specs(plans: dict[str, Plan], example_plans: dict[str, Plan]) -> None:
    """Each top-level component and stack output of every environment plan (both customers) names the spec paths
    it is built from, and each path exists in the derived specs; unknown ones would be undeclared."""
    spec = derive(cfg("prd"))
    for paths in [*stack_diff.SLICES.values(), *stack_diff.OUTPUT_SLICES.values()]:
        for path in paths:
            functools.reduce(getattr, path.split("."), spec)  # raises on a path that does not exist
    for plan in [plans[s] for s in ("int", "uat", "prd")] + [example_plans[s] for s in ("int", "uat", "prd")]:
        top = {r.type for r in plan.resources if f"{stack_diff.STACK_TYPE}::" in r.parent}
        assert top
        assert top <= stack_diff.SLICES.keys(), top - stack_diff.SLICES.keys()
        assert set(plan.outputs) <= stack_diff.OUTPUT_SLICES.keys()


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
    assert {writer, reader} <= stack_diff.CODE_IDS
    a: dict = {("t", "x"): {"roleDefinitionId": f"/roleDefinitions/{writer}"}}
    b: dict = {("t", "x"): {"roleDefinitionId": f"/roleDefinitions/{reader}"}}
    stack_diff._opaque_ids(a, b, keep=stack_diff.CODE_IDS)
    assert a[("t", "x")]["roleDefinitionId"].endswith(writer)
    assert b[("t", "x")]["roleDefinitionId"].endswith(reader)


def test_mocked_public_addresses_are_in_the_generated_range() -> None:
    """The diff's idea of a generated public address matches what the mocks answer."""
    rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip"
    address = _extra_outputs("azure-native:network:PublicIPAddress", {}, rid)["ipAddress"]
    assert IPv4Address(address) in stack_diff.GENERATED_ADDRESSES


def test_json_output_lists_every_change_with_its_status(uat_prd: Report) -> None:
    """The JSON form carries the verdict, the declarations and each change."""
    document = json.loads(stack_diff.as_json(uat_prd))
    assert document["undeclared"] == 0
    assert document["a"] == "uat"
    assert document["b"] == "prd"
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
        monkeypatch.setattr(stack_diff, "diff", lambda *_args, report=report, **_kwargs: report)
        assert cli.main(["diff", "uat", "prd", "--format", "json", "--dir", str(ROOT)]) == status
        assert json.loads(capsys.readouterr().out)["undeclared"] == len(changes)
    monkeypatch.undo()
    assert cli.main(["diff", "shared", "prd", "--quick", "--dir", str(ROOT)]) == 2
    assert "diff compares environment stacks" in capsys.readouterr().err
    assert cli.main(["diff", "uat", "nope", "--dir", str(ROOT)]) == 2
    assert "Pulumi.nope.yaml: no such stack file" in capsys.readouterr().err
