"""An environment's network: spoke VNet peered with the shared hub, private DNS, private registry access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from caas import addressing
from caas.specs.network import NetworkSpec
from caas.specs.site import Site
from components.private_link import after, private_zone, zone_link
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
    private_dns_zone_ids: pulumi.Input[dict[str, str]]  # the shared privatelink zones, by key


def _pick(key: str) -> Callable[[dict[str, str]], str]:
    return lambda zones: zones[key]


@dataclass
class NetworkArgs:
    site: Site
    spec: NetworkSpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    shared: SharedRefs


class Network(pulumi.ComponentResource):
    """``intershop:caas:Network``: subnets with NSGs and NAT, hub peering (both directions), private DNS.

    The ``privatelink.*`` zones are the shared stack's (``PrivateDns``): this stack links its spoke to each one
    it uses, with a link in the shared resource group, so the spoke resolves the hub's endpoints (registry,
    SFTP host) and the hub's agents resolve this environment's (vault, file shares). PostgreSQL's zone is the
    environment's own (its records are unique to it) and is linked to the spoke and the hub.
    ``dns_zone_ids`` resolve only once the spoke's link to the zone exists: whatever resolves names through a
    zone at create time takes the id from here and waits for the link.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Network", name, None, opts)
        names, rg, tags = args.site.names, args.resource_group_name, args.site.tags

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
        shared_zones = pulumi.Output.from_input(args.shared.private_dns_zone_ids)
        for key, zone_name in args.spec.private_dns_zones.items():
            if key in args.spec.privatelink_zone_keys:
                # Writes into the shared resource group: the deployer holds Contributor on the subscription
                # (caas/init.py). Replaced before its successor is created: a VNet links one zone of a name.
                link = zone_link(
                    f"{name}-dns-{key}-link",
                    zone_name=zone_name,
                    zone_resource_group_name=args.shared.hub_resource_group_name,
                    vnet_id=self.vnet.id,
                    link_name=names.resource("vnet"),
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                )
                self.dns_zone_ids[key] = after(shared_zones.apply(_pick(key)), link)
                continue
            links = {"link": (self.vnet.id, names.resource("vnet")), "hub-link": (args.shared.hub_vnet_id, "hub")}
            self.dns_zone_ids[key] = private_zone(
                f"{name}-dns-{key}", zone_name=zone_name, resource_group_name=rg, links=links, tags=tags, parent=self
            )

        self.register_outputs({"vnetId": self.vnet.id, "subnetIds": self.subnet_ids, "dnsZoneIds": self.dns_zone_ids})
