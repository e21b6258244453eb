"""The shared stack's private DNS: one zone per private-link service, linked to the hub, for every endpoint."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from caas.specs.site import Site
from components.hub_network import SHARED_SERVICES_URN
from components.moved import stack_urn
from components.private_link import private_zone

# The registry's zone and its hub link were children of the registry component (before that, of SharedServices).
REGISTRY_COMPONENT_URN = ("intershop:caas:ContainerRegistry", "shared-registry")


@dataclass
class PrivateDnsArgs:
    site: Site
    zones: dict[str, str]  # key -> privatelink zone name
    resource_group_name: pulumi.Input[str]
    hub_vnet_id: pulumi.Input[str]


class PrivateDns(pulumi.ComponentResource):
    """``intershop:caas:PrivateDns``: the ``privatelink.*`` zones of the estate, in the shared resource group.

    Hub and spoke as in Microsoft's "Private Link and DNS integration at scale": one zone of each name, linked
    to the hub here and to each spoke by that environment's stack, so the hub's build agents resolve every
    environment's endpoints and a spoke resolves the hub's. ``zone_ids`` resolve once the hub link exists.
    """

    def __init__(self, name: str, args: PrivateDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:PrivateDns", name, None, opts)
        hub_link = {"link": (args.hub_vnet_id, args.site.names.resource("vnet"))}
        self.zone_ids: dict[str, pulumi.Output[str]] = {}
        for key, zone_name in args.zones.items():
            aliases = None
            if key == "registry":
                aliases = [
                    pulumi.Alias(parent=stack_urn(*REGISTRY_COMPONENT_URN)),
                    pulumi.Alias(parent=stack_urn(*SHARED_SERVICES_URN)),
                ]
            self.zone_ids[key] = private_zone(
                f"{name}-{key}",
                zone_name=zone_name,
                resource_group_name=args.resource_group_name,
                links=hub_link,
                tags=args.site.tags,
                parent=self,
                aliases=aliases,
            )
        self.register_outputs({"zoneIds": self.zone_ids})
