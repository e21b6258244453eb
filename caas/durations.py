"""Typical create durations per resource type, for ``python -m caas plan --format timeline``.

Each entry cites where the number comes from. Where Microsoft publishes no number the entry says "estimate" and
why; those are orders of magnitude for planning a deploy window, not measurements. A type missing here falls
back to its family's default (Kubernetes object, resource without cloud call) or ``DEFAULT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Duration:
    seconds: int
    source: str  # a URL, or "estimate: <why>"


MIN = 60
_NO_NUMBER = "estimate: Microsoft publishes no create duration for this type"
_CONTROL_PLANE = "estimate: a control-plane write with no capacity to provision; Microsoft gives no number"

SQL_MI_DURATIONS = "https://learn.microsoft.com/azure/azure-sql/managed-instance/management-operations-duration"

DURATIONS: dict[str, Duration] = {
    # "Creating a new instance: 95% of operations finish in 30 minutes" (General Purpose and Business Critical);
    # zone-redundant instances: see SQL_MI_ZONE_REDUNDANT below.
    "azure-native:sql:ManagedInstance": Duration(30 * MIN, SQL_MI_DURATIONS),
    "azure-native:sql:InstanceFailoverGroup": Duration(
        10 * MIN, "estimate: links two running instances; Microsoft gives no create duration"
    ),
    "azure-native:sql:ManagedDatabase": Duration(2 * MIN, _NO_NUMBER),
    "azure-native:sql:ManagedInstanceLongTermRetentionPolicy": Duration(1 * MIN, _CONTROL_PLANE),
    # "It takes a few minutes to create the AKS cluster": no number; 10 min covers a private cluster with add-ons.
    "azure-native:containerservice:ManagedCluster": Duration(
        10 * MIN,
        "estimate: https://learn.microsoft.com/azure/aks/learn/quick-kubernetes-deploy-portal says 'a few minutes'",
    ),
    "azure-native:containerservice:AgentPool": Duration(
        5 * MIN, "estimate: a VM scale set of nodes joining the cluster; Microsoft gives no number"
    ),
    "azure-native:containerservice:MaintenanceConfiguration": Duration(30, _CONTROL_PLANE),
    # "Most deployments that use the v2 SKU take around 6 minutes to provision."
    "azure-native:network:ApplicationGateway": Duration(
        6 * MIN, "https://learn.microsoft.com/azure/application-gateway/application-gateway-faq"
    ),
    # "A gateway can take 45 minutes or more to fully create and deploy."
    "azure-native:network:VirtualNetworkGateway": Duration(
        45 * MIN, "https://learn.microsoft.com/azure/vpn-gateway/tutorial-create-gateway-portal"
    ),
    "azure-native:network:VirtualNetworkGatewayConnection": Duration(2 * MIN, _NO_NUMBER),
    # "It takes about 10 minutes for the Bastion resource to be created and deployed."
    "azure-native:network:BastionHost": Duration(
        10 * MIN, "https://learn.microsoft.com/azure/bastion/tutorial-create-host-portal"
    ),
    "azure-native:dbforpostgresql:Server": Duration(
        15 * MIN, "estimate: zone-redundant HA provisions a standby server too; Microsoft gives no number"
    ),
    "azure-native:devopsinfrastructure:Pool": Duration(
        10 * MIN, "estimate: provisions agent VMs in the hub subnet; Microsoft gives no number"
    ),
    "azure-native:devcenter:DevCenter": Duration(2 * MIN, _NO_NUMBER),
    "azure-native:devcenter:Project": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:keyvault:Vault": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:network:PrivateEndpoint": Duration(2 * MIN, _NO_NUMBER),
    "azure-native:network:NatGateway": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:network:LoadBalancer": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:compute:VirtualMachine": Duration(
        3 * MIN, "estimate: Microsoft's VM quickstarts say 'a few minutes'"
    ),
    "azure-native:compute:VirtualMachineExtension": Duration(3 * MIN, _NO_NUMBER),
    "azure-native:containerregistry:Registry": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:containerregistry:Replication": Duration(
        5 * MIN, "estimate: copies the registry to a second region; Microsoft gives no number"
    ),
    "azure-native:storage:StorageAccount": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:recoveryservices:Vault": Duration(1 * MIN, _NO_NUMBER),
    "azure-native:recoveryservices:ProtectedItem": Duration(
        2 * MIN, "estimate: registers a VM with the vault (no backup runs at create); Microsoft gives no number"
    ),
    "azure-native:operationalinsights:Workspace": Duration(1 * MIN, _NO_NUMBER),
    "kubernetes:helm.sh/v3:Release": Duration(
        5 * MIN, "estimate: Helm waits for the chart's pods to be ready (bounded by the release's `timeout` input)"
    ),
}

# "Creating a new zone-redundant instance: 95% of operations finish in 4 hours."
SQL_MI_ZONE_REDUNDANT = Duration(4 * 60 * MIN, SQL_MI_DURATIONS)

HOUR = 60 * MIN
# azure-native waits this long for any create, update or delete unless the resource sets custom_timeouts, then
# fails the operation while Azure carries on (pulumi/pulumi#8500, "Custom timeouts" in Pulumi's docs).
PROVIDER_DEFAULT_TIMEOUT = 2 * HOUR

# Same page, "Seeding duration": expected maximum seeding time (95% of cases) by database size, up to the bound.
_SEEDING_MAX = ((32, 1), (256, 2), (512, 5), (1024, 9), (2048, 15), (3072, 16), (4096, 18))
_SEEDING_MAX_ABOVE = 20


def seeding_hours(storage_gb: int) -> int:
    """Expected maximum time to seed the databases of an instance with this much storage (the largest
    database is at most the instance's storage; databases seed in parallel, eight at a time)."""
    return next((hours for bound, hours in _SEEDING_MAX if storage_gb <= bound), _SEEDING_MAX_ABOVE)


def sql_mi_timeouts(*, zone_redundant: bool, storage_gb: int) -> dict[str, str]:
    """Custom timeouts for one SQL Managed Instance, from Microsoft's 95th-percentile figures (SQL_MI_DURATIONS).

    create: building the VM group in an empty subnet (4 h zone-redundant, plus half again; 30 min otherwise,
    where 3 h leaves room for the 5% beyond it). update: the longest update this stack can make (enabling zone
    redundancy: 4 h) plus seeding the databases. delete: the last instance deletes the virtual cluster
    (90 min), doubled.
    """
    update = 4 + seeding_hours(storage_gb)
    return {"create": "6h" if zone_redundant else "3h", "update": f"{update}h", "delete": "3h"}


def failover_group_timeouts(*, storage_gb: int) -> dict[str, str]:
    """Creating a failover group seeds every database into the secondary (empty on a first deploy, but not
    when the group is re-created): the seeding time of the primary's storage, plus an hour."""
    hours = max(seeding_hours(storage_gb) + 1, 2)
    return {"create": f"{hours}h", "update": f"{hours}h"}


def timeout_seconds(text: str) -> int:
    """A custom timeout as Pulumi takes it (``6h``, ``90m``, ``1h30m``) in seconds."""
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
            continue
        total += int(number) * {"h": HOUR, "m": MIN, "s": 1}[char]
        number = ""
    if number:
        raise ValueError(f"custom timeout {text!r} lacks a unit")
    return total


KUBERNETES_OBJECT = Duration(5, "estimate: an API server write; Pulumi's readiness wait is short for these kinds")
NO_CLOUD_CALL = Duration(0, "no cloud resource: a provider, a stack reference or a value Pulumi generates")
DEFAULT = Duration(30, _CONTROL_PLANE + " (default for unlisted types)")


def estimate(token: str, inputs: dict[str, Any]) -> Duration:
    """The typical create duration of one resource of type ``token`` with these inputs."""
    if token == "azure-native:sql:ManagedInstance" and inputs.get("zoneRedundant") is True:
        return SQL_MI_ZONE_REDUNDANT
    if token in DURATIONS:
        return DURATIONS[token]
    if token.startswith("kubernetes:"):
        return KUBERNETES_OBJECT
    if token.startswith(("pulumi:", "random:")):
        return NO_CLOUD_CALL
    return DEFAULT
