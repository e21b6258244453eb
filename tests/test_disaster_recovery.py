"""Disaster recovery of the application tier: caas:disasterRecovery.activate, the shared DR hub, the state account."""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from itertools import combinations

from caas import delivery, specs
from caas.plan import Plan, Project
from caas.regions import ZONAL_REGIONS
from tests.conftest import ROOT, assert_reported, set_key

DR_REGION, DR_GROUP = "northeurope", "rg-acme-prd-neu"
# The application tier's resources and their DR names (Namer.in_region: the DR region's code, neu).
TIER = {
    "azure-native:containerservice:ManagedCluster": ["aks-acme-prd-neu"],
    "azure-native:network:ApplicationGateway": ["agw-acme-prd-neu"],
    "azure-native:keyvault:Vault": ["kv-acme-prd-neu"],
    "azure-native:storage:StorageAccount": ["stacmeprdneunfs"],
}
NAME_KEYS = ("resourceName", "applicationGatewayName", "vaultName", "accountName", "vmName")


def _name(inputs: dict) -> str:
    return next(inputs[k] for k in NAME_KEYS if k in inputs)


def _in_dr(plan: Plan, type_: str) -> list:
    return [r for r in plan.find(type_) if r.inputs.get("location") == DR_REGION]


def test_activated_tier_runs_in_the_dr_region_under_dr_names(activated_plan: Plan) -> None:
    """Cluster, gateway, vault, NFS account and every ICM 7.10 host exist once more, in the DR region's group
    with the DR region's names; the primary's stay as they are."""
    for type_, names in TIER.items():
        dr = _in_dr(activated_plan, type_)
        assert sorted(_name(r.inputs) for r in dr) == names, type_
        assert {r.inputs["resourceGroupName"] for r in dr} == {DR_GROUP}
    vms = activated_plan.find("azure-native:compute:VirtualMachine")
    primary = sorted(_name(r.inputs) for r in vms if r.inputs["location"] == "westeurope")
    dr = sorted(_name(r.inputs) for r in _in_dr(activated_plan, "azure-native:compute:VirtualMachine"))
    assert primary
    assert dr == [n.replace("-weu-", "-neu-") for n in primary]


def test_dr_tier_sits_in_the_dr_vnet_app_range(activated_plan: Plan) -> None:
    """The DR VNet gains caas:network.drAppAddressSpace as a second prefix (the primary's peering re-reads it);
    the cluster's nodes use the DR AKS subnet, whose top address is the DR ingress."""
    (vnet,) = [v for v in _in_dr(activated_plan, "azure-native:network:VirtualNetwork")]
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == ["10.44.0.0/24", "10.44.8.0/21"]
    assert (
        activated_plan.one("azure-native:network:VirtualNetworkPeering", "dr-network-peering-to-dr").inputs[
            "syncRemoteAddressSpace"
        ]
        == "true"
    )
    subnets = {
        r.inputs["subnetName"]: r.inputs["addressPrefix"]
        for r in activated_plan.find("azure-native:network:Subnet")
        if r.name.startswith("dr-network-snet-")
    }
    app_range = IPv4Network("10.44.8.0/21")
    assert {n for n, prefix in subnets.items() if IPv4Network(prefix).subnet_of(app_range)} == {
        "snet-aks",
        "snet-vms",
        "snet-app-gateway",
    }
    (cluster,) = _in_dr(activated_plan, "azure-native:containerservice:ManagedCluster")
    node_subnet = cluster.inputs["agentPoolProfiles"][0]["vnetSubnetID"]
    assert node_subnet.endswith("/subnets/snet-aks")
    assert f"/resourceGroups/{DR_GROUP}/" in node_subnet


def test_dr_apps_read_the_databases_through_the_failover_group_listener(activated_plan: Plan) -> None:
    """ICM in the DR cluster connects to the failover group's listener, as the primary's does: whichever SQL MI
    is primary serves both; and the DR cluster's releases go through the DR cluster's provider."""
    releases = {r.name: r for r in activated_plan.find("kubernetes:helm.sh/v3:Release")}
    dr, primary = releases["dr-k8s-icm-live-release"], releases["k8s-icm-live-release"]
    dr_urls, primary_urls = (
        [w for w in json.dumps(r.inputs["values"]).split('"') if w.startswith("jdbc:sqlserver://")]
        for r in (dr, primary)
    )
    assert dr_urls == primary_urls
    assert dr_urls[0].startswith("jdbc:sqlserver://fog-acme-prd-weu.")
    assert dr.provider.split("::")[-1].startswith("dr-k8s-provider")
    assert primary.provider.split("::")[-1].startswith("k8s-provider")


def test_dr_vault_holds_the_platform_secrets(activated_plan: Plan) -> None:
    """Every platform secret of the primary vault exists in the DR vault, under the same name."""
    secrets = activated_plan.find("azure-native:keyvault:Secret")
    by_vault: dict[str, set[str]] = {}
    for s in secrets:
        by_vault.setdefault(s.name.split("-", 1)[0], set()).add(s.inputs["secretName"])
    assert by_vault["dr"] == by_vault["secrets"] != set()


def test_active_site_and_public_entry_follow_activation(activated_plan: Plan, plans: dict[str, Plan]) -> None:
    """One value for DNS to follow: activated, the active site is dr and the public IP is the DR gateway's."""
    assert plans["prd"].outputs["activeSite"] == "primary"
    assert activated_plan.outputs["activeSite"] == "dr"
    # The DR gateway's frontend is the DR public IP; the one publicIpAddress output is that address.
    (gateway,) = _in_dr(activated_plan, "azure-native:network:ApplicationGateway")
    (frontend,) = [f for f in gateway.inputs["frontendIPConfigurations"] if "publicIPAddress" in f]
    assert "/pip-acme-prd-neu-agw" in frontend["publicIPAddress"]["id"]
    assert activated_plan.outputs["publicIpAddress"] == activated_plan.outputs["drSite"]["publicIpAddress"]


def test_without_activation_nothing_of_the_app_tier_is_in_the_dr_region(plans: dict[str, Plan]) -> None:
    """Off (the default), prd's DR region holds only the DR network and the SQL MI secondary: no cluster,
    gateway, vault, storage, host, and no DR Kubernetes layer."""
    prd = plans["prd"]
    for type_ in (*TIER, "azure-native:compute:VirtualMachine", "azure-native:operationalinsights:Workspace"):
        assert not _in_dr(prd, type_), type_
    assert not [r for r in prd.resources if r.name.startswith(("dr-k8s", "dr-aks", "dr-files", "dr-keyvault"))]
    (vnet,) = _in_dr(prd, "azure-native:network:VirtualNetwork")
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == ["10.44.0.0/24"]


def test_no_address_range_of_the_customer_overlaps() -> None:
    """Hub, DR hub, every environment's range, prd's DR range and its DR application range: pairwise disjoint."""
    project = Project.at(ROOT)
    ranges: dict[str, IPv4Network] = {}
    for stack in project.stacks():
        net = project.load(stack)[0].network
        for key in ("address_space", "dr_address_space", "dr_app_address_space"):
            if getattr(net, key) is not None:
                ranges[f"{stack}.{key}"] = getattr(net, key)
    assert {"prd.dr_app_address_space", "shared.dr_address_space"} <= set(ranges)
    assert [(a, b) for (a, na), (b, nb) in combinations(ranges.items(), 2) if na.overlaps(nb)] == []


def test_activation_is_refused_where_the_profile_has_no_disaster_recovery() -> None:
    """uat (pre-production profile) cannot activate; the message names the key."""
    assert_reported("uat", set_key("disasterRecovery.activate", True), "caas:disasterRecovery.activate", "uat has no")


def test_activation_needs_a_free_dr_application_range() -> None:
    """The DR application range is required on activation and may overlap nothing of the stack."""

    def activated_without(data: dict) -> None:
        set_key("disasterRecovery.activate", True)(data)
        data["caas:network"].pop("drAppAddressSpace")

    assert_reported("prd", activated_without, "caas:network.drAppAddressSpace", "required while")
    assert_reported(
        "prd", set_key("network.drAppAddressSpace", "10.43.8.0/21"), "caas:network.drAppAddressSpace", "overlaps"
    )


def test_shared_dr_hub_runs_a_pool_and_the_registry_endpoint(plans: dict[str, Plan]) -> None:
    """The shared stack's DR hub: a Managed DevOps Pool in the DR region on the DR hub's agent subnet, the
    registry's endpoint there registered in the DR hub's own privatelink zone; delivery names the DR pool."""
    shared = plans["shared"]
    (pool,) = _in_dr(shared, "azure-native:devopsinfrastructure:Pool")
    assert pool.inputs["poolName"] == "mdp-acme-shared-neu"
    subnet = pool.inputs["fabricProfile"]["networkProfile"]["subnetId"]
    assert "rg-acme-shared-neu" in subnet
    assert subnet.endswith("/subnets/snet-build-agents")
    (endpoint,) = [r for r in _in_dr(shared, "azure-native:network:PrivateEndpoint")]
    assert endpoint.inputs["privateEndpointName"] == "pe-acme-shared-neu-cr"
    zone_group = next(r for r in shared.find("azure-native:network:PrivateDnsZoneGroup") if r.parent == endpoint.parent)
    assert zone_group is not None
    assert delivery.for_project(Project.at(ROOT)).dr_agent_pool == pool.inputs["poolName"]


def test_state_account_is_geo_redundant_with_zones_where_the_region_has_them() -> None:
    """The state outlives its region (the activation writes to it): geo-redundant, zone-redundant too where the
    shared stack's region has zones, and still geo-redundant where it has none."""
    project = Project.at(ROOT)
    models = {stack: project.load(stack)[0] for stack in project.stacks()}
    zonal = delivery.delivery(models, project.name).state.sku
    shared = models["shared"]
    moved = shared.model_copy(update={"location": shared.location.model_copy(update={"primary": "francesouth"})})
    regional = delivery.delivery({**models, "shared": moved}, project.name).state.sku
    assert shared.location.primary in ZONAL_REGIONS
    assert "francesouth" not in ZONAL_REGIONS
    assert zonal in ("Standard_GZRS", "Standard_RAGZRS")
    assert regional in ("Standard_GRS", "Standard_RAGRS")


def test_dr_site_is_regional_where_the_dr_region_has_no_zones() -> None:
    """Resources re-sited in a DR region without zones are not pinned to zones it does not have."""
    cfg = Project.at(ROOT).load("prd")[0]
    moved = cfg.model_copy(update={"location": cfg.location.model_copy(update={"dr": "francesouth"})})
    assert specs.site.dr_site(moved).zones == ()
    assert specs.site.dr_site(cfg).zones == specs.site.site(cfg).zones != ()
