"""Partners' access: exactly their namespaces, hosts and the hub's Bastion, with the documented roles; prd
read-only unless a reasoned opt-in says otherwise; the login extension on every ICM 7.10 host."""

from __future__ import annotations

import copy
import dataclasses
import json
import re

import pytest

from caas import init, specs
from caas.delivery import for_project
from caas.mocks import arm_id
from caas.plan import Plan, Project
from caas.runbooks.access import access as access_section
from caas.runbooks.context import context
from caas.runbooks.markdown import Shell
from caas.specs.access import facts
from caas.stack_outputs import derive as shared_outputs
from tests.conftest import EXAMPLE, ROOT, assert_reported, parse, problems, stack_data

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


def defined_custom_role(directory=ROOT) -> tuple[str, dict]:
    """(GUID, request body) of the custom role that caas init PUTs for the customer of ``directory``."""
    d = for_project(Project.at(directory))
    plan_steps, _ = init.plan(d, ())
    (step,) = [s for s in plan_steps if "/providers/Microsoft.Authorization/roleDefinitions/" in " ".join(s.command)]
    url = step.command[step.command.index("--url") + 1]
    assert step.command[:5] == ("az", "rest", "--method", "PUT", "--url")
    return url.split("/roleDefinitions/")[1].split("?")[0], json.loads(step.command[step.command.index("--body") + 1])


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
    invoke, _ = defined_custom_role()
    assert group_grants(plan, STOREFRONT) == {
        (CLUSTER_USER, cluster),
        (invoke, cluster),
        *((role, f"{cluster}/namespaces/{ns}") for ns in pwa),
    }
    assert len(pwa) == 2


def test_init_defines_the_one_command_invoke_role_and_no_stack_defines_roles(
    plans: dict[str, Plan], example_plans: dict[str, Plan]
) -> None:
    """One custom role per customer, created by init with exactly the two command-invoke actions (as spelled on
    learn.microsoft.com, "Access a private AKS cluster using the command invoke feature"), assignable in the
    subscription; the stacks define no role and assign this one on their cluster only."""
    guid, body = defined_custom_role()
    other, _ = defined_custom_role(EXAMPLE)
    assert guid != other  # role names and ids are per customer in a shared tenant
    props = body["properties"]
    assert props["roleName"] == "acme CaaS AKS command invoke"
    assert props["type"] == "CustomRole"
    assert props["permissions"] == [
        {
            "actions": [
                "Microsoft.ContainerService/managedClusters/runcommand/action",
                "Microsoft.ContainerService/managedclusters/commandResults/read",
            ],
            "notActions": [],
        }
    ]
    assert props["assignableScopes"] == ["/subscriptions/${SUBSCRIPTION_ID}"]
    for rendered in (plans, example_plans):
        assert not any(plan.find("azure-native:authorization:RoleDefinition") for plan in rendered.values())
    for stack in ENVS:
        plan = plans[stack]
        invokes = [
            r.inputs
            for r in plan.find("azure-native:authorization:RoleAssignment")
            if r.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{guid}")
        ]
        # referenced like a built-in role: the subscription-scoped id, no lookup of the definition
        assert all(
            re.fullmatch(
                rf"/subscriptions/[^/]+/providers/Microsoft\.Authorization/roleDefinitions/{guid}",
                a["roleDefinitionId"],
            )
            for a in invokes
        )
        assert {a["scope"] for a in invokes} == {plan.outputs["aksClusterId"]}


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
    assert vms
    assert len(nics) == len(vms)
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
        assert e.inputs["typeHandlerVersion"] == "1.0"
        assert e.inputs["autoUpgradeMinorVersion"] is True
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
    assert not default.writes
    assert default.write_reason is None
    assert len(reads) == 2
    assert opted.writes
    assert opted.write_reason == "on-call for storefront hotfixes"
    assert writes == reads
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


def test_runbook_of_a_stack_without_aks_still_shows_the_host_sign_in() -> None:
    """An ICM 7.10-only environment has no cluster, but its partners still sign in to their hosts: the Access
    section keeps the registration and sign-in steps and says nothing about a cluster."""
    data = copy.deepcopy(stack_data("prd"))
    data["caas:apps"] = {"icm710": True}
    data["caas:partners"] = [data["caas:partners"][1]]  # the host partner
    for key in ("caas:aks", "caas:kubernetes"):
        data.pop(key, None)
    cfg = parse(data, "prd")
    assert not specs.derive(cfg).aks_pools
    section = access_section(dataclasses.replace(context(Project.at(ROOT), "prd"), cfg=cfg))
    assert section is not None
    titles = [step.title for step in section.steps]
    assert titles == [
        "Register the partner's Entra ID group in prd",
        "Merge the pull request for prd",
        "Approve the gated stages up to prd",
        "Sign in to an ICM 7.10 host",
    ]
    commands = [s.command.script for s in section.steps if isinstance(s.command, Shell)]
    assert "az network bastion ssh" in commands[-1]
    assert "--auth-type AAD" in commands[-1]
    assert "az aks" not in " ".join(commands)


def test_the_old_partners_key_says_where_it_moved() -> None:
    """A stack file still listing partners under caas:kubernetes gets one line naming the new key."""

    def mutate(data: dict) -> None:
        data["caas:kubernetes"]["partners"] = data.pop("caas:partners")

    assert problems("prd", mutate) == ["Pulumi.prd.yaml: caas:kubernetes.partners: moved to caas:partners"]
