"""Components built one at a time from a small spec under the recording mocks (tests/helpers.py).

Each test builds ONE component from a slice of a shipped stack's specs, with the Azure ids other areas would
hand over, and checks what the component decides from that slice: protection, toggles, and the relations
between its children (which id a child targets, which grant a read waits for).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from caas.mocks import RecordingMocks, RecordingMonitor, arm_id
from caas.plan import Plan
from caas.specs import EstateSpec, derive
from components.aks import AksCluster, AksClusterArgs
from components.foundation import Foundation, FoundationArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.roles import ROLES
from components.shared_file_system import SharedFileSystem, SharedFileSystemArgs
from tests.helpers import build, build_plan

RG = "rg-acme-x-weu"
SUBNET = f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/%s"
ZONE = f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.Network/privateDnsZones/%s"
WORKSPACE = f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/workspaces/log"
VAULT = "azure-native:keyvault:Vault"
ENDPOINT = "azure-native:network:PrivateEndpoint"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockAtResourceGroupLevel"


@pytest.fixture(scope="module")
def specs(project) -> dict[str, EstateSpec]:
    """int (unprotected) and prd (protected, DR) of the sample customer."""
    return {stack: derive(project.load(stack)[0]) for stack in ("int", "prd")}


def _id_of(plan: Plan, type_: str) -> str:
    """The ARM id of the one resource of ``type_`` the component registered, as Azure would answer it."""
    (resource,) = plan.find(type_)
    return arm_id(type_, resource.name, resource.inputs)


def _assert_private_endpoint(plan: Plan, target_type: str, group: str) -> None:
    """One private endpoint reaching exactly the component's own resource, in the given sub-resource group."""
    (endpoint,) = plan.find(ENDPOINT)
    (connection,) = endpoint.inputs["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == _id_of(plan, target_type)
    assert connection["groupIds"] == [group]
    assert endpoint.inputs["subnet"]["id"] == SUBNET % "privateEndpoints"


# -- KeyVault ---------------------------------------------------------------------------------------------


IMPORTER = "6f2d9a41-0000-4000-8000-000000000001"  # the deployer's object id, as caas:aks.deployerPrincipalId


def _key_vault(spec: EstateSpec, purge_protection: bool, importer: str | None = None) -> Plan:
    args = KeyVaultArgs(
        spec.site, 90, purge_protection, RG, SUBNET % "privateEndpoints", ZONE % "vault", WORKSPACE, importer
    )
    return build_plan(lambda: KeyVault("keyvault", args), stack=spec.site.environment)


@pytest.mark.parametrize("importer", [None, IMPORTER])
def test_key_vault_grants_certificate_import_only_to_the_named_deployer(
    specs: dict[str, EstateSpec], importer: str | None
) -> None:
    """The deployer may import certificates into this vault (Key Vault Certificates Officer, the vault only);
    without a deployer id nobody gets a data-plane role from the component."""
    plan = _key_vault(specs["prd"], purge_protection=True, importer=importer)
    grants = plan.find("azure-native:authorization:RoleAssignment")
    if importer is None:
        assert grants == []
        return
    (grant,) = grants
    assert grant.inputs["principalId"] == importer
    assert grant.inputs["roleDefinitionId"].endswith(ROLES["Key Vault Certificates Officer"])
    assert grant.inputs["scope"] == _id_of(plan, VAULT)


@pytest.mark.parametrize(("stack", "purge"), [("int", False), ("prd", True)])
def test_key_vault_protection_follows_its_slice(specs: dict[str, EstateSpec], stack: str, purge: bool) -> None:
    """protect comes from the site, purge protection is set only when asked (Azure refuses false), and the vault
    is RBAC-only and private whatever the environment."""
    plan = _key_vault(specs[stack], purge)
    (vault,) = plan.find(VAULT)
    props = vault.inputs["properties"]
    assert vault.protect is specs[stack].site.protect
    assert props.get("enablePurgeProtection") is (True if purge else None)
    assert props["softDeleteRetentionInDays"] == 90
    assert props["enableRbacAuthorization"] is True
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"]["defaultAction"] == "Deny"


def test_key_vault_is_reached_only_through_its_endpoint_and_logs_to_the_workspace(
    specs: dict[str, EstateSpec],
) -> None:
    """The endpoint and the diagnostic setting target this vault; every child hangs under the component."""
    plan = _key_vault(specs["prd"], True)
    _assert_private_endpoint(plan, VAULT, "vault")
    (diagnostics,) = plan.find(DIAGNOSTICS)
    assert diagnostics.inputs["resourceUri"] == _id_of(plan, VAULT)
    assert diagnostics.inputs["workspaceId"] == WORKSPACE
    (component,) = [r for r in plan.resources if r.type == "intershop:caas:KeyVault"]
    assert all(r.parent == component.urn for r in plan.find(VAULT) + plan.find(ENDPOINT))


# -- Foundation -------------------------------------------------------------------------------------------


def test_foundation_locks_protected_groups_only(specs: dict[str, EstateSpec]) -> None:
    """A protected site's groups (primary and DR) are protected and carry a CanNotDelete lock on that group;
    an unprotected site's group has neither."""
    prd = specs["prd"]
    assert prd.dr_site is not None
    plan = build_plan(lambda: Foundation("foundation", FoundationArgs(prd.site, prd.dr_site)), stack="prd")
    groups = {g.inputs["resourceGroupName"]: g for g in plan.find("azure-native:resources:ResourceGroup")}
    assert set(groups) == {prd.site.names.resource("resource_group"), prd.dr_site.names.resource("resource_group")}
    assert all(g.protect for g in groups.values())
    locks = plan.find(LOCK)
    assert sorted(lock.inputs["resourceGroupName"] for lock in locks) == sorted(groups)
    assert {lock.inputs["level"] for lock in locks} == {"CanNotDelete"}

    site = specs["int"].site
    plan = build_plan(lambda: Foundation("foundation", FoundationArgs(site)), stack="int")
    (group,) = plan.find("azure-native:resources:ResourceGroup")
    assert not group.protect
    assert plan.find(LOCK) == []


# -- AksCluster -------------------------------------------------------------------------------------------


def _aks(spec: EstateSpec, **settings: object):
    assert spec.compute is not None
    assert spec.compute.aks is not None
    aks = spec.compute.aks
    aks = replace(aks, settings=aks.settings.model_copy(update=settings)) if settings else aks
    registry = "/subscriptions/s/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/cr"
    args = AksClusterArgs(spec.site, aks, RG, WORKSPACE, SUBNET % "aks", registry)
    monitor = RecordingMonitor(RecordingMocks())  # kept: its invokes are checked too
    registrations = build(lambda: AksCluster("aks", args), stack="prd", monitor=monitor)
    return Plan("caas-acme", "prd", registrations, {}), monitor.invokes


def test_aks_credentials_wait_for_the_deployer_grant(specs: dict[str, EstateSpec]) -> None:
    """With a deployer principal the cluster grants it RBAC Cluster Admin on itself and the user credentials are
    read in exec format for the public FQDN; without one there is no grant."""
    plan, invokes = _aks(specs["prd"])
    cluster_id = _id_of(plan, "azure-native:containerservice:ManagedCluster")
    (grant,) = [a for a in plan.find(ASSIGNMENT) if a.name == "aks-deployer-cluster-admin"]
    assert grant.inputs["scope"] == cluster_id
    assert grant.inputs["roleDefinitionId"].endswith(ROLES["Azure Kubernetes Service RBAC Cluster Admin"])
    assert grant.inputs["principalId"] == "6f2d9a41-3c8e-4b5f-a7d2-9e1c0b4f8a36"  # Pulumi.prd.yaml
    (read,) = [i for i in invokes if i.token.endswith("listManagedClusterUserCredentials")]
    assert read.args["format"] == "exec"
    assert read.args["serverFqdn"] == "public"

    plan, _ = _aks(specs["prd"], deployer_principal_id=None)
    assert [a for a in plan.find(ASSIGNMENT) if a.name == "aks-deployer-cluster-admin"] == []


def test_aks_cluster_has_no_local_accounts_and_authorises_with_azure_rbac(specs: dict[str, EstateSpec]) -> None:
    """Whatever the slice: local accounts off, Entra ID with Azure RBAC, in the given subnet."""
    plan, _ = _aks(specs["int"])
    (cluster,) = plan.find("azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["disableLocalAccounts"] is True
    assert cluster.inputs["aadProfile"]["enableAzureRBAC"] is True
    assert cluster.inputs["aadProfile"]["managed"] is True
    subnets = {p["vnetSubnetID"] for p in cluster.inputs["agentPoolProfiles"]}
    assert subnets == {SUBNET % "aks"}


# -- SharedFileSystem -------------------------------------------------------------------------------------


def test_shared_file_system_is_private_keyless_and_holds_each_share(specs: dict[str, EstateSpec]) -> None:
    """One share per spec entry with its quota; the account has no key access and no public endpoint, and its
    endpoint reaches the file sub-resource of this account."""
    spec = specs["prd"]
    assert spec.compute is not None
    assert spec.compute.files is not None
    files = spec.compute.files
    args = SharedFileSystemArgs(spec.site, files, RG, SUBNET % "privateEndpoints", ZONE % "file", WORKSPACE)
    plan = build_plan(lambda: SharedFileSystem("files", args), stack="prd")
    shares = {s.inputs["shareName"]: s.inputs for s in plan.find("azure-native:storage:FileShare")}
    assert {name: s["shareQuota"] for name, s in shares.items()} == files.shares
    assert {s["enabledProtocols"] for s in shares.values()} == {"NFS"}
    assert {s["rootSquash"] for s in shares.values()} == {files.root_squash}
    (account,) = plan.find("azure-native:storage:StorageAccount")
    assert account.protect is spec.site.protect
    assert account.inputs["allowSharedKeyAccess"] is False
    assert account.inputs["publicNetworkAccess"] == "Disabled"
    _assert_private_endpoint(plan, "azure-native:storage:StorageAccount", "file")
