"""Identity rules: Entra ID everywhere it works (no admin users, local accounts or shared keys), and role
assignments of known roles at the narrowest scope."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule, stack_rule
from caas.policy.resources import UNKNOWN, Resource

REGISTRY = "azure-native:containerregistry:Registry"
CLUSTER = "azure-native:containerservice:ManagedCluster"
STORAGE = "azure-native:storage:StorageAccount"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
SQL_MI = "azure-native:sql:ManagedInstance"
POSTGRES = "azure-native:dbforpostgresql:Server"
POSTGRES_ENTRA_ADMIN = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"

# Resources whose data-plane keys or local auth Entra ID replaces, with the input that turns local auth off.
LOCAL_AUTH: dict[str, str] = {
    "azure-native:operationalinsights:Workspace": "features.disableLocalAuth",
    "azure-native:insights:Component": "disableLocalAuth",  # Application Insights
    "azure-native:servicebus:Namespace": "disableLocalAuth",
    "azure-native:eventgrid:Topic": "disableLocalAuth",
    "azure-native:eventgrid:Domain": "disableLocalAuth",
    "azure-native:eventhub:Namespace": "disableLocalAuth",
}

# Built-in role definitions a stack may assign, checked against learn.microsoft.com/azure/role-based-access-control/
# built-in-roles (the ids are the same in every tenant). These are the roles the shipped plans assign; a new one
# joins here after the same check.
BUILT_IN_ROLES: dict[str, str] = {
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "4abbcc35-e782-43d8-92c5-2d3f1bd2253f": "Azure Kubernetes Service Cluster User Role",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
    "7f6c6a51-bcf8-42ba-9220-52d62157d7db": "Azure Kubernetes Service RBAC Reader",
    "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb": "Azure Kubernetes Service RBAC Writer",
    "a4417e6f-fecd-4de8-b567-7b0420556985": "Key Vault Certificates Officer",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "7efff54f-a5b4-42b5-a1c5-5411624893ce": "Disk Snapshot Contributor",  # AKS backup: cluster -> snapshot group
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",  # AKS backup extension -> its account
    "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator",
    # learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor#monitoring-metrics-publisher
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "fb879df8-f326-4884-b1cf-06f3ad86be52": "Virtual Machine User Login",
}
# Roles that grant everything or the right to grant: never assigned by a stack (MCSB PA-1, PA-7).
PRIVILEGED_ROLES: dict[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}

_GUID = re.compile(r"roleDefinitions/([0-9a-fA-F-]{36})$")
# Scopes wider than a resource group: the tenant root, a management group, a whole subscription.
_WIDE_SCOPE = re.compile(
    r"^/$|^/providers/Microsoft\.Management/managementGroups/[^/]+/?$|^/subscriptions/[^/]+/?$", re.I
)


@resource_rule(
    "registry-no-admin-user",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB IM-1", "MCSB PA-1"),
    description="Container registries have the admin user and anonymous pull off: pulls and pushes go through "
    "Entra ID (AcrPull/AcrPush). Not relaxable: Entra ID works for every client the platform runs.",
)
def registry_no_admin_user(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != REGISTRY:
        return
    if r.get("adminUserEnabled") is True:
        yield "adminUserEnabled is true: the registry's shared admin credentials are on"
    if r.get("anonymousPullEnabled") is True:
        yield "anonymousPullEnabled is true: anyone may pull without signing in"


@resource_rule(
    "aks-no-local-accounts",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB IM-1", "MCSB PA-7"),
    description="AKS clusters disable local accounts (disableLocalAccounts) and use Entra ID with Azure RBAC: "
    "no static cluster-admin certificate. Not relaxable.",
)
def aks_no_local_accounts(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != CLUSTER:
        return
    if r.get("disableLocalAccounts") not in (True, UNKNOWN):
        yield "disableLocalAccounts is not true: the cluster keeps its local admin account"
    if r.get("aadProfile.enableAzureRBAC") not in (True, UNKNOWN):
        yield "aadProfile.enableAzureRBAC is not true: Kubernetes authorisation is not Entra ID's"


@resource_rule(
    "storage-no-shared-key",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB IM-1", "CIS Azure 4.0.0 10.3.1.3"),
    description="Storage accounts set allowSharedKeyAccess to false (the default allows account keys). Every "
    "shipped account works with Entra ID: NFS shares authorise by network, SFTP by local users. Not relaxable.",
)
def storage_no_shared_key(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type == STORAGE and r.get("allowSharedKeyAccess") not in (False, UNKNOWN):
        yield "allowSharedKeyAccess is not false: account keys and SAS signed with them work"


@resource_rule(
    "storage-local-users-only-for-sftp",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB IM-1",),
    description="Storage local users (isLocalUserEnabled) only on an SFTP account: SFTP for Blob Storage "
    "authenticates local users only (learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support"
    "-authorize-access), every other access is Entra ID.",
)
def storage_local_users_only_for_sftp(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type == STORAGE and r.get("isLocalUserEnabled") is True and r.get("isSftpEnabled") is not True:
        yield "isLocalUserEnabled is true on an account without SFTP"


@resource_rule(
    "no-local-auth",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB IM-1",),
    description="Log Analytics, Application Insights, Service Bus, Event Grid and Event Hubs disable local "
    "(key-based) authentication where the plan has them; agents and clients use Entra ID. Not relaxable.",
)
def no_local_auth(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    path = LOCAL_AUTH.get(r.type)
    if path is not None and r.get(path) not in (True, UNKNOWN):
        yield f"{path} is not true: keys or shared access signatures still authenticate"


@stack_rule(
    "database-entra-auth",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB IM-1",),
    description="Databases accept Entra ID sign-in with an Entra administrator (the DBA group): SQL MI "
    "administrators of type ActiveDirectory, PostgreSQL activeDirectoryAuth Enabled and an Entra administrator. "
    "Password logins stay on: ICM 7.10 and IOM connect with SQL/PostgreSQL logins (their JDBC drivers and charts "
    "take a user and password), so Entra-only authentication would lock them out.",
)
def database_entra_auth(resources: Sequence[Resource], _ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    admins = {
        (str(r.get("resourceGroupName")), str(r.get("serverName"))) for r in resources if r.type == POSTGRES_ENTRA_ADMIN
    }
    for r in resources:
        if (
            r.type == SQL_MI
            and r.get("administrators") != UNKNOWN
            and r.get("administrators.administratorType") != "ActiveDirectory"
        ):
            yield r, "no Entra administrator (administrators.administratorType ActiveDirectory)"
        elif r.type == POSTGRES:
            if r.get("authConfig.activeDirectoryAuth") not in ("Enabled", UNKNOWN):
                yield r, "authConfig.activeDirectoryAuth is not Enabled"
            elif (str(r.get("resourceGroupName")), str(r.get("serverName"))) not in admins:
                yield r, "no Microsoft Entra administrator (AdministratorsMicrosoftEntra) for this server"


def _role_guid(r: Resource) -> str | None:
    role = r.get("roleDefinitionId")
    match = _GUID.search(role) if isinstance(role, str) else None
    return match.group(1).lower() if match else None


@stack_rule(
    "role-assignment-known-role",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB PA-7", "MCSB PA-1"),
    description="Role assignments name a built-in role the platform knows (checked against Microsoft's built-in "
    "roles page) or a declared custom role: one `caas init` defines (the command-invoke role) or one the plan "
    "creates. Owner, Contributor, User Access Administrator and RBAC Administrator are never assigned by a "
    "stack. Not relaxable.",
)
def role_assignment_known_role(resources: Sequence[Resource], ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    declared = {g.lower() for g in ctx.custom_roles}
    declared |= {str(r.get("roleId", "")).lower() for r in resources if r.type == ROLE_DEFINITION}
    for r in resources:
        if r.type != ROLE_ASSIGNMENT or not r.known("roleDefinitionId"):
            continue
        guid = _role_guid(r)
        if guid in PRIVILEGED_ROLES:
            yield r, f"assigns {PRIVILEGED_ROLES[guid]}: a stack never grants full control or the right to grant"
        elif guid is None or (guid not in BUILT_IN_ROLES and guid not in declared):
            yield r, f"role {r.get('roleDefinitionId')} is neither a known built-in role nor a declared custom role"


@resource_rule(
    "role-assignment-narrow-scope",
    area="identity",
    level=Level.MANDATORY,
    controls=("MCSB PA-7",),
    description="Role assignments are scoped to a resource group or narrower (the resource they serve): never to "
    "a subscription, a management group or the tenant root. Not relaxable: wider grants belong to `caas init`.",
)
def role_assignment_narrow_scope(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != ROLE_ASSIGNMENT:
        return
    scope = r.get("scope")
    if isinstance(scope, str) and scope != UNKNOWN and _WIDE_SCOPE.match(scope):
        yield f"scope {scope} is wider than a resource group"


RULES = (
    registry_no_admin_user,
    aks_no_local_accounts,
    storage_no_shared_key,
    storage_local_users_only_for_sftp,
    no_local_auth,
    database_entra_auth,
    role_assignment_known_role,
    role_assignment_narrow_scope,
)
