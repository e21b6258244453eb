"""Site-to-site VPN: an environment's gateway to the customer's and partners' networks (ERP, PIM, warehouses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_random as random

from caas import secret_names
from caas.sections.connectivity import VpnPlan, VpnSite
from caas.specs.connectivity import VpnSpec
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics
from components.secrets import expiry

network = azure_native.network
keyvault = azure_native.keyvault


@dataclass
class SiteToSiteVpnArgs:
    site: Site
    spec: VpnSpec
    resource_group_name: pulumi.Input[str]
    gateway_subnet_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]  # the environment's Key Vault, which keeps generated pre-shared keys


class SiteToSiteVpn(pulumi.ComponentResource):
    """``intershop:caas:SiteToSiteVpn``: route-based zone-redundant gateway, one IKEv2 tunnel per partner site.

    Every connection carries an explicit IPsec/IKE policy (AES256, SHA256, DH group 14, PFS2048) instead of
    Azure's default proposal list, so both ends agree on exactly one strong suite. The pre-shared key is
    ``caas:secrets.vpnSharedKey`` when set; otherwise one is generated per site and kept in the Key Vault.
    """

    def __init__(self, name: str, args: SiteToSiteVpnArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:SiteToSiteVpn", name, None, opts)
        plan = args.spec.plan
        rg, loc, tags = args.resource_group_name, args.site.location, args.site.tags
        child = pulumi.ResourceOptions(parent=self)

        # Active-active runs two instances, each with its own public IP; AZ SKUs need Standard IPs, and
        # with the profile's zones they are zone-redundant like the gateway.
        self.public_ips = [
            network.PublicIPAddress(
                f"{name}-ip-{i}",
                network.PublicIPAddressInitArgs(
                    public_ip_address_name=args.site.names.resource("public_ip", f"vgw{i}"),
                    resource_group_name=rg,
                    location=loc,
                    sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                    public_ip_allocation_method="Static",
                    public_ip_address_version="IPv4",
                    zones=list(plan.zones) or None,
                    tags=tags,
                ),
                opts=child,
            )
            for i in range(1, 3 if plan.active_active else 2)
        ]
        for i, ip in enumerate(self.public_ips, start=1):
            send_to_log_analytics(f"{name}-ip-{i}", resource_id=ip.id, workspace_id=args.workspace_id, parent=self)

        self.gateway = network.VirtualNetworkGateway(
            f"{name}-gateway",
            network.VirtualNetworkGatewayInitArgs(
                virtual_network_gateway_name=args.site.names.resource("vpn_gateway"),
                resource_group_name=rg,
                location=loc,
                gateway_type="Vpn",
                vpn_type="RouteBased",
                vpn_gateway_generation=plan.generation,
                sku=network.VirtualNetworkGatewaySkuArgs(name=plan.sku, tier=plan.sku),
                active_active=plan.active_active,
                enable_bgp=plan.bgp_asn is not None,
                bgp_settings=network.BgpSettingsArgs(asn=plan.bgp_asn) if plan.bgp_asn is not None else None,
                ip_configurations=[
                    network.VirtualNetworkGatewayIPConfigurationArgs(
                        name=f"ipconfig{i}",
                        subnet=network.SubResourceArgs(id=args.gateway_subnet_id),
                        public_ip_address=network.SubResourceArgs(id=ip.id),
                        private_ip_allocation_method="Dynamic",
                    )
                    for i, ip in enumerate(self.public_ips, start=1)
                ],
                tags=tags,
            ),
            opts=child,
        )
        send_to_log_analytics(
            f"{name}-gateway", resource_id=self.gateway.id, workspace_id=args.workspace_id, parent=self
        )

        sites = {site.name: self._site(name, plan, site, args) for site in plan.sites}

        self.facts: dict[str, Any] = {
            "sku": plan.sku,
            "activeActive": plan.active_active,
            "gatewayPublicIps": [ip.ip_address for ip in self.public_ips],
            "azureAddressRanges": [str(r) for r in plan.azure_address_ranges],
            "ipsec": plan.ipsec.describe(),
            "bgp": None
            if plan.bgp_asn is None
            else {"asn": plan.bgp_asn, "peeringAddresses": self.gateway.bgp_settings.apply(_peering_addresses)},
            "sites": sites,
        }
        self.register_outputs({"gatewayId": self.gateway.id, "gatewayPublicIps": self.facts["gatewayPublicIps"]})

    def _site(self, name: str, plan: VpnPlan, site: VpnSite, args: SiteToSiteVpnArgs) -> dict[str, Any]:
        """Local network gateway, pre-shared key and connection for one partner site; returns its facts."""
        rg, loc, tags = args.resource_group_name, args.site.location, args.site.tags
        child = pulumi.ResourceOptions(parent=self)
        bgp = plan.bgp_asn is not None
        local = network.LocalNetworkGateway(
            f"{name}-site-{site.name}",
            network.LocalNetworkGatewayInitArgs(
                local_network_gateway_name=args.site.names.resource("local_gateway", site.name),
                resource_group_name=rg,
                location=loc,
                gateway_ip_address=str(site.gateway_ip) if site.gateway_ip else None,
                fqdn=site.gateway_fqdn,
                local_network_address_space=network.AddressSpaceArgs(
                    address_prefixes=[str(p) for p in site.address_prefixes]
                ),
                bgp_settings=network.BgpSettingsArgs(
                    asn=site.bgp_asn, bgp_peering_address=str(site.bgp_peering_address)
                )
                if bgp
                else None,
                tags=tags,
            ),
            opts=child,
        )

        configured = args.spec.shared_key
        if configured is not None:
            shared_key = pulumi.Output.secret(configured.get_secret_value())
            key_source = "caas:secrets.vpnSharedKey"
        else:
            # 64 alphanumerics (~380 bits): strong, and accepted by every IKE implementation's PSK field.
            generated = random.RandomPassword(
                f"{name}-{site.name}-psk",
                random.RandomPasswordArgs(
                    length=64,
                    special=False,
                    min_lower=1,
                    min_upper=1,
                    min_numeric=1,
                    keepers=args.spec.rotation.keepers if args.spec.rotation else None,
                ),
                opts=child,
            )
            shared_key = pulumi.Output.secret(generated.result)
            secret_name = secret_names.vpn_shared_key(site.name)
            # ARM writes the secret through the control plane, so the vault's closed firewall is no obstacle.
            keyvault.Secret(
                f"{name}-{site.name}-psk",
                keyvault.SecretArgs(
                    secret_name=secret_name,
                    vault_name=args.vault_name,
                    resource_group_name=rg,
                    properties=keyvault.SecretPropertiesArgs(
                        value=shared_key,
                        content_type="text/plain",
                        attributes=expiry(args.spec.rotation),
                    ),
                    tags=tags,
                ),
                opts=child,
            )
            key_source = f"keyvault:{args.site.names.key_vault()}/{secret_name}"

        network.VirtualNetworkGatewayConnection(
            f"{name}-connection-{site.name}",
            network.VirtualNetworkGatewayConnectionArgs(
                virtual_network_gateway_connection_name=args.site.names.resource("connection", site.name),
                resource_group_name=rg,
                location=loc,
                connection_type="IPsec",
                connection_protocol="IKEv2",
                connection_mode="Default",
                virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
                local_network_gateway2=network.LocalNetworkGatewayArgs(id=local.id),
                shared_key=shared_key,
                enable_bgp=bgp,
                use_policy_based_traffic_selectors=False,
                dpd_timeout_seconds=plan.ipsec.dpd_timeout_seconds,
                ipsec_policies=[
                    network.IpsecPolicyArgs(
                        ike_encryption=plan.ipsec.ike_encryption,
                        ike_integrity=plan.ipsec.ike_integrity,
                        dh_group=plan.ipsec.dh_group,
                        ipsec_encryption=plan.ipsec.ipsec_encryption,
                        ipsec_integrity=plan.ipsec.ipsec_integrity,
                        pfs_group=plan.ipsec.pfs_group,
                        sa_life_time_seconds=plan.ipsec.sa_lifetime_seconds,
                        sa_data_size_kilobytes=plan.ipsec.sa_data_size_kilobytes,
                    )
                ],
                tags=tags,
            ),
            opts=child,
        )
        return {
            "gatewayIp": str(site.gateway_ip) if site.gateway_ip else None,
            "gatewayFqdn": site.gateway_fqdn,
            "addressPrefixes": [str(p) for p in site.address_prefixes],
            "bgp": {"asn": site.bgp_asn, "peeringAddress": str(site.bgp_peering_address)} if bgp else None,
            "sharedKeySource": key_source,  # where the key is kept, never the key
        }


def _peering_addresses(settings: Any) -> list[str]:
    """The gateway's BGP addresses, one per instance, as Azure assigns them in the GatewaySubnet."""
    if settings is None:
        return []
    return [a for p in (settings.bgp_peering_addresses or []) for a in (p.default_bgp_ip_addresses or [])]
