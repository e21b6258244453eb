"""Derived facts of the shared stack: hub network, Bastion, registry, build agents and the pipelines' identity."""

from __future__ import annotations

from dataclasses import dataclass

from caas.model import EstateConfig
from caas.specs import network as network_spec


@dataclass(frozen=True)
class RegistrySpec:
    """``caas:registry``: the Premium registry reachable only through the hub's private endpoint (its zone is
    the shared ``privatelink.azurecr.io``)."""

    retention_days: int
    replica_location: str | None  # geo-replication target (the DR region), None when off


@dataclass(frozen=True)
class PipelineIdentitySpec:
    """``caas:devops``: the Azure DevOps service connection's federated identity (AcrPush on the registry)."""

    issuer: str
    subject: str


@dataclass(frozen=True)
class BuildAgentsSpec:
    """``caas:buildAgents``: the Managed DevOps Pool in the hub's agent subnet."""

    vm_size: str
    max_concurrency: int
    image: str
    devops_infrastructure_principal_id: str
    organization_url: str
    projects: tuple[str, ...]


@dataclass(frozen=True)
class SharedSpec:
    hub: network_spec.VnetSpec
    private_dns_zones: dict[str, str]  # key -> privatelink zone: every one an environment may link to
    registry: RegistrySpec
    pipeline_identity: PipelineIdentitySpec
    build_agents: BuildAgentsSpec
    # caas:network.drAddressSpace: the hub in the DR region with its own build agents, privatelink zones and the
    # registry replica's endpoint, built before any loss (none of it could be created after: the shared stack's
    # deploy runs on the primary hub's agents). None: no DR hub.
    dr_hub: network_spec.VnetSpec | None = None


def derive(cfg: EstateConfig) -> SharedSpec | None:
    """The shared stack's parts; None for environment stacks."""
    if not cfg.is_shared:
        return None
    assert cfg.registry is not None
    assert cfg.devops is not None
    assert cfg.build_agents is not None
    agents, devops = cfg.build_agents, cfg.devops
    return SharedSpec(
        hub=network_spec.VnetSpec(cfg.network.address_space, network_spec.subnets(cfg)),
        private_dns_zones=dict(network_spec.PRIVATELINK_ZONES),
        registry=RegistrySpec(
            retention_days=cfg.registry.retention_days,
            replica_location=cfg.location.dr if cfg.registry.geo_replication else None,
        ),
        pipeline_identity=PipelineIdentitySpec(devops.service_connection_issuer, devops.service_connection_subject),
        build_agents=BuildAgentsSpec(
            vm_size=agents.vm_size,
            max_concurrency=agents.max_concurrency,
            image=agents.image,
            devops_infrastructure_principal_id=agents.devops_infrastructure_principal_id,
            organization_url=devops.organization_url,
            projects=tuple(devops.projects),
        ),
        dr_hub=network_spec.VnetSpec(cfg.network.dr_address_space, network_spec.dr_subnets(cfg))
        if cfg.network.dr_address_space is not None and network_spec.dr_subnets(cfg)
        else None,
    )
