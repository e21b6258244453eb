"""Pulumi mocks that record every registration, for the offline plan and the tests.

The mocks answer like Azure would (ARM ids, login servers, identity ids) so that values flowing between
resources look real in the plan; nothing here talks to Azure or needs credentials.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from caas.sdk_internals import RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN_VALUE, ObservedResource, ObservingMonitor

SUBSCRIPTION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "caas:offline-plan:subscription"))
TENANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "caas:offline-plan:tenant"))
SECRET = "[secret]"
UNKNOWN_TEXT = "[unknown]"


def fake_uuid(*parts: str) -> str:
    """A stable UUID for a mocked principal or client id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "caas:" + "/".join(parts)))


def fake_password(name: str) -> str:
    """What a mocked pulumi-random password resolves to: stable, so tests can prove it never leaks."""
    return "Pw-" + uuid.uuid5(uuid.NAMESPACE_URL, f"caas:password:{name}").hex


# token -> (ARM type path, input holding the resource's own name, parent name inputs in path order).
# Child types list their parents' name inputs; the ARM id is then .../<parentType>/<parent>/<child>/<name>.
ARM_TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "azure-native:network:VirtualNetwork": ("Microsoft.Network/virtualNetworks", "virtualNetworkName", ()),
    "azure-native:network:Subnet": (
        "Microsoft.Network/virtualNetworks/{}/subnets",
        "subnetName",
        ("virtualNetworkName",),
    ),
    "azure-native:network:VirtualNetworkPeering": (
        "Microsoft.Network/virtualNetworks/{}/virtualNetworkPeerings",
        "virtualNetworkPeeringName",
        ("virtualNetworkName",),
    ),
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups",
        "networkSecurityGroupName",
        (),
    ),
    "azure-native:network:RouteTable": ("Microsoft.Network/routeTables", "routeTableName", ()),
    "azure-native:network:NatGateway": ("Microsoft.Network/natGateways", "natGatewayName", ()),
    "azure-native:network:PublicIPAddress": ("Microsoft.Network/publicIPAddresses", "publicIpAddressName", ()),
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName", ()),
    "azure-native:network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/{}/privateDnsZoneGroups",
        "privateDnsZoneGroupName",
        ("privateEndpointName",),
    ),
    "azure-native:network:BastionHost": ("Microsoft.Network/bastionHosts", "bastionHostName", ()),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones", "privateZoneName", ()),
    "azure-native:privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/{}/virtualNetworkLinks",
        "virtualNetworkLinkName",
        ("privateZoneName",),
    ),
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry/registries", "registryName", ()),
    "azure-native:containerregistry:Replication": (
        "Microsoft.ContainerRegistry/registries/{}/replications",
        "replicationName",
        ("registryName",),
    ),
    "azure-native:operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces", "workspaceName", ()),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
        (),
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{}/federatedIdentityCredentials",
        "federatedIdentityCredentialResourceName",
        ("resourceName",),
    ),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName", ()),
    "azure-native:keyvault:Secret": ("Microsoft.KeyVault/vaults/{}/secrets", "secretName", ("vaultName",)),
    "azure-native:monitor:DiagnosticSetting": ("Microsoft.Insights/diagnosticSettings", "name", ()),
    "azure-native:authorization:RoleAssignment": ("Microsoft.Authorization/roleAssignments", "roleAssignmentName", ()),
    "azure-native:authorization:ManagementLockAtResourceGroupLevel": ("Microsoft.Authorization/locks", "lockName", ()),
    # -- compute --
    "azure-native:containerservice:ManagedCluster": ("Microsoft.ContainerService/managedClusters", "resourceName", ()),
    "azure-native:containerservice:AgentPool": (
        "Microsoft.ContainerService/managedClusters/{}/agentPools",
        "agentPoolName",
        ("resourceName",),
    ),
    "azure-native:containerservice:MaintenanceConfiguration": (
        "Microsoft.ContainerService/managedClusters/{}/maintenanceConfigurations",
        "configName",
        ("resourceName",),
    ),
    "azure-native:compute:VirtualMachine": ("Microsoft.Compute/virtualMachines", "vmName", ()),
    "azure-native:compute:VirtualMachineExtension": (
        "Microsoft.Compute/virtualMachines/{}/extensions",
        "vmExtensionName",
        ("vmName",),
    ),
    "azure-native:network:NetworkInterface": ("Microsoft.Network/networkInterfaces", "networkInterfaceName", ()),
    "azure-native:network:LoadBalancer": ("Microsoft.Network/loadBalancers", "loadBalancerName", ()),
    "azure-native:network:ApplicationGateway": ("Microsoft.Network/applicationGateways", "applicationGatewayName", ()),
    "azure-native:network:WebApplicationFirewallPolicy": (
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        "policyName",
        (),
    ),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName", ()),
    "azure-native:storage:FileServiceProperties": (
        "Microsoft.Storage/storageAccounts/{}/fileServices",
        "fileServicesName",
        ("accountName",),
    ),
    "azure-native:storage:FileShare": (
        "Microsoft.Storage/storageAccounts/{}/fileServices/default/shares",
        "shareName",
        ("accountName",),
    ),
    "azure-native:monitor:DataCollectionRule": ("Microsoft.Insights/dataCollectionRules", "dataCollectionRuleName", ()),
    "azure-native:monitor:DataCollectionRuleAssociation": (
        "Microsoft.Insights/dataCollectionRuleAssociations",
        "associationName",
        (),
    ),
    # -- data --
    "azure-native:sql:ManagedInstance": ("Microsoft.Sql/managedInstances", "managedInstanceName", ()),
    "azure-native:sql:ManagedDatabase": (
        "Microsoft.Sql/managedInstances/{}/databases",
        "databaseName",
        ("managedInstanceName",),
    ),
    "azure-native:sql:ManagedInstanceLongTermRetentionPolicy": (
        "Microsoft.Sql/managedInstances/{}/databases/{}/backupLongTermRetentionPolicies",
        "policyName",
        ("managedInstanceName", "databaseName"),
    ),
    "azure-native:sql:InstanceFailoverGroup": (
        "Microsoft.Sql/locations/{}/instanceFailoverGroups",
        "failoverGroupName",
        ("locationName",),
    ),
    # The generic ARM resource: <namespace>/<parent path>/<type>/<name>.
    "azure-native:resources:Resource": (
        "{}/{}/{}",
        "resourceName",
        ("resourceProviderNamespace", "parentResourcePath", "resourceType"),
    ),
    "azure-native:dbforpostgresql:Server": ("Microsoft.DBforPostgreSQL/flexibleServers", "serverName", ()),
    "azure-native:dbforpostgresql:Configuration": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{}/configurations",
        "configurationName",
        ("serverName",),
    ),
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": (
        "Microsoft.DBforPostgreSQL/flexibleServers/{}/administrators",
        "objectId",
        ("serverName",),
    ),
    "azure-native:network:SecurityRule": (
        "Microsoft.Network/networkSecurityGroups/{}/securityRules",
        "securityRuleName",
        ("networkSecurityGroupName",),
    ),
    "azure-native:recoveryservices:Vault": ("Microsoft.RecoveryServices/vaults", "vaultName", ()),
    "azure-native:recoveryservices:ProtectionPolicy": (
        "Microsoft.RecoveryServices/vaults/{}/backupPolicies",
        "policyName",
        ("vaultName",),
    ),
    "azure-native:recoveryservices:ProtectedItem": (
        "Microsoft.RecoveryServices/vaults/{}/backupFabrics/{}/protectionContainers/{}/protectedItems",
        "protectedItemName",
        ("vaultName", "fabricName", "containerName"),
    ),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName", ()),
    "azure-native:monitor:MetricAlert": ("Microsoft.Insights/metricAlerts", "ruleName", ()),
    "azure-native:consumption:Budget": ("Microsoft.Consumption/budgets", "budgetName", ()),
    # -- connectivity -- (StorageAccount: listed under compute)
    "azure-native:storage:BlobServiceProperties": (
        "Microsoft.Storage/storageAccounts/{}/blobServices",
        "blobServicesName",
        ("accountName",),
    ),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/{}/blobServices/default/containers",
        "containerName",
        ("accountName",),
    ),
    "azure-native:storage:LocalUser": (
        "Microsoft.Storage/storageAccounts/{}/localUsers",
        "username",
        ("accountName",),
    ),
    "azure-native:storage:ManagementPolicy": (
        "Microsoft.Storage/storageAccounts/{}/managementPolicies",
        "managementPolicyName",
        ("accountName",),
    ),
    "azure-native:network:VirtualNetworkGateway": (
        "Microsoft.Network/virtualNetworkGateways",
        "virtualNetworkGatewayName",
        (),
    ),
    "azure-native:network:LocalNetworkGateway": (
        "Microsoft.Network/localNetworkGateways",
        "localNetworkGatewayName",
        (),
    ),
    "azure-native:network:VirtualNetworkGatewayConnection": (
        "Microsoft.Network/connections",
        "virtualNetworkGatewayConnectionName",
        (),
    ),
    # -- kubernetes --
    "azure-native:devcenter:DevCenter": ("Microsoft.DevCenter/devcenters", "devCenterName", ()),
    "azure-native:devcenter:Project": ("Microsoft.DevCenter/projects", "projectName", ()),
    "azure-native:devopsinfrastructure:Pool": ("Microsoft.DevOpsInfrastructure/pools", "poolName", ()),
    # -- public DNS and certificate expiry alerts --
    "azure-native:dns:Zone": ("Microsoft.Network/dnsZones", "zoneName", ()),
    "azure-native:dns:RecordSet": (
        "Microsoft.Network/dnsZones/{}/{}",
        "relativeRecordSetName",
        ("zoneName", "recordType"),
    ),
    "azure-native:eventgrid:SystemTopic": ("Microsoft.EventGrid/systemTopics", "systemTopicName", ()),
    "azure-native:eventgrid:SystemTopicEventSubscription": (
        "Microsoft.EventGrid/systemTopics/{}/eventSubscriptions",
        "eventSubscriptionName",
        ("systemTopicName",),
    ),
}


def arm_id(token: str, name: str, inputs: dict[str, Any]) -> str:
    """A realistic ARM id for a mocked resource, built from its inputs."""
    sub = f"/subscriptions/{SUBSCRIPTION_ID}"
    rg = inputs.get("resourceGroupName")
    if token == "azure-native:resources:ResourceGroup":
        return f"{sub}/resourceGroups/{rg or name}"
    scope = inputs.get("scope") or inputs.get("resourceUri")  # extension resources hang off another id
    if token in ARM_TYPES:
        path, own, parents = ARM_TYPES[token]
        path = path.format(*(inputs.get(p, name) for p in parents))
        leaf = inputs.get(own) or name
    else:  # a type nobody listed yet: derive Microsoft.<Module>/<types> from the token
        _, module, typ = token.split(":")
        path = f"Microsoft.{module.capitalize()}/{typ[0].lower()}{typ[1:]}s"
        # Its own name input (backupPolicyName for a BackupPolicy), else the first other *Name input by key:
        # input order is not stable between runs, and the plan must be.
        names = sorted(
            k for k, v in inputs.items() if k.endswith("Name") and k != "resourceGroupName" and isinstance(v, str)
        )
        own_name = f"{typ[0].lower()}{typ[1:]}Name"
        leaf = inputs[own_name] if own_name in names else (inputs[names[0]] if names else name)
    if rg:
        return f"{sub}/resourceGroups/{rg}/providers/{path}/{leaf}"
    if scope:
        return f"{scope}/providers/{path}/{leaf}"
    return f"{sub}/providers/{path}/{leaf}"


def _cluster_outputs(leaf: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    region = inputs.get("location")
    issuer = f"https://{region}.oic.prod-aks.azure.com/{TENANT_ID}/{fake_uuid('oidc', rid)}/"
    return {
        "oidcIssuerProfile": {**inputs.get("oidcIssuerProfile", {}), "issuerURL": issuer},
        "privateFQDN": f"{leaf}-{fake_uuid('fqdn', rid)[:8]}.privatelink.{region}.azmk8s.io",
    }


def _managed_instance_outputs(leaf: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    # A secondary joins its partner's DNS zone (what a failover group requires).
    zone = fake_uuid("dns-zone", inputs.get("dnsZonePartner") or rid).replace("-", "")[:12]
    return {"dnsZone": zone, "fullyQualifiedDomainName": f"{leaf}.{zone}.database.windows.net"}


# token -> the outputs Azure computes for it from (leaf name, inputs, ARM id) that other resources read.
_COMPUTED: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "azure-native:containerregistry:Registry": lambda leaf, _i, _r: {"loginServer": f"{leaf.lower()}.azurecr.io"},
    "azure-native:managedidentity:UserAssignedIdentity": lambda _l, _i, rid: {
        "principalId": fake_uuid("principal", rid),
        "clientId": fake_uuid("client", rid),
        "tenantId": TENANT_ID,
    },
    "azure-native:operationalinsights:Workspace": lambda _l, _i, rid: {"customerId": fake_uuid("workspace", rid)},
    "azure-native:keyvault:Vault": lambda leaf, inputs, _r: {
        "properties": {**inputs.get("properties", {}), "vaultUri": f"https://{leaf}.vault.azure.net/"}
    },
    # TEST-NET-3: documentation addresses
    "azure-native:network:PublicIPAddress": lambda _l, _i, rid: {
        "ipAddress": f"203.0.113.{uuid.uuid5(uuid.NAMESPACE_URL, rid).int % 254 + 1}"
    },
    "azure-native:storage:StorageAccount": lambda leaf, _i, _r: {
        "primaryEndpoints": {
            kind: f"https://{leaf}.{kind}.core.windows.net/" for kind in ("blob", "file", "dfs", "queue", "table")
        }
    },
    "azure-native:containerservice:ManagedCluster": _cluster_outputs,
    # The AKS backup extension creates its own identity (learn.microsoft.com, "Back up AKS using Azure CLI").
    "azure-native:kubernetesconfiguration:Extension": lambda _l, _i, rid: {
        "aksAssignedIdentity": {"type": "SystemAssigned", "principalId": fake_uuid("principal", rid)}
    },
    # Azure DNS hands every public zone four name servers in this form (learn.microsoft.com, "Delegation of DNS
    # zones with Azure DNS"); the number varies per zone.
    "azure-native:dns:Zone": lambda _l, _i, rid: {
        "nameServers": [
            f"ns{i}-{uuid.uuid5(uuid.NAMESPACE_URL, rid).int % 40 + 1:02d}.azure-dns.{tld}."
            for i, tld in enumerate(("com", "net", "org", "info"), start=1)
        ]
    },
    # -- data --
    "azure-native:sql:ManagedInstance": _managed_instance_outputs,
    "azure-native:dbforpostgresql:Server": lambda leaf, _i, _r: {
        "fullyQualifiedDomainName": f"{leaf}.postgres.database.azure.com"
    },
}


def _extra_outputs(token: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    """Outputs Azure computes that other resources read."""
    leaf = rid.rsplit("/", 1)[-1]
    out: dict[str, Any] = {"id": rid, "name": leaf}
    if token in _COMPUTED:
        out.update(_COMPUTED[token](leaf, inputs, rid))
    identity = inputs.get("identity")
    if isinstance(identity, dict):
        out["identity"] = _identity(identity, rid)
    return out


def _identity(identity: dict[str, Any], rid: str) -> dict[str, Any]:
    """A managed identity block as Azure returns it: the system identity's ids, user-assigned ones keyed by id."""
    ids = identity.get("userAssignedIdentities") or []
    # The SDK merges outputs by key: user-assigned identities come back as a map keyed by id.
    assigned = (
        {i: {"principalId": fake_uuid("principal", i), "clientId": fake_uuid("client", i)} for i in ids}
        if isinstance(ids, list)
        else ids
    )
    return {
        **identity,
        "principalId": fake_uuid("principal", rid),
        "tenantId": TENANT_ID,
        "userAssignedIdentities": assigned,
    }


def kubeconfig(server: str) -> str:
    """The kubeconfig AKS returns with local accounts off: kubelogin exec, no embedded credentials."""
    return "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            f"- cluster: {{server: '{server}'}}",
            "  name: aks",
            "contexts:",
            "- context: {cluster: aks, user: clusterUser}",
            "  name: aks",
            "current-context: aks",
            "users:",
            "- name: clusterUser",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1beta1",
            "      command: kubelogin",
            "      args: [get-token, --login, azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]",
            "",
        ]
    )


class RecordingMocks(Mocks):
    """Answers registrations and invokes as Azure would; ``stack_outputs`` feeds StackReferences.

    ``secrets`` holds every plaintext the run knows to be secret (secure config values, the passwords it makes
    up): the SDK unwraps secret invoke arguments before they reach the monitor, so recorded invokes are masked
    by value.
    """

    def __init__(self, stack_outputs: dict[str, dict[str, Any]] | None = None, secrets: Iterable[str] = ()):
        self.stack_outputs = stack_outputs or {}
        self.secrets = {s for s in secrets if s}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            ref = args.inputs.get("name", args.name)
            return ref, {"name": ref, "outputs": self.stack_outputs.get(ref, {}), "secretOutputNames": []}
        if args.typ == "random:index/randomPassword:RandomPassword":  # -- data --
            password = fake_password(args.name)
            self.secrets.add(password)
            return f"{args.name}-id", {**args.inputs, "result": password}
        if not args.typ.startswith("azure-native:"):
            return f"{args.name}-id", dict(args.inputs)
        rid = arm_id(args.typ, args.name, args.inputs)
        return rid, {**args.inputs, **_extra_outputs(args.typ, args.inputs, rid)}

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        """The function's result and no check failures (the documented tuple form)."""
        return _answer(args), []


def _answer(args: MockCallArgs) -> dict[str, Any]:
    """What Azure answers to the provider functions the program calls (reads)."""
    if args.token == "azure-native:authorization:getClientConfig":
        return {
            "clientId": fake_uuid("deployer-client"),
            "objectId": fake_uuid("deployer-object"),
            "subscriptionId": SUBSCRIPTION_ID,
            "tenantId": TENANT_ID,
        }
    if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
        # serverFqdn "public" names the private cluster's public FQDN (it resolves to the private IP).
        zone = "hcp" if args.args.get("serverFqdn") == "public" else "privatelink"
        server = f"https://{args.args.get('resourceName', 'aks')}.{zone}.azmk8s.io:443"
        value = base64.b64encode(kubeconfig(server).encode()).decode()
        return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}
    return {}


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    provider: str
    dependencies: list[str]
    protect: bool
    custom: bool
    inputs: dict[str, Any] = field(default_factory=dict)
    timeouts: dict[str, str] = field(default_factory=dict)  # custom timeouts set: create/update/delete -> "6h"


@dataclass(frozen=True)
class Invoke:
    """A read the program makes (a provider function): its token and arguments, secrets masked; ``count``: how
    often the program made this very call."""

    token: str
    args: dict[str, Any]
    count: int = 1


class DuplicateUrnError(Exception):
    pass


def _plain(value: Any) -> Any:
    """Protobuf-struct JSON -> plan JSON: secrets and unknowns masked, resource refs as URNs, ints kept."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return SECRET
        if sig == RESOURCE_SIG:
            return value.get("urn", "")
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == UNKNOWN_VALUE:
        return UNKNOWN_TEXT
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _masked(value: Any, secrets: set[str]) -> Any:
    """``value`` with every string that contains a known secret replaced by [secret]."""
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return SECRET
    return value


class RecordingMonitor(ObservingMonitor):
    """Keeps every registration, in order, with its options, and every invoke (secrets masked)."""

    def __init__(self, mocks: RecordingMocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.invokes: list[Invoke] = []
        self._urns: set[str] = set()
        self._secrets = mocks.secrets

    def observe_invoke(self, token: str, args: dict[str, Any]) -> None:
        """Reads are part of the plan: a reviewer sees which credentials and which FQDN form the program asks for."""
        self.invokes.append(Invoke(token, _masked(_plain(args), self._secrets)))

    def observe_resource(self, resource: ObservedResource) -> None:
        """Registrations and reads (a StackReference: what the stack depends on) alike."""
        if resource.urn in self._urns:
            raise DuplicateUrnError(f"duplicate URN {resource.urn}: two resources share type and name")
        self._urns.add(resource.urn)
        self.registrations.append(
            Registration(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                parent=resource.parent,
                provider=resource.provider,
                dependencies=list(resource.dependencies),
                protect=resource.protect,
                custom=resource.custom,
                inputs=_plain(resource.properties),
                timeouts=resource.timeouts,
            )
        )
