"""Derived facts of the compute area: everything computed from the validated model, once."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from caas.addresses import non_public_part
from caas.model import EstateConfig
from caas.sections.base import SYSTEMS
from caas.sections.compute import (
    AKS_MIN_MEMORY_GIB,
    AKS_POOL_DEFAULTS,
    GATEWAY_CAPACITY_DEFAULTS,
    HOST_ROLES,
    ICM710_DEFAULTS,
    MIN_MEMORY_GIB,
    PROBE_PATHS,
    RESERVED_USERNAMES,
    SHARE_QUOTA_DEFAULTS,
    Aks,
    HostSpec,
    Icm710,
    NodePool,
    PoolSpec,
    PublicEntry,
    Route,
    _check_vm_size,
    _snake,
    default_certificate_name,
    ssh_key_problem,
)
from caas.specs import network as network_spec
from caas.specs.memo import once


@once
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


@once
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


@once
def aks_ingress_ip(cfg: EstateConfig) -> IPv4Address | None:
    """The ingress controller's fixed private IP: configured, or the AKS subnet's last usable address
    (nodes are allocated from the bottom of the subnet, so the top stays free)."""
    if not containerised(cfg):
        return None
    return cfg.aks.ingress_ip or network_spec.subnets(cfg)["aks"].broadcast_address - 1


@once
def icm710_frontend_ips(cfg: EstateConfig) -> dict[str, IPv4Address]:
    """Each system's web-adapter load balancer IP: the top of the VM subnet (live highest, then edit)."""
    if not icm710_hosts(cfg):
        return {}
    top = network_spec.subnets(cfg)["vms"].broadcast_address
    return {system: top - 1 - i for i, system in enumerate(SYSTEMS)}


@once
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


@once
def public_routes(cfg: EstateConfig) -> list[Route]:
    """Every public hostname with its backend. ICM hostnames go to the ICM 7.10 web adapters when ICM 7.10
    is on, else to the AKS ingress (ICM 11); PWA and IOM always run on AKS."""
    if cfg.apps is None:
        return []
    routes = []
    for role, hostname in network_spec.hostnames(cfg).items():
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


@once
def gateway_capacity(cfg: EstateConfig) -> tuple[int, int]:
    low, high = GATEWAY_CAPACITY_DEFAULTS[cfg.profile.scale]
    low = cfg.public_entry.min_capacity if cfg.public_entry.min_capacity is not None else low
    return low, cfg.public_entry.max_capacity or max(high, low)


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
        subnets = network_spec.subnets(cfg)
    except ValueError:
        subnets = None  # the core reports the broken network; checks that need subnets wait for a fix
    _check_icm710(cfg, p)
    if cfg.apps.containerised:
        _check_aks(cfg, subnets, p)
    _check_public_entry(cfg, p)
    return p


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
    if cfg.kubernetes.enabled and aks.deployer_principal_id is None:
        # Local accounts are off and Azure RBAC decides: without the grant every in-cluster call is refused.
        p.append(
            (
                "caas:aks.deployerPrincipalId",
                "required while caas:kubernetes.enabled is true: the deployer identity's object id, from the "
                "`pulumi config set ... caas:aks.deployerPrincipalId` lines `python -m caas init` prints",
            )
        )

    # Overlay gives each node a /24 of the pod CIDR; the subnet holds the nodes, surge nodes and load balancers.
    nodes = sum(s.max_count for s in pools.values())
    surge = max((s.max_count for s in pools.values()), default=0) // 3 + 1
    _check_aks_ranges(cfg, nodes + surge, p)
    if subnets is not None:
        _check_aks_subnet(aks, subnets["aks"], nodes + surge, p)


def _check_aks_ranges(cfg: EstateConfig, nodes: int, p: list[tuple[str, str]]) -> None:
    """Pod and service CIDRs: big enough for ``nodes`` (surge included), disjoint from each other and every
    routed range."""
    aks = cfg.aks
    if aks.pod_cidr.prefixlen > 24 or 2 ** (24 - aks.pod_cidr.prefixlen) < nodes:
        p.append(("caas:aks.podCidr", f"{aks.pod_cidr} holds fewer than {nodes} node /24 blocks"))
    if not 12 <= aks.service_cidr.prefixlen <= 24:
        p.append(("caas:aks.serviceCidr", f"{aks.service_cidr} must be between /12 and /24"))
    if aks.pod_cidr.overlaps(aks.service_cidr):
        p.append(("caas:aks.serviceCidr", f"overlaps caas:aks.podCidr {aks.pod_cidr}"))
    for field, cidr in (("podCidr", aks.pod_cidr), ("serviceCidr", aks.service_cidr)):
        for name, net in _routed(cfg).items():
            if cidr.overlaps(net):
                p.append((f"caas:aks.{field}", f"{cidr} overlaps {name} {net}; pods and services need their own range"))


def _routed(cfg: EstateConfig) -> dict[str, IPv4Network]:
    """Every range the VNet routes (its own, the hub's, the DR VNet's, the partners'), by config key."""
    routed = {"caas:network.addressSpace": cfg.network.address_space}
    if cfg.network.hub_address_space is not None:
        routed["caas:network.hubAddressSpace"] = cfg.network.hub_address_space
    if cfg.network.dr_address_space is not None:
        routed["caas:network.drAddressSpace"] = cfg.network.dr_address_space
    if cfg.network.dr_app_address_space is not None:
        routed["caas:network.drAppAddressSpace"] = cfg.network.dr_app_address_space
    for i, site in enumerate(cfg.vpn.sites if cfg.vpn else ()):
        for j, prefix in enumerate(site.address_prefixes):
            routed[f"caas:vpn.sites[{i}].addressPrefixes[{j}]"] = prefix
    return routed


def _check_aks_subnet(aks: Aks, subnet: IPv4Network, nodes: int, p: list[tuple[str, str]]) -> None:
    """The AKS subnet holds ``nodes`` (surge included) and the ingress, whose address is a usable one of it."""
    usable = subnet.num_addresses - 5  # Azure reserves the first four addresses and the last
    if nodes + 1 > usable:
        p.append(("caas:aks.userPool.maxCount", f"{nodes} nodes and the ingress do not fit in {subnet}"))
    if aks.ingress_ip is not None:
        reserved = {*(subnet.network_address + i for i in range(4)), subnet.broadcast_address}
        if aks.ingress_ip not in subnet or aks.ingress_ip in reserved:
            p.append(("caas:aks.ingressIp", f"{aks.ingress_ip} must be a usable address of the AKS subnet {subnet}"))


def _check_public_entry(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    entry = cfg.public_entry
    roles = set(network_spec.hostnames(cfg))
    for role, name in entry.certificates.items():
        key = f"caas:publicEntry.certificates.{role}"
        if role not in roles:
            p.append((key, f"no such hostname role; roles of this stack: {', '.join(sorted(roles))}"))
        elif not re.fullmatch(r"[0-9A-Za-z-]{1,127}", name):
            p.append((key, f"'{name}' is not a Key Vault certificate name (1-127 letters, digits, hyphens)"))
    for i, net in enumerate(entry.restricted_sources):
        if net.prefixlen == 0 or non_public_part(net) is not None:
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


# --------------------------------------------------------------------------------------------------------
# The compute components' slices


@dataclass(frozen=True)
class FileSystemSpec:
    """``caas:fileShares``: the NFS shares (share -> quota GiB) on one FileStorage account."""

    shares: dict[str, int]
    soft_delete_days: int
    root_squash: str
    storage_redundancy: str


@dataclass(frozen=True)
class Icm710SystemSpec:
    """One ICM 7.10 system (live or edit): its hosts, load balancer address and the ``caas:icm710`` settings."""

    system: str
    hosts: dict[str, HostSpec]  # role -> hosts
    frontend_ip: IPv4Address
    settings: Icm710
    storage_redundancy: str


def icm710_host_keys(spec: Icm710SystemSpec) -> list[tuple[str, int, str]]:
    """(role, index, host key) of every host of a system, e.g. ("appServer", 0, "icm710-live-as1"): the key
    names its VM, NIC and disks."""
    return [
        (role, i, f"icm710-{spec.system}-{HOST_ROLES[role]}{i + 1}")
        for role, hosts in spec.hosts.items()
        for i in range(hosts.count)
    ]


@dataclass(frozen=True)
class AksSpec:
    """``caas:aks`` with its effective pools, ingress address and control-plane tier."""

    settings: Aks
    pools: dict[str, PoolSpec]
    ingress_ip: IPv4Address
    tier: str


@dataclass(frozen=True)
class PublicEntrySpec:
    """``caas:publicEntry`` with its routes and capacity; the gateway exists only when ``enabled``."""

    settings: PublicEntry
    routes: tuple[Route, ...]
    capacity: tuple[int, int]


@dataclass(frozen=True)
class ComputeSpec:
    files: FileSystemSpec | None
    icm710: dict[str, Icm710SystemSpec]  # system -> its hosts; {} without ICM 7.10
    aks: AksSpec | None
    public_entry: PublicEntrySpec


def derive(cfg: EstateConfig) -> ComputeSpec:
    shares = nfs_shares(cfg)
    ingress = aks_ingress_ip(cfg)
    pools = aks_pools(cfg)
    return ComputeSpec(
        files=FileSystemSpec(
            shares, cfg.file_shares.soft_delete_days, cfg.file_shares.root_squash, cfg.profile.storage_redundancy
        )
        if shares
        else None,
        icm710={
            system: Icm710SystemSpec(
                system, hosts, icm710_frontend_ips(cfg)[system], cfg.icm710, cfg.profile.storage_redundancy
            )
            for system, hosts in icm710_hosts(cfg).items()
            if cfg.icm710 is not None
        },
        aks=AksSpec(cfg.aks, pools, ingress, cfg.profile.aks_tier) if pools and ingress is not None else None,
        public_entry=PublicEntrySpec(cfg.public_entry, tuple(public_routes(cfg)), gateway_capacity(cfg)),
    )


def dr(cfg: EstateConfig) -> ComputeSpec | None:
    """The same compute estate re-sited in the DR VNet's application subnets (caas:disasterRecovery.activate):
    the ingress and the ICM 7.10 load balancers take the same places at the top of the DR subnets."""
    if not network_spec.activated(cfg):
        return None
    primary, planned = derive(cfg), network_spec.dr_subnets(cfg)
    aks = replace(primary.aks, ingress_ip=planned["aks"].broadcast_address - 1) if primary.aks is not None else None
    top = planned["vms"].broadcast_address
    icm710 = {
        system: replace(spec, frontend_ip=top - 1 - SYSTEMS.index(system)) for system, spec in primary.icm710.items()
    }
    return replace(primary, aks=aks, icm710=icm710)
