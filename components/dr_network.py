"""prd's disaster-recovery network: a VNet in the DR region for the SQL MI secondary, peered with the primary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas import addressing
from caas.specs.network import DrNetworkSpec
from caas.specs.site import Site
from components.private_link import after, zone_link
from components.vnet import Vnet, VnetArgs, peer

network = azure_native.network

# SQL MI failover groups replicate over these ports between the two instances' subnets (learn.microsoft.com,
# "Configure a failover group for Azure SQL Managed Instance": inbound and outbound on both NSGs).
FAILOVER_GROUP_PORTS = ["5022", "11000-11999"]


def _pick(key: str) -> Callable[[dict[str, str]], str]:
    return lambda zones: zones[key]


@dataclass
class DrHubRefs:
    """The shared stack's hub in the DR region (its DR_SHARED_OUTPUTS): peered with and resolved through once the
    application tier is activated here."""

    vnet_id: pulumi.Input[str]
    vnet_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    private_dns_zone_ids: pulumi.Input[dict[str, str]]  # the DR hub's privatelink zones, by key


@dataclass
class DrNetworkArgs:
    site: Site  # the DR region's
    spec: DrNetworkSpec
    dr_resource_group_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    primary_vnet_id: pulumi.Input[str]
    primary_vnet_name: pulumi.Input[str]
    primary_sql_mi_subnet_id: pulumi.Input[str]
    dr_hub: DrHubRefs | None = None  # with the activated application tier (spec.dr_zones not empty)


class DrNetwork(pulumi.ComponentResource):
    """``intershop:caas:DrNetwork``: DR VNet (SQL MI and private-endpoint subnets with NSGs and the MI route
    table), global peering in both directions, and the replication rules both SQL MI subnets need.

    Activated (caas:disasterRecovery.activate), the VNet gains its second range with the application tier's
    subnets (and, with them, a NAT gateway), peers with the shared DR hub (both directions, as spokes do) and
    links to the DR hub's privatelink zones: ``dns_zone_ids`` then serve the DR tier like a spoke's."""

    def __init__(self, name: str, args: DrNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:DrNetwork", name, None, opts)
        spec = args.spec
        roles = tuple(s for s in addressing.DR_SUBNETS + addressing.DR_APP_SUBNETS if s.role in spec.vnet.subnets)
        built = Vnet(
            name,
            VnetArgs(args.site, spec.vnet, roles, args.dr_resource_group_name, args.workspace_id, self),
            pulumi.ResourceOptions(parent=self),
        )
        self.vnet = built.vnet
        self.subnet_ids = built.subnet_ids
        self.egress_ip = built.egress_ip
        self.dns_zone_ids: dict[str, pulumi.Output[str]] = {}
        # The primary's peering must re-read the DR VNet's address space once it holds the app range.
        grown = bool(spec.vnet.more_address_space)

        peerings = {
            "to-primary": (args.dr_resource_group_name, self.vnet.name, args.primary_vnet_id),
            "to-dr": (args.resource_group_name, args.primary_vnet_name, self.vnet.id),
        }
        for peering, (rg, vnet_name, remote_id) in peerings.items():
            peer(
                f"{name}-peering-{peering}",
                peering_name=peering,
                resource_group_name=rg,
                vnet_name=vnet_name,
                remote_vnet_id=remote_id,
                parent=self,
                sync_remote_address_space=grown and peering == "to-dr",
            )
        if args.dr_hub is not None and spec.dr_zones:
            self._join_dr_hub(name, args, args.dr_hub)

        # The primary NSG is the core network's (named by the model); its subnet id orders these rules after it.
        primary_nsg = pulumi.Output.from_input(args.primary_sql_mi_subnet_id).apply(lambda _: spec.primary_sql_mi_nsg)
        dr_nsg = built.nsg_ids["sqlMi"].apply(lambda nsg_id: nsg_id.rsplit("/", 1)[-1])
        primary_cidr, dr_cidr = str(spec.primary_sql_mi_range), str(spec.dr_sql_mi_range)
        sides = {
            "primary": (args.resource_group_name, primary_nsg, primary_cidr, dr_cidr),
            "dr": (args.dr_resource_group_name, dr_nsg, dr_cidr, primary_cidr),
        }
        for side, (rg, nsg_name, local, remote) in sides.items():
            for direction, source, destination in (("Inbound", remote, local), ("Outbound", local, remote)):
                network.SecurityRule(
                    f"{name}-{side}-sqlmi-replication-{direction.lower()}",
                    network.SecurityRuleInitArgs(
                        security_rule_name=f"AllowSqlMiReplication{direction}",
                        network_security_group_name=nsg_name,
                        resource_group_name=rg,
                        priority=1000,
                        direction=direction,
                        access="Allow",
                        protocol="Tcp",
                        source_address_prefix=source,
                        source_port_range="*",
                        destination_address_prefix=destination,
                        destination_port_ranges=FAILOVER_GROUP_PORTS,
                        description="SQL MI failover-group replication between the primary and DR instances",
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs({"vnetId": self.vnet.id, "subnetIds": self.subnet_ids, "dnsZoneIds": self.dns_zone_ids})

    def _join_dr_hub(self, name: str, args: DrNetworkArgs, hub: DrHubRefs) -> None:
        """Peering with the DR hub (its agents run the activation and reach the DR vault and cluster) and links
        to the DR hub's privatelink zones, where the DR tier's endpoints register."""
        names, tags = args.site.names, args.site.tags
        peer(
            f"{name}-peering-to-dr-hub",
            peering_name="to-hub",
            resource_group_name=args.dr_resource_group_name,
            vnet_name=self.vnet.name,
            remote_vnet_id=hub.vnet_id,
            parent=self,
        )
        peer(
            f"{name}-peering-from-dr-hub",
            peering_name=names.resource("vnet"),
            resource_group_name=hub.resource_group_name,
            vnet_name=hub.vnet_name,
            remote_vnet_id=self.vnet.id,
            parent=self,
        )
        zones = pulumi.Output.from_input(hub.private_dns_zone_ids)
        for key, zone_name in args.spec.dr_zones.items():
            link = zone_link(
                f"{name}-dns-{key}-link",
                zone_name=zone_name,
                zone_resource_group_name=hub.resource_group_name,
                vnet_id=self.vnet.id,
                link_name=names.resource("vnet"),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            self.dns_zone_ids[key] = after(zones.apply(_pick(key)), link)
