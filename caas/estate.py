"""Wires the components for one stack from its model. The only place that knows the order of the parts."""

from __future__ import annotations

from typing import Any

import pulumi

from caas import estate_compute
from caas.config import EstateConfig
from components.foundation import Foundation, FoundationArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.network import Network, NetworkArgs, SharedRefs
from components.observability import Observability, ObservabilityArgs
from components.shared_services import SharedServices, SharedServicesArgs

# Outputs of the shared stack that environment stacks read; the names are a contract between stacks.
SHARED_OUTPUTS = (
    "hubVnetId",
    "hubVnetName",
    "hubResourceGroupName",
    "registryId",
    "registryLoginServer",
)


def build(cfg: EstateConfig) -> dict[str, Any]:
    """Register the stack's resources; return its outputs."""
    foundation = Foundation("foundation", FoundationArgs(cfg))
    rg = foundation.resource_group_name
    observability = Observability("observability", ObservabilityArgs(cfg, rg))
    outputs: dict[str, Any] = {
        "customer": cfg.customer.code,
        "environment": cfg.environment,
        "location": cfg.location.primary,
        "resourceGroupName": rg,
        "logAnalyticsWorkspaceId": observability.workspace_id,
    }
    if cfg.is_shared:
        # -- shared: connectivity (SFTP account) --

        shared = SharedServices("shared", SharedServicesArgs(cfg, rg, observability.workspace_id))
        outputs.update(
            hubVnetId=shared.hub_vnet.id,
            hubVnetName=shared.hub_vnet.name,
            hubResourceGroupName=rg,
            registryId=shared.registry.id,
            registryName=shared.registry.name,
            registryLoginServer=shared.registry.login_server,
            pipelineIdentityClientId=shared.pipeline_identity.client_id,
        )
        return outputs

    assert cfg.shared_stack is not None  # the model requires it for environment stacks
    shared_stack = pulumi.StackReference("shared", stack_name=cfg.shared_stack)
    refs = SharedRefs(*(shared_stack.require_output(key) for key in SHARED_OUTPUTS))
    net = Network("network", NetworkArgs(cfg, rg, observability.workspace_id, refs))
    vault = KeyVault(
        "keyvault",
        KeyVaultArgs(
            cfg, rg, net.subnet_ids["privateEndpoints"], net.dns_zone_ids["vault"], observability.workspace_id
        ),
    )
    # Each area wires its components below its marker and adds its outputs to `outputs`.
    # -- compute --
    compute = estate_compute.build(cfg, rg, observability.workspace_id, net, vault, refs)
    outputs.update(compute.outputs)

    # -- data --

    # -- connectivity --

    # -- kubernetes --

    outputs.update(
        vnetId=net.vnet.id,
        subnetIds=net.subnet_ids,
        keyVaultId=vault.vault_id,
        keyVaultUri=vault.vault_uri,
        registryLoginServer=refs.registry_login_server,
        hostnames=cfg.hostnames,
    )
    return outputs
