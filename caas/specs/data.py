"""Derived facts of the data area: everything computed from the validated model, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from caas import durations, secret_names
from caas.model import EstateConfig
from caas.naming import Namer
from caas.profiles import may_activate_disaster_recovery
from caas.regions import AKS_BACKUP_OPERATIONAL_ONLY, EU_REGIONS, PAIRED_REGIONS, REGION_CODES, ZONAL_REGIONS
from caas.secret_names import SecretRotation
from caas.sections.data import (
    ALERT_NAMESPACES,
    IOM_POSTGRES_VERSIONS,
    OPERATORS,
    PRD_MIN_DATABASE_RETENTION_DAYS,
    PRD_MIN_VM_RETENTION_DAYS,
    SIZES,
    SQL_MI_VCORES,
    AksBackupPlan,
    AlertLevel,
    AlertRule,
    AlertTarget,
    Backup,
    Databases,
    DataModel,
    Dimensions,
    EntraAdmin,
    Failover,
    Monitoring,
    Objective,
    Postgres,
    Retention,
    ShareSnapshots,
    Sizes,
    SqlMi,
    Vault,
    VmPolicy,
)
from caas.specs import compute as compute_spec
from caas.specs import connectivity as connectivity_spec
from caas.specs import network as network_spec
from caas.specs import site as site_spec
from caas.specs.memo import once


def _geo(cfg: EstateConfig) -> bool:
    return cfg.profile.backup_redundancy == "GeoRedundant"


@once
def data_regions(cfg: EstateConfig) -> dict[str, str]:
    """Every region the stack's data is stored in, by role: checked against the EU rule (GDPR)."""
    regions = {"primary": cfg.location.primary}
    if network_spec.dr_subnets(cfg) or (cfg.registry is not None and cfg.registry.geo_replication):
        regions["dr"] = cfg.location.dr
    pair = PAIRED_REGIONS.get(cfg.location.primary)
    if not cfg.is_shared and _geo(cfg) and pair is not None:
        regions["backupPair"] = pair
    return regions


def data_rule(cfg: EstateConfig) -> dict[str, object]:
    return dict(cfg.rules.data_rule)


def _sql_mi(cfg: EstateConfig, db: Databases, sizes: Sizes, retention: Retention) -> SqlMi:

    icm = db.icm
    tier = icm.tier or sizes.icm_tier
    # Zone redundancy is generally available for Business Critical only (General Purpose: preview).
    zonal = tier == "BusinessCritical"
    failover = None
    if network_spec.dr_subnets(cfg):
        failover = Failover(
            region=cfg.location.dr,
            secondary_name=site_spec.dr_names(cfg).resource("sql_mi"),
            group_name=site_spec.names(cfg).resource("failover_group"),
            zone_redundant=zonal and cfg.location.dr in ZONAL_REGIONS,
        )
    redundancy = {"GeoRedundant": "Geo", "ZoneRedundant": "Zone", "LocallyRedundant": "Local"}
    return SqlMi(
        name=site_spec.names(cfg).resource("sql_mi"),
        tier=tier,
        sku_name="BC_Gen5" if tier == "BusinessCritical" else "GP_Gen5",
        v_cores=icm.v_cores or sizes.icm_v_cores,
        storage_gb=icm.storage_size_gb or sizes.icm_storage_gb,
        zone_redundant=zonal and bool(cfg.profile.zones),
        backup_redundancy=redundancy[cfg.profile.backup_redundancy],
        retention_days=icm.retention_days or retention.database_days,
        long_term=icm.long_term_retention if icm.long_term_retention is not None else retention.long_term,
        entra_only=icm.entra_only_authentication,
        databases={system: f"{icm.database_prefix}-{system}" for system in ("live", "edit")},
        failover=failover,
    )


def _postgres_ha(cfg: EstateConfig) -> bool:
    """prd runs PostgreSQL with a standby in a second zone."""
    return cfg.rules.postgres_high_availability and len(cfg.profile.zones) >= 2


def _postgres(cfg: EstateConfig, db: Databases, sizes: Sizes, retention: Retention) -> Postgres:
    iom = db.iom
    ha = _postgres_ha(cfg)
    zones = cfg.profile.zones
    return Postgres(
        name=site_spec.names(cfg).resource("postgres"),
        version=iom.version,
        sku_name=iom.sku_name or sizes.iom_sku,
        tier=iom.tier or sizes.iom_tier,
        storage_gb=iom.storage_size_gb or sizes.iom_storage_gb,
        high_availability="ZoneRedundant" if ha else "Disabled",
        zone=zones[0] if zones else None,
        standby_zone=zones[1] if ha else None,
        geo_backup=_geo(cfg),
        retention_days=iom.retention_days or retention.database_days,
        parameters={
            "max_connections": str(iom.max_connections),
            # IOM requires prepared transactions (XA), about 150% of max_connections (charts/iom docs).
            "max_prepared_transactions": str(iom.max_connections * 3 // 2),
        },
    )


def _vault(cfg: EstateConfig, backup: Backup, retention: Retention, names: Namer) -> Vault:
    vm = backup.vm
    return Vault(
        name=names.resource("recovery_vault"),
        redundancy=cfg.profile.backup_redundancy,
        cross_region_restore=_geo(cfg),
        soft_delete_state=cfg.rules.backup_soft_delete,
        soft_delete_days=backup.soft_delete_days,
        immutability=backup.immutability or retention.immutability,
        vm=VmPolicy(
            frequency_hours=vm.frequency_hours or retention.vm_frequency_hours,
            daily_days=vm.daily_retention_days or retention.vm_daily_days,
            weekly_weeks=vm.weekly_retention_weeks
            if vm.weekly_retention_weeks is not None
            else retention.vm_weekly_weeks,
            monthly_months=vm.monthly_retention_months
            if vm.monthly_retention_months is not None
            else retention.vm_monthly_months,
            instant_restore_days=7,
        ),
        # Azure Backup keeps instant-restore snapshots in its own resource group: name it, and keep it out of
        # the locked estate group (a delete lock there would stop Azure Backup pruning old snapshots).
        restore_point_group_prefix=names.resource("resource_group", "backup-"),
    )


# Backup vault soft-delete states for the recovery-vault states the rules name (the two APIs spell them apart).
_BACKUP_VAULT_SOFT_DELETE = {"AlwaysON": "AlwaysOn", "Enabled": "On"}
# Azure Files keeps at most 200 snapshots per share ("Azure Files scalability and performance targets").
MAX_SHARE_SNAPSHOTS = 200


def _aks_backup(cfg: EstateConfig, backup: Backup, retention: Retention) -> AksBackupPlan | None:
    """Azure Backup for AKS where the profile backs up and a cluster exists; vault tier where the region has it."""
    if not (cfg.profile.backup and compute_spec.aks_pools(cfg)):
        return None
    names = site_spec.names(cfg)
    vault_days = 0 if cfg.location.primary in AKS_BACKUP_OPERATIONAL_ONLY else retention.aks_vault_days
    return AksBackupPlan(
        vault_name=names.resource("backup_vault"),
        redundancy=cfg.profile.backup_redundancy,
        cross_region_restore=_geo(cfg) and vault_days > 0,
        soft_delete_state=_BACKUP_VAULT_SOFT_DELETE[cfg.rules.backup_soft_delete],
        soft_delete_days=backup.soft_delete_days,
        immutability=backup.immutability or retention.immutability,
        frequency_hours=retention.aks_frequency_hours,
        operational_days=retention.aks_operational_days,
        vault_days=vault_days,
        storage_account=names.compact("storage", "aksbkp"),
        container="aks-backup",
        storage_sku=f"Standard_{cfg.profile.storage_redundancy}",
        snapshot_group=names.resource("resource_group", "aks-snapshots"),
    )


def _share_snapshots(cfg: EstateConfig, retention: Retention) -> ShareSnapshots | None:
    """Scheduled snapshots of every NFS share where the profile backs up."""
    shares = compute_spec.nfs_shares(cfg)
    if not (cfg.profile.backup and shares):
        return None
    return ShareSnapshots(
        account=site_spec.names(cfg).compact("storage", "nfs"),
        shares=tuple(sorted(shares)),
        interval_hours=retention.share_snapshot_hours,
        retention_days=retention.share_snapshot_days,
    )


def _secrets(cfg: EstateConfig, sql_mi: SqlMi, postgres: Postgres | None) -> dict[str, str]:
    """Key Vault secret name -> content; generated ones come from pulumi-random, the others from caas:secrets."""
    secrets: dict[str, str] = {}
    if not sql_mi.entra_only:
        secrets[secret_names.SQL_MI_ADMIN_PASSWORD] = f"generated: password of the SQL login {sql_mi.admin_login}"
        for system, database in sql_mi.databases.items():
            # ICM's own SQL login per system; a DBA runbook creates it with this password (icm-as
            # database.jdbcPasswordSecretKeyRef reads it through the workload's Kubernetes Secret).
            secrets[secret_names.icm_db_password(system)] = f"generated: password of ICM's SQL login for {database}"
    if postgres is not None:
        secrets[secret_names.POSTGRES_ADMIN_PASSWORD] = (
            f"generated: password of the PostgreSQL login {postgres.admin_login}"
        )
        secrets[secret_names.IOM_DB_PASSWORD] = (
            "generated: password of IOM's database user (chart oms.db.passwdSecretKeyRef)"
        )
        if cfg.secrets.smtp_password is not None:
            secrets[secret_names.IOM_SMTP_PASSWORD] = "from caas:secrets.smtpPassword"
    # VPN pre-shared keys are the VPN component's: one per site, stored by it (connectivity area).
    return secrets


def alert_rules(cfg: EstateConfig, mon: Monitoring, sql_mi: SqlMi) -> tuple[AlertRule, ...]:
    """The SLA alerts; metric names and dimensions as Azure Monitor's supported-metrics reference lists them."""
    cpu, mem, disk = mon.cpu_threshold_percent, mon.memory_threshold_percent, mon.storage_threshold_percent
    mi_mb = sql_mi.storage_gb * 1024 * disk // 100
    per_node = (("node", ("*",)),)  # one time series per node, so a single hot node alerts
    not_ready = (("condition", ("Ready",)), ("status", ("false", "unknown")), *per_node)
    status_5xx = (("HttpStatusGroup", ("5xx",)),)
    # fmt: off
    rows: list[tuple[str, AlertTarget, str, str, str, float, AlertLevel, str, Dimensions, str]] = [
        # key                  target        metric                                agg        op  limit  level
        #   window   dimensions  description
        ("sqlmi-cpu",          "sqlMi",      "avg_cpu_percent",                    "Average", ">", cpu,   "warning",
            "PT15M", (),         f"SQL MI CPU above {cpu}%"),
        ("sqlmi-storage",      "sqlMi",      "storage_space_used_mb",              "Average", ">", mi_mb, "critical",
            "PT5M",  (),         f"SQL MI storage above {disk}% of {sql_mi.storage_gb} GB"),
        ("psql-cpu",           "postgres",   "cpu_percent",                        "Average", ">", cpu,   "warning",
            "PT15M", (),         f"PostgreSQL CPU above {cpu}%"),
        ("psql-storage",       "postgres",   "storage_percent",                    "Average", ">", disk,  "critical",
            "PT5M",  (),         f"PostgreSQL storage above {disk}%"),
        ("aks-node-not-ready", "aks",        "kube_node_status_condition",         "Average", ">", 0,     "critical",
            "PT5M",  not_ready,  "an AKS node is not ready"),
        ("aks-node-cpu",       "aks",        "node_cpu_usage_percentage",          "Average", ">", cpu,   "warning",
            "PT15M", per_node,   f"AKS node CPU above {cpu}%"),
        ("aks-node-memory",    "aks",        "node_memory_working_set_percentage", "Average", ">", mem,   "warning",
            "PT15M", per_node,   f"AKS node working set above {mem}%"),
        ("vm-availability",    "vms",        "VmAvailabilityMetric",               "Average", "<", 1,     "critical",
            "PT5M",  (),         "an ICM 7.10 host is unavailable"),
        ("agw-unhealthy-hosts", "appGateway", "UnhealthyHostCount",                "Average", ">", 0,     "critical",
            "PT5M",  (),         "the gateway has unhealthy backend hosts"),
        ("agw-5xx",            "appGateway", "ResponseStatus",                     "Total",   ">", 10,    "warning",
            "PT5M",  status_5xx, "the gateway returned more than 10 5xx responses in 5 minutes"),
    ]
    # fmt: on
    iom = cfg.apps is not None and cfg.apps.iom
    return tuple(
        AlertRule(
            key, target, ALERT_NAMESPACES[target], metric, agg, OPERATORS[op], threshold, level, text, dims, window
        )
        for key, target, metric, agg, op, threshold, level, window, dims, text in rows
        if iom or target != "postgres"
    )


def _objectives(
    cfg: EstateConfig,
    sql_mi: SqlMi,
    postgres: Postgres | None,
    vault: Vault | None,
    aks_backup: AksBackupPlan | None = None,
    shares: ShareSnapshots | None = None,
):
    """RPO/RTO per workload and scenario, from what this environment actually deploys.

    Figures are Microsoft's documented service characteristics: SQL MI log backups every 5-10 minutes,
    failover-group replication lag of seconds with failover after the grace period, geo-restore RPO 1 h and
    ERT 12 h (SQL and PostgreSQL business-continuity overviews); PostgreSQL WAL archived at least every
    5 minutes. Restore durations grow with data size; 12 h is the planning figure for a full restore.
    """
    none_region = "no copy outside the primary region (backup redundancy {}); rebuild from IaC, data is lost"
    icm: dict[str, Objective] = {
        "pointInTime": Objective("PT10M", "PT12H", f"SQL MI point-in-time restore within {sql_mi.retention_days} days"),
    }
    if sql_mi.failover is not None:
        icm["regionLoss"] = Objective(
            "PT5S",
            f"PT{sql_mi.failover.grace_minutes}M",
            f"auto-failover group to {sql_mi.failover.region} "
            f"after a {sql_mi.failover.grace_minutes}-minute grace period",
        )
    elif sql_mi.backup_redundancy == "Geo":
        icm["regionLoss"] = Objective("PT1H", "PT12H", "geo-restore from geo-redundant backups")
    else:
        icm["regionLoss"] = Objective(None, None, none_region.format(sql_mi.backup_redundancy))
    objectives = {"icmDatabase": icm}
    if postgres is not None:
        objectives["iomDatabase"] = {
            "pointInTime": Objective(
                "PT5M", "PT12H", f"PostgreSQL point-in-time restore within {postgres.retention_days} days"
            ),
            "regionLoss": Objective("PT1H", "PT12H", "geo-restore from geo-redundant backups")
            if postgres.geo_backup
            else Objective(None, None, none_region.format(cfg.profile.backup_redundancy)),
        }
    if cfg.apps is not None and cfg.apps.icm710:
        hosts: dict[str, Objective] = {}
        if vault is None:
            hosts["pointInTime"] = Objective(None, None, "backup is off in this environment's profile")
        else:
            every = vault.vm.frequency_hours
            hosts["pointInTime"] = Objective(f"PT{every}H", "PT4H", f"enhanced VM backup every {every} h")
            hosts["regionLoss"] = (
                # Recovery points reach the paired region with up to 12 h lag after the backup.
                Objective(f"PT{every + 12}H", "PT12H", "cross-region restore from the geo-redundant vault")
                if vault.cross_region_restore
                else Objective(None, None, none_region.format(vault.redundancy))
            )
        objectives["icmHosts"] = hosts
    objectives.update(volume_objectives(cfg, aks_backup, shares))
    objectives.update(platform_objectives(cfg))
    return objectives


def volume_objectives(
    cfg: EstateConfig, aks_backup: AksBackupPlan | None, shares: ShareSnapshots | None
) -> dict[str, dict[str, Objective]]:
    """The AKS disk volumes (Solr) and the NFS shares: RPO is the backup or snapshot interval.

    RTOs are estimates (Microsoft publishes none for either restore): an AKS restore recreates the disks from
    snapshots and the resources from the blob container; a share restore copies files back from a snapshot.
    """
    found: dict[str, dict[str, Objective]] = {}

    def region(why: str) -> str:
        return f"no copy outside {cfg.location.primary}: {why}"

    if aks_backup is not None:
        every = aks_backup.frequency_hours
        volumes = {
            "pointInTime": Objective(
                f"PT{every}H",
                "PT4H",
                f"Azure Backup for AKS every {every} h, snapshots kept {aks_backup.operational_days} days; "
                "estimate for the restore into the cluster",
                "estimate",
            )
        }
        if aks_backup.cross_region_restore:
            # The vault tier keeps the first backup of each day; cross-region restore reads it in the pair.
            volumes["regionLoss"] = Objective(
                "P1D",
                "PT12H",
                f"vault tier ({aks_backup.vault_days} days) restored in the paired region (cross-region restore) "
                "into the DR cluster; estimate",
                "estimate",
            )
        else:
            volumes["regionLoss"] = Objective(None, None, region("snapshots stay in the region"))
        found["aksVolumes"] = volumes
    if compute_spec.nfs_shares(cfg):
        if shares is None:
            found["sharedFiles"] = {
                "pointInTime": Objective(None, None, "backup is off in this environment's profile; soft delete only")
            }
        else:
            found["sharedFiles"] = {
                "pointInTime": Objective(
                    f"PT{shares.interval_hours}H",
                    "PT2H",
                    f"share snapshots every {shares.interval_hours} h kept {shares.retention_days} days (Azure "
                    "Backup does not support NFS shares); estimate for copying files back",
                    "estimate",
                ),
                "regionLoss": Objective(None, None, region("snapshots live in the share's own account")),
            }
    return found


def redeploy_minutes() -> int:
    """The stateless tier's redeploy on the critical path: cluster, user pool, then two Helm waves (the ingress
    controller, then the app releases side by side), from the create durations the timeline uses."""
    d = durations.DURATIONS
    seconds = (
        d["azure-native:containerservice:ManagedCluster"].seconds
        + d["azure-native:containerservice:AgentPool"].seconds
        + 2 * d["kubernetes:helm.sh/v3:Release"].seconds
    )
    return -(-seconds // 60)


def platform_objectives(cfg: EstateConfig) -> dict[str, dict[str, Objective]]:
    """RPO/RTO of the workloads that hold no backed-up data of their own: rebuilt from code, config and images.

    Microsoft publishes no recovery figures for redeploying them, so the RTOs are our estimates (marked). Region
    loss is covered where the stack is prepared for the DR activation (prd), and not covered elsewhere.
    """
    region = Objective(None, None, f"runs in {cfg.location.primary} only; nothing is prepared in another region")
    # Prepared for a region loss: the profile allows the DR activation and the DR VNet has its application range.
    prepared = may_activate_disaster_recovery(cfg.profile) and cfg.network.dr_app_address_space is not None
    if prepared:
        region = Objective(
            "PT0S",
            "PT4H",
            f"caas:disasterRecovery.activate: the deploy-dr pipeline on the {cfg.location.dr} agents re-creates the "
            "tier there from the same stack and pinned images (docs/recovery.md, Region loss); estimate: the "
            "decision, forced database failover, the run (about 25 min) and the certificate import",
            "estimate",
        )
    found: dict[str, dict[str, Objective]] = {}
    if compute_spec.aks_pools(cfg):
        redeploy = redeploy_minutes()
        found["aksApplications"] = {
            "pointInTime": Objective(
                "PT0S",
                f"PT{redeploy}M",
                "stateless: recreate the cluster from the stack and redeploy the pinned images from the registry "
                "(state lives in the databases and shares); estimate from caas.durations: cluster, user pool, "
                f"ingress then the app releases ({redeploy} min)",
                "estimate",
            ),
            "regionLoss": region,
        }
    if cfg.apps is not None and (cfg.apps.icm11 or cfg.apps.icm710):
        found["search"] = {
            "pointInTime": Objective(
                "PT0S",
                "PT8H",
                "derived data: rebuild the Solr indexes from the restored ICM database; estimate, grows with the "
                "catalogue",
                "estimate",
            ),
            "regionLoss": Objective(
                "PT0S",
                "PT12H",
                "rebuilt at the DR site (its cluster or ICM 7.10 search hosts) from the failed-over ICM database after "
                "the activation; estimate",
                "estimate",
            )
            if prepared
            else region,
        }
    if cfg.public_entry.enabled:
        found["appGateway"] = {
            "pointInTime": Objective(
                "PT0S",
                "PT1H",
                "configuration only: recreate from the stack, certificates from the Key Vault; estimate",
                "estimate",
            ),
            "regionLoss": region,
        }
    pair = PAIRED_REGIONS.get(cfg.location.primary)
    found["keyVault"] = {
        "pointInTime": Objective(
            "PT0S",
            "PT1H",
            f"soft delete ({cfg.key_vault.soft_delete_retention_days} days) and purge protection: recover a "
            "deleted secret or vault; a changed secret's earlier versions stay; estimate for the recovery work",
            "estimate",
        ),
        "regionLoss": Objective(
            None,
            None,
            f"Microsoft replicates the vault to {pair} and fails over read-only by itself; it publishes no "
            "RPO/RTO, so none is promised",
        )
        if pair is not None
        else region,
    }
    if connectivity_spec.sftp_endpoint(cfg) is not None:
        found["sftp"] = {
            "pointInTime": Objective(
                None,
                None,
                "a transfer area, not a store: blob soft delete brings back deleted files for a few days; "
                "senders re-deliver anything older",
            ),
            "regionLoss": Objective(None, None, "senders re-deliver once the shared stack's account is back"),
        }
    return found


def registry_objectives(shared: EstateConfig) -> dict[str, Objective]:
    """The shared registry (shared stack): images can be rebuilt from source; geo-replication keeps a copy."""
    registry = shared.registry
    if registry is None:
        return {}
    rebuild = Objective(
        "PT0S",
        "PT4H",
        "rebuild and push the images from source with the build pipelines (digests change: update the stack "
        "config); estimate",
        "estimate",
    )
    return {
        "pointInTime": rebuild,
        "regionLoss": Objective(
            None,
            "PT0S",
            f"pulls are served by the geo-replica in {shared.location.dr}; images pushed just before the outage "
            "may be missing there (Microsoft publishes no replication RPO)",
        )
        if registry.geo_replication
        else rebuild,
    }


@once
def derive(cfg: EstateConfig) -> DataModel | None:
    """The data area's facts for an environment stack; None for the shared stack or without caas:databases."""
    db, mon = cfg.databases, cfg.monitoring
    if cfg.is_shared or db is None or mon is None:
        return None
    sizes = SIZES[cfg.profile.scale]
    retention = cfg.rules.retention
    sql_mi = _sql_mi(cfg, db, sizes, retention)
    postgres = _postgres(cfg, db, sizes, retention) if cfg.apps is not None and cfg.apps.iom else None
    vault = _vault(cfg, cfg.backup, retention, site_spec.names(cfg)) if cfg.profile.backup else None
    activated = vault is not None and cfg.disaster_recovery.activate
    dr_vault = _vault(cfg, cfg.backup, retention, site_spec.dr_names(cfg)) if activated else None
    aks_backup = _aks_backup(cfg, cfg.backup, retention)
    shares = _share_snapshots(cfg, retention)
    return DataModel(
        sql_mi=sql_mi,
        postgres=postgres,
        vault=vault,
        secrets=_secrets(cfg, sql_mi, postgres),
        severities=dict(cfg.rules.severities),
        alerts=alert_rules(cfg, mon, sql_mi),
        action_group_name=site_spec.names(cfg).resource("action_group"),
        action_group_short_name=f"{cfg.customer.code}-{cfg.environment}"[:12],
        budget_name=site_spec.names(cfg).resource("budget"),
        objectives=_objectives(cfg, sql_mi, postgres, vault, aks_backup, shares),
        aks_backup=aks_backup,
        share_snapshots=shares,
        dr_vault=dr_vault,
    )


def problems(cfg: EstateConfig, secret_keys: set[str]) -> list[tuple[str, str]]:
    """Cross-field rules of the data area, as (caas:<key>, message)."""
    p: list[tuple[str, str]] = []
    _check_layout(cfg, p)
    _check_gdpr(cfg, p)
    if cfg.is_shared:
        return p
    if cfg.databases is not None:
        _check_databases(cfg, cfg.databases, p)
    if cfg.rules.production_floors:
        _check_backup_floors(cfg, p)
    if cfg.monitoring is not None:
        _check_monitoring(cfg.monitoring, secret_keys, p)
    return p


def _check_databases(cfg: EstateConfig, db: Databases, p: list[tuple[str, str]]) -> None:
    """Supported sizes and versions; prd's HA tier and backup floors."""
    icm, iom = db.icm, db.iom
    if icm.v_cores is not None and icm.v_cores not in SQL_MI_VCORES:
        p.append(("caas:databases.icm.vCores", f"{icm.v_cores} is not a SQL MI size; allowed: {SQL_MI_VCORES}"))
    if iom.version not in IOM_POSTGRES_VERSIONS:
        p.append(
            (
                "caas:databases.iom.version",
                f"PostgreSQL {iom.version} is not supported by IOM; allowed: {', '.join(IOM_POSTGRES_VERSIONS)}",
            )
        )
    iom_on = cfg.apps is not None and cfg.apps.iom
    if iom_on and _postgres_ha(cfg) and (iom.tier or SIZES[cfg.profile.scale].iom_tier) == "Burstable":
        p.append(("caas:databases.iom.tier", "zone-redundant HA (prd) needs GeneralPurpose or MemoryOptimized"))
    if not cfg.rules.production_floors:
        return
    for key, days in (("icm", icm.retention_days), ("iom", iom.retention_days)):
        if days is not None and days < PRD_MIN_DATABASE_RETENTION_DAYS:
            p.append(
                (
                    f"caas:databases.{key}.retentionDays",
                    f"prd keeps point-in-time backups at least {PRD_MIN_DATABASE_RETENTION_DAYS} days",
                )
            )
    ltr = icm.long_term_retention
    if ltr is not None and not (ltr.weekly or ltr.monthly or ltr.yearly):
        p.append(("caas:databases.icm.longTermRetention", "prd keeps long-term backups; set weekly or monthly"))


def _check_backup_floors(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """prd's backups: geo-redundant, immutable, kept long enough."""
    if cfg.profile.backup_redundancy != "GeoRedundant":
        p.append(("caas:profile.backupRedundancy", "prd backs up geo-redundantly; remove the override"))
    if cfg.backup.immutability == "Disabled":
        p.append(("caas:backup.immutability", "prd keeps its vault immutable; use Unlocked or Locked"))
    days = cfg.backup.vm.daily_retention_days
    if days is not None and days < PRD_MIN_VM_RETENTION_DAYS:
        p.append(
            (
                "caas:backup.vm.dailyRetentionDays",
                f"prd keeps VM backups at least {PRD_MIN_VM_RETENTION_DAYS} days",
            )
        )


def _check_monitoring(mon: Monitoring, secret_keys: set[str], p: list[tuple[str, str]]) -> None:
    """Webhook URIs are secrets; a budget has at most five notifications."""
    if mon.webhooks and "caas:monitoring" not in secret_keys:
        p.append(
            (
                "caas:monitoring.webhooks",
                "plain-text service URI; set each with "
                "`pulumi config set --secret --path 'caas:monitoring.webhooks[<i>].serviceUri'`",
            )
        )
    count = len(mon.budget.thresholds) + len(mon.budget.forecast_thresholds)
    if count > 5:
        p.append(("caas:monitoring.budget.thresholds", f"{count} notifications; Azure allows at most 5 per budget"))


def _check_layout(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    if cfg.is_shared:
        for field_name, key in (("databases", "databases"), ("monitoring", "monitoring"), ("backup", "backup")):
            if field_name in cfg.model_fields_set:
                p.append((f"caas:{key}", "not allowed here; it belongs to environment stacks (int, uat, prd)"))
        return
    if cfg.databases is None:
        p.append(("caas:databases", f"required in the {cfg.environment} stack (entraAdmin: objectId, name)"))
    if cfg.monitoring is None:
        p.append(("caas:monitoring", f"required in the {cfg.environment} stack (emails, budget)"))


def _check_gdpr(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:

    if cfg.profile.log_retention_days > cfg.data_protection.max_log_retention_days:
        p.append(
            (
                "caas:profile.logRetentionDays",
                f"{cfg.profile.log_retention_days} exceeds caas:dataProtection.maxLogRetentionDays "
                f"({cfg.data_protection.max_log_retention_days}); logs are kept no longer than that (GDPR)",
            )
        )
    primary = cfg.location.primary
    if cfg.is_shared or not _geo(cfg) or primary not in REGION_CODES:
        return
    pair = PAIRED_REGIONS.get(primary)
    if pair is None:
        p.append(
            (
                "caas:profile.backupRedundancy",
                f"'{primary}' has no paired region, so geo-redundant backups are impossible; "
                "choose a paired primary region or ZoneRedundant",
            )
        )
    elif pair not in EU_REGIONS and not cfg.location.allow_outside_eu:
        p.append(
            (
                "caas:profile.backupRedundancy",
                f"geo-redundant backups of '{primary}' are stored in its pair '{pair}', outside the EU (GDPR); "
                "use ZoneRedundant or set allowOutsideEu with a waiverReason",
            )
        )


@dataclass(frozen=True)
class DataSpec:
    """The data area: databases, vault secrets, backup and alerts (environment stacks)."""

    model: DataModel
    entra_admin: EntraAdmin
    monitoring: Monitoring
    smtp_password: SecretStr | None
    rotation: SecretRotation | None  # the vault secrets' expiry and the generators' rotation trigger
    protection: dict[str, Any]  # the dataProtection output: regions, retention, the GDPR data rule
