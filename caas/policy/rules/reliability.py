"""Reliability rules: what holds state survives a mistaken delete, is backed up where Azure can, and spreads over
the zones the profile names."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule, stack_rule
from caas.policy.resources import UNKNOWN, Resource

AREA = "reliability"

# The types that hold state a re-create cannot bring back (data, keys, backups, images, logs): THE list the
# protection rule reads. Children (databases, shares, secrets) inherit `protect` from these in Pulumi.
STATEFUL_TYPES = frozenset(
    {
        "azure-native:sql:ManagedInstance",
        "azure-native:sql:ManagedDatabase",
        "azure-native:dbforpostgresql:Server",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:FileShare",
        "azure-native:storage:BlobContainer",
        "azure-native:keyvault:Vault",
        "azure-native:recoveryservices:Vault",
        "azure-native:dataprotection:BackupVault",
        "azure-native:containerregistry:Registry",
        "azure-native:compute:Disk",
        "azure-native:operationalinsights:Workspace",
    }
)
VM = "azure-native:compute:VirtualMachine"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
SQL_MI = "azure-native:sql:ManagedInstance"
SQL_LTR = "azure-native:sql:ManagedInstanceLongTermRetentionPolicy"
SQL_STR = "azure-native:sql:ManagedBackupShortTermRetentionPolicy"
POSTGRES = "azure-native:dbforpostgresql:Server"
STORAGE = "azure-native:storage:StorageAccount"
# Storage SKUs whose copies span the region's zones.
ZONE_REDUNDANT_SKUS = frozenset({"Standard_ZRS", "Premium_ZRS", "Standard_GZRS", "Standard_RAGZRS"})


@resource_rule(
    "stateful-resources-protected",
    area=AREA,
    level=Level.MANDATORY,
    controls=("MCSB BR-2", "platform: prd state survives a mistaken `pulumi destroy` or a replacing change"),
    description=(
        "Where the profile protects (prd, shared), every resource that holds data, keys, backups, images or logs "
        "carries Pulumi `protect`. Not relaxable: prd's profile refuses to weaken protection."
    ),
)
def stateful_resources_protected(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    if ctx.protect and r.type in STATEFUL_TYPES and not r.protect:
        yield "holds state but is not protected (`protect=site.protect`)"


def _vm_name(r: Resource) -> str | None:
    name = r.get("vmName")
    return name if isinstance(name, str) and r.known("vmName") else None


def _backed_up_vm(item: Resource) -> str | None:
    """The name of the VM a protected item backs up: from its source id, else from its item name."""
    for path, sep in (("properties.sourceResourceId", "/"), ("protectedItemName", ";")):
        value = item.get(path)
        if isinstance(value, str) and item.known(path):
            return value.rsplit(sep, 1)[-1].lower()
    return None


@stack_rule(
    "virtual-machines-backed-up",
    area=AREA,
    level=Level.MANDATORY,
    controls=("MCSB BR-1", "MCSB BR-2"),
    description=(
        "Where the profile backs up, every virtual machine is a Recovery Services protected item. Relaxable: a "
        "stack may keep a VM that holds nothing (its reason says so)."
    ),
    relaxable=True,
)
def virtual_machines_backed_up(resources: Sequence[Resource], ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    if not ctx.backup:
        return
    covered = {_backed_up_vm(r) for r in resources if r.type == PROTECTED_ITEM}
    for vm in (r for r in resources if r.type == VM):
        name = _vm_name(vm)
        if name is not None and name.lower() not in covered:
            yield vm, f"virtual machine {name} has no recoveryservices:ProtectedItem"


GENERIC = "azure-native:resources:Resource"


def _short_term_days(r: Resource) -> tuple[str, object] | None:
    """SQL MI's point-in-time window of one database: the SDK's type, or the generic resource standing in."""
    if r.type == SQL_STR:
        return "retentionDays", r.get("retentionDays")
    if r.type == GENERIC and r.get("resourceType") == "backupShortTermRetentionPolicies":
        return "properties.retentionDays", r.get("properties.retentionDays")
    return None


def _retention_problems(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    floor = ctx.min_backup_retention_days
    if r.type == POSTGRES:
        days = r.get("backup.backupRetentionDays")
        if days != UNKNOWN and (not isinstance(days, int) or days < floor):
            yield f"backup.backupRetentionDays is {days}; the stack keeps at least {floor} days"
        if ctx.geo_backup and r.get("backup.geoRedundantBackup") not in ("Enabled", UNKNOWN):
            yield "backup.geoRedundantBackup is not Enabled; the profile's backups are geo-redundant"
    elif (short_term := _short_term_days(r)) is not None:
        path, days = short_term
        if days != UNKNOWN and (not isinstance(days, int) or days < floor):
            yield f"{path} is {days}; the stack keeps at least {floor} days"


@stack_rule(
    "database-backups",
    area=AREA,
    level=Level.MANDATORY,
    controls=("MCSB BR-1", "MCSB BR-2"),
    description=(
        "Where the profile backs up: PostgreSQL and SQL MI's databases keep at least the stack's point-in-time "
        "window (prd: the production floor), PostgreSQL's backups are geo-redundant where the profile's backup "
        "redundancy is geo, and SQL MI's databases keep long-term (weekly/monthly) backups where the "
        "environment's rules ask for them."
    ),
)
def database_backups(resources: Sequence[Resource], ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    if not ctx.backup:
        return
    for r in resources:
        for message in _retention_problems(r, ctx):
            yield r, message
    if ctx.long_term_retention:
        # The policy is a child of its database or names it: match on either.
        policies = [r for r in resources if r.type == SQL_LTR and _long_term(r)]
        parents, named = {p.parent for p in policies}, {p.get("databaseName") for p in policies}
        for db in (r for r in resources if r.type == "azure-native:sql:ManagedDatabase"):
            if db.urn not in parents and db.get("databaseName") not in named:
                yield db, "has no long-term retention policy (weekly or monthly backups)"


def _long_term(r: Resource) -> bool:
    return any(
        isinstance(r.get(k), str) and r.get(k) not in ("", "PT0S") for k in ("weeklyRetention", "monthlyRetention")
    )


ZONAL_TYPES = frozenset(
    {
        "azure-native:containerservice:AgentPool",
        "azure-native:network:ApplicationGateway",
        "azure-native:network:PublicIPAddress",
        "azure-native:network:NatGateway",
        VM,
    }
)


NAT_GATEWAY = "azure-native:network:NatGateway"
PUBLIC_IP = "azure-native:network:PublicIPAddress"


def _regional_nat_ips(resources: Sequence[Resource]) -> set[str]:
    """Names of the public IPs of NAT gateways left regional (no zone): they stay regional to match."""
    names: set[str] = set()
    for nat in (r for r in resources if r.type == NAT_GATEWAY and not r.get("zones")):
        for ip in nat.get("publicIpAddresses") or ():
            if isinstance(ip, dict) and isinstance(ip.get("id"), str):
                names.add(ip["id"].rsplit("/", 1)[-1])
    return names


def _zonal_problem(r: Resource, wanted: set[str], regional_ips: set[str]) -> str | None:
    path = "availabilityZones" if r.type == "azure-native:containerservice:AgentPool" else "zones"
    value = r.get(path)
    if value == UNKNOWN:
        return None
    zones = {str(z) for z in value} if isinstance(value, list) else set()
    if not zones and (r.type == NAT_GATEWAY or (r.type == PUBLIC_IP and r.get("publicIpAddressName") in regional_ips)):
        return None  # regional by design: a NAT gateway cannot span zones, and one zone ties all egress to it
    if r.type in (VM, NAT_GATEWAY):  # one zone each; VMs spread across zones (the advisory rule below)
        if len(zones) != 1 or not zones <= wanted:
            return f"{path} is {sorted(zones)}; pin it to one of the profile's zones {sorted(wanted)}"
    elif zones != wanted:
        return f"{path} is {sorted(zones)}; the profile's zones are {sorted(wanted)}"
    return None


def _zone_problem(r: Resource, ctx: PolicyContext, regional_ips: set[str]) -> str | None:
    if r.type in ZONAL_TYPES:
        return _zonal_problem(r, set(ctx.zones), regional_ips)
    if r.type == STORAGE and r.get("sku.name") not in ZONE_REDUNDANT_SKUS | {UNKNOWN}:
        return f"sku.name is {r.get('sku.name')}; zone-redundant storage where the profile has zones"
    if r.type == SQL_MI and r.get("sku.tier") == "BusinessCritical" and r.get("zoneRedundant") is not True:
        return "zoneRedundant is not true (Business Critical)"
    if r.type == POSTGRES and ctx.high_availability and r.get("highAvailability.mode") != "ZoneRedundant":
        return f"highAvailability.mode is {r.get('highAvailability.mode')}; the standby is ZoneRedundant"
    return None


@stack_rule(
    "zones-where-the-profile-says",
    area=AREA,
    level=Level.MANDATORY,
    controls=("platform: the profile's availability promise (caas:profile.zones); MCSB has no zone control",),
    description=(
        "Where the profile names zones: node pools, the application gateway and public IPs span all of them, VMs "
        "are pinned to one of them, storage is zone-redundant, PostgreSQL's standby is zone-redundant where the "
        "rules keep one, and Business Critical SQL MI is zone-redundant. Exceptions, by design: General Purpose "
        "SQL MI (zone redundancy not generally available), and a NAT gateway left regional with its regional IP "
        "(a NAT gateway cannot span zones; pinning one ties every subnet's egress to that zone). Relaxable: a "
        "stack whose region lacks a zonal SKU says so."
    ),
    relaxable=True,
)
def zones_where_the_profile_says(resources: Sequence[Resource], ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    if not ctx.zones:
        return
    regional_ips = _regional_nat_ips(resources)
    for r in resources:
        if (problem := _zone_problem(r, ctx, regional_ips)) is not None:
            yield r, problem


@stack_rule(
    "virtual-machines-spread-over-zones",
    area=AREA,
    level=Level.ADVISORY,
    controls=("platform: redundant hosts do not share a zone",),
    description=(
        "Where the profile names zones, VMs of one role (same name but for the trailing number) use more than one "
        "zone. Advisory: a role with one VM cannot spread, and a zone-pinned data disk may hold a VM back."
    ),
)
def virtual_machines_spread_over_zones(
    resources: Sequence[Resource], ctx: PolicyContext
) -> Iterator[tuple[Resource, str]]:
    if len(ctx.zones) < 2:
        return
    roles: dict[str, list[Resource]] = {}
    for vm in (r for r in resources if r.type == VM and r.get("zones") != UNKNOWN):
        roles.setdefault(vm.name.rstrip("0123456789"), []).append(vm)
    for role, vms in roles.items():
        zones = {str(z) for vm in vms for z in (vm.get("zones") or ())}
        if len(vms) > 1 and len(zones) < 2:
            yield vms[0], f"the {len(vms)} VMs of {role}* all sit in zone(s) {sorted(zones)}"


RULES = (
    stateful_resources_protected,
    virtual_machines_backed_up,
    database_backups,
    zones_where_the_profile_says,
    virtual_machines_spread_over_zones,
)
