"""Reliability rules: each with a passing and a violating case from small hand-made resources."""

from __future__ import annotations

from caas.policy.rules.reliability import (
    database_backups,
    stateful_resources_protected,
    virtual_machines_backed_up,
    virtual_machines_spread_over_zones,
    zones_where_the_profile_says,
)
from tests.policy_cases import context, resource, violations

VM = "azure-native:compute:VirtualMachine"
ITEM = "azure-native:recoveryservices:ProtectedItem"
PG = "azure-native:dbforpostgresql:Server"


def test_stateful_resources_are_protected_where_the_profile_protects():
    vault = resource("azure-native:keyvault:Vault", "kv", protect=True)
    bare = resource("azure-native:storage:StorageAccount", "st")
    assert violations(stateful_resources_protected, vault) == []
    [hit] = violations(stateful_resources_protected, bare)
    assert hit.resource.endswith(" st")
    assert violations(stateful_resources_protected, bare, ctx=context(protect=False)) == []
    assert violations(stateful_resources_protected, resource("azure-native:network:Subnet", "s")) == []


def test_every_vm_is_a_protected_item_where_the_profile_backs_up():
    vm = resource(VM, "app1", vmName="vm-app1")
    item = resource(ITEM, "b", properties={"sourceResourceId": "/subscriptions/s/virtualMachines/vm-app1"})
    assert violations(virtual_machines_backed_up, vm, item) == []
    [hit] = violations(virtual_machines_backed_up, vm)
    assert "vm-app1" in hit.message
    assert violations(virtual_machines_backed_up, vm, ctx=context(backup=False)) == []


def test_database_backups_keep_the_window_geo_redundancy_and_long_term_retention():
    ok = resource(PG, "pg", backup={"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"})
    short = resource(PG, "pg", backup={"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"})
    ctx = context(geo_backup=True, min_backup_retention_days=14)
    assert violations(database_backups, ok, ctx=ctx) == []
    assert {h.message.split(" ")[0] for h in violations(database_backups, short, ctx=ctx)} == {
        "backup.backupRetentionDays",
        "backup.geoRedundantBackup",
    }
    db = resource("azure-native:sql:ManagedDatabase", "db", databaseName="icm-live")
    ltr = resource(
        "azure-native:sql:ManagedInstanceLongTermRetentionPolicy", databaseName="icm-live", weeklyRetention="P4W"
    )
    ltr_ctx = context(long_term_retention=True)
    assert violations(database_backups, db, ltr, ctx=ltr_ctx) == []
    [hit] = violations(database_backups, db, ctx=ltr_ctx)
    assert "long-term" in hit.message


def test_zonal_resources_use_the_profiles_zones():
    pool = resource("azure-native:containerservice:AgentPool", "np", availabilityZones=["1", "2", "3"])
    one_zone = resource("azure-native:containerservice:AgentPool", "np1", availabilityZones=["1"])
    lrs = resource("azure-native:storage:StorageAccount", "st", sku={"name": "Standard_LRS"})
    unpinned_vm = resource(VM, "vm1")
    assert violations(zones_where_the_profile_says, pool) == []
    hits = violations(zones_where_the_profile_says, one_zone, lrs, unpinned_vm)
    assert sorted(h.resource.rsplit(" ", 1)[1] for h in hits) == ["np1", "st", "vm1"]
    assert violations(zones_where_the_profile_says, one_zone, lrs, ctx=context(zones=())) == []


def test_a_regional_nat_gateway_and_its_ip_are_the_one_zone_exception():
    ip = resource("azure-native:network:PublicIPAddress", "nat-ip", publicIpAddressName="pip-nat")
    nat = resource("azure-native:network:NatGateway", "nat", publicIpAddresses=[{"id": "/x/publicIPAddresses/pip-nat"}])
    other_ip = resource("azure-native:network:PublicIPAddress", "agw-ip", publicIpAddressName="pip-agw")
    [hit] = violations(zones_where_the_profile_says, ip, nat, other_ip)
    assert hit.resource.endswith("agw-ip")


def test_vms_of_one_role_spread_over_zones():
    spread = [resource(VM, f"as{i}", zones=[str(i)]) for i in (1, 2)]
    stacked = [resource(VM, f"wa{i}", zones=["1"]) for i in (1, 2)]
    assert violations(virtual_machines_spread_over_zones, *spread) == []
    [hit] = violations(virtual_machines_spread_over_zones, *stacked)
    assert hit.level == "advisory"
