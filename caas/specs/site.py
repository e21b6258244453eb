"""The slice every component may take besides its own spec: names, region, tags, zones, protection."""

from __future__ import annotations

from dataclasses import dataclass, replace

from caas import naming
from caas.model import EstateConfig
from caas.regions import ZONAL_REGIONS
from caas.specs.memo import once


@dataclass(frozen=True)
class Site:
    """Where and how a component's resources are placed and labelled."""

    names: naming.Namer
    location: str
    tags: dict[str, str]
    zones: tuple[str, ...]
    protect: bool
    environment: str  # a label (lock notes, cloud-init), never a switch: switches live in the profile


@once
def names(cfg: EstateConfig) -> naming.Namer:
    return naming.Namer(cfg.customer.code, cfg.environment, cfg.location.primary)


@once
def dr_names(cfg: EstateConfig) -> naming.Namer:
    return names(cfg).in_region(cfg.location.dr)


@once
def tags(cfg: EstateConfig) -> dict[str, str]:
    """Tags on every resource: the mandatory ones win over user tags of the same name."""
    return {
        **cfg.tags,
        "customer": cfg.customer.code,
        "environment": cfg.environment,
        "managed-by": "pulumi",
        "platform": "intershop-caas",
    }


def site(cfg: EstateConfig) -> Site:
    return Site(
        names=names(cfg),
        location=cfg.location.primary,
        tags=tags(cfg),
        zones=tuple(cfg.profile.zones),
        protect=cfg.profile.protect,
        environment=cfg.environment,
    )


def dr_site(cfg: EstateConfig) -> Site:
    """The same stack in its disaster-recovery region (regional, unpinned, where that region has no zones)."""
    primary = site(cfg)
    zones = primary.zones if cfg.location.dr in ZONAL_REGIONS else ()
    return replace(primary, names=dr_names(cfg), location=cfg.location.dr, zones=zones)
