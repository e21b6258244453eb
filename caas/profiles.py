"""Environment profiles: the per-environment defaults, in one readable, diffable table.

A stack's effective profile is its environment's profile with the stack's ``caas:profile`` overrides
applied. prd refuses overrides that weaken it (zones, protection, backup, purge protection, DR, log
retention); uat keeps prd's topology at smaller scale; int may relax, and ``Pulumi.int.yaml`` says where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel

from caas.sections.data import LongTermRetention, Retention

ZONES = ("1", "2", "3")
ENVIRONMENTS = ("int", "uat", "prd")
Environment = Literal["int", "uat", "prd"]


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
    # 100 % leaves no error budget (every failed probe would page); below 90 % is no service level.
    availability_slo: Annotated[float, Field(ge=90, lt=100)] = Field(
        description="Availability SLO (percent of successful availability probes over 30 days) of every public "
        "hostname the public entry serves; burn-rate alerts page on it."
    )
    availability_slos: dict[str, Annotated[float, Field(ge=90, lt=100)]] = Field(
        default_factory=dict,
        description="Per-hostname SLO by hostname role (e.g. live.pwa: 99.5), over availabilitySlo.",
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
    availability_slo=99.9,  # 43 min of error budget per 30 days
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
        # 3.6 h of budget per 30 days: redeploys and refreshes of pre-production use it; its alerts do not page.
        "availability_slo": 99.5,
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


def _optional(annotation: Any, metadata: list[Any]) -> Any:
    """``annotation | None`` with the same constraints (pydantic metadata)."""
    return Annotated[annotation | None, *metadata] if metadata else annotation | None


# Every Profile setting, optional and with the same constraints: one definition, no drift.
_OVERRIDE_FIELDS: dict[str, Any] = {
    name: (_optional(field.annotation, field.metadata), Field(default=None, description=field.description))
    for name, field in Profile.model_fields.items()
}
if TYPE_CHECKING:
    # A model built at run time has no static fields; type checkers see its base (what callers use: declared()).
    ProfileOverrides = _Overrides
else:
    ProfileOverrides = create_model(
        "ProfileOverrides",
        __base__=_Overrides,
        __doc__="Declared deviations from the environment's profile (prd and shared may not weaken).",
        **_OVERRIDE_FIELDS,
    )


def may_activate_disaster_recovery(profile: Profile) -> bool:
    """``caas:disasterRecovery.activate`` (the application tier in the DR region) is allowed only where the
    effective profile has disaster recovery: prd by default; uat and int only with an explicit override (and then
    the DR network and failover group the activation builds on)."""
    return profile.disaster_recovery


def effective(env: str, overrides: ProfileOverrides) -> Profile:
    return PROFILES[env].model_copy(update=overrides.declared())


# --------------------------------------------------------------------------------------------------------
# Environment rules: per-environment conventions and guarantees a stack file does not override (or overrides
# through its own section, e.g. caas:vpn.activeActive). Every other module reads them through ``rules``.


@dataclass(frozen=True)
class EnvironmentRules:
    hostname_prefix: bool  # public hostnames default to "<env>-shop.<domain>"; prd uses the bare names
    retention: Retention  # database and VM backup defaults (caas:databases, caas:backup)
    severities: Mapping[str, int]  # Azure Monitor severities (0 critical .. 4 verbose): prd pages people
    data_rule: Mapping[str, object]  # GDPR: what data it may hold, where copies may come from and go to
    partner_role: str  # what a partner's group may do in its namespaces by default: deploy, or only read
    # Partners only read unless their caas:partners entry opts in to write with a reason (prdWrite).
    partners_read_only: bool
    partner_host_login: str  # how a partner signs in to its ICM 7.10 hosts (sudo-needing steps: the pipeline)
    vpn_active_active: bool  # default of caas:vpn.activeActive; where on, turning it off is refused
    postgres_high_availability: bool  # PostgreSQL with a standby in a second zone (with >= 2 zones)
    backup_soft_delete: Literal["AlwaysON", "Enabled"]  # AlwaysON cannot be turned off again
    production_floors: bool  # minimum retention, geo-redundant and immutable backups are enforced
    exclusive_ssh_keys: bool  # its SFTP keys must not open another environment's container

    @property
    def refresh_source(self) -> bool:
        """Its data may be copied (pseudonymised) into another environment: the uat refresh reads from it."""
        return bool(self.data_rule.get("mayCopyTo"))

    @property
    def refresh_target(self) -> bool:
        """It receives copies of another environment's data: the uat refresh replaces its databases."""
        return bool(self.data_rule.get("receivesFrom"))


_PRE_PRODUCTION_RULES = EnvironmentRules(
    hostname_prefix=True,
    retention=Retention(
        7,
        24,
        7,
        0,
        0,
        None,
        "Disabled",
        aks_frequency_hours=24,
        aks_operational_days=7,
        aks_vault_days=0,
        share_snapshot_hours=24,
        share_snapshot_days=7,
    ),
    severities={"critical": 3, "warning": 4},
    data_rule={},
    partner_role="Azure Kubernetes Service RBAC Writer",
    partners_read_only=False,
    partner_host_login="Virtual Machine User Login",
    vpn_active_active=False,
    postgres_high_availability=False,
    backup_soft_delete="Enabled",
    production_floors=False,
    exclusive_ssh_keys=False,
)
_PRODUCTION_RULES = EnvironmentRules(
    hostname_prefix=False,
    retention=Retention(
        35,
        4,
        30,
        12,
        12,
        LongTermRetention(weekly="P4W", monthly="P12M"),
        "Unlocked",
        # AKS disks every 4 h, 7 days as snapshots, the first of each day 30 days in the (geo-redundant) vault.
        aks_frequency_hours=4,
        aks_operational_days=7,
        aks_vault_days=30,
        # NFS shares every 4 h for 30 days: 180 snapshots per share, under Azure Files' 200.
        share_snapshot_hours=4,
        share_snapshot_days=30,
    ),
    severities={"critical": 1, "warning": 2},
    data_rule={
        "holds": "production data, including personal data",
        "receivesFrom": [],
        "mayCopyTo": ["uat"],
        "copyCondition": "pseudonymised before it leaves prd",
    },
    partner_role="Azure Kubernetes Service RBAC Reader",
    partners_read_only=True,
    partner_host_login="Virtual Machine User Login",
    vpn_active_active=True,
    postgres_high_availability=True,
    backup_soft_delete="AlwaysON",
    production_floors=True,
    exclusive_ssh_keys=True,
)
RULES: dict[str, EnvironmentRules] = {
    "prd": _PRODUCTION_RULES,
    "uat": replace(
        _PRE_PRODUCTION_RULES,
        data_rule={
            "holds": "a pseudonymised copy of prd only",
            "receivesFrom": ["prd"],
            "mayCopyTo": [],
            "copyCondition": "never back to prd or to any other environment",
        },
    ),
    "int": replace(
        _PRE_PRODUCTION_RULES,
        data_rule={
            "holds": "synthetic test data only, never prd data",
            "receivesFrom": [],
            "mayCopyTo": [],
            "copyCondition": "no copies of prd or uat data",
        },
    ),
    # The PA/AR layer serves prd too: production rules, and it holds no application data.
    "shared": replace(
        _PRODUCTION_RULES,
        data_rule={
            "holds": "build artefacts and images, no personal data",
            "receivesFrom": [],
            "mayCopyTo": [],
            "copyCondition": "no application data",
        },
    ),
}


def rules(env: str) -> EnvironmentRules:
    """The rules of an environment or of the shared stack."""
    return RULES[env]
