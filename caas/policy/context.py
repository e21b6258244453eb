"""What the rules need to know about the stack they judge, taken from its model and specs, never from a resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from caas.model import EstateConfig
from caas.specs import EstateSpec

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
    relaxed: Mapping[str, str] = field(default_factory=dict)  # rule name -> the stack's reason

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["locations"], document["zones"] = list(self.locations), list(self.zones)
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
        relaxed=dict(cfg.policy.relax),
    )
