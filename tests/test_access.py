"""Partners' access: exactly their namespaces, hosts and the hub's Bastion, with the documented roles; prd
read-only unless a reasoned opt-in says otherwise; the login extension on every ICM 7.10 host."""

from __future__ import annotations

import copy

import pytest

from caas import specs
from caas.mocks import arm_id
from caas.plan import Plan, Project
from caas.specs.access import COMMAND_INVOKE_ACTIONS, facts
from caas.stack_outputs import derive as shared_outputs
from tests.conftest import ROOT, assert_reported, parse, stack_data

# learn.microsoft.com, "Azure built-in roles".
CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
RBAC_READER = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"
RBAC_WRITER = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
VM_USER_LOGIN = "fb879df8-f326-4884-b1cf-06f3ad86be52"
VM_ADMIN_LOGIN = "1c0163c0-47e6-4577-8991-ea5c82e286e4"
ENVS = ("int", "uat", "prd")
STOREFRONT = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"  # apps: [pwa]
BACKEND = "2b3c4d5e-6f70-4a81-9b2c-3d4e5f6a7b8c"  # icm710Systems: int/uat [live, edit], prd [edit]


def group_grants(plan: Plan, group: str) -> set[tuple[str, str]]:
    """(role definition GUID, scope) of every role assignment to the group in the rendered plan."""
    return {
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[1], r.inputs["scope"])
        for r in plan.find("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == group
    }


def ids(plan: Plan, token: str, name: str) -> dict[str, str]:
    """Physical name -> ARM id of the plan's resources of a type (the ids the offline plan's mocks give them)."""
    return {r.inputs[name]: arm_id(r.type, r.name, r.inputs) for r in plan.find(token)}


@pytest.mark.parametrize("stack", ENVS)
def test_deployed_assignments_are_the_exported_facts(plans: dict[str, Plan], stack: str) -> None:
    """What the runbooks and the partnerAccess output tell a partner is exactly what the stack assigns."""
    plan = plans[stack]
    exported = plan.outputs["partnerAccess"]
    assert {a["groupObjectId"] for a in exported} == {STOREFRONT, BACKEND}
    for access in exported:
        said = {(g["roleDefinitionId"], g["scope"]) for g in access["roles"]}
        assert said == group_grants(plan, access["groupObjectId"])
        assert all(
            r.inputs["principalType"] == "Group"
            for r in plan.find("azure-native:authorization:RoleAssignment")
            if r.inputs["principalId"] == access["groupObjectId"]
        )


@pytest.mark.parametrize(("stack", "role"), [("int", RBAC_WRITER), ("uat", RBAC_WRITER), ("prd", RBAC_READER)])
def test_namespace_partner_gets_its_namespaces_and_the_cluster_only(
    plans: dict[str, Plan], stack: str, role: str
) -> None:
    """The PWA partner: the environment's namespace role on the two PWA namespaces and nothing else in the
    cluster; Cluster User and the command-invoke role on the cluster; no host, VNet or Bastion rights."""
    plan = plans[stack]
    cluster = plan.outputs["aksClusterId"]
    pwa = sorted(w.namespace for w in specs.derive(Project.at(ROOT).load(stack)[0]).workloads if w.app == "pwa")
    invoke = next(r for r in plan.find("azure-native:authorization:RoleDefinition"))
    assert group_grants(plan, STOREFRONT) == {
        (CLUSTER_USER, cluster),
        (invoke.inputs["roleDefinitionId"], cluster),
        *((role, f"{cluster}/namespaces/{ns}") for ns in pwa),
    }
    assert len(pwa) == 2


@pytest.mark.parametrize("stack", ENVS)
def test_command_invoke_role_is_defined_and_assignable_on_the_cluster_only(plans: dict[str, Plan], stack) -> None:
    """One custom role per cluster with exactly the two command-invoke actions, defined on and assignable at
    the cluster, named for the customer and environment."""
    plan = plans[stack]
    cluster = plan.outputs["aksClusterId"]
    (definition,) = plan.find("azure-native:authorization:RoleDefinition")
    assert definition.inputs["permissions"] == [{"actions": list(COMMAND_INVOKE_ACTIONS)}]
    assert set(COMMAND_INVOKE_ACTIONS) == {
        "Microsoft.ContainerService/managedClusters/runcommand/action",
        "Microsoft.ContainerService/managedclusters/commandResults/read",
    }
    assert definition.inputs["scope"] == cluster and definition.inputs["assignableScopes"] == [cluster]
    assert definition.inputs["roleName"] == f"acme {stack} AKS command invoke"
    assert definition.inputs["roleType"] == "CustomRole"
    other = {plans[s].find("azure-native:authorization:RoleDefinition")[0].inputs["roleDefinitionId"] for s in ENVS}
    assert len(other) == 3  # distinct per environment: role definition names are unique in the tenant


@pytest.mark.parametrize(("stack", "systems"), [("int", {"live", "edit"}), ("prd", {"edit"})])
def test_host_partner_gets_its_systems_hosts_and_the_bastion_only(
    plans: dict[str, Plan], stack: str, systems: set[str]
) -> None:
    """The ICM 7.10 partner: user login (never admin) and Reader on each VM of its systems, Reader on each of
    their NICs, on the environment's VNet and on the shared Bastion (the id the shared stack exports)."""
    plan = plans[stack]
    vms = {
        n: i
        for n, i in ids(plan, "azure-native:compute:VirtualMachine", "vmName").items()
        if n.split("-")[-2] in systems
    }
    nics = {
        n: i
        for n, i in ids(plan, "azure-native:network:NetworkInterface", "networkInterfaceName").items()
        if n.split("-")[-2] in systems
    }
    assert vms and len(nics) == len(vms)
    vnet = plan.outputs["vnetId"]
    bastion = shared_outputs(Project.at(ROOT).load("shared")[0])["bastionId"]
    assert group_grants(plan, BACKEND) == {
        (READER, bastion),
        (READER, vnet),
        *((READER, vm) for vm in vms.values()),
        *((VM_USER_LOGIN, vm) for vm in vms.values()),
        *((READER, nic) for nic in nics.values()),
    }
    assert all(role != VM_ADMIN_LOGIN for role, _ in group_grants(plan, BACKEND))


@pytest.mark.parametrize("stack", ENVS)
def test_every_icm710_host_has_the_entra_login_extension_and_an_identity(plans: dict[str, Plan], stack) -> None:
    """Entra ID SSH works on every host: the AADSSHLoginForLinux extension (1.0) and a system-assigned identity;
    the operators' keys stay the only SSH keys."""
    plan = plans[stack]
    vms = plan.find("azure-native:compute:VirtualMachine")
    logins = [
        e
        for e in plan.find("azure-native:compute:VirtualMachineExtension")
        if e.inputs["type"] == "AADSSHLoginForLinux"
    ]
    assert sorted(e.inputs["vmName"] for e in logins) == sorted(vm.inputs["vmName"] for vm in vms)
    for e in logins:
        assert e.inputs["publisher"] == "Microsoft.Azure.ActiveDirectory"
        assert e.inputs["typeHandlerVersion"] == "1.0" and e.inputs["autoUpgradeMinorVersion"] is True
    operators = set(Project.at(ROOT).load(stack)[0].icm710.ssh_public_keys)
    for vm in vms:
        assert vm.inputs["identity"]["type"] == "SystemAssigned"
        keys = vm.inputs["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"]
        assert {k["keyData"] for k in keys} == operators


def _prd_with(**storefront) -> list:
    data = copy.deepcopy(stack_data("prd"))
    data["caas:partners"] = [{**data["caas:partners"][0], **storefront}, data["caas:partners"][1]]
    return facts(specs.derive(parse(data, "prd")).access)


def test_prd_is_read_only_unless_a_reasoned_opt_in_says_otherwise() -> None:
    """In prd a partner reads its namespaces; prdWrite with a reason grants Writer there (and records why),
    on the same namespaces only."""
    default, opted = _prd_with()[0], _prd_with(prdWrite=True, prdWriteReason="on-call for storefront hotfixes")[0]
    reads = {g.scope for g in default.grants if g.kind == "namespace" and g.role_id == RBAC_READER}
    writes = {g.scope for g in opted.grants if g.kind == "namespace" and g.role_id == RBAC_WRITER}
    assert not default.writes and default.write_reason is None and len(reads) == 2
    assert opted.writes and opted.write_reason == "on-call for storefront hotfixes" and writes == reads
    assert not any(g.role_id == RBAC_READER for g in opted.grants)


@pytest.mark.parametrize(
    ("stack", "partner", "key", "text"),
    [
        ("prd", {"prdWrite": True}, "caas:partners[0].prdWriteReason", "required with prdWrite"),
        ("prd", {"prdWriteReason": "because we say so"}, "caas:partners[0].prdWriteReason", "prdWrite is false"),
        ("int", {"prdWrite": True, "prdWriteReason": "hotfix duty"}, "caas:partners[0].prdWrite", "already write"),
        ("prd", {"icm710Systems": ["stage"]}, "caas:partners[0].icm710Systems[0]", "'live' or 'edit'"),
        ("prd", {"groupObjectId": "7C1D2E3F"}, "caas:partners[0].groupObjectId", "Entra ID group object id"),
        ("prd", {"apps": ["microservices"]}, "caas:partners[0].apps", "'microservices' is not on in caas:apps"),
        ("prd", {"apps": [], "icm710Systems": []}, "caas:partners[0]", "nothing to grant"),
        ("prd", {"name": "backend-agency"}, "caas:partners[1].name", "used twice"),
    ],
)
def test_bad_partner_config_is_reported_on_its_key(stack: str, partner: dict, key: str, text: str) -> None:
    def mutate(data: dict) -> None:
        data["caas:partners"][0].update(partner)

    assert_reported(stack, mutate, key, text)


def test_icm710_systems_need_icm710_and_partners_need_an_environment() -> None:
    """Host access without ICM 7.10 and partners in the shared stack are refused with their key."""
    assert_reported(
        "shared",
        lambda d: d.update({"caas:partners": [{"name": "x", "groupObjectId": BACKEND, "apps": ["pwa"]}]}),
        "caas:partners",
        "granted per environment",
    )
    data = copy.deepcopy(stack_data("prd"))
    data["caas:apps"] = {**data["caas:apps"], "icm710": False, "icm11": True}
    data["caas:partners"] = [{"name": "x", "groupObjectId": BACKEND, "icm710Systems": ["live"]}]
    with pytest.raises(Exception, match=r"caas:partners\[0\]\.icm710Systems: ICM 7.10 is not on"):
        parse(data, "prd")
