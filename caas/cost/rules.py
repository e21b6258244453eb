"""The billable quantities of plan resources and the Retail Prices meter each one is billed on.

Quantities are read from the resources' inputs in the plan (never re-derived from the model). Each quantity names
the meter it is billed on (a ``Meter``: a rule over the API's item fields); usage-based meters (ingestion,
operations, data processed) are named, not estimated; every type is priced, free (with its reason), a component, or
reported as unpriced. docs/cost.md describes the rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOURS = 730  # the month of Azure's pricing calculator: always-on meters run 730 hours
DAYS = HOURS / 24
GIB_PER_GB = 1 / 1.073741824  # 1 GiB = 1.073741824 GB
GLOBAL_REGIONS = ("", "global", "Global", "Zone 1")  # how the API labels meters that belong to no region
PRICE_FILE = Path("prices") / "retail-prices.json"


@dataclass(frozen=True)
class Resource:
    """The part of a plan registration cost reads (a ``caas.mocks.Registration`` or a plan JSON entry)."""

    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]

    @classmethod
    def of(cls, r: Any) -> Resource:
        get: Callable[[str], Any] = r.get if isinstance(r, dict) else lambda key: getattr(r, key)
        return cls(str(get("urn")), str(get("type")), str(get("name")), get("parent") or "", get("inputs") or {})


def resources_of(plan: Any) -> list[Resource]:
    """A ``caas.plan.Plan`` or a parsed ``plan --format json`` document."""
    entries = plan["resources"] if isinstance(plan, dict) else plan.resources
    return [Resource.of(r) for r in entries]


@dataclass(frozen=True)
class Meter:
    """Which Retail Prices item bills a quantity: ``serviceName`` and ``unitOfMeasure`` always, the other fields
    where the rule names them (exact, or ``*_has``: every substring present, ``*_not``: none present)."""

    service: str
    unit: str  # the quantity's unit: Hour, Day, Month, GB/Month, GiB/Month, Capacity Unit Hour
    arm_sku: str | None = None
    sku: str | None = None
    meter: str | None = None
    product_has: tuple[str, ...] = ()
    product_not: tuple[str, ...] = ()
    meter_has: tuple[str, ...] = ()
    sku_not: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"serviceName={self.service}"]
        for label, value in (("armSkuName", self.arm_sku), ("skuName", self.sku), ("meterName", self.meter)):
            if value is not None:
                parts.append(f"{label}={value}")
        parts += [f"productName~{p}" for p in self.product_has] + [f"meterName~{m}" for m in self.meter_has]
        parts += [f"productName!~{p}" for p in self.product_not] + [f"skuName!~{s}" for s in self.sku_not]
        return ", ".join(parts) + f" per {self.unit}"

    def matches(self, item: dict[str, Any]) -> bool:
        product, sku, meter = item.get("productName", ""), item.get("skuName", ""), item.get("meterName", "")
        return (
            item.get("serviceName") == self.service
            and self.arm_sku in (None, item.get("armSkuName"))
            and self.sku in (None, sku)
            and self.meter in (None, meter)
            and all(p in product for p in self.product_has)
            and not any(p in product for p in self.product_not)
            and all(m in meter for m in self.meter_has)
            and not any(s in sku for s in self.sku_not)
            and unit_factor(item.get("unitOfMeasure", ""), self.unit) is not None
        )


def unit_factor(unit_of_measure: str, unit: str) -> float | None:
    """How many of the quantity's ``unit`` one price applies to, e.g. ``100 Hours`` per Hour -> 100; None when
    the units differ. GB and GiB convert; nothing else does."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*)?(.*?)\s*", unit_of_measure)
    if not found:
        return None
    count, base = float(found[1]), found[2]
    base = {"Hours": "Hour", "Days": "Day", "Months": "Month"}.get(base, base)
    if base == unit:
        return count
    if (base, unit) == ("GB/Month", "GiB/Month"):
        return count * GIB_PER_GB
    if (base, unit) == ("GiB/Month", "GB/Month"):
        return count / GIB_PER_GB
    return None


@dataclass(frozen=True)
class Quantity:
    """One billable quantity of a resource, per month. ``meter`` None: usage-based or free (``kind``)."""

    what: str
    amount: float
    unit: str
    meter: Meter | None
    kind: str = "metered"  # metered | usage-based | free | unpriced
    note: str = ""


def _metered(what: str, amount: float, meter: Meter, note: str = "") -> Quantity:
    return Quantity(what, amount, meter.unit, meter, "metered", note)


def _usage(what: str) -> Quantity:
    return Quantity(what, 0, "", None, "usage-based")


def _unpriced(what: str) -> Quantity:
    return Quantity(what, 0, "", None, "unpriced")


# ---------------------------------------------------------------------------------------------------------
# The plan's resources, looked up by physical name


class Index:
    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self._named: dict[tuple[str, str], Resource] = {}
        for r in resources:
            for key in _NAME_KEYS.get(r.type, ()):
                if isinstance(r.inputs.get(key), str):
                    self._named[(r.type, r.inputs[key])] = r

    def named(self, type_: str, name: str) -> Resource | None:
        return self._named.get((type_, name))

    def region(self, r: Resource) -> str:
        """The resource's ``location``, else its resource group's; "?" when the plan states neither."""
        location = r.inputs.get("location")
        if isinstance(location, str):
            return location.replace(" ", "").lower()
        group = self.named(RESOURCE_GROUP, str(r.inputs.get("resourceGroupName", "")))
        if group is not None and isinstance(group.inputs.get("location"), str):
            return str(group.inputs["location"]).replace(" ", "").lower()
        return "?"

    def area(self, r: Resource) -> str:
        """The outermost component the resource belongs to (the estate's area: network, aks, icm-database...)."""
        area, node = r.name, r
        while node.parent in self.by_urn:
            node = self.by_urn[node.parent]
            area = node.name
        return area


RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
_NAME_KEYS = {
    RESOURCE_GROUP: ("resourceGroupName",),
    "azure-native:storage:StorageAccount": ("accountName",),
    "azure-native:containerregistry:Registry": ("registryName",),
    "azure-native:compute:VirtualMachine": ("vmName",),
}


# ---------------------------------------------------------------------------------------------------------
# Quantities per type


def _vm_hours(size: str, count: int, note: str = "", windows: bool = False) -> Quantity:
    meter = Meter(
        "Virtual Machines",
        "Hour",
        arm_sku=size,
        product_has=("Windows",) if windows else (),
        product_not=() if windows else ("Windows",),
        sku_not=("Spot", "Low Priority"),
    )
    return _metered(f"{count} x {size}", count * HOURS, meter, note)


# Managed disk tiers by size (GiB): https://learn.microsoft.com/azure/virtual-machines/disks-types (sizes, not prices)
_DISK_TIERS: tuple[tuple[int, int], ...] = ((4, 1), (8, 2), (16, 3), (32, 4), (64, 6), (128, 10), (256, 15), (512, 20))
_DISK_TIERS += ((1024, 30), (2048, 40), (4096, 50), (8192, 60), (16384, 70), (32767, 80))
_DISK_KINDS = {"Premium": ("P", "Premium SSD Managed Disks"), "StandardSSD": ("E", "Standard SSD Managed Disks")}
_DISK_KINDS["Standard"] = ("S", "Standard HDD Managed Disks")


def _disk(name: str, size_gb: int, account_type: str) -> Quantity:
    """A managed disk bills its size tier (the smallest tier that holds the size) per month."""
    kind, _, redundancy = account_type.partition("_")
    if kind not in _DISK_KINDS:
        return _unpriced(f"disk {name}: {account_type} bills provisioned GiB/IOPS/throughput (not counted)")
    prefix, product = _DISK_KINDS[kind]
    number = next((n for limit, n in _DISK_TIERS if size_gb <= limit and (prefix != "S" or n >= 4)), None)
    if number is None:
        return _unpriced(f"disk {name}: {size_gb} GiB is beyond the tier table")
    tier = f"{prefix}{number} {redundancy}"
    meter = Meter("Storage", "Month", sku=tier, meter=f"{tier} Disk", product_has=(product,))
    return _metered(f"disk {tier} ({size_gb} GiB)", 1, meter)


def _virtual_machine(r: Resource, _: Index) -> list[Quantity]:
    storage = r.inputs.get("storageProfile", {})
    publisher = str(storage.get("imageReference", {}).get("publisher", ""))
    out = [_vm_hours(r.inputs["hardwareProfile"]["vmSize"], 1, windows="Windows" in publisher)]
    for disk in [storage.get("osDisk", {}), *storage.get("dataDisks", [])]:
        if "diskSizeGB" in disk:
            account = disk.get("managedDisk", {}).get("storageAccountType", "Premium_LRS")
            out.append(_disk(disk.get("name", "os"), int(disk["diskSizeGB"]), account))
    return out


def _node_pool(pool: dict[str, Any], name: str) -> list[Quantity]:
    """Nodes of a pool: with autoscale the minimum count (the estimate's floor, said in the note)."""
    size = pool["vmSize"]
    if pool.get("enableAutoScaling"):
        low, high = int(pool["minCount"]), int(pool["maxCount"])
        out = [_vm_hours(size, low, f"pool {name}: autoscale {low}-{high}, priced at the minimum")]
    else:
        out = [_vm_hours(size, int(pool.get("count", 1)), f"pool {name}")]
    if pool.get("osDiskType") != "Ephemeral":
        out.append(_unpriced(f"pool {name}: managed OS disks (disk type not stated in the plan)"))
    return out


def _managed_cluster(r: Resource, _: Index) -> list[Quantity]:
    tier = r.inputs.get("sku", {}).get("tier", "Free")
    out: list[Quantity] = []
    if tier == "Free":
        out.append(Quantity("control plane: Free tier", 0, "", None, "free"))
    else:
        out.append(_metered(f"control plane: {tier} tier", HOURS, Meter("Azure Kubernetes Service", "Hour", sku=tier)))
    for pool in r.inputs.get("agentPoolProfiles", []):
        out += _node_pool(pool, pool["name"])
    return out


def _agent_pool(r: Resource, _: Index) -> list[Quantity]:
    return _node_pool(r.inputs, r.inputs.get("agentPoolName", r.name))


_SQL_TIERS = {"GeneralPurpose": "General Purpose", "BusinessCritical": "Business Critical"}


def _sql_managed_instance(r: Resource, _: Index) -> list[Quantity]:
    sku, vcores = r.inputs["sku"], int(r.inputs["vCores"])
    tier = _SQL_TIERS.get(sku.get("tier", ""), sku.get("tier", ""))
    family = f"Compute {sku.get('family', 'Gen5')}"
    product = ("SQL Managed Instance", tier)
    storage = Meter("SQL Managed Instance", "GB/Month", product_has=(*product, "Storage"), meter_has=("Data Stored",))
    out = [
        _metered(
            f"{vcores} vCores {tier} {sku.get('family', '')}",
            vcores * HOURS,
            Meter("SQL Managed Instance", "Hour", meter="vCore", product_has=(*product, family)),
        ),
        _metered(f"{r.inputs['storageSizeInGB']} GB reserved storage", float(r.inputs["storageSizeInGB"]), storage),
    ]
    if r.inputs.get("licenseType", "LicenseIncluded") == "LicenseIncluded":
        license_meter = Meter("SQL Managed Instance", "Hour", meter="vCore", product_has=(*product, "SQL License"))
        out.append(_metered(f"{vcores} vCores SQL license", vcores * HOURS, license_meter))
    out.append(_usage("backup storage beyond the included allowance (GB stored)"))
    return out


def _postgres(r: Resource, _: Index) -> list[Quantity]:
    """Flexible server compute per vCore hour of its series; zone-redundant HA doubles compute and storage."""
    sku = r.inputs["sku"]
    found = re.fullmatch(r"Standard_([A-Z]+)(\d+)([a-z]*)_v(\d+)", sku["name"])
    copies = 2 if r.inputs.get("highAvailability", {}).get("mode") in ("ZoneRedundant", "SameZone") else 1
    note = "with its HA standby" if copies == 2 else ""
    tier = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", sku.get("tier", ""))  # GeneralPurpose -> General Purpose
    out: list[Quantity] = []
    if found:
        vcores, series = int(found[2]), f"{found[1]}{found[3]}v{found[4]}"
        meter = Meter("Azure Database for PostgreSQL", "Hour", meter="vCore",
                      product_has=("Flexible Server", tier, series, "Compute"))  # fmt: skip
        out.append(_metered(f"{copies} x {vcores} vCores {series}", copies * vcores * HOURS, meter, note))
    else:
        out.append(_unpriced(f"compute {sku['name']}: no vCore series in the SKU name"))
    size = float(r.inputs.get("storage", {}).get("storageSizeGB", 0))
    storage = Meter("Azure Database for PostgreSQL", "GB/Month", product_has=("Flexible Server", "Storage"),
                    meter_has=("Data Stored",))  # fmt: skip
    out.append(_metered(f"{copies} x {size:g} GB storage", copies * size, storage, note))
    out.append(_usage("backup storage beyond the provisioned size (GB stored)"))
    return out


def _application_gateway(r: Resource, _: Index) -> list[Quantity]:
    """v2: a fixed hourly cost plus capacity units; the minimum instance count reserves 10 capacity units per
    instance (https://learn.microsoft.com/azure/application-gateway/application-gateway-autoscaling-zone-redundant),
    traffic above it is usage-based."""
    sku = r.inputs.get("sku", {})
    label = {"WAF_v2": "WAF v2", "Standard_v2": "Standard v2"}.get(sku.get("name", ""))
    if label is None:
        return [_unpriced(f"Application Gateway {sku.get('name')}: only v2 SKUs are counted")]
    autoscale = r.inputs.get("autoscaleConfiguration")
    instances = int(autoscale["minCapacity"]) if autoscale else int(sku.get("capacity", 0))
    product = ("Application Gateway", label)
    return [
        _metered(f"{label} gateway", HOURS, Meter("Application Gateway", "Hour", product_has=product,
                                                  meter_has=("Fixed Cost",))),
        _metered(f"{instances * 10} capacity units (minimum {instances} instances)", instances * 10 * HOURS,
                 Meter("Application Gateway", "Hour", product_has=product, meter_has=("Capacity Unit",)),
                 "autoscale minimum" if autoscale else "fixed capacity"),
        _usage("capacity units above the minimum (traffic)"),
    ]  # fmt: skip


def _storage_account(r: Resource, _: Index) -> list[Quantity]:
    out: list[Quantity] = []
    if r.inputs.get("isSftpEnabled"):
        out.append(_metered("SFTP endpoint", HOURS, Meter("Storage", "Hour", meter_has=("SFTP",))))
    if r.inputs.get("kind") == "FileStorage":
        out.append(Quantity("premium account: its file shares bill their provisioned size", 0, "", None, "free"))
    else:
        out.append(_usage(f"{r.inputs.get('sku', {}).get('name')} capacity and transactions"))
    return out


def _file_share(r: Resource, index: Index) -> list[Quantity]:
    """Premium (FileStorage) shares bill the provisioned quota; standard shares bill used capacity."""
    account = index.named("azure-native:storage:StorageAccount", r.inputs.get("accountName", ""))
    sku = account.inputs.get("sku", {}).get("name", "") if account else ""
    if not sku.startswith("Premium_"):
        return [_usage(f"share {r.inputs.get('shareName')}: used capacity ({sku or 'account not in the plan'})")]
    redundancy = sku.partition("_")[2]
    meter = Meter("Storage", "GiB/Month", sku=f"Premium {redundancy}", product_has=("Premium Files",),
                  meter_has=("Provisioned",))  # fmt: skip
    quota = float(r.inputs.get("shareQuota", 0))
    return [_metered(f"{quota:g} GiB provisioned ({redundancy} {r.inputs.get('enabledProtocols', 'SMB')})", quota,
                     meter)]  # fmt: skip


def _registry(r: Resource, _: Index) -> list[Quantity]:
    sku = r.inputs.get("sku", {}).get("name", "Basic")
    meter = Meter("Container Registry", "Day", meter=f"{sku} Registry Unit")
    return [_metered(f"{sku} registry", DAYS, meter), _usage("storage beyond the included GB")]


def _replication(r: Resource, index: Index) -> list[Quantity]:
    registry = index.named("azure-native:containerregistry:Registry", r.inputs.get("registryName", ""))
    sku = registry.inputs.get("sku", {}).get("name", "Premium") if registry else "Premium"
    return [_metered(f"geo-replica ({sku})", DAYS, Meter("Container Registry", "Day", meter=f"{sku} Registry Unit"))]


def _simple_hourly(what: str, meter: Meter, usage: str | None = None) -> Callable[[Resource, Index], list[Quantity]]:
    def quantities(_r: Resource, _i: Index) -> list[Quantity]:
        return [_metered(what, HOURS, meter)] + ([_usage(usage)] if usage else [])

    return quantities


def _bastion(r: Resource, _: Index) -> list[Quantity]:
    sku = r.inputs.get("sku", {}).get("name", "Basic")
    meter = Meter("Azure Bastion", "Hour", sku=sku, meter=f"{sku} Gateway")
    return [_metered(f"{sku} Bastion", HOURS, meter), _usage("outbound data transfer")]


def _vpn_gateway(r: Resource, _: Index) -> list[Quantity]:
    sku = r.inputs.get("sku", {}).get("name", "")
    return [_metered(f"{sku} gateway", HOURS, Meter("VPN Gateway", "Hour", sku=sku, meter=sku)),
            _usage("outbound data transfer")]  # fmt: skip


def _public_ip(r: Resource, _: Index) -> list[Quantity]:
    sku = r.inputs.get("sku", {}).get("name", "Basic")
    allocation = r.inputs.get("publicIPAllocationMethod", "Dynamic")
    meter = Meter("Virtual Network", "Hour", meter=f"{sku} IPv4 {allocation} Public IP", product_has=("IP Addresses",))
    return [_metered(f"{sku} {allocation} IPv4", HOURS, meter)]


def _load_balancer(r: Resource, _: Index) -> list[Quantity]:
    """Standard: the first five rules bill one hourly meter, each further rule its own; data processed is usage."""
    if r.inputs.get("sku", {}).get("name") != "Standard":
        return [_unpriced("load balancer without the Standard SKU")]
    rules = len(r.inputs.get("loadBalancingRules", [])) + len(r.inputs.get("outboundRules", []))
    out = [_metered(f"{min(rules, 5)} rules (first five)", HOURS,
                    Meter("Load Balancer", "Hour", meter="Standard Included LB Rules and Outbound Rules"))]  # fmt: skip
    if rules > 5:
        overage = Meter("Load Balancer", "Hour", meter="Standard Overage LB Rules and Outbound Rules")
        out.append(_metered(f"{rules - 5} further rules", (rules - 5) * HOURS, overage))
    return [*out, _usage("data processed")]


def _private_zone(_r: Resource, _i: Index) -> list[Quantity]:
    zone = Meter("Azure DNS", "Month", product_has=("Private",), meter_has=("Zone",))
    return [_metered("hosted zone", 1, zone), _usage("DNS queries")]


def _public_zone(_r: Resource, _i: Index) -> list[Quantity]:
    zone = Meter("Azure DNS", "Month", product_not=("Private",), meter_has=("Zone",))
    return [_metered("hosted zone", 1, zone), _usage("DNS queries")]


_BACKUP_INSTANCE_GB = 500  # a protected VM counts one instance per started 500 GB (Azure Backup pricing model)


def _protected_item(r: Resource, index: Index) -> list[Quantity]:
    """An Azure VM backup: protected instances by the VM's disk size; the backup storage is usage-based."""
    source = str(r.inputs.get("properties", {}).get("sourceResourceId", ""))
    vm = index.named("azure-native:compute:VirtualMachine", source.rsplit("/", 1)[-1])
    if vm is None:
        return [_unpriced(f"protected item {source or r.name}: source VM not in the plan"), _usage("backup storage")]
    storage = vm.inputs.get("storageProfile", {})
    size = sum(int(d.get("diskSizeGB", 0)) for d in [storage.get("osDisk", {}), *storage.get("dataDisks", [])])
    if size <= 50:  # a smaller instance fee applies up to 50 GB; the rule below prices full instances only
        return [_unpriced(f"VM backup of {size} GB (the <=50 GB fee is not matched)"), _usage("backup storage")]
    instances = math.ceil(size / _BACKUP_INSTANCE_GB)
    meter = Meter("Backup", "Month", meter_has=("Azure VM", "Protected Instance"))
    return [_metered(f"{instances} protected instance(s), {size} GB", instances, meter), _usage("backup storage")]


def _metric_alert(r: Resource, _: Index) -> list[Quantity]:
    """Billed per monitored time series; a dimension with "*" makes the count depend on the live resources."""
    criteria = r.inputs.get("criteria", {}).get("allOf", [])
    wildcard = any("*" in d.get("values", []) for c in criteria for d in c.get("dimensions", []))
    if wildcard:
        return [_usage(f"{len(criteria)} criteria split by a dimension (time series count is live)")]
    series = len(criteria) * max(1, len(r.inputs.get("scopes", [])))
    return [_metered(f"{series} monitored time series", series,
                     Meter("Azure Monitor", "Month", meter_has=("Alerts", "Metric")))]  # fmt: skip


def _generic_resource(r: Resource, _: Index) -> list[Quantity]:
    if r.inputs.get("resourceType") == "backupShortTermRetentionPolicies":
        return [_usage("point-in-time backup storage beyond the included allowance")]
    return [_unpriced(f"generic resource {r.inputs.get('resourceProviderNamespace')}/{r.inputs.get('resourceType')}")]


def _devops_pool(r: Resource, _: Index) -> list[Quantity]:
    size = r.inputs.get("fabricProfile", {}).get("sku", {}).get("name", "?")
    return [_usage(f"up to {r.inputs.get('maximumConcurrency')} x {size} agents, billed while they run")]


def _usage_only(what: str) -> Callable[[Resource, Index], list[Quantity]]:
    def quantities(_r: Resource, _i: Index) -> list[Quantity]:
        return [_usage(what)]

    return quantities


QUANTITIES: dict[str, Callable[[Resource, Index], list[Quantity]]] = {
    "azure-native:compute:VirtualMachine": _virtual_machine,
    "azure-native:containerservice:ManagedCluster": _managed_cluster,
    "azure-native:containerservice:AgentPool": _agent_pool,
    "azure-native:sql:ManagedInstance": _sql_managed_instance,
    "azure-native:dbforpostgresql:Server": _postgres,
    "azure-native:network:ApplicationGateway": _application_gateway,
    "azure-native:storage:StorageAccount": _storage_account,
    "azure-native:storage:FileShare": _file_share,
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:containerregistry:Replication": _replication,
    "azure-native:network:BastionHost": _bastion,
    "azure-native:network:VirtualNetworkGateway": _vpn_gateway,
    "azure-native:network:NatGateway": _simple_hourly(
        "NAT gateway", Meter("NAT Gateway", "Hour", meter="Standard Gateway"), "data processed"
    ),
    "azure-native:network:PublicIPAddress": _public_ip,
    "azure-native:network:LoadBalancer": _load_balancer,
    "azure-native:network:PrivateEndpoint": _simple_hourly(
        "private endpoint",
        Meter("Virtual Network", "Hour", meter="Standard Private Endpoint", product_has=("Private Link",)),
        "data processed",
    ),
    "azure-native:privatedns:PrivateZone": _private_zone,
    "azure-native:network:DnsZone": _private_zone,
    "azure-native:dns:Zone": _public_zone,
    "azure-native:eventgrid:SystemTopic": _usage_only("operations beyond the monthly free grant"),
    "azure-native:recoveryservices:ProtectedItem": _protected_item,
    "azure-native:monitor:MetricAlert": _metric_alert,
    "azure-native:resources:Resource": _generic_resource,
    "azure-native:devopsinfrastructure:Pool": _devops_pool,
    "azure-native:operationalinsights:Workspace": _usage_only("log ingestion and retention beyond 31 days (GB)"),
    "azure-native:applicationinsights:Component": _usage_only("telemetry ingestion (GB, into its workspace)"),
    "azure-native:insights:WebTest": _usage_only("availability test executions"),
    "azure-native:applicationinsights:WebTest": _usage_only("availability test executions"),
    "azure-native:keyvault:Vault": _usage_only("operations (per 10,000)"),
    "azure-native:recoveryservices:Vault": _usage_only("backup storage (GB)"),
    "azure-native:sql:ManagedInstanceLongTermRetentionPolicy": _usage_only("long-term retention backup storage"),
    "azure-native:monitor:ActionGroup": _usage_only("notifications beyond the free grant"),
    "azure-native:network:VirtualNetworkPeering": _usage_only("peered data transfer (GB in and out)"),
    "azure-native:monitor:ScheduledQueryRule": _usage_only("log alert evaluations"),
    "azure-native:dataprotection:BackupVault": _usage_only("backup storage (GB)"),
    "azure-native:dataprotection:BackupInstance": _usage_only("protected instances and snapshots"),
}

# Types with no meter of their own: why they cost nothing (or are billed through another resource).
FREE: dict[str, str] = {
    "azure-native:resources:ResourceGroup": "container",
    "azure-native:authorization:RoleAssignment": "access control",
    "azure-native:authorization:ManagementLockAtResourceGroupLevel": "access control",
    "azure-native:managedidentity:UserAssignedIdentity": "identity",
    "azure-native:managedidentity:FederatedIdentityCredential": "identity",
    "azure-native:consumption:Budget": "cost management",
    # Azure Monitor pricing: activity log alerts, alert processing rules and workbooks have no charge of their own.
    "azure-native:monitor:ActivityLogAlert": "no charge (Azure Monitor pricing)",
    "azure-native:alertsmanagement:AlertProcessingRuleByName": "no charge (Azure Monitor pricing)",
    "azure-native:applicationinsights:Workbook": "no charge (queries bill their data source)",
    "azure-native:network:VirtualNetwork": "no charge (peering traffic: the peering)",
    "azure-native:network:Subnet": "no charge",
    "azure-native:network:NetworkSecurityGroup": "no charge",
    "azure-native:network:SecurityRule": "no charge",
    "azure-native:network:RouteTable": "no charge",
    "azure-native:network:NetworkInterface": "no charge",
    "azure-native:network:PrivateDnsZoneGroup": "no charge (the endpoint bills)",
    "azure-native:network:LocalNetworkGateway": "no charge (a description of the remote site)",
    "azure-native:network:VirtualNetworkGatewayConnection": "site-to-site tunnels are included in the gateway SKU",
    "azure-native:network:ApplicationGatewayWebApplicationFirewallPolicy": "included in the WAF_v2 gateway",
    "azure-native:network:RecordSet": "included in its zone (queries: the zone)",
    "azure-native:dns:RecordSet": "included in its zone (queries: the zone)",
    "azure-native:eventgrid:SystemTopicEventSubscription": "its deliveries are its topic's operations",
    "azure-native:privatedns:VirtualNetworkLink": "no charge (the zone bills)",
    "azure-native:privatedns:PrivateRecordSet": "included in its zone",
    "azure-native:compute:VirtualMachineExtension": "runs on its VM",
    "azure-native:containerservice:MaintenanceConfiguration": "cluster setting",
    "azure-native:dbforpostgresql:Configuration": "server setting",
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": "server setting",
    "azure-native:sql:ManagedDatabase": "included in its managed instance",
    "azure-native:sql:InstanceFailoverGroup": "no charge (the secondary instance bills)",
    "azure-native:keyvault:Secret": "billed as its vault's operations",
    "azure-native:storage:BlobContainer": "capacity billed on its account",
    "azure-native:storage:BlobServiceProperties": "account setting",
    "azure-native:storage:FileServiceProperties": "account setting",
    "azure-native:storage:ManagementPolicy": "account setting",
    "azure-native:storage:LocalUser": "SFTP user (the account's SFTP endpoint bills)",
    "azure-native:recoveryservices:ProtectionPolicy": "vault setting",
    "azure-native:dataprotection:BackupPolicy": "vault setting",
    "azure-native:kubernetesconfiguration:Extension": "runs on the cluster's nodes (AKS backup extension)",
    "azure-native:containerservice:TrustedAccessRoleBinding": "access control",
    "azure-native:monitor:DiagnosticSetting": "ingestion billed by the workspace",
    "azure-native:monitor:DataCollectionRule": "ingestion billed by the workspace",
    "azure-native:monitor:DataCollectionRuleAssociation": "ingestion billed by the workspace",
    "azure-native:insights:Workbook": "no charge",
    "azure-native:portal:Dashboard": "no charge",
    "azure-native:devcenter:DevCenter": "no charge (the pool's agents bill)",
    "azure-native:devcenter:Project": "no charge (the pool's agents bill)",
    "kubernetes:apps/v1:Deployment": "runs on the cluster's nodes",
    "kubernetes:batch/v1:Job": "runs on the cluster's nodes",
    "kubernetes:core/v1:LimitRange": "cluster object",
    "kubernetes:core/v1:Namespace": "cluster object",
    "kubernetes:core/v1:ResourceQuota": "cluster object",
    "kubernetes:core/v1:ServiceAccount": "cluster object",
    "kubernetes:core/v1:PersistentVolume": "a static volume on a file share (the share bills)",
    "kubernetes:core/v1:PersistentVolumeClaim": "bound to a static volume (the share bills)",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": "cluster object",
    "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass": "cluster object",
    "kubernetes:helm.sh/v3:Release": "runs on the cluster's nodes",
    "pulumi:providers:kubernetes": "Pulumi provider",
    "pulumi:pulumi:StackReference": "Pulumi: reads another stack",
    "random:index/randomPassword:RandomPassword": "generated in the Pulumi state",
}
# Registrations that are no cloud resource at all: the estate's components (groupings of resources).
COMPONENT_PREFIX = "intershop:caas:"


def classify(type_: str) -> str:
    """priced (quantities derived) | free | component | unpriced (an unknown type: reported, never skipped)."""
    if type_ in QUANTITIES:
        return "priced"
    if type_ in FREE:
        return "free"
    return "component" if type_.startswith(COMPONENT_PREFIX) else "unpriced"
