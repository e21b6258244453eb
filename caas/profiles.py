"""Environment profiles: the per-environment defaults, in one readable, diffable table.

A stack's effective profile is its environment's profile with the stack's ``caas:profile`` overrides
applied. prd refuses overrides that weaken it (zones, protection, backup, purge protection, DR, log
retention); uat keeps prd's topology at smaller scale; int may relax, and ``Pulumi.int.yaml`` says where.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel

ZONES = ("1", "2", "3")


class Profile(BaseModel):
    """What an environment gets unless its stack config says otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    zones: tuple[Literal["1", "2", "3"], ...] = Field(
        description="Availability zones for zonal resources; () means regional (no zone pinning)."
    )
    protect: bool = Field(description="Pulumi `protect` on stateful resources and CanNotDelete locks.")
    backup: bool = Field(
        description="Backup of VMs and databases (NFS shares: soft delete, Azure Backup does not cover them)."
    )
    purge_protection: bool = Field(description="Key Vault purge protection (irreversible once on).")
    disaster_recovery: bool = Field(description="Secondary region network and database failover group.")
    log_retention_days: int = Field(ge=30, le=730, description="Log Analytics retention.")
    storage_redundancy: Literal["LRS", "ZRS"] = Field(description="Redundancy of storage accounts.")
    backup_redundancy: Literal["LocallyRedundant", "ZoneRedundant", "GeoRedundant"] = Field(
        description="Recovery Services vault storage redundancy."
    )
    aks_tier: Literal["Free", "Standard"] = Field(description="AKS control-plane tier (Standard carries the SLA).")
    scale: Literal["small", "production"] = Field(description="Default sizing of compute and databases.")
    deploy_approval: bool = Field(
        description="`pulumi up` of this stack waits for an approval on its Azure DevOps environment."
    )
    require_image_digests: bool = Field(
        description="Release images (caas:kubernetes.images) must name their digest: what uat tested is what runs."
    )


# Production guarantees: prd, and the shared PA/AR layer that serves every environment, prd included.
PRODUCTION = Profile(
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
    deploy_approval=True,
    require_image_digests=True,
)
# prd's topology (zones, tiers, backup) at smaller scale; it holds pseudonymised prd data only.
PRE_PRODUCTION = PRODUCTION.model_copy(
    update={
        "protect": False,
        "disaster_recovery": False,
        "log_retention_days": 30,
        "backup_redundancy": "ZoneRedundant",
        "scale": "small",
        "deploy_approval": False,
        "require_image_digests": False,
    }
)
PROFILES: dict[str, Profile] = {
    "shared": PRODUCTION,
    "prd": PRODUCTION,
    "uat": PRE_PRODUCTION,
    # Starts like uat; Pulumi.int.yaml lists what INT relaxes.
    "int": PRE_PRODUCTION,
}

# Settings prd (and shared) may never weaken, with the value that counts as weakening.
NON_NEGOTIABLE = (
    "zones",
    "protect",
    "backup",
    "purge_protection",
    "disaster_recovery",
    "deploy_approval",
    "require_image_digests",
)
PRD_MIN_LOG_RETENTION_DAYS = 90


class _Overrides(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    def declared(self) -> dict[str, object]:
        """Only the settings the stack file actually sets."""
        return self.model_dump(exclude_none=True)


# Every Profile setting, optional and with the same constraints: one definition, no drift.
ProfileOverrides = create_model(
    "ProfileOverrides",
    __base__=_Overrides,
    __doc__="Declared deviations from the environment's profile (prd and shared may not weaken).",
    **{
        name: (
            Annotated[field.annotation | None, *field.metadata] if field.metadata else field.annotation | None,
            Field(default=None, description=field.description),
        )
        for name, field in Profile.model_fields.items()
    },
)


def effective(env: str, overrides: ProfileOverrides) -> Profile:
    return PROFILES[env].model_copy(update=overrides.declared())
