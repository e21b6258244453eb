"""The data area of the stack model: databases, secrets, backup, monitoring and GDPR controls.

Config: ``caas:databases``, ``caas:backup``, ``caas:monitoring`` and ``caas:dataProtection``, and the shapes of
what ``caas.specs.data`` derives from them once (``derive(cfg).data``): sizes by scale, retention by environment
(from ``caas.profiles``), physical names, alert rules, the regions data lives in, the data-flow rule and the
recovery objectives (RPO/RTO) each environment can promise. Pure: no Pulumi, no Azure calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr

from caas.sections.base import Label, Section

if TYPE_CHECKING:
    pass

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", max_length=254, description="an e-mail address")]

# PostgreSQL majors IOM runs on: the iom 3.1.1 chart's own PostgreSQL sub-chart ships 15 (appVersion "15",
# changed from 12 with chart 3.0.0). Add a version here only when Intershop documents it for the IOM release.
IOM_POSTGRES_VERSIONS = ("15",)
SQL_MI_VCORES = (4, 8, 16, 24, 32, 40, 64, 80)


# --------------------------------------------------------------------------------------------------------
# Config sections


class EntraAdmin(Section):
    """The Entra ID group that administers SQL MI and PostgreSQL."""

    object_id: str = Field(pattern=UUID, description="object id of the Entra ID group that administers the databases")
    name: str = Field(min_length=1, max_length=128, description="display name of that group")


class LongTermRetention(Section):
    """Long-term retention of weekly full backups; default in prd weekly P4W and monthly P12M, none elsewhere."""

    weekly: str | None = Field(default=None, pattern=r"^P([1-9]\d{0,2})W$", description="keep weeklies, e.g. P4W")
    monthly: str | None = Field(default=None, pattern=r"^P([1-9]\d{0,2})M$", description="keep monthlies, e.g. P12M")
    yearly: str | None = Field(default=None, pattern=r"^P([1-9]|10)Y$", description="keep yearlies, e.g. P5Y")
    week_of_year: int = Field(default=1, ge=1, le=52, description="which week's backup the yearly one keeps")


class IcmDatabaseConfig(Section):
    """ICM's SQL Managed Instance (live and edit databases on one instance)."""

    tier: Literal["GeneralPurpose", "BusinessCritical"] | None = Field(default=None, description="default by scale")
    v_cores: int | None = Field(
        default=None, description=f"one of {', '.join(map(str, SQL_MI_VCORES))}; default by scale"
    )
    storage_size_gb: int | None = Field(
        default=None, ge=32, le=16384, multiple_of=32, description="multiple of 32; default by scale"
    )
    entra_only_authentication: bool = Field(
        default=False,
        description="ICM connects with SQL logins; turn on only when every client authenticates with Entra ID",
    )
    database_prefix: str = Field(
        default="icm", pattern=r"^[a-z][a-z0-9]{0,15}$", description="databases are <prefix>-live, <prefix>-edit"
    )
    retention_days: int | None = Field(
        default=None, ge=1, le=35, description="point-in-time restore window; default 35 in prd, 7 elsewhere"
    )
    long_term_retention: LongTermRetention | None = None


class IomDatabaseConfig(Section):
    """IOM's PostgreSQL flexible server (when caas:apps.iom is on)."""

    version: str = Field(
        default="15", description=f"PostgreSQL major version; IOM supports {', '.join(IOM_POSTGRES_VERSIONS)}"
    )
    sku_name: str | None = Field(default=None, pattern=r"^Standard_[A-Za-z0-9_]+$", description="default by scale")
    tier: Literal["Burstable", "GeneralPurpose", "MemoryOptimized"] | None = Field(
        default=None, description="default by scale; prd's zone-redundant HA needs GeneralPurpose or above"
    )
    storage_size_gb: Literal[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768] | None = Field(
        default=None, description="default by scale; grows automatically"
    )
    retention_days: int | None = Field(
        default=None, ge=7, le=35, description="point-in-time restore window; default 35 in prd, 7 elsewhere"
    )
    max_connections: int = Field(
        default=200, ge=25, le=5000, description="max_prepared_transactions is set to 150% of it (IOM)"
    )


class Databases(Section):
    """ICM's SQL Managed Instance and IOM's PostgreSQL flexible server (environment stacks)."""

    entra_admin: EntraAdmin
    icm: IcmDatabaseConfig = IcmDatabaseConfig()
    iom: IomDatabaseConfig = IomDatabaseConfig()


class VmBackupConfig(Section):
    """Enhanced backup of the ICM 7.10 hosts; defaults per environment (prd: every 4 h, 30 days, 12 w, 12 m)."""

    frequency_hours: Literal[4, 6, 8, 12, 24] | None = Field(default=None, description="default 4 in prd, 24 elsewhere")
    daily_retention_days: int | None = Field(default=None, ge=7, le=9999, description="default 30 in prd, 7 elsewhere")
    weekly_retention_weeks: int | None = Field(
        default=None, ge=0, le=5163, description="default 12 in prd, 0 elsewhere"
    )
    monthly_retention_months: int | None = Field(
        default=None, ge=0, le=1188, description="default 12 in prd, 0 elsewhere"
    )


class Backup(Section):
    """The Recovery Services vault and what it keeps."""

    soft_delete_days: int = Field(default=14, ge=14, le=180, description="deleted backups are kept this long")
    immutability: Literal["Disabled", "Unlocked", "Locked"] | None = Field(
        default=None, description="default Unlocked in prd, Disabled elsewhere; Locked is irreversible"
    )
    vm: VmBackupConfig = VmBackupConfig()


class Webhook(Section):
    """An alert webhook (e.g. an incident tool); its URI carries a token, so it is a secret."""

    name: Label
    service_uri: SecretStr = Field(description="set with `pulumi config set --secret --path`")


class BudgetConfig(Section):
    """Monthly cost budget over the environment's resource groups."""

    amount: float = Field(gt=0, description="monthly amount in the billing currency")
    start_date: str = Field(pattern=r"^20\d{2}-(0[1-9]|1[0-2])-01$", description="first day of a month, YYYY-MM-01")
    thresholds: tuple[Annotated[int, Field(ge=1, le=1000)], ...] = Field(
        default=(80, 100), description="alert at these percentages of actual cost"
    )
    forecast_thresholds: tuple[Annotated[int, Field(ge=1, le=1000)], ...] = Field(
        default=(100,), description="alert when the forecast reaches these percentages"
    )


class Monitoring(Section):
    """Who is alerted, at which thresholds, and the cost budget (environment stacks)."""

    emails: tuple[Email, ...] = Field(min_length=1, description="alert and budget recipients")
    webhooks: tuple[Webhook, ...] = ()
    cpu_threshold_percent: int = Field(default=85, ge=50, le=100, description="CPU alert (databases, AKS nodes)")
    memory_threshold_percent: int = Field(default=85, ge=50, le=100, description="AKS node memory alert")
    storage_threshold_percent: int = Field(default=85, ge=50, le=100, description="database storage alert")
    budget: BudgetConfig


class DataProtection(Section):
    """GDPR bounds the model enforces."""

    max_log_retention_days: int = Field(default=365, ge=30, le=730, description="logs are kept no longer than this")


# --------------------------------------------------------------------------------------------------------
# Per-environment defaults: one readable, diffable table each


@dataclass(frozen=True)
class Sizes:
    icm_tier: str
    icm_v_cores: int
    icm_storage_gb: int
    iom_sku: str
    iom_tier: str
    iom_storage_gb: int


SIZES = {
    "small": Sizes("GeneralPurpose", 4, 64, "Standard_B2ms", "Burstable", 64),
    "production": Sizes("BusinessCritical", 8, 256, "Standard_D4ds_v5", "GeneralPurpose", 128),
}


@dataclass(frozen=True)
class Retention:
    database_days: int  # point-in-time restore window of both databases
    vm_frequency_hours: int
    vm_daily_days: int
    vm_weekly_weeks: int
    vm_monthly_months: int
    long_term: LongTermRetention | None
    immutability: str
    # Azure Backup for AKS (disk volumes): every N hours (4, 8, 12 or 24, the policy's allowed intervals), kept
    # N days as snapshots (operational tier, <= 360) and, where >0 and the region offers it, in the vault tier.
    aks_frequency_hours: int
    aks_operational_days: int
    aks_vault_days: int
    # NFS share snapshots (pipelines/data/share-snapshots.yml): every N hours, pruned after N days; at most
    # 200 snapshots per share (Azure Files scale targets), checked in caas.specs.data.
    share_snapshot_hours: int
    share_snapshot_days: int


# prd never keeps less than this (caas:databases.*.retentionDays, caas:backup.vm.dailyRetentionDays).
PRD_MIN_DATABASE_RETENTION_DAYS = 14
PRD_MIN_VM_RETENTION_DAYS = 30

# --------------------------------------------------------------------------------------------------------
# Derived facts


@dataclass(frozen=True)
class Failover:
    """prd: a secondary instance in the DR region joined to the primary by an auto-failover group."""

    region: str
    secondary_name: str
    group_name: str
    zone_redundant: bool
    grace_minutes: int = 60  # automatic failover only after an hour of outage: no flapping on short blips


@dataclass(frozen=True)
class SqlMi:
    name: str
    tier: str
    sku_name: str
    v_cores: int
    storage_gb: int
    zone_redundant: bool
    backup_redundancy: str
    retention_days: int
    long_term: LongTermRetention | None
    entra_only: bool
    databases: dict[str, str]  # system (live, edit) -> database name
    failover: Failover | None
    admin_login: str = "caasadmin"


@dataclass(frozen=True)
class Postgres:
    name: str
    version: str
    sku_name: str
    tier: str
    storage_gb: int
    high_availability: str  # ZoneRedundant | Disabled
    zone: str | None
    standby_zone: str | None
    geo_backup: bool
    retention_days: int
    parameters: dict[str, str]
    admin_login: str = "caasadmin"


@dataclass(frozen=True)
class VmPolicy:
    frequency_hours: int
    daily_days: int
    weekly_weeks: int
    monthly_months: int
    instant_restore_days: int


@dataclass(frozen=True)
class Vault:
    name: str
    redundancy: str
    cross_region_restore: bool
    soft_delete_state: str  # AlwaysON cannot be turned off again: prd
    soft_delete_days: int
    immutability: str
    vm: VmPolicy
    restore_point_group_prefix: str


@dataclass(frozen=True)
class AksBackupPlan:
    """Azure Backup for AKS: a Backup vault, its AKS policy and the storage the backup extension writes to.

    Only Azure Disk CSI volumes are snapshotted (the Solr and ZooKeeper claims); the NFS shares behind ICM 11
    and IOM are skipped by Azure Backup and protected by ``ShareSnapshots`` instead.
    """

    vault_name: str
    redundancy: str  # GeoRedundant | ZoneRedundant | LocallyRedundant (the profile's backup redundancy)
    cross_region_restore: bool  # restores from the vault tier in the paired region (needs the vault tier)
    soft_delete_state: str  # Backup vault values: AlwaysOn (cannot be turned off again) | On
    soft_delete_days: int
    immutability: str
    frequency_hours: int
    operational_days: int
    vault_days: int  # 0: operational tier only
    storage_account: str
    container: str
    storage_sku: str  # the extension's account: Standard_<the profile's storage redundancy>
    snapshot_group: str  # disk snapshots land here, outside the locked estate group (Azure Backup prunes them)
    policy_name: str = "aks-disks"
    extension_name: str = "azure-aks-backup"
    instance_name: str = "aks"


@dataclass(frozen=True)
class ShareSnapshots:
    """Scheduled snapshots of the NFS shares (Azure Backup does not cover NFS shares), pruned by age."""

    account: str
    shares: tuple[str, ...]
    interval_hours: int
    retention_days: int

    @property
    def cron(self) -> str:
        """Azure Pipelines schedule (UTC) that takes one snapshot per interval."""
        return "0 2 * * *" if self.interval_hours == 24 else f"0 */{self.interval_hours} * * *"


AlertTarget = Literal["sqlMi", "postgres", "aks", "vms", "appGateway"]
AlertLevel = Literal["critical", "warning"]
Dimensions = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class AlertRule:
    """One metric alert; ``target`` names the Monitoring input it watches."""

    key: str
    target: AlertTarget
    namespace: str
    metric: str
    aggregation: str
    operator: str
    threshold: float
    level: AlertLevel
    description: str
    dimensions: Dimensions = ()
    window: str = "PT5M"


@dataclass(frozen=True)
class Objective:
    """A recovery objective as runbooks quote it: ISO 8601 durations; None means not recoverable here."""

    rpo: str | None
    rto: str | None
    mechanism: str
    # "documented": Microsoft's published service characteristics; "estimate": ours, the reason is in mechanism.
    basis: Literal["documented", "estimate"] = "documented"

    def as_output(self) -> dict[str, str | None]:
        return {"rpo": self.rpo, "rto": self.rto, "mechanism": self.mechanism, "basis": self.basis}


@dataclass(frozen=True)
class DataModel:
    sql_mi: SqlMi
    postgres: Postgres | None
    vault: Vault | None
    secrets: dict[str, str]  # Key Vault secret name -> what it is
    severities: dict[str, int]
    alerts: tuple[AlertRule, ...]
    action_group_name: str
    action_group_short_name: str
    budget_name: str
    objectives: dict[str, dict[str, Objective]] = field(default_factory=dict)
    aks_backup: AksBackupPlan | None = None
    share_snapshots: ShareSnapshots | None = None

    def recovery_objectives(self) -> dict[str, dict[str, dict[str, str | None]]]:
        return {w: {s: o.as_output() for s, o in scenarios.items()} for w, scenarios in self.objectives.items()}


# Metric namespace of each Monitoring target (the resource type the alert scopes).
ALERT_NAMESPACES = {
    "sqlMi": "Microsoft.Sql/managedInstances",
    "postgres": "Microsoft.DBforPostgreSQL/flexibleServers",
    "aks": "Microsoft.ContainerService/managedClusters",
    "vms": "Microsoft.Compute/virtualMachines",
    "appGateway": "Microsoft.Network/applicationGateways",
}


OPERATORS = {">": "GreaterThan", "<": "LessThan"}


# --------------------------------------------------------------------------------------------------------
# Semantic checks
