"""Network rules: nothing on a host faces the internet; NSGs open only what the platform needs; every subnet
Azure lets carry an NSG has one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule
from caas.policy.resources import UNKNOWN, Resource

NIC = "azure-native:network:NetworkInterface"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"

# Sources that mean "anyone on the internet" in an NSG rule (service tag, wildcard, the whole IPv4 space).
INTERNET_SOURCES = frozenset({"*", "internet", "0.0.0.0/0", "any"})

# What an edge subnet's NSG must admit from the internet for its service to work, and nothing more:
# - Application Gateway v2: the listeners (learn.microsoft.com/azure/application-gateway/configuration-infrastructure,
#   "Network security groups": allow the listener ports from the clients' sources; GatewayManager 65200-65535 and
#   AzureLoadBalancer are service tags, not the internet, so they need no exception).
# - Bastion: 443 from Internet (learn.microsoft.com/azure/bastion/bastion-nsg, "Ingress Traffic from public
#   internet"); its GatewayManager and AzureLoadBalancer rules are service tags again.
EDGE_PORTS: Mapping[str, frozenset[str]] = {
    "appGateway": frozenset({"80", "443"}),
    "bastion": frozenset({"443"}),
}

# Subnets Azure forbids an NSG on (an NSG there breaks or is refused by the service): VPN/ExpressRoute gateways
# (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub: "Network security groups
# aren't supported on the gateway subnet"), Azure Firewall and its management subnet
# (learn.microsoft.com/azure/firewall/firewall-faq: NSGs on AzureFirewallSubnet aren't supported), Route Server
# (learn.microsoft.com/azure/route-server/route-server-faq: no NSG on RouteServerSubnet). AzureBastionSubnet may
# carry one (learn.microsoft.com/azure/bastion/bastion-nsg) and so must.
NSG_FORBIDDEN_SUBNETS = frozenset(
    {"GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "RouteServerSubnet"}
)


@resource_rule(
    "no-public-ip-on-host-nic",
    area="network",
    level=Level.MANDATORY,
    controls=("MCSB NS-1", "MCSB PA-5 (no direct management access)", "CIS Azure 4.0.0 8.1 (RDP from the internet)"),
    description="A network interface (a host's) carries no public IP; hosts are reached through Bastion only. "
    "Not relaxable: a public host bypasses the WAF, the NSG design and Bastion's Entra sign-in.",
)
def no_public_ip_on_host_nic(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != NIC:
        return
    for i, ip_config in enumerate(r.get("ipConfigurations") or ()):
        if isinstance(ip_config, dict) and ip_config.get("publicIPAddress"):
            yield f"ipConfigurations[{i}] attaches a public IP"


def _values(rule: Mapping[str, Any], one: str, many: str) -> list[str]:
    """An NSG rule's field that comes as a single value or a list (``sourceAddressPrefix(es)``)."""
    found = [rule[one]] if isinstance(rule.get(one), str) else []
    return found + [v for v in rule.get(many) or () if isinstance(v, str)]


def _opens_to_internet(rule: Mapping[str, Any]) -> bool:
    sources = _values(rule, "sourceAddressPrefix", "sourceAddressPrefixes")
    return (
        str(rule.get("direction", "")).lower() == "inbound"
        and str(rule.get("access", "")).lower() == "allow"
        and any(s.lower() in INTERNET_SOURCES for s in sources)
    )


def _edge_exception(rule: Mapping[str, Any], edge: str | None) -> bool:
    """An internet rule the edge subnet's service needs: TCP to exactly its listener ports."""
    if edge is None:
        return False
    ports = _values(rule, "destinationPortRange", "destinationPortRanges")
    return str(rule.get("protocol", "")).lower() == "tcp" and bool(ports) and set(ports) <= EDGE_PORTS[edge]


def _internet_rule_messages(rules: Any, edge: str | None, where: str) -> Iterator[str]:
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        if isinstance(rule, Mapping) and _opens_to_internet(rule) and not _edge_exception(rule, edge):
            ports = ",".join(_values(rule, "destinationPortRange", "destinationPortRanges")) or "?"
            allowed = f" (this {edge} NSG may admit only TCP {','.join(sorted(EDGE_PORTS[edge]))})" if edge else ""
            yield f"{where}[{i}] {rule.get('name', '')} allows inbound from the internet to ports {ports}{allowed}"


@resource_rule(
    "nsg-no-internet-inbound",
    area="network",
    level=Level.MANDATORY,
    controls=(
        "MCSB NS-1",
        "CIS Azure 4.0.0 8.1 (RDP from the internet)",
        "CIS Azure 5.0.0 7.4 (HTTP(S) from the internet)",
    ),
    description="No NSG rule allows inbound traffic from the internet (*, Internet, 0.0.0.0/0, Any), except TCP "
    "80/443 on the Application Gateway subnet's NSG and TCP 443 on AzureBastionSubnet's NSG, which Azure "
    "documents for those services. Not relaxable: the gateway (WAF) and Bastion are the only public entries.",
)
def nsg_no_internet_inbound(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    if r.type == NSG:
        edge = ctx.edge_nsgs.get(str(r.get("networkSecurityGroupName", "")))
        yield from _internet_rule_messages(r.get("securityRules"), edge, "securityRules")
    elif r.type == SECURITY_RULE:
        edge = ctx.edge_nsgs.get(str(r.get("networkSecurityGroupName", "")))
        yield from _internet_rule_messages([{**r.props, "name": r.get("securityRuleName", r.name)}], edge, "rule")


def _missing_nsg(subnet: Mapping[str, Any], name: str) -> bool:
    return name not in NSG_FORBIDDEN_SUBNETS and not subnet.get("networkSecurityGroup")


@resource_rule(
    "subnet-has-nsg",
    area="network",
    level=Level.MANDATORY,
    controls=("MCSB NS-1", "Azure Policy 'Subnets should be associated with a Network Security Group'"),
    description="Every subnet has an NSG, whether a Subnet resource or inline in its VNet, except GatewaySubnet, "
    "AzureFirewallSubnet, AzureFirewallManagementSubnet and RouteServerSubnet, where Azure forbids one.",
)
def subnet_has_nsg(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type == SUBNET and r.get("networkSecurityGroup") != UNKNOWN:
        name = str(r.get("subnetName") or r.get("name") or r.name)
        if _missing_nsg(r.props, name):
            yield f"subnet {name} has no network security group"
    elif r.type == VNET:
        for i, subnet in enumerate(r.get("subnets") or ()):
            if isinstance(subnet, Mapping) and subnet.get("networkSecurityGroup") != UNKNOWN:
                name = str(subnet.get("name", f"subnets[{i}]"))
                if _missing_nsg(subnet, name):
                    yield f"subnets[{i}] {name} has no network security group"


RULES = (no_public_ip_on_host_nic, nsg_no_internet_inbound, subnet_has_nsg)
