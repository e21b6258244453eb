"""Environment profiles: the per-environment defaults, in one readable, diffable table.

A stack's effective profile is its environment's profile with the stack's ``caas:profile`` overrides
applied. prd refuses overrides that weaken it (zones, protection, backup, purge protection, DR, log
retention); uat keeps prd's topology at smaller scale; int may relax, and ``Pulumi.int.yaml`` says where.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

ZONES = ("1", "2", "3")


class Profile(BaseModel):
    """What an environment gets unless its stack config says otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    zones: tuple[Literal["1", "2", "3"], ...] = Field(
        description="Availability zones for zonal resources; () means regional (no zone pinning)."
    )
    protect: bool = Field(description="Pulumi `protect` on stateful resources and CanNotDelete locks.")
    backup: bool = Field(description="Backup of VMs, shares and databases.")
    purge_protection: bool = Field(description="Key Vault purge protection (irreversible once on).")
    disaster_recovery: bool = Field(description="Secondary region network and database failover group.")
    log_retention_days: int = Field(ge=30, le=730, description="Log Analytics retention.")
    storage_redundancy: Literal["LRS", "ZRS"] = Field(description="Redundancy of storage accounts.")
    backup_redundancy: Literal["LocallyRedundant", "ZoneRedundant", "GeoRedundant"] = Field(
        description="Recovery Services vault storage redundancy."
    )
    aks_tier: Literal["Free", "Standard"] = Field(description="AKS control-plane tier (Standard carries the SLA).")
    scale: Literal["small", "production"] = Field(description="Default sizing of compute and databases.")


PROFILES: dict[str, Profile] = {
    # The shared PA/AR layer serves every environment, prd included: it gets prd's guarantees.
    "shared": Profile(
        zones=ZONES,
        protect=True,
        backup=True,
        purge_protection=True,
        disaster_recovery=True,
        log_retention_days=90,
        storage_redundancy="ZRS",
        backup_redundancy="GeoRedundant",
        aks_tier="Standard",
        scale="production",
    ),
    "prd": Profile(
        zones=ZONES,
        protect=True,
        backup=True,
        purge_protection=True,
        disaster_recovery=True,
        log_retention_days=90,
        storage_redundancy="ZRS",
        backup_redundancy="GeoRedundant",
        aks_tier="Standard",
        scale="production",
    ),
    # prd's topology (zones, tiers, backup) at smaller scale; it holds pseudonymised prd data only.
    "uat": Profile(
        zones=ZONES,
        protect=False,
        backup=True,
        purge_protection=True,
        disaster_recovery=False,
        log_retention_days=30,
        storage_redundancy="ZRS",
        backup_redundancy="ZoneRedundant",
        aks_tier="Standard",
        scale="small",
    ),
    # Starts like uat; Pulumi.int.yaml lists what INT relaxes.
    "int": Profile(
        zones=ZONES,
        protect=False,
        backup=True,
        purge_protection=True,
        disaster_recovery=False,
        log_retention_days=30,
        storage_redundancy="ZRS",
        backup_redundancy="ZoneRedundant",
        aks_tier="Standard",
        scale="small",
    ),
}

# Settings prd (and shared) may never weaken, with the value that counts as weakening.
NON_NEGOTIABLE = ("zones", "protect", "backup", "purge_protection", "disaster_recovery")
PRD_MIN_LOG_RETENTION_DAYS = 90


class ProfileOverrides(BaseModel):
    """Declared deviations from the environment's profile (prd and shared may not weaken)."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    zones: tuple[Literal["1", "2", "3"], ...] | None = None
    protect: bool | None = None
    backup: bool | None = None
    purge_protection: bool | None = None
    disaster_recovery: bool | None = None
    log_retention_days: int | None = Field(default=None, ge=30, le=730)
    storage_redundancy: Literal["LRS", "ZRS"] | None = None
    backup_redundancy: Literal["LocallyRedundant", "ZoneRedundant", "GeoRedundant"] | None = None
    aks_tier: Literal["Free", "Standard"] | None = None
    scale: Literal["small", "production"] | None = None

    def declared(self) -> dict[str, object]:
        """Only the settings the stack file actually sets."""
        return self.model_dump(exclude_none=True)


def effective(env: str, overrides: ProfileOverrides) -> Profile:
    return PROFILES[env].model_copy(update=overrides.declared())
