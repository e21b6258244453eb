"""Protection of the AKS disk volumes (Azure Backup for AKS), the NFS share snapshots and PostgreSQL's geo path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from caas import datajobs
from caas.plan import Plan
from caas.profiles import RULES
from caas.sections.data import AksBackupPlan
from caas.specs import derive
from caas.specs.data import MAX_SHARE_SNAPSHOTS
from caas.specs.site import Site
from components.aks_backup import AksBackup, AksBackupArgs, policy, schedule
from scripts.data import share_snapshots
from tests.conftest import parse, stack_data
from tests.helpers import build_plan

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((ROOT / "tests/fixtures/azure/share-rm-list-snapshots.json").read_text())


def _plan(stack: str) -> tuple[Site, AksBackupPlan]:
    spec = derive(parse(stack_data(stack), stack))
    assert spec.data_model is not None
    assert spec.data_model.aks_backup is not None
    return spec.site, spec.data_model.aks_backup


def _render(stack: str) -> Plan:
    site, plan = _plan(stack)
    cluster = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
    return build_plan(
        lambda: AksBackup(
            "aks-backup",
            AksBackupArgs(
                site,
                plan,
                "rg",
                "workspace",
                cluster,
                "aks",
                "cluster-principal",
                ["ns-search", "ns-iom"],
                "subnet",
                "blob-zone",
            ),
        ),
        stack=stack,
    )


@pytest.fixture(scope="module")
def prd() -> Plan:
    return _render("prd")


def test_vault_follows_the_profile(prd: Plan) -> None:
    """prd: geo-redundant, cross-region restore, soft delete always on, immutable, system identity, protected."""
    vault = prd.one("azure-native:dataprotection:BackupVault", "aks-backup-vault")
    props = vault.inputs["properties"]
    assert props["storageSettings"] == [{"datastoreType": "VaultStore", "type": "GeoRedundant"}]
    assert props["featureSettings"]["crossRegionRestoreSettings"]["state"] == "Enabled"
    assert props["securitySettings"]["softDeleteSettings"]["state"] == "AlwaysOn"
    assert props["securitySettings"]["immutabilitySettings"]["state"] == "Unlocked"
    assert vault.inputs["identity"]["type"] == "SystemAssigned"
    assert vault.protect


def test_policy_tiers_and_schedule() -> None:
    """Every 4 h with 7 days operational in prd plus the first daily backup 30 days in the vault; uat daily,
    operational only."""
    _, prd_plan = _plan("prd")
    _, uat_plan = _plan("uat")
    prd_rules = {r.name: r for r in policy(prd_plan).policy_rules}
    assert set(prd_rules) == {"BackupHourly", "Default", "Daily"}
    assert prd_rules["BackupHourly"].trigger.schedule.repeating_time_intervals == [schedule(4)]
    assert schedule(4).endswith("/PT4H")
    assert schedule(24).endswith("/P1D")
    daily = prd_rules["Daily"].lifecycles[0]
    assert daily.delete_after.duration == "P30D"
    assert daily.target_data_store_copy_settings[0].data_store.data_store_type == "VaultStore"
    assert prd_rules["Default"].lifecycles[0].delete_after.duration == "P7D"
    assert {r.name for r in policy(uat_plan).policy_rules} == {"BackupDaily", "Default"}


def test_wiring_vault_policy_extension_trusted_access_roles_instance(prd: Plan) -> None:
    """The instance uses the policy and snapshot group, after the extension, the binding and every role."""
    prd.one("azure-native:dataprotection:BackupVault", "aks-backup-vault")
    pol = prd.one("azure-native:dataprotection:BackupPolicy", "aks-backup-policy")
    ext = prd.one("azure-native:kubernetesconfiguration:Extension", "aks-backup-extension")
    trusted = prd.one("azure-native:containerservice:TrustedAccessRoleBinding", "aks-backup-trusted-access")
    group = prd.one("azure-native:resources:ResourceGroup", "aks-backup-snapshots")
    instance = prd.one("azure-native:dataprotection:BackupInstance", "aks-backup-instance")
    account = prd.one("azure-native:storage:StorageAccount", "aks-backup-storage")

    assert ext.inputs["extensionType"] == "microsoft.dataprotection.kubernetes"
    assert ext.inputs["releaseTrain"] == "stable"
    settings = ext.inputs["configurationSettings"]
    assert settings["configuration.backupStorageLocation.bucket"] == "aks-backup"
    assert settings["configuration.backupStorageLocation.config.storageAccount"] == account.inputs["accountName"]
    assert {
        "configuration.backupStorageLocation.config.resourceGroup",
        "configuration.backupStorageLocation.config.subscriptionId",
        "credentials.tenantId",
    } <= set(settings)
    assert trusted.inputs["roles"] == ["Microsoft.DataProtection/backupVaults/backup-operator"]

    props = instance.inputs["properties"]
    params = props["policyInfo"]["policyParameters"]
    k8s = params["backupDatasourceParametersList"][0]
    assert k8s["objectType"] == "KubernetesClusterBackupDatasourceParameters"
    assert k8s["includedNamespaces"] == ["ns-search", "ns-iom"]
    assert k8s["snapshotVolumes"] is True
    assert k8s["includeClusterScopeResources"] is True
    assert props["dataSourceInfo"]["datasourceType"] == "Microsoft.ContainerService/managedClusters"
    for needed in (ext, trusted, pol, group):
        assert needed.urn in instance.dependencies
    grants = {
        r.name: r.inputs for r in prd.find("azure-native:authorization:RoleAssignment") if r.name.startswith("aks")
    }
    assert set(grants) == {
        "aks-backup-extension-blob",
        "aks-backup-vault-cluster-reader",
        "aks-backup-vault-snapshots-reader",
        "aks-backup-cluster-snapshots-contributor",
    }
    assert grants["aks-backup-vault-cluster-reader"]["scope"].endswith("/managedClusters/aks")
    assert grants["aks-backup-cluster-snapshots-contributor"]["principalId"] == "cluster-principal"
    for name in grants:
        assert name in {r.name for r in prd.find("azure-native:authorization:RoleAssignment")}
        assert prd.one("azure-native:authorization:RoleAssignment", name).urn in instance.dependencies


def test_extension_storage_is_private_and_keyless(prd: Plan) -> None:
    """No public network, no shared key, TLS 1.2, reached through a blob private endpoint."""
    inputs = prd.one("azure-native:storage:StorageAccount", "aks-backup-storage").inputs
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["allowSharedKeyAccess"] is False
    assert inputs["minimumTlsVersion"] == "TLS1_2"
    assert inputs["allowBlobPublicAccess"] is False
    endpoint = prd.one("azure-native:network:PrivateEndpoint", "aks-backup-storage-pe")
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["blob"]


def test_backup_off_means_no_aks_backup_and_no_snapshot_job() -> None:
    """A profile without backup gets neither the AKS backup nor share snapshots (nor the job's role)."""
    data = stack_data("int")
    data["caas:profile"] = {**data.get("caas:profile", {}), "backup": False}
    cfg = parse(data, "int")
    model = derive(cfg).data_model
    assert model is not None
    assert model.aks_backup is None
    assert model.share_snapshots is None
    assert "aksVolumes" not in model.objectives
    assert not [g for g in datajobs.role_grants({"int": cfg}) if g.role == "Storage Account Contributor"]


def test_snapshot_rules_fit_azure_files_limit_and_the_schedule() -> None:
    """Retention / interval stays under 200 snapshots per share; the pipeline's cron runs at the shortest interval."""
    hours = set()
    for env, rules in RULES.items():
        r = rules.retention
        assert r.share_snapshot_days * 24 // r.share_snapshot_hours <= MAX_SHARE_SNAPSHOTS, env
        assert r.aks_frequency_hours in (4, 8, 12, 24)
        hours.add(r.share_snapshot_hours)
    pipeline = (ROOT / "pipelines/data/share-snapshots.yml").read_text()
    assert f'cron: "0 */{min(hours)} * * *"' in pipeline


def test_snapshot_job_identity_is_scoped_to_the_nfs_account() -> None:
    cfg = parse(stack_data("prd"), "prd")
    grants = [g for g in datajobs.role_grants({"prd": cfg}) if g.role == "Storage Account Contributor"]
    assert [g.scope.rsplit("/", 1)[-1] for g in grants] == ["stacmeprdweunfs"]


NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # 2 h after the newest iom snapshot


def test_pruning_deletes_only_snapshots_past_retention_of_that_share() -> None:
    decision = share_snapshots.decide(FIXTURE, "iom", NOW, interval_hours=4, retention_days=30)
    # 2026-01-30 04:00 is 30 d 6 h old, 2026-01-31 08:00 29 d 2 h; icm710-live's old snapshot belongs to another share.
    assert decision == {"take": False, "delete": ["2026-01-30T04:00:01.0000000Z"]}


def test_snapshot_due_after_the_interval_and_never_prunes_the_last_one() -> None:
    later = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert share_snapshots.decide(FIXTURE, "iom", later, 4, 30)["take"] is True
    # A share whose only snapshot is past retention keeps it until a new one is taken... which is due now.
    lone = share_snapshots.decide(FIXTURE, "icm710-live", NOW, 24, 7)
    assert lone == {"take": True, "delete": ["2026-01-01T00:00:00.0000000Z"]}
    assert share_snapshots.decide([], "iom", NOW, 4, 30) == {"take": True, "delete": []}


@pytest.mark.parametrize(("stack", "geo"), [("int", "Disabled"), ("uat", "Disabled"), ("prd", "Enabled")])
def test_postgres_geo_redundant_backup_follows_the_profile(stack: str, geo: str) -> None:
    """Geo-redundant backup where the profile's backup redundancy is GeoRedundant (set at create only)."""
    cfg = parse(stack_data(stack), stack)
    pg = derive(cfg).data_model.postgres
    assert pg is not None
    assert ("Enabled" if pg.geo_backup else "Disabled") == geo
    assert pg.geo_backup == (cfg.profile.backup_redundancy == "GeoRedundant")


def test_rto_rpo_table_is_derived_from_the_model() -> None:
    """The prd table quotes the failover grace period, the snapshot interval and the AKS backup frequency."""
    cfg = parse(stack_data("prd"), "prd")
    model = derive(cfg).data_model
    table = datajobs.dr_markdown(cfg)
    assert model.sql_mi.failover is not None
    assert f"PT{model.sql_mi.failover.grace_minutes}M" in table
    assert f"| NFS shares | mistake or corruption | yes | PT{model.share_snapshots.interval_hours}H |" in table
    assert (
        f"| {datajobs.WORKLOAD_LABELS['aksVolumes']} | mistake or corruption | yes | "
        f"PT{model.aks_backup.frequency_hours}H |" in table
    )
