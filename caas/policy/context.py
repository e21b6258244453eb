"""What the rules need to know about the stack they judge, taken from its model and specs, never from a resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from caas import addressing
from caas.model import EstateConfig
from caas.sections.data import PRD_MIN_DATABASE_RETENTION_DAYS
from caas.specs import EstateSpec
from caas.specs.access import command_invoke_role

# SQL MI's and PostgreSQL flexible server's shortest point-in-time restore window (days).
AZURE_MIN_BACKUP_RETENTION_DAYS = 7
GLOBAL = "global"  # Azure's location of global resources (DNS zones, private DNS zones and their links)


@dataclass(frozen=True)
class PolicyContext:
    """The stack's own bounds: where it may place resources, how long it keeps logs, what it must protect."""

    stack: str
    locations: tuple[str, ...]  # every region the stack may place resources in, "global" included (GDPR)
    log_retention_days: int  # the stack's bound on log retention (the profile's)
    protect: bool  # stateful resources carry Pulumi `protect`
    backup: bool  # stateful resources Azure can back up are backed up
    zones: tuple[str, ...]  # availability zones zonal resources spread over ("" = no zones)
    purge_protection: bool  # Key Vault purge protection
    tags: Mapping[str, str]  # tags every taggable resource carries, with their values
    # NSG name -> the edge subnet it guards ("appGateway", "bastion"): the only NSGs that may admit the internet.
    edge_nsgs: Mapping[str, str] = field(default_factory=dict)
    custom_roles: tuple[str, ...] = ()  # role definition GUIDs `caas init` declares (the command-invoke role)
    geo_backup: bool = False  # database backups are geo-redundant (the profile's backup redundancy)
    min_backup_retention_days: int = AZURE_MIN_BACKUP_RETENTION_DAYS  # point-in-time restore window floor
    long_term_retention: bool = False  # SQL MI keeps long-term (weekly/monthly) backups
    high_availability: bool = False  # databases keep a standby in a second zone
    relaxed: Mapping[str, str] = field(default_factory=dict)  # rule name -> the stack's reason

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["locations"], document["zones"] = list(self.locations), list(self.zones)
        document["custom_roles"] = list(self.custom_roles)
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PolicyContext:
        return cls(
            **{
                **document,
                "locations": tuple(document["locations"]),
                "zones": tuple(document["zones"]),
                "tags": dict(document["tags"]),
                "relaxed": dict(document.get("relaxed") or {}),
                "edge_nsgs": dict(document.get("edge_nsgs") or {}),
                "custom_roles": tuple(document.get("custom_roles") or ()),
            }
        )


def for_stack(cfg: EstateConfig, spec: EstateSpec) -> PolicyContext:
    """The context of one stack, from the model (profile, relaxations) and its derived specs."""
    locations = {spec.site.location, *spec.data_regions.values(), GLOBAL}
    if spec.dr_site is not None:
        locations.add(spec.dr_site.location)
    return PolicyContext(
        stack=cfg.environment,
        locations=tuple(sorted(locations)),
        log_retention_days=spec.log_retention_days,
        protect=spec.site.protect,
        backup=cfg.profile.backup,
        zones=spec.site.zones,
        purge_protection=spec.purge_protection,
        tags=dict(spec.site.tags),
        geo_backup=cfg.profile.backup_redundancy == "GeoRedundant",
        min_backup_retention_days=PRD_MIN_DATABASE_RETENTION_DAYS
        if cfg.rules.production_floors
        else AZURE_MIN_BACKUP_RETENTION_DAYS,
        long_term_retention=cfg.rules.production_floors and cfg.rules.retention.long_term is not None,
        high_availability=cfg.rules.postgres_high_availability and len(spec.site.zones) >= 2,
        relaxed=dict(cfg.policy.relax),
        edge_nsgs=_edge_nsgs(cfg, spec),
        custom_roles=(command_invoke_role(cfg.customer.code).guid,),
    )


# Subnets whose service Azure reaches from the internet: the gateway's listeners, Bastion's HTTPS endpoint.
EDGE_ROLES = ("appGateway", "bastion")


def _edge_nsgs(cfg: EstateConfig, spec: EstateSpec) -> dict[str, str]:
    """The NSG names of the stack's edge subnets, named as components/vnet.py names them."""
    subnets = addressing.HUB_SUBNETS if cfg.is_shared else addressing.ENVIRONMENT_SUBNETS
    names = spec.site.names
    edges = {names.resource("nsg", s.nsg_part): s.role for s in subnets if s.role in EDGE_ROLES}
    if spec.dr_site is not None:  # the DR tier's gateway subnet, planned once caas:disasterRecovery.activate is on
        dr = spec.dr_site.names
        edges |= {
            dr.resource("nsg", s.nsg_part): s.role
            for s in addressing.DR_APP_SUBNETS
            if s.role in EDGE_ROLES and s.role in spec.dr_subnets
        }
    return edges
