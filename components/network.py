"""An environment's network: spoke VNet peered with the shared hub, private DNS, private registry access."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from caas import addressing
from caas.specs.network import NetworkSpec
from caas.specs.site import Site
from components.private_link import private_endpoint, private_zone
from components.vnet import Vnet, VnetArgs, peer


@dataclass
class SharedRefs:
    """What an environment reads from the shared stack (through its StackReference)."""

    hub_vnet_id: pulumi.Input[str]
    hub_vnet_name: pulumi.Input[str]
    hub_resource_group_name: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    registry_login_server: pulumi.Input[str]
    bastion_id: pulumi.Input[str]  # partners' Reader on it (components/partner_access.py)


@dataclass
class NetworkArgs:
    site: Site
    spec: NetworkSpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    shared: SharedRefs


class Network(pulumi.ComponentResource):
    """``intershop:caas:Network``: subnets with NSGs and NAT, hub peering (both directions), private DNS.

    Private DNS zones are per environment and linked to its VNet. Zones whose records are unique to the
    environment (PostgreSQL) are also linked to the hub; the privatelink zones are not, because a VNet can
    link only one zone of a name and the hub keeps its own (e.g. for its registry endpoint).
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Network", name, None, opts)
        names, rg, loc, tags = args.site.names, args.resource_group_name, args.site.location, args.site.tags

        built = Vnet(
            name,
            VnetArgs(
                args.site, args.spec.vnet, addressing.ENVIRONMENT_SUBNETS, rg, args.workspace_id, previous_parent=self
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.vnet = built.vnet
        self.subnet_ids = built.subnet_ids
        self.nat_gateway = built.nat_gateway
        self.egress_ip = built.egress_ip

        # Both directions are created here so that the shared stack never depends on an environment.
        peer(
            f"{name}-peering-to-hub",
            peering_name="to-hub",
            resource_group_name=rg,
            vnet_name=self.vnet.name,
            remote_vnet_id=args.shared.hub_vnet_id,
            parent=self,
        )
        peer(
            f"{name}-peering-from-hub",
            peering_name=names.resource("vnet"),
            resource_group_name=args.shared.hub_resource_group_name,
            vnet_name=args.shared.hub_vnet_name,
            remote_vnet_id=self.vnet.id,
            parent=self,
        )

        self.dns_zone_ids: dict[str, pulumi.Output[str]] = {}
        for key, zone_name in args.spec.private_dns_zones.items():
            links = {"link": (self.vnet.id, names.resource("vnet"))}
            if key not in args.spec.privatelink_zone_keys:
                links["hub-link"] = (args.shared.hub_vnet_id, "hub")
            zone = private_zone(
                f"{name}-dns-{key}", zone_name=zone_name, resource_group_name=rg, links=links, tags=tags, parent=self
            )
            self.dns_zone_ids[key] = zone.id

        # AKS nodes and build steps pull from the shared registry over this endpoint, never the internet.
        private_endpoint(
            f"{name}-pe-registry",
            endpoint_name=names.resource("private_endpoint", "cr"),
            resource_group_name=rg,
            location=loc,
            subnet_id=self.subnet_ids["privateEndpoints"],
            target_id=args.shared.registry_id,
            group_id="registry",
            zone_id=self.dns_zone_ids["registry"],
            tags=tags,
            parent=self,
        )

        self.register_outputs({"vnetId": self.vnet.id, "subnetIds": self.subnet_ids, "dnsZoneIds": self.dns_zone_ids})
