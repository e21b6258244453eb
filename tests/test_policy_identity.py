"""Identity rules: each with a case it passes and one it reports, built from small resources."""

from __future__ import annotations

from caas.policy.rules.identity import (
    BUILT_IN_ROLES,
    aks_no_local_accounts,
    database_entra_auth,
    no_local_auth,
    registry_no_admin_user,
    role_assignment_known_role,
    role_assignment_narrow_scope,
    storage_local_users_only_for_sftp,
    storage_no_shared_key,
)
from components.roles import ROLES
from tests.policy_cases import context, resource, violations

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
RG_SCOPE = f"{SUB}/resourceGroups/rg-acme-prd-weu"


def _role(guid: str) -> str:
    return f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def test_registry_without_admin_user_or_anonymous_pull():
    ok = resource("azure-native:containerregistry:Registry", "cr", adminUserEnabled=False, anonymousPullEnabled=False)
    bad = resource("azure-native:containerregistry:Registry", "bad", adminUserEnabled=True, anonymousPullEnabled=True)
    assert violations(registry_no_admin_user, ok) == []
    assert len(violations(registry_no_admin_user, bad)) == 2


def test_aks_disables_local_accounts_explicitly():
    cluster = "azure-native:containerservice:ManagedCluster"
    ok = resource(cluster, "aks", disableLocalAccounts=True, aadProfile={"enableAzureRBAC": True})
    default = resource(cluster, "old", aadProfile={"enableAzureRBAC": True})  # the API's default keeps them
    assert violations(aks_no_local_accounts, ok) == []
    [hit] = violations(aks_no_local_accounts, default)
    assert "disableLocalAccounts" in hit.message


def test_storage_refuses_shared_keys_and_local_users_outside_sftp():
    storage = "azure-native:storage:StorageAccount"
    sftp = resource(storage, "sftp", allowSharedKeyAccess=False, isSftpEnabled=True, isLocalUserEnabled=True)
    keys = resource(storage, "keys")  # allowSharedKeyAccess unset: Azure allows account keys
    local = resource(storage, "local", allowSharedKeyAccess=False, isLocalUserEnabled=True)
    assert violations(storage_no_shared_key, sftp) == []
    assert [v.resource for v in violations(storage_no_shared_key, keys)] == [f"{storage} keys"]
    assert violations(storage_local_users_only_for_sftp, sftp) == []
    assert len(violations(storage_local_users_only_for_sftp, local)) == 1


def test_monitoring_and_messaging_disable_local_auth():
    ws = "azure-native:operationalinsights:Workspace"
    ok = resource(ws, "log", features={"disableLocalAuth": True})
    bad = resource(ws, "log2", features={"enableLogAccessUsingOnlyResourcePermissions": True})
    bus = resource("azure-native:servicebus:Namespace", "sb", disableLocalAuth=False)
    assert violations(no_local_auth, ok) == []
    assert len(violations(no_local_auth, bad, bus)) == 2


def test_databases_have_an_entra_administrator():
    mi = "azure-native:sql:ManagedInstance"
    pg = "azure-native:dbforpostgresql:Server"
    admin = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"
    entra = {"administratorType": "ActiveDirectory", "login": "grp-dba"}
    server = {"resourceGroupName": "rg", "serverName": "psql"}
    good = [
        resource(mi, "mi", administrators=entra),
        resource(pg, "pg", authConfig={"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"}, **server),
        resource(admin, "pg-admin", objectId="x", **server),
    ]
    assert violations(database_entra_auth, *good) == []
    bad = [
        resource(mi, "mi", administratorLogin="sa"),
        resource(pg, "pg", authConfig={"activeDirectoryAuth": "Enabled"}, **server),  # no Entra administrator
        resource(pg, "pg2", authConfig={"passwordAuth": "Enabled"}, resourceGroupName="rg", serverName="psql2"),
    ]
    assert len(violations(database_entra_auth, *bad)) == 3


def test_role_assignments_use_known_or_declared_roles_and_never_privileged_ones():
    reader = resource(ASSIGNMENT, "reader", roleDefinitionId=_role(ROLES["Reader"]), scope=RG_SCOPE)
    custom = resource(
        ASSIGNMENT, "invoke", roleDefinitionId=_role("a46fb665-0e20-5cfc-a68d-4550aad2a7c8"), scope=RG_SCOPE
    )
    owner = resource(
        ASSIGNMENT, "owner", roleDefinitionId=_role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), scope=RG_SCOPE
    )
    declared = context(custom_roles=("a46fb665-0e20-5cfc-a68d-4550aad2a7c8",))
    assert violations(role_assignment_known_role, reader, custom, ctx=declared) == []
    [unknown] = violations(role_assignment_known_role, custom)  # not declared by init in this context
    assert "neither a known built-in role" in unknown.message
    [privileged] = violations(role_assignment_known_role, owner, ctx=declared)
    assert "Owner" in privileged.message


def test_a_role_definition_created_by_the_plan_is_declared():
    guid = "11111111-2222-3333-4444-555555555555"
    definition = resource("azure-native:authorization:RoleDefinition", "def", roleId=guid, roleName="x")
    assignment = resource(ASSIGNMENT, "a", roleDefinitionId=_role(guid), scope=RG_SCOPE)
    assert violations(role_assignment_known_role, definition, assignment) == []


def test_the_packs_built_in_roles_agree_with_the_components_names():
    """Where both tables list a role id, they name the same role: the pack's table is no stale copy."""
    shared = [name for name, guid in ROLES.items() if guid in BUILT_IN_ROLES]
    assert shared
    assert all(BUILT_IN_ROLES[ROLES[name]] == name for name in shared)


def test_role_assignments_are_scoped_no_wider_than_a_resource_group():
    vault = f"{RG_SCOPE}/providers/Microsoft.KeyVault/vaults/kv"
    narrow = [resource(ASSIGNMENT, f"n{i}", scope=s) for i, s in enumerate((RG_SCOPE, vault))]
    wide = [
        resource(ASSIGNMENT, f"w{i}", scope=s)
        for i, s in enumerate((SUB, f"{SUB}/", "/", "/providers/Microsoft.Management/managementGroups/mg"))
    ]
    assert violations(role_assignment_narrow_scope, *narrow) == []
    assert len(violations(role_assignment_narrow_scope, *wide)) == 4
