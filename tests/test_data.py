"""The data area: databases, secrets, backup, monitoring, protection and GDPR controls in every environment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from caas import config as model
from caas.mocks import SECRET, SUBSCRIPTION_ID, Registration, arm_id, fake_password
from caas.plan import Plan, Project
from caas.regions import EU_REGIONS
from caas.specs import derive
from components.backup import Backup, BackupArgs, vm_policy, vm_protection_names
from components.monitoring import Monitoring, MonitoringArgs
from components.roles import ROLES
from components.secrets import PlatformSecrets, PlatformSecretsArgs
from tests.conftest import STACKS, assert_reported, parse, problems, set_key, stack_data
from tests.helpers import build

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("int", "uat", "prd")
MI = "azure-native:sql:ManagedInstance"
PG = "azure-native:dbforpostgresql:Server"
RSV = "azure-native:recoveryservices:Vault"
ALERT = "azure-native:monitor:MetricAlert"


def cfg_of(stack: str) -> model.EstateConfig:
    return parse(stack_data(stack), stack)


# ------------------------------------------------------------------------------------------------------
# The model


def test_sizes_and_retention_follow_scale_and_environment() -> None:
    """int/uat get a small General Purpose MI and Burstable PostgreSQL; prd Business Critical, zonal, with DR."""
    small, prd = derive(cfg_of("int")).data_model, derive(cfg_of("prd")).data_model
    assert small is not None
    assert prd is not None
    assert small.postgres is not None
    assert prd.postgres is not None
    assert (small.sql_mi.tier, small.sql_mi.v_cores, small.sql_mi.zone_redundant) == ("GeneralPurpose", 4, False)
    assert (prd.sql_mi.tier, prd.sql_mi.v_cores, prd.sql_mi.zone_redundant) == ("BusinessCritical", 8, True)
    assert small.sql_mi.failover is None
    assert prd.sql_mi.failover is not None
    assert prd.sql_mi.failover.region == "northeurope"
    assert prd.sql_mi.failover.secondary_name == "sqlmi-acme-prd-neu"
    assert (small.postgres.tier, small.postgres.high_availability) == ("Burstable", "Disabled")
    assert (prd.postgres.tier, prd.postgres.high_availability) == ("GeneralPurpose", "ZoneRedundant")
    assert prd.sql_mi.retention_days == 35
    assert small.sql_mi.retention_days == 7
    assert prd.postgres.parameters["max_prepared_transactions"] == "300"  # 150% of max_connections (200)


def test_recovery_objectives_follow_what_is_deployed() -> None:
    """prd survives region loss (failover group, geo backups); int and uat lose data with their region."""
    prd, uat = derive(cfg_of("prd")).data_model, derive(cfg_of("uat")).data_model
    assert prd is not None
    assert uat is not None
    objectives = prd.recovery_objectives()
    assert objectives["icmDatabase"]["regionLoss"] == {
        "rpo": "PT5S",
        "rto": "PT60M",
        "mechanism": "auto-failover group to northeurope after a 60-minute grace period",
        "basis": "documented",
    }
    assert objectives["iomDatabase"]["regionLoss"]["rpo"] == "PT1H"
    assert objectives["icmHosts"]["pointInTime"]["rpo"] == "PT4H"
    # Azure Backup cannot protect NFS shares: their RPO is the snapshot job's interval, and they stay in-region.
    assert objectives["sharedFiles"]["pointInTime"]["rpo"] == "PT4H"
    assert objectives["sharedFiles"]["regionLoss"]["rto"] is None
    assert objectives["aksVolumes"]["pointInTime"]["rpo"] == "PT4H"
    assert objectives["aksVolumes"]["regionLoss"]["rto"] is not None  # the vault tier, restored cross-region
    assert all(o["regionLoss"]["rpo"] is None for w, o in uat.recovery_objectives().items() if "regionLoss" in o)


def test_data_regions_and_rule() -> None:
    """Data lives in EU regions only (primary, DR, backup pair); uat holds pseudonymised prd data, never back."""
    prd, uat, int_ = cfg_of("prd"), cfg_of("uat"), cfg_of("int")
    assert derive(prd).data_regions == {"primary": "westeurope", "dr": "northeurope", "backupPair": "northeurope"}
    assert set(derive(prd).data_regions.values()) <= EU_REGIONS
    assert derive(int_).data_regions == {"primary": "westeurope"}  # locally redundant: no copy elsewhere
    assert derive(uat).data_rule["receivesFrom"] == ["prd"]
    assert derive(uat).data_rule["mayCopyTo"] == []
    assert derive(prd).data_rule["mayCopyTo"] == ["uat"]
    assert "pseudonymised" in str(derive(prd).data_rule["copyCondition"])


def test_secrets_are_named_in_the_model() -> None:
    """The model lists every secret the data area keeps; Entra-only SQL drops the MI password, SMTP adds one."""
    data = derive(cfg_of("prd")).data_model
    assert data is not None
    assert set(data.secrets) == {
        "sql-mi-admin-password",
        "icm-live-db-password",
        "icm-edit-db-password",
        "postgres-admin-password",
        "iom-db-password",
    }
    changed = stack_data("int")
    changed["caas:databases"]["icm"] = {"entraOnlyAuthentication": True}
    changed["caas:secrets"] = {"smtpPassword": "s3cret"}
    secrets = derive(parse(changed, "int", secret_keys={"caas:secrets"})).data_model.secrets  # type: ignore[union-attr]
    assert not {"sql-mi-admin-password", "icm-live-db-password", "icm-edit-db-password"} & set(secrets)
    assert secrets["iom-smtp-password"] == "from caas:secrets.smtpPassword"


BAD_INPUT = [
    ("prd", set_key("location.dr", "eastus"), "caas:location.dr", "outside the EU"),
    ("prd", set_key("databases.icm.retentionDays", 7), "caas:databases.icm.retentionDays", "at least 14"),
    ("prd", set_key("databases.iom.retentionDays", 7), "caas:databases.iom.retentionDays", "at least 14"),
    ("prd", set_key("backup.vm.dailyRetentionDays", 7), "caas:backup.vm.dailyRetentionDays", "at least 30"),
    ("prd", set_key("profile.purgeProtection", False), "caas:profile.purgeProtection", "cannot weaken"),
    ("prd", set_key("profile.backup", False), "caas:profile.backup", "cannot weaken"),
    ("prd", set_key("profile.backupRedundancy", "ZoneRedundant"), "caas:profile.backupRedundancy", "geo-redundantly"),
    ("prd", set_key("backup.immutability", "Disabled"), "caas:backup.immutability", "immutable"),
    ("prd", set_key("databases.icm.longTermRetention", {}), "caas:databases.icm.longTermRetention", "long-term"),
    ("prd", set_key("databases.iom.tier", "Burstable"), "caas:databases.iom.tier", "zone-redundant HA"),
    ("uat", set_key("databases.iom.version", "16"), "caas:databases.iom.version", "not supported by IOM"),
    ("uat", set_key("databases.icm.vCores", 6), "caas:databases.icm.vCores", "not a SQL MI size"),
    ("uat", set_key("databases.icm.storageSizeGb", 100), "caas:databases.icm.storageSizeGb", "multiple of 32"),
    ("prd", set_key("dataProtection.maxLogRetentionDays", 60), "caas:profile.logRetentionDays", "exceeds"),
    ("uat", set_key("monitoring.emails", ["not-an-address"]), "caas:monitoring.emails[0]", "invalid value"),
    ("uat", set_key("monitoring.budget.startDate", "2026-01-15"), "caas:monitoring.budget.startDate", "first day"),
    (
        "uat",
        set_key("monitoring.budget.thresholds", [10, 20, 30, 40, 50]),
        "caas:monitoring.budget.thresholds",
        "at most 5",
    ),
    ("uat", set_key("databases.icm.collation", "x"), "caas:databases.icm.collation", "unknown key"),
    (
        "uat",
        set_key("monitoring.webhooks", [{"name": "pager", "serviceUri": "https://hooks.example.com/abc"}]),
        "caas:monitoring.webhooks",
        "plain-text",
    ),
    ("shared", set_key("backup", {"softDeleteDays": 30}), "caas:backup", "not allowed here"),
    ("int", lambda d: d.pop("caas:databases"), "caas:databases", "required in the int stack"),
    ("int", lambda d: d.pop("caas:monitoring"), "caas:monitoring", "required in the int stack"),
    (
        "shared",
        set_key("monitoring", {"emails": ["a@b.example"], "budget": {"amount": 1, "startDate": "2026-01-01"}}),
        "caas:monitoring",
        "not allowed here",
    ),
]


@pytest.mark.parametrize(("stack", "mutate", "key", "text"), BAD_INPUT, ids=[f"{k}:{t}" for _, _, k, t in BAD_INPUT])
def test_bad_data_input_names_the_key(stack: str, mutate, key: str, text: str) -> None:
    """Every bad data-area input is reported against its key, before anything is registered."""
    assert_reported(stack, mutate, key, text)


def test_geo_backup_needs_an_eu_pair() -> None:
    """Geo-redundant backups go to the paired region: a region without a pair (or with a non-EU one) is refused."""

    def no_pair(data: dict[str, Any]) -> None:
        data["caas:location"] = {"primary": "italynorth", "dr": "westeurope"}
        data["caas:profile"]["backupRedundancy"] = "GeoRedundant"

    assert any(
        m.startswith("Pulumi.int.yaml: caas:profile.backupRedundancy: 'italynorth' has no paired region")
        for m in problems("int", no_pair)
    )

    def outside(data: dict[str, Any]) -> None:
        data["caas:location"] = {
            "primary": "uksouth",
            "dr": "westeurope",
            "allowOutsideEu": False,
        }

    found = problems("prd", outside)
    assert any("caas:location.primary" in m for m in found)
    assert any("'ukwest', outside the EU" in m for m in found)


def test_webhook_uri_set_as_secret_is_accepted_and_hidden() -> None:
    """A webhook given with --secret passes; the model never prints its URI."""
    data = stack_data("uat")
    data["caas:monitoring"]["webhooks"] = [{"name": "pager", "serviceUri": "https://hooks.example.com/t0ken"}]
    cfg = parse(data, "uat", secret_keys={"caas:monitoring"})
    assert cfg.monitoring is not None
    assert "t0ken" not in repr(cfg.monitoring)


# ------------------------------------------------------------------------------------------------------
# The plans


# Resources that follow the compute estate's inventory (its hosts, cluster and gateway), not the data model.
COMPUTE_DRIVEN = (
    "backup-vm-icm",
    "monitoring-alert-aks-",
    "monitoring-alert-vm-",
    "monitoring-alert-agw-",
)


def _data_resources(plan: Plan) -> dict[str, Any]:
    components = ("secrets", "icm-database", "iom-database", "backup", "monitoring")
    return {
        r.name: r
        for r in plan.resources
        if r.custom and r.name.startswith(components) and not r.name.startswith(COMPUTE_DRIVEN)
    }


def _normalised(value: Any) -> str:
    return json.dumps(value, sort_keys=True).replace("acme-int", "acme-prd").replace("acmeint", "acmeprd")


# Where prd's data resources differ from int's: every difference is a model decision (sizes by scale, HA,
# redundancy, retention, severities, budget). Resources only prd has are listed in PRD_ONLY.
PARITY = {
    "icm-database-instance": {"sku", "vCores", "storageSizeInGB", "zoneRedundant", "requestedBackupStorageRedundancy"},
    "icm-database-db-live-pitr": {"properties"},
    "icm-database-db-edit-pitr": {"properties"},
    "iom-database-server": {"sku", "storage", "availabilityZone", "highAvailability", "backup"},
    "backup-vault": {"properties"},
    "backup-vm-policy": {"properties"},
    "monitoring-action-group": {"emailReceivers"},
    "monitoring-budget": {"amount", "notifications", "filter"},
    "monitoring-alert-sqlmi-cpu": {"severity"},
    "monitoring-alert-sqlmi-storage": {"severity", "criteria", "description"},
    "monitoring-alert-psql-cpu": {"severity"},
    "monitoring-alert-psql-storage": {"severity"},
}
PRD_ONLY = {
    "icm-database-secondary",
    "icm-database-secondary-diagnostics",
    "icm-database-failover-group",
    "icm-database-db-live-ltr",
    "icm-database-db-edit-ltr",
}


def test_prd_differs_from_int_exactly_where_the_model_says(plans: dict[str, Plan]) -> None:
    """Parity: same data resources in int and prd, differing only in the inputs the PARITY list names."""
    int_, prd = _data_resources(plans["int"]), _data_resources(plans["prd"])
    assert set(prd) - set(int_) == PRD_ONLY
    assert set(int_) <= set(prd)
    differences = {}
    for name, r in int_.items():
        other = prd[name].inputs
        keys = {
            k
            for k in set(r.inputs) | set(other)
            if k != "tags" and _normalised(r.inputs.get(k)) != _normalised(other.get(k))
        }
        if keys:
            differences[name] = keys
    assert differences == PARITY


def test_sql_mi_is_private_tls12_with_entra_admins(plans: dict[str, Plan]) -> None:
    """Every MI: delegated subnet, TLS 1.2, no public endpoint, the configured Entra group, password a secret."""
    for stack in ENVIRONMENTS:
        plan = plans[stack]
        mi = plan.one(MI, "icm-database-instance").inputs
        assert mi["subnetId"].endswith("/subnets/snet-sql-mi")
        assert mi["minimalTlsVersion"] == "1.2"
        assert mi["publicDataEndpointEnabled"] is False
        admins = mi["administrators"]
        assert admins["principalType"] == "Group"
        assert admins["administratorType"] == "ActiveDirectory"
        assert (admins["sid"], admins["login"]) == ("3f2a7c1e-5b8d-4e2f-9a61-0c4d7e8b9f12", "grp-acme-caas-dba")
        assert mi["administratorLoginPassword"] == SECRET
        databases = {r.inputs["databaseName"] for r in plan.find("azure-native:sql:ManagedDatabase")}
        assert databases == {"icm-live", "icm-edit"}
        pitr = [r.inputs for r in plan.find("azure-native:resources:Resource") if r.name.endswith("-pitr")]
        assert {p["parentResourcePath"] for p in pitr} == {
            f"managedInstances/sqlmi-acme-{stack}-weu/databases/{db}" for db in databases
        }
        assert {p["resourceType"] for p in pitr} == {"backupShortTermRetentionPolicies"}
    ltr = plans["prd"].one("azure-native:sql:ManagedInstanceLongTermRetentionPolicy", "icm-database-db-live-ltr").inputs
    assert (ltr["weeklyRetention"], ltr["monthlyRetention"], ltr["yearlyRetention"]) == ("P4W", "P12M", "PT0S")


def test_prd_has_a_dr_secondary_in_a_failover_group(plans: dict[str, Plan]) -> None:
    """prd: a same-sized secondary in the DR VNet, in the primary's DNS zone, auto-failover after 60 minutes."""
    prd = plans["prd"]
    primary = prd.one(MI, "icm-database-instance")
    secondary = prd.one(MI, "icm-database-secondary").inputs
    assert secondary["location"] == "northeurope"
    assert secondary["resourceGroupName"] == "rg-acme-prd-neu"
    assert secondary["subnetId"].startswith(
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-acme-prd-neu/providers/Microsoft.Network/virtualNetworks/"
        "vnet-acme-prd-neu/subnets/snet-sql-mi"
    )
    assert secondary["dnsZonePartner"].endswith("/managedInstances/sqlmi-acme-prd-weu")
    for same in ("sku", "vCores", "storageSizeInGB"):
        assert secondary[same] == primary.inputs[same], same
    group = prd.one("azure-native:sql:InstanceFailoverGroup", "icm-database-failover-group").inputs
    assert group["partnerRegions"] == [{"location": "northeurope"}]
    assert group["readWriteEndpoint"] == {"failoverPolicy": "Automatic", "failoverWithDataLossGracePeriodMinutes": 60}
    assert group["secondaryType"] == "Standby"
    pair = group["managedInstancePairs"][0]
    assert pair["partnerManagedInstanceId"].endswith("/managedInstances/sqlmi-acme-prd-neu")
    assert prd.outputs["icmDatabase"]["host"].startswith("fog-acme-prd-weu.")
    assert not plans["uat"].find("azure-native:sql:InstanceFailoverGroup")


def test_dr_network_is_peered_and_open_for_replication(plans: dict[str, Plan]) -> None:
    """The DR VNet peers with the primary both ways; both MI NSGs allow 5022 and 11000-11999 to each other."""
    prd = plans["prd"]
    peerings = {r.name: r.inputs for r in prd.find("azure-native:network:VirtualNetworkPeering")}
    assert peerings["dr-network-peering-to-dr"]["virtualNetworkName"] == "vnet-acme-prd-weu"
    assert peerings["dr-network-peering-to-primary"]["resourceGroupName"] == "rg-acme-prd-neu"
    rules = [r.inputs for r in prd.find("azure-native:network:SecurityRule")]
    assert {(r["networkSecurityGroupName"], r["direction"]) for r in rules} == {
        (nsg, d) for nsg in ("nsg-acme-prd-weu-sql-mi", "nsg-acme-prd-neu-sql-mi") for d in ("Inbound", "Outbound")
    }
    assert all(r["destinationPortRanges"] == ["5022", "11000-11999"] and r["protocol"] == "Tcp" for r in rules)
    subnets = {str(derive(cfg_of("prd")).subnets["sqlMi"]), str(derive(cfg_of("prd")).dr_subnets["sqlMi"])}
    assert all({r["sourceAddressPrefix"], r["destinationAddressPrefix"]} == subnets for r in rules)


def test_postgres_for_iom(plans: dict[str, Plan]) -> None:
    """IOM's server: supported version, delegated subnet + private zone, HA and geo backup in prd, IOM's params."""
    for stack in ENVIRONMENTS:
        plan = plans[stack]
        server = plan.one(PG, "iom-database-server").inputs
        assert server["version"] == "15"
        net = server["network"]
        assert net["publicNetworkAccess"] == "Disabled"
        assert net["delegatedSubnetResourceId"].endswith("/snet-postgres")
        assert net["privateDnsZoneArmResourceId"].endswith(
            f"/privateDnsZones/acme-{stack}.private.postgres.database.azure.com"
        )
        assert server["authConfig"]["activeDirectoryAuth"] == "Enabled"
        assert server["administratorLoginPassword"] == SECRET
        params = {
            r.inputs["configurationName"]: r.inputs["value"]
            for r in plan.find("azure-native:dbforpostgresql:Configuration")
        }
        assert params == {"max_connections": "200", "max_prepared_transactions": "300"}
        admin = plan.one("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra", "iom-database-entra-admin").inputs
        assert (admin["principalType"], admin["objectId"]) == ("group", "3f2a7c1e-5b8d-4e2f-9a61-0c4d7e8b9f12")
        prd = stack == "prd"
        assert server["highAvailability"]["mode"] == ("ZoneRedundant" if prd else "Disabled")
        assert server["backup"]["geoRedundantBackup"] == ("Enabled" if prd else "Disabled")


def test_recovery_vault_per_environment(plans: dict[str, Plan]) -> None:
    """GRS with cross-region restore and always-on soft delete in prd; LRS/ZRS from the profile elsewhere."""
    expected = {
        "int": ("LocallyRedundant", "Disabled", "Enabled", "Disabled"),
        "uat": ("ZoneRedundant", "Disabled", "Enabled", "Disabled"),
        "prd": ("GeoRedundant", "Enabled", "AlwaysON", "Unlocked"),
    }
    for stack, (redundancy, crr, soft_delete, immutability) in expected.items():
        props = plans[stack].one(RSV, "backup-vault").inputs["properties"]
        assert props["redundancySettings"] == {"crossRegionRestore": crr, "standardTierStorageRedundancy": redundancy}
        security = props["securitySettings"]
        assert security["softDeleteSettings"]["softDeleteState"] == soft_delete
        assert security["immutabilitySettings"]["state"] == immutability
        assert props["publicNetworkAccess"] == "Disabled"
        policy = plans[stack].one("azure-native:recoveryservices:ProtectionPolicy", "backup-vm-policy").inputs
        assert policy["properties"]["policyType"] == "V2"  # enhanced policy
    prd_policy = (
        plans["prd"].one("azure-native:recoveryservices:ProtectionPolicy", "backup-vm-policy").inputs["properties"]
    )
    assert prd_policy["schedulePolicy"]["hourlySchedule"]["interval"] == 4
    assert prd_policy["retentionPolicy"]["dailySchedule"]["retentionDuration"] == {"count": 30, "durationType": "Days"}
    assert prd_policy["instantRPDetails"]["azureBackupRGNamePrefix"] == "rg-acme-prd-weu-backup-"


# Stateful types: what protect=True must cover in prd (and the shared stack, which serves prd).
STATEFUL = {
    "azure-native:resources:ResourceGroup",
    "azure-native:containerregistry:Registry",
    "azure-native:containerregistry:Replication",
    "azure-native:keyvault:Vault",
    "azure-native:operationalinsights:Workspace",
    MI,
    "azure-native:sql:ManagedDatabase",
    PG,
    RSV,
    "azure-native:recoveryservices:ProtectedItem",
    "azure-native:storage:StorageAccount",
    "azure-native:storage:FileShare",
}


def test_every_stateful_prd_resource_is_protected(plans: dict[str, Plan]) -> None:
    """Every stateful resource of prd and shared has protect; prd's groups carry CanNotDelete locks."""
    found = {}
    for stack in ("shared", "prd"):
        for r in plans[stack].resources:
            if r.type in STATEFUL:
                assert r.protect, (stack, r.name)
                found[(stack, r.name)] = r.type
    assert {
        ("prd", "foundation-rg"),
        ("prd", "foundation-dr-rg"),
        ("prd", "keyvault-vault"),
        ("prd", "icm-database-instance"),
        ("prd", "icm-database-secondary"),
        ("prd", "icm-database-db-live"),
        ("prd", "icm-database-db-edit"),
        ("prd", "iom-database-server"),
        ("prd", "backup-vault"),
        ("shared", "shared-registry"),
    } <= set(found)
    locks = plans["prd"].find("azure-native:authorization:ManagementLockAtResourceGroupLevel")
    assert {(lock.inputs["level"], lock.inputs["resourceGroupName"]) for lock in locks} == {
        ("CanNotDelete", "rg-acme-prd-weu"),
        ("CanNotDelete", "rg-acme-prd-neu"),
    }
    assert not any(r.protect for r in plans["int"].resources)


# The resource type behind each alert target of the model.
TARGET_TYPES = {
    "sqlMi": MI,
    "postgres": PG,
    "aks": "azure-native:containerservice:ManagedCluster",
    "vms": "azure-native:compute:VirtualMachine",
    "appGateway": "azure-native:network:ApplicationGateway",
}


def test_alerts_target_the_action_group_with_environment_severities(plans: dict[str, Plan]) -> None:
    """Every alert notifies the action group; prd pages (sev 1/2), int and uat inform (sev 3/4)."""
    for stack in ENVIRONMENTS:
        plan = plans[stack]
        group = plan.one("azure-native:monitor:ActionGroup", "monitoring-action-group")
        assert plan.outputs["actionGroupId"].endswith("/actionGroups/ag-acme-" + stack + "-weu")
        alerts = plan.find(ALERT)
        cfg = cfg_of(stack)
        assert derive(cfg).data_model is not None
        present = {target for target, typ in TARGET_TYPES.items() if plan.find(typ)}
        assert {a.name.removeprefix("monitoring-alert-") for a in alerts} == {
            rule.key for rule in derive(cfg).data_model.alerts if rule.target in present
        }
        assert {"sqlMi", "postgres"} <= present
        for alert in alerts:
            assert alert.inputs["actions"] == [{"actionGroupId": plan.outputs["actionGroupId"]}], alert.name
            assert group.urn in alert.dependencies
        severities = {a.inputs["severity"] for a in alerts}
        assert severities == ({1, 2} if stack == "prd" else {3, 4}), stack
        budget = plan.one("azure-native:consumption:Budget", "monitoring-budget").inputs
        assert all(n["contactGroups"] == [plan.outputs["actionGroupId"]] for n in budget["notifications"].values())
    prd_budget = plans["prd"].one("azure-native:consumption:Budget", "monitoring-budget").inputs
    assert set(prd_budget["notifications"]) == {"actual-50", "actual-80", "actual-100", "forecasted-100"}
    assert prd_budget["filter"]["dimensions"]["values"] == ["rg-acme-prd-weu", "rg-acme-prd-neu"]
    assert prd_budget["scope"] == f"/subscriptions/{SUBSCRIPTION_ID}"
    assert prd_budget["timeGrain"] == "Monthly"


def test_data_resources_send_diagnostics(plans: dict[str, Plan]) -> None:
    """Instances, databases, the PostgreSQL server and the vault each have a diagnostic setting."""
    prd = plans["prd"]
    targets = {s.inputs["resourceUri"] for s in prd.find("azure-native:monitor:DiagnosticSetting")}
    for typ in (MI, "azure-native:sql:ManagedDatabase", PG, RSV):
        for r in prd.find(typ):
            assert arm_id(r.type, r.name, r.inputs) in targets, r.name


SENSITIVE_KEYS = {"administratorLoginPassword", "sharedKey", "serviceUri", "password"}


def _sensitive_values(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every value under a secret-bearing key (and a Key Vault secret's value), with its JSON path."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key in SENSITIVE_KEYS or (key == "value" and path.endswith("keyvault:Secret.properties")):
                found.append((where, value))
            found += _sensitive_values(value, f"{path}.{node['type']}" if key == "inputs" else where)
    elif isinstance(node, list):
        for item in node:
            found += _sensitive_values(item, path)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_in_plain_text_in_the_plan(plans: dict[str, Plan], stack: str) -> None:
    """No generated password, config secret or secret-bearing input appears in clear anywhere in the plan JSON."""
    plan = plans[stack]
    text = plan.to_json()
    for r in plan.find("random:index/randomPassword:RandomPassword"):
        assert fake_password(r.name) not in text, r.name
    assert model.SECRET_PLACEHOLDER not in text
    sensitive = _sensitive_values(json.loads(text))
    for where, value in sensitive:
        assert value == SECRET, where
    if stack != "shared":
        secrets = plan.find("azure-native:keyvault:Secret")
        assert secrets
        assert all(s.inputs["properties"]["value"] == SECRET for s in secrets)
        assert len(sensitive) >= len(secrets) + 2  # the scan saw the Key Vault values and both admin passwords


def test_outputs_carry_objectives_and_data_protection(plans: dict[str, Plan]) -> None:
    """Runbooks read RPO/RTO, data regions, log retention and the data rule from the stack outputs."""
    for stack in ENVIRONMENTS:
        cfg, outputs = cfg_of(stack), plans[stack].outputs
        assert derive(cfg).data_model is not None
        assert outputs["recoveryObjectives"] == derive(cfg).data_model.recovery_objectives()
        assert outputs["dataProtection"]["regions"] == derive(cfg).data_regions
        assert outputs["dataProtection"]["dataRule"] == derive(cfg).data_rule
        assert outputs["keyVaultSecretNames"] == sorted(derive(cfg).data_model.secrets)
    assert plans["prd"].outputs["dataProtection"]["logRetentionDays"] == 90


# ------------------------------------------------------------------------------------------------------
# Inputs the compute estate provides (VMs, AKS, gateway, NFS account, identities), exercised directly


def _run(stack: str, program: Callable[[model.EstateConfig], None]) -> list[Registration]:
    """Run ``program`` under the recording mocks with the stack's model; the registrations it made."""
    project = Project.at(ROOT)
    cfg, raw, secret_keys = project.load(stack)
    return build(lambda: program(cfg), stack=stack, project=project.name, config=raw, secret_keys=tuple(secret_keys))


@pytest.fixture(scope="module")
def wired() -> Plan:
    """Backup, Monitoring and PlatformSecrets of prd given every input the compute estate will wire."""
    rg = "rg-acme-prd-weu"
    base = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers"
    vms = {f"icm-{i}": f"{base}/Microsoft.Compute/virtualMachines/vm-acme-prd-weu-icm-{i}" for i in (1, 2)}

    def program(cfg: model.EstateConfig) -> None:
        spec = derive(cfg)
        assert spec.data is not None
        assert spec.data.model.vault is not None
        data = spec.data.model
        backup = Backup("backup", BackupArgs(spec.site, data.vault, rg, "workspace-id", vm_ids=vms))
        Monitoring(
            "monitoring",
            MonitoringArgs(
                spec.site,
                data,
                spec.data.monitoring,
                rg,
                [rg],
                sql_mi_id=f"{base}/Microsoft.Sql/managedInstances/sqlmi-acme-prd-weu",
                aks_cluster_id=f"{base}/Microsoft.ContainerService/managedClusters/aks-acme-prd-weu",
                vm_ids=list(vms.values()),
                app_gateway_id=f"{base}/Microsoft.Network/applicationGateways/agw-acme-prd-weu",
            ),
        )
        PlatformSecrets(
            "secrets",
            PlatformSecretsArgs(
                spec.site,
                data.secrets,
                spec.data.smtp_password,
                rg,
                f"{base}/Microsoft.KeyVault/vaults/kv-acme-prd-weu",
                "kv-acme-prd-weu",
                readers={"gateway": "11111111-2222-3333-4444-555555555555"},
            ),
        )
        pulumi.export("vault", backup.vault.id)

    return Plan("caas-acme", "prd", _run("prd", program), {})


def test_vms_are_protected_by_the_enhanced_policy(wired: Plan) -> None:
    """Each ICM 7.10 host becomes a protected item under the enhanced policy, with Azure Backup's names."""
    items = {r.name: r.inputs for r in wired.find("azure-native:recoveryservices:ProtectedItem")}
    assert set(items) == {"backup-vm-icm-1", "backup-vm-icm-2"}
    item = items["backup-vm-icm-1"]
    assert item["containerName"] == "IaasVMContainer;iaasvmcontainerv2;rg-acme-prd-weu;vm-acme-prd-weu-icm-1"
    assert item["protectedItemName"] == "VM;iaasvmcontainerv2;rg-acme-prd-weu;vm-acme-prd-weu-icm-1"
    assert item["properties"]["policyId"].endswith("/backupPolicies/vm-enhanced")
    assert all(r.protect for r in wired.find("azure-native:recoveryservices:ProtectedItem"))


def test_compute_targets_get_their_alerts(wired: Plan) -> None:
    """AKS node readiness and pressure, VM availability, gateway health and 5xx alerts use real metric names."""
    alerts = {r.name.removeprefix("monitoring-alert-"): r.inputs for r in wired.find(ALERT)}
    metric = {k: a["criteria"]["allOf"][0]["metricName"] for k, a in alerts.items()}
    assert metric == {
        "sqlmi-cpu": "avg_cpu_percent",
        "sqlmi-storage": "storage_space_used_mb",
        "aks-node-not-ready": "kube_node_status_condition",
        "aks-node-cpu": "node_cpu_usage_percentage",
        "aks-node-memory": "node_memory_working_set_percentage",
        "vm-availability": "VmAvailabilityMetric",
        "agw-unhealthy-hosts": "UnhealthyHostCount",
        "agw-5xx": "ResponseStatus",
    }
    vm = alerts["vm-availability"]
    assert vm["criteria"]["odataType"] == "Microsoft.Azure.Monitor.MultipleResourceMultipleMetricCriteria"
    assert len(vm["scopes"]) == 2
    assert vm["targetResourceType"] == "Microsoft.Compute/virtualMachines"
    assert alerts["agw-5xx"]["criteria"]["allOf"][0]["dimensions"] == [
        {"name": "HttpStatusGroup", "operator": "Include", "values": ["5xx"]}
    ]
    assert alerts["aks-node-not-ready"]["severity"] == 1
    assert alerts["aks-node-cpu"]["severity"] == 2


def test_secret_readers_get_least_privilege_on_the_vault(wired: Plan) -> None:
    """A reader gets Key Vault Secrets User on the vault and nothing else."""
    grants = wired.find("azure-native:authorization:RoleAssignment")
    assert [g.name for g in grants] == ["secrets-reader-gateway"]
    grant = grants[0].inputs
    assert grant["roleDefinitionId"].endswith(ROLES["Key Vault Secrets User"])
    assert grant["scope"].endswith("/vaults/kv-acme-prd-weu")
    assert grant["principalId"] == "11111111-2222-3333-4444-555555555555"


def test_backup_naming_and_policy_shapes() -> None:
    """Protected-item names parse from VM ids; hourly policies keep the window, daily ones a run time."""
    assert vm_protection_names(
        "/subscriptions/s/resourceGroups/rg-x/providers/Microsoft.Compute/virtualMachines/vm1"
    ) == (
        "IaasVMContainer;iaasvmcontainerv2;rg-x;vm1",
        "VM;iaasvmcontainerv2;rg-x;vm1",
    )
    prd, int_ = derive(cfg_of("prd")).data_model, derive(cfg_of("int")).data_model
    assert prd is not None
    assert prd.vault is not None
    assert int_ is not None
    assert int_.vault is not None
    hourly, daily = vm_policy(prd.vault), vm_policy(int_.vault)
    assert hourly.schedule_policy.schedule_run_frequency == "Hourly"
    assert hourly.schedule_policy.daily_schedule is None
    assert daily.schedule_policy.schedule_run_frequency == "Daily"
    assert daily.retention_policy.weekly_schedule is None
