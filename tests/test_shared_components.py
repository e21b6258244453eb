"""The shared layer's components, each built alone from its slice of the shared stack's specs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from caas.mocks import RecordingMocks, RecordingMonitor, Registration
from caas.sdk_internals import ObservedResource
from caas.specs import EstateSpec, derive
from components.bastion import Bastion, BastionArgs
from components.build_agents import BuildAgents, BuildAgentsArgs
from components.hub_network import HubNetwork, HubNetworkArgs
from components.private_dns import PrivateDns, PrivateDnsArgs
from components.registry import ContainerRegistry, ContainerRegistryArgs, PipelineIdentity, PipelineIdentityArgs
from tests.helpers import build

RG = "rg-acme-shared-weu"
HUB_ID = f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet-acme-shared-weu"
REGISTRY_ID = f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/cracmesharedweu"
SUBNET = f"{HUB_ID}/subnets/snet-%s"
ZONE_IDS = {
    k: f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.Network/privateDnsZones/{k}"
    for k in ("registry", "vault", "file", "blob")
}
ZONE_ID = f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io"
OLD_PARENT = "urn:pulumi:shared::caas-acme::intershop:caas:SharedServices::shared"
# What the one SharedServices component registered before the split (type, logical name): the URNs to keep.
BEFORE_SPLIT = {
    ("BastionHost", "shared-bastion"),
    ("DevCenter", "shared-dev-center"),
    ("DiagnosticSetting", "shared-bastion-diagnostics"),
    ("DiagnosticSetting", "shared-hub-nat-ip-diagnostics"),
    ("DiagnosticSetting", "shared-hub-nsg-bastion-diagnostics"),
    ("DiagnosticSetting", "shared-hub-nsg-buildAgents-diagnostics"),
    ("DiagnosticSetting", "shared-hub-nsg-privateEndpoints-diagnostics"),
    ("DiagnosticSetting", "shared-hub-vnet-diagnostics"),
    ("DiagnosticSetting", "shared-registry-diagnostics"),
    ("FederatedIdentityCredential", "shared-pipeline-federation"),
    ("NatGateway", "shared-hub-nat"),
    ("NetworkSecurityGroup", "shared-hub-nsg-bastion"),
    ("NetworkSecurityGroup", "shared-hub-nsg-buildAgents"),
    ("NetworkSecurityGroup", "shared-hub-nsg-privateEndpoints"),
    ("Pool", "shared-build-agents"),
    ("PrivateDnsZoneGroup", "shared-pe-registry-dns"),
    ("PrivateEndpoint", "shared-pe-registry"),
    ("PrivateZone", "shared-dns-registry"),
    ("Project", "shared-dev-center-project"),
    ("PublicIPAddress", "shared-bastion-ip"),
    ("PublicIPAddress", "shared-hub-nat-ip"),
    ("Registry", "shared-registry"),
    ("Replication", "shared-registry-dr"),
    ("RoleAssignment", "shared-agents-vnet-network"),
    ("RoleAssignment", "shared-agents-vnet-reader"),
    ("RoleAssignment", "shared-pipeline-acr-push"),
    ("Subnet", "shared-hub-snet-bastion"),
    ("Subnet", "shared-hub-snet-buildAgents"),
    ("Subnet", "shared-hub-snet-privateEndpoints"),
    ("UserAssignedIdentity", "shared-pipeline-identity"),
    ("VirtualNetwork", "shared-hub-vnet"),
    ("VirtualNetworkLink", "shared-dns-registry-link"),
}


class AliasMonitor(RecordingMonitor):
    """Also keeps, per URN, the parents a resource says it had before (its alias specs)."""

    def __init__(self, mocks: RecordingMocks):
        super().__init__(mocks)
        self.previous_parents: dict[str, set[str]] = {}

    def observe_resource(self, resource: ObservedResource) -> None:
        super().observe_resource(resource)
        self.previous_parents[resource.urn] = set(resource.alias_parents)


def _render(program, stack: str = "shared") -> AliasMonitor:
    monitor = AliasMonitor(RecordingMocks())
    build(program, stack=stack, monitor=monitor)
    return monitor


@pytest.fixture(scope="module")
def spec(project) -> EstateSpec:
    return derive(project.load("shared")[0])


def _shared_layer(spec: EstateSpec) -> None:
    """The split parts wired as caas.estate wires them, with the hub's ids given."""
    assert spec.shared is not None
    site, shared = spec.site, spec.shared
    hub = HubNetwork("shared-hub", HubNetworkArgs(site, shared.hub, RG, "workspace"))
    dns = PrivateDns("shared-dns", PrivateDnsArgs(site, shared.private_dns_zones, RG, hub.vnet.id))
    Bastion("shared-bastion", BastionArgs(site, RG, hub.subnet_ids["bastion"], "workspace"))
    registry = ContainerRegistry(
        "shared-registry",
        ContainerRegistryArgs(
            site, shared.registry, RG, hub.subnet_ids["privateEndpoints"], dns.zone_ids["registry"], "workspace"
        ),
    )
    PipelineIdentity("shared-pipeline", PipelineIdentityArgs(site, shared.pipeline_identity, RG, registry.registry.id))
    BuildAgents("shared-build-agents", BuildAgentsArgs(site, shared.build_agents, RG, HUB_ID, SUBNET % "agents"))


def _kind(r: Registration) -> str:
    return r.type.rsplit(":", 1)[-1]


def test_split_parts_keep_every_urn_of_the_shared_services(spec: EstateSpec) -> None:
    """Every resource SharedServices had is still registered under its logical name, and answers to its old
    URN through an alias to the old parent (the registry's zone and link, moved on into PrivateDns, too); new
    are only the components and the central zones other than the registry's, with their hub links."""
    monitor = _render(lambda: _shared_layer(spec))
    custom = [r for r in monitor.registrations if r.custom]
    new_zones = {
        (kind, f"shared-dns-{key}{suffix}")
        for key in ("vault", "file", "blob")
        for kind, suffix in (("PrivateZone", ""), ("VirtualNetworkLink", "-link"))
    }
    assert {(_kind(r), r.name) for r in custom} == BEFORE_SPLIT | new_zones
    kept = [r for r in custom if (_kind(r), r.name) in BEFORE_SPLIT]
    assert {r.name for r in kept if OLD_PARENT not in monitor.previous_parents[r.urn]} == set()
    components = {(_kind(r), r.name) for r in monitor.registrations if not r.custom}
    assert components == {
        ("HubNetwork", "shared-hub"),
        ("Vnet", "shared-hub"),
        ("Bastion", "shared-bastion"),
        ("ContainerRegistry", "shared-registry"),
        ("PrivateDns", "shared-dns"),
        ("PipelineIdentity", "shared-pipeline"),
        ("BuildAgents", "shared-build-agents"),
    }


def test_registry_without_replica_is_private_and_single_region(spec: EstateSpec) -> None:
    """With geo-replication off no replica exists; the registry is reachable only through the hub endpoint."""
    assert spec.shared is not None
    registry_spec = replace(spec.shared.registry, replica_location=None, retention_days=7)
    monitor = _render(
        lambda: ContainerRegistry(
            "shared-registry",
            ContainerRegistryArgs(spec.site, registry_spec, RG, SUBNET % "pe", ZONE_ID, "workspace"),
        )
    )
    by_type = {_kind(r): r.inputs for r in monitor.registrations}
    assert "Replication" not in by_type
    registry = by_type["Registry"]
    assert registry["publicNetworkAccess"] == "Disabled"
    assert registry["adminUserEnabled"] is False
    assert registry["policies"]["retentionPolicy"] == {"status": "enabled", "days": 7}
    assert by_type["PrivateEndpoint"]["subnet"]["id"] == SUBNET % "pe"
    assert by_type["PrivateDnsZoneGroup"]["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == ZONE_ID
    assert "PrivateZone" not in by_type  # the zone is the shared PrivateDns component's


def test_pipeline_identity_may_push_to_the_given_registry_only(spec: EstateSpec) -> None:
    """AcrPush on exactly the registry handed in, and a federated credential for the service connection."""
    assert spec.shared is not None
    monitor = _render(
        lambda: PipelineIdentity(
            "shared-pipeline", PipelineIdentityArgs(spec.site, spec.shared.pipeline_identity, RG, REGISTRY_ID)
        )
    )
    by_type = {_kind(r): r.inputs for r in monitor.registrations}
    assert by_type["RoleAssignment"]["scope"] == REGISTRY_ID
    assert by_type["RoleAssignment"]["roleDefinitionId"].endswith("8311e382-0749-4cb8-b61a-304f252e45ec")  # AcrPush
    federation = by_type["FederatedIdentityCredential"]
    assert federation["subject"] == spec.shared.pipeline_identity.subject
    assert federation["audiences"] == ["api://AzureADTokenExchange"]


def test_build_agents_pool_waits_for_its_subnet_grants(spec: EstateSpec) -> None:
    """The pool joins the given agent subnet and is registered after both grants on the hub VNet."""
    assert spec.shared is not None
    monitor = _render(
        lambda: BuildAgents(
            "shared-build-agents", BuildAgentsArgs(spec.site, spec.shared.build_agents, RG, HUB_ID, SUBNET % "agents")
        )
    )
    grants = [r for r in monitor.registrations if _kind(r) == "RoleAssignment"]
    assert {g.inputs["scope"] for g in grants} == {HUB_ID}
    assert len(grants) == 2
    pool = next(r for r in monitor.registrations if _kind(r) == "Pool")
    assert pool.inputs["fabricProfile"]["networkProfile"]["subnetId"] == SUBNET % "agents"
    assert {g.urn for g in grants} <= set(pool.dependencies)


def test_spoke_vnet_children_keep_their_urns_under_the_network(project) -> None:
    """The spoke's VNet parts moved into a Vnet component inside Network: each answers to its URN directly
    under Network."""
    from components.network import Network, NetworkArgs, SharedRefs

    spec = derive(project.load("int")[0])
    assert spec.network is not None
    refs = SharedRefs(
        HUB_ID, "vnet-acme-shared-weu", RG, REGISTRY_ID, "cracmesharedweu.azurecr.io", "bastion-id", ZONE_IDS
    )
    monitor = _render(lambda: Network("network", NetworkArgs(spec.site, spec.network, RG, "workspace", refs)), "int")
    network_urn = next(r.urn for r in monitor.registrations if r.type == "intershop:caas:Network")
    vnet_urn = next(r.urn for r in monitor.registrations if r.type == "intershop:caas:Vnet")
    moved = [r for r in monitor.registrations if r.parent == vnet_urn]
    assert {r.name for r in moved} >= {"network-vnet", "network-snet-aks", "network-nat"}
    assert all(network_urn in monitor.previous_parents[r.urn] for r in moved)
