"""Private endpoints with their DNS registration, the only way into the platform's PaaS services.

The ``privatelink.*`` zones are central: the shared stack owns one of each, linked to the hub, and every
environment links its spoke to them (Microsoft's "Private Link and DNS integration at scale"). A resource of the
shared stack (registry, SFTP host) therefore has exactly one private endpoint, in the hub, which the spokes reach
through their peering: two endpoints of one resource registered in one zone would overwrite each other's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native


@dataclass
class RegisteredEndpoint:
    endpoint: azure_native.network.PrivateEndpoint
    dns: azure_native.network.PrivateDnsZoneGroup  # the endpoint's A record lives once this exists


def after(value: pulumi.Input[str], *gates: pulumi.CustomResource | pulumi.Output[Any]) -> pulumi.Output[str]:
    """``value``, resolving only once every gate (a resource, or an output of one) exists: consumers of it wait
    for them through data flow, without ``depends_on``; e.g. a zone id usable only once the zone is linked to
    the consumer's VNet."""
    waits = [g.id if isinstance(g, pulumi.CustomResource) else g for g in gates]
    return pulumi.Output.all(value, *waits).apply(lambda values: values[0])


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
) -> RegisteredEndpoint:
    """A private endpoint for one sub-resource of ``target_id`` that registers its A record in ``zone_id``.

    A zone in another resource group (the shared stack's) needs ``privateDnsZones/join/action`` there: the
    deployer holds Contributor on the subscription (caas/init.py), which includes it.
    """
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
    dns = azure_native.network.PrivateDnsZoneGroup(
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
    return RegisteredEndpoint(endpoint, dns)


def zone_link(
    name: str,
    *,
    zone_name: pulumi.Input[str],
    zone_resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    link_name: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> azure_native.privatedns.VirtualNetworkLink:
    """Link a VNet to a private DNS zone (without auto-registration); the link lives in the zone's group."""
    return azure_native.privatedns.VirtualNetworkLink(
        name,
        azure_native.privatedns.VirtualNetworkLinkArgs(
            virtual_network_link_name=link_name,
            private_zone_name=zone_name,
            resource_group_name=zone_resource_group_name,
            location="global",
            virtual_network=azure_native.privatedns.SubResourceArgs(id=vnet_id),
            registration_enabled=False,
            tags=tags,
        ),
        opts=opts,
    )


def private_zone(
    name: str,
    *,
    zone_name: str,
    resource_group_name: pulumi.Input[str],
    links: dict[str, tuple[pulumi.Input[str], str]],
    tags: dict[str, str],
    parent: pulumi.Resource,
    aliases: list[pulumi.Alias] | None = None,
) -> pulumi.Output[str]:
    """A private DNS zone linked to VNets (``{suffix: (vnet_id, link_name)}``).

    Returns the zone's id resolving only once every link exists: a consumer that resolves names at create time
    (PostgreSQL's flexible server, an endpoint's clients) waits for the links, not just the zone.
    """
    zone = azure_native.privatedns.PrivateZone(
        name,
        azure_native.privatedns.PrivateZoneArgs(
            private_zone_name=zone_name, resource_group_name=resource_group_name, location="global", tags=tags
        ),
        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases),
    )
    created = [
        zone_link(
            f"{name}-{suffix}",
            zone_name=zone.name,
            zone_resource_group_name=resource_group_name,
            vnet_id=vnet_id,
            link_name=link_name,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=parent, aliases=aliases),
        )
        for suffix, (vnet_id, link_name) in links.items()
    ]
    return after(zone.id, *created)
