"""Derived facts of the network: subnet plans, public hostnames and private DNS zones."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network

from caas import addressing
from caas.model import EstateConfig
from caas.sections.base import SYSTEMS
from caas.specs import connectivity, site
from caas.specs.memo import once

# Private DNS zone per private-link sub-resource (learn.microsoft.com, "Azure Private Endpoint DNS values").
# The shared stack owns one of each, linked to the hub; environments link their spoke to those it uses. No
# zone for SQL MI: its VNet-local endpoint resolves through public DNS, and an empty, linked
# privatelink.database.windows.net would answer NXDOMAIN for every Azure SQL endpoint behind Private Link.
PRIVATELINK_ZONES = {
    "registry": "privatelink.azurecr.io",
    "file": "privatelink.file.core.windows.net",
    "blob": "privatelink.blob.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}


@dataclass(frozen=True)
class VnetSpec:
    """One VNet and its subnets (spoke, hub or DR)."""

    address_space: IPv4Network
    subnets: dict[str, IPv4Network]
    reserved_only: frozenset[str] = frozenset()  # roles kept free in the plan but not created
    more_address_space: tuple[IPv4Network, ...] = ()  # further prefixes (the DR VNet's app range on activation)


@dataclass(frozen=True)
class NetworkSpec:
    """An environment's spoke: its VNet, private DNS zones and the hub it peers with."""

    vnet: VnetSpec
    private_dns_zones: dict[str, str]  # key -> zone name (privatelink keys plus "postgres")
    privatelink_zone_keys: frozenset[str]  # keys of the shared stack's zones: linked, not created, here


@once
def subnets(cfg: EstateConfig) -> dict[str, IPv4Network]:
    specs = addressing.HUB_SUBNETS if cfg.is_shared else addressing.ENVIRONMENT_SUBNETS
    return addressing.plan_subnets(cfg.network.address_space, specs, cfg.network.subnets)


def activated(cfg: EstateConfig) -> bool:
    """The application tier runs in the DR region (caas:disasterRecovery.activate, validated by caas.config)."""
    return (
        not cfg.is_shared
        and cfg.disaster_recovery.activate
        and cfg.network.dr_app_address_space is not None
        and bool(cfg.network.dr_address_space)
    )


@once
def dr_subnets(cfg: EstateConfig) -> dict[str, IPv4Network]:
    """The DR VNet's subnets: the shared stack's DR hub, or an environment's DR network (SQL MI secondary, private
    endpoints) plus, once activated, the application tier's subnets from caas:network.drAppAddressSpace."""
    if not (cfg.profile.disaster_recovery and cfg.network.dr_address_space):
        return {}
    if cfg.is_shared:
        return addressing.plan_subnets(cfg.network.dr_address_space, addressing.DR_HUB_SUBNETS, {})
    planned = addressing.plan_subnets(cfg.network.dr_address_space, addressing.DR_SUBNETS, {})
    if activated(cfg):
        assert cfg.network.dr_app_address_space is not None
        planned.update(addressing.plan_subnets(cfg.network.dr_app_address_space, addressing.DR_APP_SUBNETS, {}))
    return planned


@once
def hostnames(cfg: EstateConfig) -> dict[str, str]:
    """Public hostnames by role (``live.shop``, ``edit.backoffice``, ``iom`` ...), only for enabled apps."""
    if cfg.is_shared or cfg.dns is None or cfg.apps is None:
        return {}
    prefix = f"{cfg.environment}-" if cfg.rules.hostname_prefix else ""
    roles = []
    if cfg.apps.icm710 or cfg.apps.icm11:
        roles += ["shop", "backoffice"]
    if cfg.apps.pwa:
        roles.append("pwa")
    result: dict[str, str] = {}
    for system in SYSTEMS:
        overrides = getattr(cfg.dns.hostnames, system)
        suffix = "" if system == "live" else "-edit"
        for role in roles:
            default = f"{prefix}{role}{suffix}.{cfg.dns.domain}"
            result[f"{system}.{role}"] = getattr(overrides, role) or default
    if cfg.apps.iom:
        result["iom"] = cfg.dns.hostnames.iom or f"{prefix}iom.{cfg.dns.domain}"
    return result


@once
def private_dns_zones(cfg: EstateConfig) -> dict[str, str]:
    """Private DNS zones an environment resolves, by key: the shared privatelink zones its spoke links to, plus
    PostgreSQL's own zone (created by the environment)."""
    if cfg.is_shared or cfg.apps is None:
        return {}
    # registry: AKS nodes and ICM 7.10 hosts pull over the hub's endpoint; vault, file: the env's own endpoints.
    zones = {key: PRIVATELINK_ZONES[key] for key in ("registry", "vault", "file")}
    # blob: also the AKS backup extension's account (components.aks_backup), where backup is on.
    if connectivity.sftp_endpoint(cfg) is not None or (cfg.profile.backup and cfg.apps.containerised):
        zones["blob"] = PRIVATELINK_ZONES["blob"]  # the shared SFTP host's endpoint in the hub
    if cfg.apps.iom:
        # Flexible server with VNet integration needs a zone ending in .postgres.database.azure.com.
        zones["postgres"] = f"{cfg.customer.code}-{cfg.environment}.private.postgres.database.azure.com"
    return zones


def spoke(cfg: EstateConfig) -> NetworkSpec:
    return NetworkSpec(
        vnet=VnetSpec(
            cfg.network.address_space,
            subnets(cfg),
            frozenset() if cfg.vpn else frozenset({"gateway"}),
        ),
        private_dns_zones=private_dns_zones(cfg),
        privatelink_zone_keys=frozenset(PRIVATELINK_ZONES),
    )


@dataclass(frozen=True)
class DrNetworkSpec:
    """prd's DR VNet for the SQL MI secondary and the replication rules between the two SQL MI subnets; once
    activated, also the application tier's subnets, the peering with the shared DR hub and the links to the DR
    hub's privatelink zones (``dr_zones``, empty until then)."""

    vnet: VnetSpec
    primary_sql_mi_nsg: str  # the primary network's NSG name (the spoke's, named by the model)
    primary_sql_mi_range: IPv4Network
    dr_sql_mi_range: IPv4Network
    dr_zones: dict[str, str] = field(default_factory=dict)  # key -> privatelink zone the DR VNet links to


def dr(cfg: EstateConfig) -> DrNetworkSpec | None:
    if cfg.is_shared:
        return None  # the shared stack's DR VNet is its DR hub (caas.specs.shared)
    planned = dr_subnets(cfg)
    if not planned:
        return None
    assert cfg.network.dr_address_space is not None  # dr_subnets is empty without it
    app = cfg.network.dr_app_address_space if activated(cfg) else None
    return DrNetworkSpec(
        vnet=VnetSpec(cfg.network.dr_address_space, planned, more_address_space=(app,) if app else ()),
        primary_sql_mi_nsg=site.names(cfg).resource("nsg", "sql-mi"),
        primary_sql_mi_range=subnets(cfg)["sqlMi"],
        dr_sql_mi_range=planned["sqlMi"],
        # The DR tier's endpoints: its vault and NFS share, and the registry's endpoint in the DR hub.
        dr_zones={k: z for k, z in private_dns_zones(cfg).items() if k in ("registry", "vault", "file")} if app else {},
    )
