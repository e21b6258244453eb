"""Private endpoints with their DNS registration, the only way into the platform's PaaS services."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native


def private_endpoint(
    name: str,
    *,
    endpoint_name: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    subnet_id: pulumi.Input[str],
    target_id: pulumi.Input[str],
    group_id: str,
    zone_id: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> azure_native.network.PrivateEndpoint:
    """A private endpoint for one sub-resource of ``target_id`` that registers its A record in ``zone_id``."""
    endpoint = azure_native.network.PrivateEndpoint(
        name,
        azure_native.network.PrivateEndpointArgs(
            private_endpoint_name=endpoint_name,
            resource_group_name=resource_group_name,
            location=location,
            subnet=azure_native.network.SubnetArgs(id=subnet_id),
            custom_network_interface_name=f"{endpoint_name}-nic",
            private_link_service_connections=[
                azure_native.network.PrivateLinkServiceConnectionArgs(
                    name=endpoint_name, private_link_service_id=target_id, group_ids=[group_id]
                )
            ],
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    azure_native.network.PrivateDnsZoneGroup(
        f"{name}-dns",
        azure_native.network.PrivateDnsZoneGroupArgs(
            private_dns_zone_group_name="default",
            private_endpoint_name=endpoint.name,
            resource_group_name=resource_group_name,
            private_dns_zone_configs=[
                azure_native.network.PrivateDnsZoneConfigArgs(name=group_id, private_dns_zone_id=zone_id)
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return endpoint


def private_zone(
    name: str,
    *,
    zone_name: str,
    resource_group_name: pulumi.Input[str],
    links: dict[str, tuple[pulumi.Input[str], str]],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> azure_native.privatedns.PrivateZone:
    """A private DNS zone linked (without auto-registration) to VNets: ``{suffix: (vnet_id, link_name)}``."""
    zone = azure_native.privatedns.PrivateZone(
        name,
        azure_native.privatedns.PrivateZoneArgs(
            private_zone_name=zone_name, resource_group_name=resource_group_name, location="global", tags=tags
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for suffix, (vnet_id, link_name) in links.items():
        azure_native.privatedns.VirtualNetworkLink(
            f"{name}-{suffix}",
            azure_native.privatedns.VirtualNetworkLinkArgs(
                virtual_network_link_name=link_name,
                private_zone_name=zone.name,
                resource_group_name=resource_group_name,
                location="global",
                virtual_network=azure_native.privatedns.SubResourceArgs(id=vnet_id),
                registration_enabled=False,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return zone
