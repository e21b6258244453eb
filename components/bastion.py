"""Azure Bastion in the hub: how operators reach the key-only VMs and the private AKS API."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics
from components.hub_network import SHARED_SERVICES_URN
from components.moved import moved_from, stack_urn

network = azure_native.network


@dataclass
class BastionArgs:
    site: Site
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # the hub's AzureBastionSubnet
    workspace_id: pulumi.Input[str]


class Bastion(pulumi.ComponentResource):
    """``intershop:caas:Bastion``: Standard Bastion with native-client tunnelling, never a public host IP."""

    def __init__(self, name: str, args: BastionArgs, opts: pulumi.ResourceOptions | None = None):
        moved = pulumi.ResourceOptions(transformations=[moved_from(self, stack_urn(*SHARED_SERVICES_URN))])
        super().__init__("intershop:caas:Bastion", name, None, pulumi.ResourceOptions.merge(opts, moved))
        site, rg, child = args.site, args.resource_group_name, pulumi.ResourceOptions(parent=self)
        ip = network.PublicIPAddress(
            f"{name}-ip",
            network.PublicIPAddressInitArgs(
                public_ip_address_name=site.names.resource("public_ip", "bastion"),
                resource_group_name=rg,
                location=site.location,
                sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method="Static",
                zones=list(site.zones) or None,
                tags=site.tags,
            ),
            opts=child,
        )
        self.host = network.BastionHost(
            name,
            network.BastionHostArgs(
                bastion_host_name=site.names.resource("bastion"),
                resource_group_name=rg,
                location=site.location,
                sku=network.SkuArgs(name="Standard"),
                # Native-client tunnelling: `az network bastion ssh|tunnel` for VMs and the AKS API.
                enable_tunneling=True,
                enable_shareable_link=False,
                ip_configurations=[
                    network.BastionHostIPConfigurationArgs(
                        name="default",
                        subnet=network.SubResourceArgs(id=args.subnet_id),
                        public_ip_address=network.SubResourceArgs(id=ip.id),
                    )
                ],
                zones=list(site.zones) or None,
                tags=site.tags,
            ),
            opts=child,
        )
        send_to_log_analytics(name, resource_id=self.host.id, workspace_id=args.workspace_id, parent=self)
        self.register_outputs({"bastionId": self.host.id})
