"""prd's disaster-recovery network: a VNet in the DR region for the SQL MI secondary, peered with the primary."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas import addressing
from caas.specs.network import DrNetworkSpec
from caas.specs.site import Site
from components.vnet import Vnet, VnetArgs, peer

network = azure_native.network

# SQL MI failover groups replicate over these ports between the two instances' subnets (learn.microsoft.com,
# "Configure a failover group for Azure SQL Managed Instance": inbound and outbound on both NSGs).
FAILOVER_GROUP_PORTS = ["5022", "11000-11999"]


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


class DrNetwork(pulumi.ComponentResource):
    """``intershop:caas:DrNetwork``: DR VNet (SQL MI and private-endpoint subnets with NSGs and the MI route
    table), global peering in both directions, and the replication rules both SQL MI subnets need."""

    def __init__(self, name: str, args: DrNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:DrNetwork", name, None, opts)
        spec = args.spec
        built = Vnet(
            name,
            VnetArgs(args.site, spec.vnet, addressing.DR_SUBNETS, args.dr_resource_group_name, args.workspace_id, self),
            pulumi.ResourceOptions(parent=self),
        )
        self.vnet = built.vnet
        self.subnet_ids = built.subnet_ids

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
            )

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
        self.register_outputs({"vnetId": self.vnet.id, "subnetIds": self.subnet_ids})
