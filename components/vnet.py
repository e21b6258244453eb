"""A virtual network with its subnets, one NSG per subnet that allows one, and NAT for egress.

One component for the shared hub, every environment's spoke and prd's DR network, so all follow the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.addressing import SubnetSpec
from caas.specs.network import VnetSpec
from caas.specs.site import Site
from components.computed import computed
from components.diagnostics import send_to_log_analytics
from components.moved import moved_from

network = azure_native.network

# Subnets that must be delegated to one service.
DELEGATIONS = {
    "sqlMi": "Microsoft.Sql/managedInstances",
    "postgres": "Microsoft.DBforPostgreSQL/flexibleServers",
    "buildAgents": "Microsoft.DevOpsInfrastructure/pools",
}
# Azure forbids NSGs on these subnets (GatewaySubnet) or the service manages its own rules (SQL MI's
# network intent policy adds and owns them; a Pulumi-declared rule set would fight it on every update).
NO_NSG = {"gateway"}
SERVICE_MANAGED_RULES = {"sqlMi"}
# Subnets whose platform-managed occupants handle their own egress: left at Azure's default outbound setting.
PLATFORM_EGRESS = {"appGateway", "gateway", "bastion", "sqlMi", "postgres"}
# Subnets whose workloads need outbound internet and get it through the NAT gateway only.
NAT_ROLES = {"aks", "vms", "buildAgents"}


def _rule(
    name: str,
    priority: int,
    direction: str,
    access: str,
    source: str,
    dest: str,
    ports: list[str],
    protocol: str = "Tcp",
    description: str = "",
) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        protocol=protocol,
        source_address_prefix=source,
        source_port_range="*",
        destination_address_prefix=dest,
        destination_port_ranges=ports if ports != ["*"] else None,
        destination_port_range="*" if ports == ["*"] else None,
        description=description or name,
    )


DENY_INTERNET_INBOUND = _rule(
    "DenyInternetInbound",
    4096,
    "Inbound",
    "Deny",
    "Internet",
    "*",
    ["*"],
    "*",
    "Nothing enters from the internet unless a rule above allows it",
)


def security_rules(role: str) -> list[network.SecurityRuleArgs]:
    """The inbound rules each subnet role needs; everything else from the internet is denied."""
    if role == "appGateway":
        return [
            # Application Gateway v2 requires its infrastructure ports from the GatewayManager service tag.
            _rule("AllowGatewayManager", 100, "Inbound", "Allow", "GatewayManager", "*", ["65200-65535"]),
            # 80 only to redirect to HTTPS on the gateway's listener.
            _rule("AllowWebFromInternet", 110, "Inbound", "Allow", "Internet", "*", ["443", "80"]),
            _rule("AllowAzureLoadBalancer", 120, "Inbound", "Allow", "AzureLoadBalancer", "*", ["*"], "*"),
            DENY_INTERNET_INBOUND,
        ]
    if role == "bastion":
        # The rule set Azure Bastion requires (learn.microsoft.com, "Working with NSG access and Azure Bastion").
        return [
            _rule("AllowHttpsInbound", 120, "Inbound", "Allow", "Internet", "*", ["443"]),
            _rule("AllowGatewayManagerInbound", 130, "Inbound", "Allow", "GatewayManager", "*", ["443"]),
            _rule("AllowAzureLoadBalancerInbound", 140, "Inbound", "Allow", "AzureLoadBalancer", "*", ["443"]),
            _rule(
                "AllowBastionHostCommunication",
                150,
                "Inbound",
                "Allow",
                "VirtualNetwork",
                "VirtualNetwork",
                ["8080", "5701"],
                "*",
            ),
            _rule("AllowSshRdpOutbound", 100, "Outbound", "Allow", "*", "VirtualNetwork", ["22", "3389"], "*"),
            _rule("AllowAzureCloudOutbound", 110, "Outbound", "Allow", "*", "AzureCloud", ["443"]),
            _rule(
                "AllowBastionCommunication",
                120,
                "Outbound",
                "Allow",
                "VirtualNetwork",
                "VirtualNetwork",
                ["8080", "5701"],
                "*",
            ),
            _rule("AllowHttpOutbound", 130, "Outbound", "Allow", "*", "Internet", ["80"]),
        ]
    return [DENY_INTERNET_INBOUND]


@dataclass
class VnetArgs:
    site: Site  # names, region and tags (the DR network passes the DR region's)
    spec: VnetSpec
    roles: tuple[SubnetSpec, ...]  # the subnet roles of this kind of network (hub, spoke, DR)
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    # The parent these resources had before the component existed (the Network, or the shared stack's
    # SharedServices URN): each child keeps its URN through an alias to it.
    previous_parent: pulumi.Resource | str | None = None


class Vnet(pulumi.ComponentResource):
    """``intershop:caas:Vnet``: VNet, subnets, NSGs, SQL MI route table and NAT gateway (logical names
    ``<name>-vnet``, ``<name>-snet-<role>``, ``<name>-nsg-<role>`` ...). ``egress_ip`` is the NAT gateway's
    public address, what the internet sees of the network's workloads."""

    def __init__(self, name: str, args: VnetArgs, opts: pulumi.ResourceOptions | None = None):
        moved = [moved_from(self, args.previous_parent)] if args.previous_parent is not None else None
        super().__init__(
            "intershop:caas:Vnet",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=moved)),
        )
        built = _build(name, args, self)
        self.vnet, self.subnet_ids, self.nsg_ids = built.vnet, built.subnet_ids, built.nsg_ids
        self.nat_gateway, self.egress_ip = built.nat_gateway, built.egress_ip
        self.register_outputs({"vnetId": self.vnet.id, "subnetIds": self.subnet_ids, "egressIp": self.egress_ip})


@dataclass
class _Built:
    vnet: network.VirtualNetwork
    subnet_ids: dict[str, pulumi.Output[str]]
    nsg_ids: dict[str, pulumi.Output[str]]
    nat_gateway: network.NatGateway | None
    egress_ip: pulumi.Output[str] | None


def _build(name: str, args: VnetArgs, parent: pulumi.Resource) -> _Built:
    child = pulumi.ResourceOptions(parent=parent)
    rg, loc, names, tags = args.resource_group_name, args.site.location, args.site.names, args.site.tags

    vnet = network.VirtualNetwork(
        f"{name}-vnet",
        network.VirtualNetworkInitArgs(
            virtual_network_name=names.resource("vnet"),
            resource_group_name=rg,
            location=loc,
            address_space=network.AddressSpaceArgs(
                address_prefixes=[str(space) for space in (args.spec.address_space, *args.spec.more_address_space)]
            ),
            tags=tags,
        ),
        opts=child,
    )
    send_to_log_analytics(f"{name}-vnet", resource_id=vnet.id, workspace_id=args.workspace_id, parent=parent)

    roles = [s for s in args.roles if s.role not in args.spec.reserved_only]
    nat_gateway, egress_ip = (
        _nat_gateway(name, args, parent) if any(s.role in NAT_ROLES for s in roles) else (None, None)
    )

    subnet_ids: dict[str, pulumi.Output[str]] = {}
    nsg_ids: dict[str, pulumi.Output[str]] = {}
    previous: pulumi.Resource | None = None
    for spec in roles:
        nsg = None
        if spec.role not in NO_NSG:
            nsg = network.NetworkSecurityGroup(
                f"{name}-nsg-{spec.role}",
                network.NetworkSecurityGroupInitArgs(
                    network_security_group_name=names.resource("nsg", spec.nsg_part),
                    resource_group_name=rg,
                    location=loc,
                    security_rules=None if spec.role in SERVICE_MANAGED_RULES else security_rules(spec.role),
                    tags=tags,
                ),
                opts=child,
            )
            nsg_ids[spec.role] = nsg.id
            send_to_log_analytics(
                f"{name}-nsg-{spec.role}",
                resource_id=nsg.id,
                workspace_id=args.workspace_id,
                parent=parent,
                metrics=False,
            )
        route_table = None
        if spec.role == "sqlMi":
            # SQL MI requires a route table on its subnet; the service adds and owns the routes.
            route_table = network.RouteTable(
                f"{name}-rt-{spec.role}",
                network.RouteTableInitArgs(
                    route_table_name=names.resource("route_table", "sql-mi"),
                    resource_group_name=rg,
                    location=loc,
                    disable_bgp_route_propagation=False,
                    tags=tags,
                ),
                opts=child,
            )
        delegation = DELEGATIONS.get(spec.role)
        subnet = network.Subnet(
            f"{name}-snet-{spec.role}",
            network.SubnetInitArgs(
                subnet_name=spec.name,
                resource_group_name=rg,
                virtual_network_name=vnet.name,
                address_prefix=str(args.spec.subnets[spec.role]),
                network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id) if nsg else None,
                route_table=network.RouteTableArgs(id=route_table.id) if route_table else None,
                nat_gateway=network.SubResourceArgs(id=nat_gateway.id)
                if nat_gateway is not None and spec.role in NAT_ROLES
                else None,
                delegations=[network.DelegationArgs(name=spec.role, service_name=delegation)] if delegation else None,
                # NSGs and UDRs apply to private endpoints only with this on.
                private_endpoint_network_policies="Enabled" if spec.role == "privateEndpoints" else None,
                # No implicit internet egress: NAT-attached subnets get it explicitly, the rest need none. Subnets
                # of gateways and of managed services (SQL MI's management routes, PostgreSQL) keep Azure's default.
                default_outbound_access=None if spec.role in PLATFORM_EGRESS else False,
            ),
            # ARM rejects concurrent writes to subnets of one VNet (AnotherOperationInProgress),
            # so subnets are created one after another.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[previous] if previous else None),
        )
        previous = subnet
        subnet_ids[spec.role] = subnet.id
    return _Built(vnet, subnet_ids, nsg_ids, nat_gateway, egress_ip)


def _nat_gateway(name: str, args: VnetArgs, parent: pulumi.Resource) -> tuple[network.NatGateway, pulumi.Output[str]]:
    names = args.site.names
    # A Standard NAT gateway can sit in at most one zone, never span zones: it is left unpinned (and its
    # IP regional to match) rather than tying the zone-spread subnets' egress to one chosen zone.
    ip = network.PublicIPAddress(
        f"{name}-nat-ip",
        network.PublicIPAddressInitArgs(
            public_ip_address_name=names.resource("public_ip", "nat"),
            resource_group_name=args.resource_group_name,
            location=args.site.location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            tags=args.site.tags,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    send_to_log_analytics(f"{name}-nat-ip", resource_id=ip.id, workspace_id=args.workspace_id, parent=parent)
    nat = network.NatGateway(
        f"{name}-nat",
        network.NatGatewayInitArgs(
            nat_gateway_name=names.resource("nat_gateway"),
            resource_group_name=args.resource_group_name,
            location=args.site.location,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            idle_timeout_in_minutes=4,
            public_ip_addresses=[network.SubResourceArgs(id=ip.id)],
            tags=args.site.tags,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return nat, ip.ip_address.apply(computed("NAT public IP address"))


def peer(
    name: str,
    *,
    peering_name: str,
    resource_group_name: pulumi.Input[str],
    vnet_name: pulumi.Input[str],
    remote_vnet_id: pulumi.Input[str],
    parent: pulumi.Resource,
    sync_remote_address_space: bool = False,
) -> network.VirtualNetworkPeering:
    """One direction of a peering: address space shared, nothing forwarded, no gateway shared either way.

    ``sync_remote_address_space``: the remote VNet gained a prefix after the peering was made (the DR VNet on
    activation); ARM re-reads its address space ("Update the address space for a peered virtual network")."""
    return network.VirtualNetworkPeering(
        name,
        network.VirtualNetworkPeeringInitArgs(
            virtual_network_peering_name=peering_name,
            resource_group_name=resource_group_name,
            virtual_network_name=vnet_name,
            remote_virtual_network=network.SubResourceArgs(id=remote_vnet_id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=False,
            allow_gateway_transit=False,
            use_remote_gateways=False,
            sync_remote_address_space="true" if sync_remote_address_space else None,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
