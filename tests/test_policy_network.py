"""Network rules: each with a case it passes and one it reports, built from small resources."""

from __future__ import annotations

from caas.policy.rules.network import nsg_no_internet_inbound, subnet_has_nsg
from tests.policy_cases import context, resource, violations

NSG = "azure-native:network:NetworkSecurityGroup"
RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"
EDGE = context(
    edge_nsgs={"nsg-acme-prd-weu-app-gateway": "appGateway", "nsg-acme-shared-weu-azurebastionsubnet": "bastion"}
)


def _inbound(name: str, source: str, ports: list[str], protocol: str = "Tcp", access: str = "Allow") -> dict:
    return {
        "name": name,
        "direction": "Inbound",
        "access": access,
        "protocol": protocol,
        "sourceAddressPrefix": source,
        "destinationPortRanges": ports,
    }


def test_an_nsg_admits_the_internet_only_to_an_edge_services_listeners():
    web = _inbound("web", "Internet", ["443", "80"])
    gateway = resource(NSG, "agw", networkSecurityGroupName="nsg-acme-prd-weu-app-gateway", securityRules=[web])
    assert violations(nsg_no_internet_inbound, gateway, ctx=EDGE) == []
    # The same rule on an NSG that guards no edge subnet is an opening.
    vms = resource(NSG, "vms", networkSecurityGroupName="nsg-acme-prd-weu-vms", securityRules=[web])
    [hit] = violations(nsg_no_internet_inbound, vms, ctx=EDGE)
    assert "ports 443,80" in hit.message


def test_an_edge_nsg_may_not_open_more_than_its_service_needs():
    ssh = _inbound("ssh", "*", ["22"])
    bastion_web = _inbound("https", "Internet", ["443"])
    bastion_any = _inbound("all", "0.0.0.0/0", ["443"], protocol="*")
    name = "nsg-acme-shared-weu-azurebastionsubnet"
    nsg = resource(NSG, "bastion", networkSecurityGroupName=name, securityRules=[bastion_web, ssh, bastion_any])
    hits = violations(nsg_no_internet_inbound, nsg, ctx=EDGE)
    assert [h.message.split()[0] for h in hits] == ["securityRules[1]", "securityRules[2]"]
    assert "may admit only TCP 443" in hits[0].message


def _standalone(rule: dict) -> dict:
    """A SecurityRule resource's inputs: the rule's name is securityRuleName."""
    props = dict(rule)
    props["securityRuleName"] = props.pop("name")
    return props


def test_service_tags_deny_rules_and_standalone_rules():
    manager = _inbound("gm", "GatewayManager", ["65200-65535"])
    deny = _inbound("deny", "Internet", ["*"], protocol="*", access="Deny")
    nsg = resource(NSG, "agw", networkSecurityGroupName="nsg-x", securityRules=[manager, deny])
    assert violations(nsg_no_internet_inbound, nsg) == []
    standalone = resource(
        RULE, "rdp", networkSecurityGroupName="nsg-x", **_standalone(_inbound("rdp", "Any", ["3389"]))
    )
    [hit] = violations(nsg_no_internet_inbound, standalone)
    assert "3389" in hit.message
    listed = resource(
        RULE,
        "list",
        networkSecurityGroupName="nsg-x",
        **_standalone({**_inbound("l", "10.0.0.0/8", ["22"]), "sourceAddressPrefixes": ["10.1.0.0/16", "Internet"]}),
    )
    assert len(violations(nsg_no_internet_inbound, listed)) == 1


def test_every_subnet_has_an_nsg_except_where_azure_forbids_one():
    guarded = resource(SUBNET, "vms", subnetName="snet-vms", networkSecurityGroup={"id": "nsg"})
    gateway = resource(SUBNET, "gw", subnetName="GatewaySubnet")
    bare = resource(SUBNET, "aks", subnetName="snet-aks")
    bastion = resource(SUBNET, "bas", subnetName="AzureBastionSubnet")
    hits = violations(subnet_has_nsg, guarded, gateway, bare, bastion)
    assert sorted(h.message for h in hits) == [
        "subnet AzureBastionSubnet has no network security group",
        "subnet snet-aks has no network security group",
    ]


def test_inline_subnets_of_a_vnet_are_judged_too():
    vnet = resource(
        VNET,
        "vnet",
        subnets=[
            {"name": "snet-a", "networkSecurityGroup": {"id": "nsg"}},
            {"name": "AzureFirewallSubnet"},
            {"name": "snet-b"},
            {"name": "snet-c", "networkSecurityGroup": "[unknown]"},
        ],
    )
    [hit] = violations(subnet_has_nsg, vnet)
    assert hit.message == "subnets[2] snet-b has no network security group"
