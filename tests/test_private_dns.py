"""Network paths, ordering and long operations of a first `up` (issue 11 item 4), on the recorded plans of both
customers: central privatelink zones, spokes linked to them, consumers after the links, custom timeouts."""

from __future__ import annotations

import pytest

from caas import durations
from caas.mocks import arm_id, fake_uuid
from caas.plan import Plan
from caas.specs.network import PRIVATELINK_ZONES
from components.roles import ROLES

ENVS = ("int", "uat", "prd")
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"


@pytest.fixture(params=["acme", "globex"])
def customer(request, plans: dict[str, Plan], example_plans: dict[str, Plan]) -> dict[str, Plan]:
    return plans if request.param == "acme" else example_plans


def _zone_groups(plan: Plan) -> list[str]:
    """Every zone id a private endpoint of the plan registers its A record in."""
    return [c["privateDnsZoneId"] for g in plan.find(ZONE_GROUP) for c in g.inputs["privateDnsZoneConfigs"]]


def test_privatelink_zones_are_the_shared_stacks_and_linked_to_the_hub(customer: dict[str, Plan]) -> None:
    """One zone of each privatelink name per hub (the DR hub, where there is one, has its own set in its own
    group, so nothing in the DR region resolves through the primary's records), in the shared stack only, each
    linked to its hub's VNet."""
    shared = customer["shared"]
    hubs = {shared.outputs["hubVnetId"]: shared.outputs["hubResourceGroupName"]}
    if "drHubVnetId" in shared.outputs:
        hubs[shared.outputs["drHubVnetId"]] = shared.outputs["drHubResourceGroupName"]
    for vnet_id, group in hubs.items():
        zones = {z.inputs["privateZoneName"] for z in shared.find(ZONE) if z.inputs["resourceGroupName"] == group}
        assert zones == set(PRIVATELINK_ZONES.values())
        links = {
            link.inputs["privateZoneName"] for link in shared.find(LINK) if link.inputs["resourceGroupName"] == group
        }
        assert links == zones
        assert {
            link.inputs["virtualNetwork"]["id"]
            for link in shared.find(LINK)
            if link.inputs["resourceGroupName"] == group
        } == {vnet_id}
    assert set(shared.outputs["privateDnsZoneIds"].values()) == {
        f"{shared.outputs['hubVnetId'].split('/providers/')[0]}/providers/Microsoft.Network/privateDnsZones/{name}"
        for name in zones
    }
    for env in ENVS:
        assert not [z for z in customer[env].find(ZONE) if z.inputs["privateZoneName"].startswith("privatelink.")]


def test_every_endpoint_registers_in_a_hub_zone_its_spoke_is_linked_to(customer: dict[str, Plan]) -> None:
    """Each environment's endpoints register in the shared zones, and the spoke has a link (in the shared
    resource group) to each of them, plus to the registry zone, whose endpoint is the hub's."""
    shared = customer["shared"]
    hub_zones = shared.outputs["privateDnsZoneIds"]
    for env in ENVS:
        plan = customer[env]
        used = set(_zone_groups(plan))
        assert used, env
        assert used <= set(hub_zones.values()), env
        linked = {
            link.inputs["privateZoneName"]
            for link in plan.find(LINK)
            if link.inputs["resourceGroupName"] == shared.outputs["hubResourceGroupName"]
            and link.inputs["virtualNetwork"]["id"] == plan.outputs["vnetId"]
        }
        needed = {zone_id.rsplit("/", 1)[-1] for zone_id in used} | {PRIVATELINK_ZONES["registry"]}
        if "sftp" in plan.outputs:
            needed.add(PRIVATELINK_ZONES["blob"])
        assert needed <= linked, (env, needed - linked)


def test_resources_of_the_shared_stack_have_one_endpoint_in_the_hub(customer: dict[str, Plan]) -> None:
    """Registry and SFTP host: one endpoint each, in the hub's subnet; no environment adds its own (two
    endpoints in one zone would overwrite each other's A record)."""
    shared = customer["shared"]
    targets = {shared.outputs["registryId"]: "registry"}
    if "sftpStorageAccountId" in shared.outputs:
        targets[shared.outputs["sftpStorageAccountId"]] = "blob"
    # The DR hub's endpoint to the registry's replica registers in the DR hub's own zone: one endpoint per zone.
    dr_hub = shared.outputs.get("drHubVnetId")
    in_dr = [pe for pe in shared.find(ENDPOINT) if dr_hub and pe.inputs["subnet"]["id"].startswith(dr_hub + "/")]
    hub_endpoints = {
        pe.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"]: pe
        for pe in shared.find(ENDPOINT)
        if pe not in in_dr
    }
    assert set(hub_endpoints) == set(targets)
    for pe in hub_endpoints.values():
        assert pe.inputs["subnet"]["id"].startswith(shared.outputs["hubVnetId"] + "/subnets/")
    assert [pe.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] for pe in in_dr] == (
        [shared.outputs["registryId"]] if dr_hub else []
    )
    dr_zones = [shared.outputs["drPrivateDnsZoneIds"]["registry"]] if dr_hub else []
    assert sorted(_zone_groups(shared)) == sorted(
        [*(shared.outputs["privateDnsZoneIds"][g] for g in targets.values()), *dr_zones]
    )
    for env in ENVS:
        env_targets = {
            pe.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] for pe in customer[env].find(ENDPOINT)
        }
        assert not env_targets & set(targets), env


def _deps(plan: Plan, type_: str, name: str) -> set[str]:
    return set(plan.one(type_, name).dependencies)


def _urn(plan: Plan, type_: str, name: str) -> str:
    return plan.one(type_, name).urn


@pytest.mark.parametrize("env", ENVS)
def test_postgres_is_created_after_its_zone_is_linked(plans: dict[str, Plan], env: str) -> None:
    """The flexible server resolves its zone at create time: it waits for the spoke's and the hub's link."""
    plan = plans[env]
    server = plan.find("azure-native:dbforpostgresql:Server")
    assert len(server) == 1
    links = {r.urn for r in plan.find(LINK) if r.inputs["privateZoneName"].endswith(".postgres.database.azure.com")}
    assert len(links) == 2
    assert links <= set(server[0].dependencies)


def test_vault_endpoint_registers_only_after_the_spoke_links_the_vault_zone(customer: dict[str, Plan]) -> None:
    """The vault's URI (what the Application Gateway reads its certificates through) waits for the endpoint's
    DNS registration, which waits for the spoke's link to the hub's vault zone."""
    for plan in customer.values():
        if plan.find("azure-native:keyvault:Vault"):
            assert _urn(plan, LINK, "network-dns-vault-link") in _deps(plan, ZONE_GROUP, "keyvault-pe-dns")


def test_hosts_mount_and_pull_only_once_names_resolve(customer: dict[str, Plan]) -> None:
    """VMs that mount an NFS share at boot wait for the file endpoint's registration too, not just the share.
    Helm releases pull from the hub's registry endpoint: they wait for the spoke's link to the registry zone."""
    checked = 0
    for plan in customer.values():
        shares = {r.urn for r in plan.find("azure-native:storage:FileShare")}
        for vm in plan.find("azure-native:compute:VirtualMachine"):
            if shares & set(vm.dependencies):
                assert _urn(plan, ZONE_GROUP, "files-pe-dns") in vm.dependencies, vm.name
                checked += 1
        releases = plan.find("kubernetes:helm.sh/v3:Release")
        pulling = [r for r in releases if plan.outputs["registryLoginServer"] in str(r.inputs)]
        for release in pulling:
            assert _urn(plan, LINK, "network-dns-registry-link") in release.dependencies, release.name
            checked += 1
    assert checked


def test_icm710_hosts_may_pull_from_the_shared_registry(plans: dict[str, Plan]) -> None:
    """Each ICM 7.10 VM's system-assigned identity holds AcrPull on exactly the shared registry."""
    registry_id = plans["shared"].outputs["registryId"]
    for env in ENVS:
        plan = plans[env]
        vms = plan.find("azure-native:compute:VirtualMachine")
        assert vms
        assert all(vm.inputs["identity"]["type"] == "SystemAssigned" for vm in vms)
        grantees = {
            g.inputs["principalId"]
            for g in plan.find("azure-native:authorization:RoleAssignment")
            if g.inputs["roleDefinitionId"].endswith(ROLES["AcrPull"]) and g.inputs["scope"] == registry_id
        }
        for vm in vms:
            # The principal Azure reports for the VM's identity (the mocks answer per resource id).
            vm_id = arm_id(vm.type, vm.name, vm.inputs)
            assert fake_uuid("principal", vm_id) in grantees, vm.name


def test_operations_azure_may_stretch_beyond_the_provider_default_have_custom_timeouts(
    customer: dict[str, Plan],
) -> None:
    """Every resource whose typical create duration (caas.durations) exceeds azure-native's 2 h default has a
    custom create timeout above that duration; SQL MI updates and deletes are covered too."""
    long_ones = 0
    for plan in customer.values():
        for r in plan.resources:
            if not r.custom:
                continue
            estimate = durations.estimate(r.type, r.inputs).seconds
            if estimate > durations.PROVIDER_DEFAULT_TIMEOUT:
                long_ones += 1
                assert durations.timeout_seconds(r.timeouts["create"]) > estimate, r.urn
        for mi in plan.find("azure-native:sql:ManagedInstance"):
            timeouts = {op: durations.timeout_seconds(t) for op, t in mi.timeouts.items()}
            assert timeouts["update"] > 4 * durations.HOUR  # enabling zone redundancy, before any seeding
            assert timeouts["delete"] > 90 * durations.MIN  # the last instance deletes the virtual cluster
        for group in plan.find("azure-native:sql:InstanceFailoverGroup"):
            assert durations.timeout_seconds(group.timeouts["create"]) > durations.PROVIDER_DEFAULT_TIMEOUT
    assert long_ones  # prd's zone-redundant instances


def test_seeding_time_grows_with_the_instance_storage() -> None:
    """Microsoft's seeding table: 1 h up to 32 GB, 2 h to 256 GB, 9 h to 1 TB, 20 h beyond 4 TB; updates of a
    larger instance get a longer timeout."""
    assert [durations.seeding_hours(gb) for gb in (32, 33, 256, 1024, 5000)] == [1, 2, 2, 9, 20]
    small = durations.sql_mi_timeouts(zone_redundant=False, storage_gb=64)
    large = durations.sql_mi_timeouts(zone_redundant=True, storage_gb=2048)
    assert durations.timeout_seconds(large["update"]) > durations.timeout_seconds(small["update"])
    assert durations.timeout_seconds("1h30m") == 90 * durations.MIN
    with pytest.raises(ValueError, match="lacks a unit"):
        durations.timeout_seconds("90")
