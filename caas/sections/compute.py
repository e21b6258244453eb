"""Config of the compute estate: ``caas:aks``, ``caas:icm710``, ``caas:fileShares`` and ``caas:publicEntry``.

Sizes the stack file leaves out come from one table per scale (``profile.scale``: ``production`` in prd,
``small`` in uat and int), so every environment's hosts are readable here and diffable in review.
The ``problems`` function holds the cross-field rules; messages name the key the user has to change.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from caas.sections.base import SYSTEMS, Section

if TYPE_CHECKING:
    from caas.config import EstateConfig


@dataclass(frozen=True)
class VmSize:
    vcpus: int
    memory_gib: int
    temp_disk_gib: int  # 0: no local temp disk, so no ephemeral OS disk


# The sizes a stack may use (learn.microsoft.com, "Dv5 and Dsv5-series", "Ddv5 and Ddsv5-series",
# "Dlsv5-series", "Dldsv5-series", "Esv5-series", "Edsv5-series"). Every one supports Premium SSD,
# Trusted Launch (Gen2), encryption at host and accelerated networking, which the hosts rely on.
VM_SIZES: dict[str, VmSize] = {
    "Standard_D2ls_v5": VmSize(2, 4, 0),
    "Standard_D4ls_v5": VmSize(4, 8, 0),
    "Standard_D8ls_v5": VmSize(8, 16, 0),
    "Standard_D2lds_v5": VmSize(2, 4, 75),
    "Standard_D4lds_v5": VmSize(4, 8, 150),
    "Standard_D8lds_v5": VmSize(8, 16, 300),
    "Standard_D2s_v5": VmSize(2, 8, 0),
    "Standard_D4s_v5": VmSize(4, 16, 0),
    "Standard_D8s_v5": VmSize(8, 32, 0),
    "Standard_D16s_v5": VmSize(16, 64, 0),
    "Standard_D2ds_v5": VmSize(2, 8, 75),
    "Standard_D4ds_v5": VmSize(4, 16, 150),
    "Standard_D8ds_v5": VmSize(8, 32, 300),
    "Standard_D16ds_v5": VmSize(16, 64, 600),
    "Standard_E2s_v5": VmSize(2, 16, 0),
    "Standard_E4s_v5": VmSize(4, 32, 0),
    "Standard_E8s_v5": VmSize(8, 64, 0),
    "Standard_E16s_v5": VmSize(16, 128, 0),
    "Standard_E2ds_v5": VmSize(2, 16, 75),
    "Standard_E4ds_v5": VmSize(4, 32, 150),
    "Standard_E8ds_v5": VmSize(8, 64, 300),
    "Standard_E16ds_v5": VmSize(16, 128, 600),
}

# ICM 7.10 host roles (config key -> short name in resource names) and the memory each needs at least.
HOST_ROLES = {"webAdapter": "wa", "appServer": "as", "solr": "solr"}
MIN_MEMORY_GIB = {"webAdapter": 4, "appServer": 8, "solr": 8}
# AKS refuses nodes below 4 GiB (and 2 vCPUs, which every allowed size has).
AKS_MIN_MEMORY_GIB = 4

# Linux user names Azure refuses for the VM administrator.
_RESERVED = (
    "administrator admin user user1 test user2 test1 user3 admin1 1 123 a actuser adm admin2 aspnet backup "
    "console david guest john owner root server sql support support_388945a0 sys test2 test3 user4 user5"
)
RESERVED_USERNAMES = frozenset(_RESERVED.split())
# Sources the public gateway never sees: RFC 1918, shared (CGNAT), loopback, link-local.
NOT_INTERNET = tuple(
    IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16")
)
WEEKDAYS = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# --------------------------------------------------------------------------------------------------------
# Per-scale defaults: the one place environment sizes come from.


@dataclass(frozen=True)
class HostSpec:
    count: int
    vm_size: str
    data_disk_gb: int | None = None


@dataclass(frozen=True)
class PoolSpec:
    vm_size: str
    min_count: int
    max_count: int

    @property
    def os_disk(self) -> tuple[Literal["Ephemeral", "Managed"], int]:
        """Ephemeral OS disk on the VM's temp disk where it is large enough, else a managed one."""
        temp = VM_SIZES[self.vm_size].temp_disk_gib
        if temp >= 128:
            return "Ephemeral", 128
        if temp >= 64:
            return "Ephemeral", 64
        return "Managed", 128


ICM710_DEFAULTS: dict[str, dict[str, HostSpec]] = {
    "production": {
        "webAdapter": HostSpec(2, "Standard_D2s_v5"),
        "appServer": HostSpec(2, "Standard_E4s_v5"),
        "solr": HostSpec(2, "Standard_E2s_v5", data_disk_gb=128),
    },
    "small": {
        "webAdapter": HostSpec(1, "Standard_D2ls_v5"),
        "appServer": HostSpec(1, "Standard_E2s_v5"),
        "solr": HostSpec(1, "Standard_D2s_v5", data_disk_gb=64),
    },
}
AKS_POOL_DEFAULTS: dict[str, dict[str, PoolSpec]] = {
    "production": {"system": PoolSpec("Standard_D4ds_v5", 3, 5), "user": PoolSpec("Standard_D8ds_v5", 3, 12)},
    "small": {"system": PoolSpec("Standard_D2ds_v5", 2, 3), "user": PoolSpec("Standard_D4ds_v5", 2, 6)},
}
SHARE_QUOTA_DEFAULTS: dict[str, dict[str, int]] = {
    "production": {"icm710": 1024, "icm11": 512, "iom": 256},
    "small": {"icm710": 256, "icm11": 128, "iom": 100},
}
GATEWAY_CAPACITY_DEFAULTS: dict[str, tuple[int, int]] = {"production": (2, 10), "small": (1, 3)}


# --------------------------------------------------------------------------------------------------------
# Sections as the stack file spells them; None means "the scale's default" (tables above).


def _scale_default(describe) -> str:
    """'default: production …, small …' for a field's description, from the tables above."""
    return "default: " + "; ".join(f"{scale} {describe(scale)}" for scale in ("production", "small"))


def _hosts_default(role: str) -> str:
    return _scale_default(lambda scale: _host_text(ICM710_DEFAULTS[scale][role]))


def _host_text(spec: HostSpec) -> str:
    disk = f", {spec.data_disk_gb} GB index disk" if spec.data_disk_gb else ""
    return f"{spec.count} x {spec.vm_size}{disk}"


def _pool_default(pool: str) -> str:
    return _scale_default(
        lambda scale: "{0.vm_size} x {0.min_count}-{0.max_count}".format(AKS_POOL_DEFAULTS[scale][pool])
    )


def _quota_default(app: str) -> str:
    return _scale_default(lambda scale: f"{SHARE_QUOTA_DEFAULTS[scale][app]} GiB")


class NodePool(Section):
    vm_size: str | None = Field(default=None, description="one of the allowed VM sizes (docs/compute.md)")
    min_count: int | None = Field(default=None, ge=1, le=100, description="autoscaler lower bound")
    max_count: int | None = Field(default=None, ge=1, le=100, description="autoscaler upper bound")


class MaintenanceWindow(Section):
    day_of_week: WEEKDAYS = "Sunday"
    start_time: str = Field(default="02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    duration_hours: int = Field(default=4, ge=4, le=24)
    utc_offset: str = Field(default="+00:00", pattern=r"^[+-](0\d|1[0-4]):[0-5]\d$", description="+HH:MM")


class Aks(Section):
    """``caas:aks``: the environment's cluster (built when ICM 11, IOM, PWA or microservices are on)."""

    kubernetes_version: str = Field(default="1.36", pattern=r"^1\.\d{2}(\.\d{1,2})?$", description="e.g. 1.36")
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image"] = Field(
        default="patch", description="automatic Kubernetes upgrades, inside the maintenance window"
    )
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch"] = Field(
        default="NodeImage", description="automatic node OS updates, inside the maintenance window"
    )
    maintenance_window: MaintenanceWindow = Field(
        default=MaintenanceWindow(), description="weekly window for both AKS-managed upgrade schedules"
    )
    system_pool: NodePool = Field(default=NodePool(), description=f"critical add-ons only; {_pool_default('system')}")
    user_pool: NodePool = Field(default=NodePool(), description=f"workloads; {_pool_default('user')}")
    # Overlay: pods and services get addresses outside every VNet; they must not collide with any routed range.
    pod_cidr: IPv4Network = Field(
        default=IPv4Network("10.244.0.0/16"), description="overlay pod range; no overlap with any VNet or VPN site"
    )
    service_cidr: IPv4Network = Field(
        default=IPv4Network("10.245.0.0/16"), description="/12-/24; no overlap with pods, VNets or VPN sites"
    )
    ingress_ip: IPv4Address | None = Field(
        default=None,
        description="private IP of the ingress controller's internal load balancer; default: the AKS subnet's "
        "last usable address",
    )
    admin_group_object_ids: tuple[str, ...] = Field(
        default=(), description="Entra ID groups with cluster-admin through Azure RBAC"
    )


class HostGroup(Section):
    count: int | None = Field(default=None, ge=1, le=20, description="hosts of this role in the system")
    vm_size: str | None = Field(default=None, description="one of the allowed VM sizes (docs/compute.md)")


class SearchHostGroup(HostGroup):
    data_disk_gb: int | None = Field(default=None, ge=32, le=4095, description="Premium SSD for the Solr index")


class Icm710System(Section):
    web_adapter: HostGroup = Field(
        default=HostGroup(), description=f"Apache + web adapter behind the internal LB; {_hosts_default('webAdapter')}"
    )
    app_server: HostGroup = Field(
        default=HostGroup(), description=f"Tomcat, >= 8 GiB memory; {_hosts_default('appServer')}"
    )
    solr: SearchHostGroup = Field(default=SearchHostGroup(), description=f"search hosts; {_hosts_default('solr')}")


class Icm710(Section):
    """``caas:icm710``: the VM hosts of ICM 7.10, per system (live, edit)."""

    admin_username: str = Field(
        default="icmadmin",
        pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="a Linux user name (lower case, <= 32 characters) for the SSH-only administrator",
    )
    ssh_public_keys: tuple[str, ...] = Field(
        min_length=1, description="operators' SSH public keys, Ed25519 or RSA >= 2048 bits (no passwords)"
    )
    share_path: str = Field(
        default="/var/intershop/share",
        pattern=r"^(/[A-Za-z0-9._-]+)+$",
        description="an absolute path: where hosts mount their system's NFS share (IS_SHARE)",
    )
    live: Icm710System = Field(default=Icm710System(), description="the live system's hosts")
    edit: Icm710System = Field(default=Icm710System(), description="the edit system's hosts")


class FileShares(Section):
    """``caas:fileShares``: provisioned size (GiB) of each NFS share; Premium shares start at 100 GiB."""

    icm710_quota_gib: int | None = Field(
        default=None, ge=100, le=102400, description=f"per ICM 7.10 system; {_quota_default('icm710')}"
    )
    icm11_quota_gib: int | None = Field(
        default=None, ge=100, le=102400, description=f"per ICM 11 system (sites); {_quota_default('icm11')}"
    )
    iom_quota_gib: int | None = Field(default=None, ge=100, le=102400, description=_quota_default("iom"))
    soft_delete_days: int = Field(default=14, ge=1, le=365, description="deleted shares are kept this long")
    root_squash: Literal["RootSquash", "NoRootSquash", "AllSquash"] = Field(
        default="RootSquash", description="NoRootSquash only briefly, to hand directories to ICM's user"
    )


class PublicEntry(Section):
    """``caas:publicEntry``: the Application Gateway; off until the certificates are in the Key Vault."""

    enabled: bool = Field(default=False, description="switch on once every certificate is imported")
    certificates: dict[str, str] = Field(
        default_factory=dict,
        description="hostname role (live.shop ...) -> Key Vault certificate name; default: the hostname with - for .",
    )
    restricted_sources: tuple[IPv4Network, ...] = Field(
        default=(), description="public ranges that may reach edit, back-office and IOM hostnames"
    )
    min_capacity: int | None = Field(
        default=None, ge=0, le=125, description=_scale_default(lambda s: str(GATEWAY_CAPACITY_DEFAULTS[s][0]))
    )
    max_capacity: int | None = Field(
        default=None, ge=1, le=125, description=_scale_default(lambda s: str(GATEWAY_CAPACITY_DEFAULTS[s][1]))
    )


# --------------------------------------------------------------------------------------------------------
# Effective values, read through EstateConfig's properties.


def icm710_hosts(cfg: EstateConfig) -> dict[str, dict[str, HostSpec]]:
    """system -> role -> hosts, config over the scale's defaults; {} without ICM 7.10."""
    if cfg.apps is None or not cfg.apps.icm710 or cfg.icm710 is None:
        return {}
    defaults = ICM710_DEFAULTS[cfg.profile.scale]
    result: dict[str, dict[str, HostSpec]] = {}
    for system in SYSTEMS:
        declared = getattr(cfg.icm710, system)
        result[system] = {}
        for role, default in defaults.items():
            group = getattr(declared, _snake(role))
            result[system][role] = HostSpec(
                count=group.count or default.count,
                vm_size=group.vm_size or default.vm_size,
                data_disk_gb=getattr(group, "data_disk_gb", None) or default.data_disk_gb,
            )
    return result


def aks_pools(cfg: EstateConfig) -> dict[str, PoolSpec]:
    """``system`` and ``user`` pools, config over the scale's defaults; {} without a containerised app."""
    if not containerised(cfg):
        return {}
    result = {}
    for pool, default in AKS_POOL_DEFAULTS[cfg.profile.scale].items():
        declared: NodePool = getattr(cfg.aks, f"{pool}_pool")
        low = declared.min_count or default.min_count
        result[pool] = PoolSpec(
            vm_size=declared.vm_size or default.vm_size,
            min_count=low,
            max_count=declared.max_count or max(default.max_count, low),
        )
    return result


def containerised(cfg: EstateConfig) -> bool:
    return cfg.apps is not None and cfg.apps.containerised


def aks_ingress_ip(cfg: EstateConfig) -> IPv4Address | None:
    """The ingress controller's fixed private IP: configured, or the AKS subnet's last usable address
    (nodes are allocated from the bottom of the subnet, so the top stays free)."""
    if not containerised(cfg):
        return None
    return cfg.aks.ingress_ip or cfg.subnets["aks"].broadcast_address - 1


def icm710_frontend_ips(cfg: EstateConfig) -> dict[str, IPv4Address]:
    """Each system's web-adapter load balancer IP: the top of the VM subnet (live highest, then edit)."""
    if not icm710_hosts(cfg):
        return {}
    top = cfg.subnets["vms"].broadcast_address
    return {system: top - 1 - i for i, system in enumerate(SYSTEMS)}


def nfs_shares(cfg: EstateConfig) -> dict[str, int]:
    """NFS share name -> quota (GiB) for every app that needs shared RWX storage."""
    if cfg.apps is None:
        return {}
    defaults = SHARE_QUOTA_DEFAULTS[cfg.profile.scale]
    declared = cfg.file_shares
    shares: dict[str, int] = {}
    if cfg.apps.icm710:
        for system in SYSTEMS:
            shares[f"icm710-{system}"] = declared.icm710_quota_gib or defaults["icm710"]
    if cfg.apps.icm11:
        for system in SYSTEMS:
            shares[f"icm11-{system}"] = declared.icm11_quota_gib or defaults["icm11"]
    if cfg.apps.iom:
        shares["iom"] = declared.iom_quota_gib or defaults["iom"]
    return shares


@dataclass(frozen=True)
class Route:
    """One public hostname: where the gateway sends it and who may reach it."""

    role: str  # live.shop, edit.backoffice, iom ...
    hostname: str
    certificate: str  # Key Vault certificate name
    backend: str  # icm710-live, icm710-edit or aks
    restricted: bool  # only from caas:publicEntry.restrictedSources
    probe_path: str

    @property
    def slug(self) -> str:
        return self.role.replace(".", "-")


# Paths the gateway probes; any 200-399 answer counts as healthy.
PROBE_PATHS = {"shop": "/", "backoffice": "/", "pwa": "/", "iom": "/omt/"}


def default_certificate_name(hostname: str) -> str:
    """Key Vault object names allow letters, digits and hyphens: shop.acme.com -> shop-acme-com."""
    return hostname.replace(".", "-")


def public_routes(cfg: EstateConfig) -> list[Route]:
    """Every public hostname with its backend. ICM hostnames go to the ICM 7.10 web adapters when ICM 7.10
    is on, else to the AKS ingress (ICM 11); PWA and IOM always run on AKS."""
    if cfg.apps is None:
        return []
    routes = []
    for role, hostname in cfg.hostnames.items():
        system, _, app = role.rpartition(".")
        backend = f"icm710-{system}" if app in ("shop", "backoffice") and cfg.apps.icm710 else "aks"
        routes.append(
            Route(
                role=role,
                hostname=hostname,
                certificate=cfg.public_entry.certificates.get(role) or default_certificate_name(hostname),
                backend=backend,
                restricted=system == "edit" or app in ("backoffice", "iom"),
                probe_path=PROBE_PATHS[app],
            )
        )
    return routes


def gateway_capacity(cfg: EstateConfig) -> tuple[int, int]:
    low, high = GATEWAY_CAPACITY_DEFAULTS[cfg.profile.scale]
    low = cfg.public_entry.min_capacity if cfg.public_entry.min_capacity is not None else low
    return low, cfg.public_entry.max_capacity or max(high, low)


# --------------------------------------------------------------------------------------------------------
# Cross-field rules


def problems(cfg: EstateConfig) -> list[tuple[str, str]]:
    """Everything wrong with the compute config, as (config key, message)."""
    p: list[tuple[str, str]] = []
    declared = cfg.model_fields_set
    sections = {
        "aks": "caas:aks",
        "icm710": "caas:icm710",
        "file_shares": "caas:fileShares",
        "public_entry": "caas:publicEntry",
    }
    if cfg.is_shared:
        for field, key in sections.items():
            if field in declared:
                p.append((key, "not allowed here; it belongs to the environment stacks (int, uat, prd)"))
        return p
    if cfg.apps is None:
        return p  # the core reports the missing caas:apps
    if "aks" in declared and not cfg.apps.containerised:
        p.append(("caas:aks", "set, but no containerised app (icm11, iom, pwa, microservices) is on; remove it"))
    if cfg.apps.icm710 and cfg.icm710 is None:
        p.append(("caas:icm710", "required when caas:apps.icm710 is true (at least sshPublicKeys)"))
    if not cfg.apps.icm710 and cfg.icm710 is not None:
        p.append(("caas:icm710", "set, but caas:apps.icm710 is false; remove it"))
    try:
        subnets = cfg.subnets
    except ValueError:
        subnets = None  # the core reports the broken network; checks that need subnets wait for a fix
    _check_icm710(cfg, p)
    if cfg.apps.containerised:
        _check_aks(cfg, subnets, p)
    _check_public_entry(cfg, p)
    return p


def _check_vm_size(key: str, size: str, min_memory_gib: int, what: str, p: list[tuple[str, str]]) -> None:
    if size not in VM_SIZES:
        p.append((key, f"unknown VM size '{size}'; allowed: {', '.join(VM_SIZES)}"))
        return
    memory = VM_SIZES[size].memory_gib
    if memory < min_memory_gib:
        bigger = [name for name, s in VM_SIZES.items() if s.memory_gib >= min_memory_gib][:3]
        p.append(
            (
                key,
                f"{size} has {memory} GiB memory; {what} needs at least {min_memory_gib} GiB "
                f"(e.g. {', '.join(bigger)})",
            )
        )


def _check_icm710(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    if cfg.icm710 is None:
        return
    what = {"webAdapter": "a web adapter", "appServer": "an ICM application server", "solr": "a Solr host"}
    for system, roles in icm710_hosts(cfg).items():
        for role, spec in roles.items():
            key = f"caas:icm710.{system}.{role}.vmSize"
            _check_vm_size(key, spec.vm_size, MIN_MEMORY_GIB[role], what[role], p)
    if cfg.icm710.admin_username in RESERVED_USERNAMES:
        p.append(("caas:icm710.adminUsername", f"'{cfg.icm710.admin_username}' is reserved by Azure; choose another"))
    for i, key in enumerate(cfg.icm710.ssh_public_keys):
        problem = ssh_key_problem(key)
        if problem:
            p.append((f"caas:icm710.sshPublicKeys[{i}]", problem))


def _check_aks(cfg: EstateConfig, subnets: dict[str, IPv4Network] | None, p: list[tuple[str, str]]) -> None:
    aks = cfg.aks
    pools = aks_pools(cfg)
    for pool, spec in pools.items():
        key = f"caas:aks.{pool}Pool"
        _check_vm_size(f"{key}.vmSize", spec.vm_size, AKS_MIN_MEMORY_GIB, "an AKS node", p)
        if spec.min_count > spec.max_count:
            p.append((f"{key}.maxCount", f"{spec.max_count} is below minCount {spec.min_count}"))
    for a in aks.admin_group_object_ids:
        if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", a):
            p.append(("caas:aks.adminGroupObjectIds", f"'{a}' is not an Entra ID object id (a lower-case GUID)"))

    # Overlay gives each node a /24 of the pod CIDR; the subnet holds the nodes, surge nodes and load balancers.
    nodes = sum(s.max_count for s in pools.values())
    surge = max((s.max_count for s in pools.values()), default=0) // 3 + 1
    if aks.pod_cidr.prefixlen > 24 or 2 ** (24 - aks.pod_cidr.prefixlen) < nodes + surge:
        p.append(("caas:aks.podCidr", f"{aks.pod_cidr} holds fewer than {nodes + surge} node /24 blocks"))
    if not 12 <= aks.service_cidr.prefixlen <= 24:
        p.append(("caas:aks.serviceCidr", f"{aks.service_cidr} must be between /12 and /24"))
    if aks.pod_cidr.overlaps(aks.service_cidr):
        p.append(("caas:aks.serviceCidr", f"overlaps caas:aks.podCidr {aks.pod_cidr}"))
    routed = {"caas:network.addressSpace": cfg.network.address_space}
    if cfg.network.hub_address_space is not None:
        routed["caas:network.hubAddressSpace"] = cfg.network.hub_address_space
    if cfg.network.dr_address_space is not None:
        routed["caas:network.drAddressSpace"] = cfg.network.dr_address_space
    for i, site in enumerate(cfg.vpn.sites if cfg.vpn else ()):
        for j, prefix in enumerate(site.address_prefixes):
            routed[f"caas:vpn.sites[{i}].addressPrefixes[{j}]"] = prefix
    for field, cidr in (("podCidr", aks.pod_cidr), ("serviceCidr", aks.service_cidr)):
        for name, net in routed.items():
            if cidr.overlaps(net):
                p.append((f"caas:aks.{field}", f"{cidr} overlaps {name} {net}; pods and services need their own range"))

    if subnets is None:
        return
    subnet = subnets["aks"]
    usable = subnet.num_addresses - 5  # Azure reserves the first four addresses and the last
    if nodes + surge + 1 > usable:
        p.append(("caas:aks.userPool.maxCount", f"{nodes + surge} nodes and the ingress do not fit in {subnet}"))
    if aks.ingress_ip is not None:
        reserved = {*(subnet.network_address + i for i in range(4)), subnet.broadcast_address}
        if aks.ingress_ip not in subnet or aks.ingress_ip in reserved:
            p.append(("caas:aks.ingressIp", f"{aks.ingress_ip} must be a usable address of the AKS subnet {subnet}"))


def _check_public_entry(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    entry = cfg.public_entry
    roles = set(cfg.hostnames)
    for role, name in entry.certificates.items():
        key = f"caas:publicEntry.certificates.{role}"
        if role not in roles:
            p.append((key, f"no such hostname role; roles of this stack: {', '.join(sorted(roles))}"))
        elif not re.fullmatch(r"[0-9A-Za-z-]{1,127}", name):
            p.append((key, f"'{name}' is not a Key Vault certificate name (1-127 letters, digits, hyphens)"))
    for i, net in enumerate(entry.restricted_sources):
        if net.prefixlen == 0 or any(net.overlaps(private) for private in NOT_INTERNET):
            p.append(
                (
                    f"caas:publicEntry.restrictedSources[{i}]",
                    f"{net} is not a public range narrower than 0.0.0.0/0; the gateway sees clients' public IPs",
                )
            )
    if entry.enabled and not entry.restricted_sources and any(r.restricted for r in public_routes(cfg)):
        p.append(
            (
                "caas:publicEntry.restrictedSources",
                "required while enabled: the public ranges that may reach the edit and back-office hostnames",
            )
        )
    low, high = gateway_capacity(cfg)
    if low > high:
        p.append(("caas:publicEntry.maxCapacity", f"{high} is below minCapacity {low}"))


_SSH_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa) ([A-Za-z0-9+/]+={0,2})(?: \S.*)?$")


def ssh_key_problem(line: str) -> str | None:
    """Why ``line`` is not an SSH public key Azure accepts (Ed25519, or RSA of 2048+ bits); None if it is."""
    match = _SSH_KEY.match(line.strip())
    if not match:
        return "not an SSH public key; expected 'ssh-ed25519 AAAA... [comment]' or 'ssh-rsa AAAA... [comment]'"
    try:
        blob = base64.b64decode(match[2], validate=True)
    except binascii.Error:
        return "the key's base64 data is damaged"
    fields = _ssh_strings(blob)
    if not fields or fields[0] != match[1].encode():
        return f"the key's data does not hold a {match[1]} key"
    if match[1] == "ssh-rsa":
        bits = int.from_bytes(fields[2], "big").bit_length() if len(fields) >= 3 else 0
        if bits < 2048:
            return f"RSA keys need at least 2048 bits; this one has {bits}"
    elif len(fields) < 2 or len(fields[1]) != 32:
        return "the key's data is not a 32-byte Ed25519 key"
    return None


def _ssh_strings(blob: bytes) -> list[bytes]:
    """The length-prefixed strings of an SSH wire-format key."""
    out = []
    while len(blob) >= 4:
        size = int.from_bytes(blob[:4], "big")
        if size > len(blob) - 4:
            return []
        out.append(blob[4 : 4 + size])
        blob = blob[4 + size :]
    return out if not blob else []


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
