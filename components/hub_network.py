"""The shared stack's hub network: the VNet every environment peers with (Bastion, agents, registry endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from caas import addressing
from caas.specs.network import VnetSpec
from caas.specs.site import Site
from components.moved import stack_urn
from components.vnet import Vnet, VnetArgs

# Before the split of the shared layer into its parts, all of them were children of this component.
SHARED_SERVICES_URN = ("intershop:caas:SharedServices", "shared")


@dataclass
class HubNetworkArgs:
    site: Site
    spec: VnetSpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]


class HubNetwork(pulumi.ComponentResource):
    """``intershop:caas:HubNetwork``: the hub VNet with its subnets, NSGs and NAT gateway.

    The shared stack never depends on an environment: environments create both directions of their peering.
    """

    def __init__(self, name: str, args: HubNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:HubNetwork", name, None, opts)
        hub = Vnet(
            name,
            VnetArgs(
                args.site,
                args.spec,
                # The DR hub (agents and endpoints only, caas.addressing.DR_HUB_SUBNETS) has no Bastion subnet.
                tuple(s for s in addressing.HUB_SUBNETS if s.role in args.spec.subnets),
                args.resource_group_name,
                args.workspace_id,
                previous_parent=stack_urn(*SHARED_SERVICES_URN),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.vnet = hub.vnet
        self.subnet_ids = hub.subnet_ids
        self.register_outputs({"vnetId": self.vnet.id, "subnetIds": self.subnet_ids})
