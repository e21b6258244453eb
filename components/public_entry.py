"""The environment's only public entry: Application Gateway WAF_v2 in front of the ICM 7.10 web adapters and
the AKS ingress, with TLS certificates read from the environment's Key Vault."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.compute import Route
from caas.specs.compute import PublicEntrySpec
from caas.specs.site import Site
from components import roles
from components.diagnostics import send_to_log_analytics

network = azure_native.network

# Microsoft's managed rule sets: the default rule set (OWASP-based) and bot protection.
MANAGED_RULE_SETS = (("Microsoft_DefaultRuleSet", "2.1"), ("Microsoft_BotManagerRuleSet", "1.1"))
# Predefined policy: TLS 1.2 and 1.3 only, strong (GCM/ECDHE) ciphers.
SSL_POLICY = network.ApplicationGatewaySslPolicyName.APP_GW_SSL_POLICY20220101_S
BACKEND_PORT = 80  # TLS ends at the gateway; backends are private addresses inside the VNet
FRONTEND = "public"


@dataclass
class PublicEntryArgs:
    site: Site
    spec: PublicEntrySpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # the appGateway subnet
    vault_id: pulumi.Input[str]
    vault_uri: pulumi.Input[str]  # https://<vault>.vault.azure.net/
    backends: dict[str, pulumi.Input[str]]  # route backend (icm710-live, icm710-edit, aks) -> private IP
    # The environment's own egress addresses: its workloads (e.g. the edit PWA calling ICM's edit hostname)
    # come back in through the gateway from these and must pass the restricted hostnames' rule.
    own_egress_ips: list[pulumi.Input[str]] = field(default_factory=list)


class PublicEntry(pulumi.ComponentResource):
    """``intershop:caas:PublicEntry``: public IP, gateway, WAF policies, and the identity that reads certificates.

    Per hostname: an HTTPS listener with its Key Vault certificate, an HTTP listener that redirects to it,
    a probe and backend settings that keep the original Host header. Listeners of restricted hostnames (edit
    system, back office, IOM) carry their own WAF policy, whose custom rule blocks every source outside
    ``caas:publicEntry.restrictedSources``; being bound to the listener, it cannot be dodged with Host tricks.
    """

    def __init__(self, name: str, args: PublicEntryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:PublicEntry", name, None, opts)
        identity, read_certificates = self._identity(name, args)
        ip = self._public_ip(name, args)
        waf, restricted_waf = self._waf_policies(name, args)
        self.gateway = self._gateway(name, args, identity, ip, waf, restricted_waf, read_certificates)
        send_to_log_analytics(
            f"{name}-gateway", resource_id=self.gateway.id, workspace_id=args.workspace_id, parent=self
        )
        send_to_log_analytics(f"{name}-ip", resource_id=ip.id, workspace_id=args.workspace_id, parent=self)
        self.public_ip_address = ip.ip_address
        self.gateway_id = self.gateway.id
        self.register_outputs({"gatewayId": self.gateway.id, "publicIpAddress": ip.ip_address})

    def _identity(
        self, name: str, args: PublicEntryArgs
    ) -> tuple[azure_native.managedidentity.UserAssignedIdentity, pulumi.Resource]:
        """The gateway's identity and its read access to the vault's certificates."""
        identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.site.names.resource("identity", "agw"),
            resource_group_name=args.resource_group_name,
            location=args.site.location,
            tags=args.site.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The gateway fetches each PFX through the vault's secret endpoint: read access to secrets, nothing more.
        read_certificates = roles.assign(
            f"{name}-key-vault-secrets-user",
            role="Key Vault Secrets User",
            principal_id=identity.principal_id,
            scope=args.vault_id,
            parent=self,
        )
        return identity, read_certificates

    def _public_ip(self, name: str, args: PublicEntryArgs) -> network.PublicIPAddress:
        names, rg, loc, tags = args.site.names, args.resource_group_name, args.site.location, args.site.tags
        zones, child = list(args.site.zones) or None, pulumi.ResourceOptions(parent=self)
        return network.PublicIPAddress(
            f"{name}-ip",
            network.PublicIPAddressInitArgs(
                public_ip_address_name=names.resource("public_ip", "agw"),
                resource_group_name=rg,
                location=loc,
                sku=network.PublicIPAddressSkuArgs(
                    name=network.PublicIPAddressSkuName.STANDARD, tier=network.PublicIPAddressSkuTier.REGIONAL
                ),
                public_ip_allocation_method=network.IPAllocationMethod.STATIC,
                public_ip_address_version=network.IPVersion.I_PV4,
                zones=zones,
                tags=tags,
            ),
            opts=child,
        )

    def _waf_policies(
        self, name: str, args: PublicEntryArgs
    ) -> tuple[network.WebApplicationFirewallPolicy, network.WebApplicationFirewallPolicy | None]:
        """The gateway's policy, and the restricted hostnames' policy that blocks every other source."""
        names, rg = args.site.names, args.resource_group_name
        waf = self._waf_policy(f"{name}-waf", args, names.resource("waf_policy"), rg, custom_rules=None)
        if not any(r.restricted for r in args.spec.routes):
            return waf, None
        block_others = network.WebApplicationFirewallCustomRuleArgs(
            name="BlockOutsideRestrictedSources",
            priority=10,
            rule_type=network.WebApplicationFirewallRuleType.MATCH_RULE,
            action=network.WebApplicationFirewallAction.BLOCK,
            state=network.WebApplicationFirewallState.ENABLED,
            match_conditions=[
                network.MatchConditionArgs(
                    match_variables=[
                        network.MatchVariableArgs(variable_name=network.WebApplicationFirewallMatchVariable.REMOTE_ADDR)
                    ],
                    operator=network.WebApplicationFirewallOperator.IP_MATCH,
                    negation_conditon=True,  # sic: the API's spelling
                    match_values=[
                        *(str(n) for n in args.spec.settings.restricted_sources),
                        *args.own_egress_ips,
                    ],
                )
            ],
        )
        restricted = self._waf_policy(
            f"{name}-waf-restricted", args, names.resource("waf_policy", "restricted"), rg, custom_rules=[block_others]
        )
        return waf, restricted

    def _gateway(
        self,
        name: str,
        args: PublicEntryArgs,
        identity: azure_native.managedidentity.UserAssignedIdentity,
        ip: network.PublicIPAddress,
        waf: network.WebApplicationFirewallPolicy,
        restricted_waf: network.WebApplicationFirewallPolicy | None,
        read_certificates: pulumi.Resource,
    ) -> network.ApplicationGateway:
        names, rg, loc, tags = args.site.names, args.resource_group_name, args.site.location, args.site.tags
        zones, routes = list(args.site.zones) or None, args.spec.routes
        gateway_name = names.resource("app_gateway")
        client = azure_native.authorization.get_client_config_output()
        gateway_id = pulumi.Output.concat(
            "/subscriptions/",
            client.subscription_id,
            "/resourceGroups/",
            rg,
            f"/providers/Microsoft.Network/applicationGateways/{gateway_name}",
        )
        low, high = args.spec.capacity
        return network.ApplicationGateway(
            f"{name}-gateway",
            network.ApplicationGatewayArgs(
                application_gateway_name=gateway_name,
                resource_group_name=rg,
                location=loc,
                zones=zones,
                sku=network.ApplicationGatewaySkuArgs(
                    name=network.ApplicationGatewaySkuName.WA_F_V2, tier=network.ApplicationGatewayTier.WA_F_V2
                ),
                autoscale_configuration=network.ApplicationGatewayAutoscaleConfigurationArgs(
                    min_capacity=low, max_capacity=high
                ),
                identity=network.ManagedServiceIdentityArgs(
                    type=network.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
                ),
                firewall_policy=network.SubResourceArgs(id=waf.id),
                force_firewall_policy_association=True,
                enable_http2=True,
                ssl_policy=network.ApplicationGatewaySslPolicyArgs(
                    policy_type=network.ApplicationGatewaySslPolicyType.PREDEFINED, policy_name=SSL_POLICY
                ),
                gateway_ip_configurations=[
                    network.ApplicationGatewayIPConfigurationArgs(
                        name="gateway", subnet=network.SubResourceArgs(id=args.subnet_id)
                    )
                ],
                frontend_ip_configurations=[
                    network.ApplicationGatewayFrontendIPConfigurationArgs(
                        name=FRONTEND, public_ip_address=network.SubResourceArgs(id=ip.id)
                    )
                ],
                frontend_ports=[
                    network.ApplicationGatewayFrontendPortArgs(name="http", port=80),
                    network.ApplicationGatewayFrontendPortArgs(name="https", port=443),
                ],
                # Versionless secret ids: the gateway picks up a renewed certificate by itself.
                ssl_certificates=[
                    network.ApplicationGatewaySslCertificateArgs(
                        name=cert,
                        key_vault_secret_id=pulumi.Output.concat(args.vault_uri, "secrets/", cert),
                    )
                    for cert in sorted({r.certificate for r in routes})
                ],
                backend_address_pools=[
                    network.ApplicationGatewayBackendAddressPoolArgs(
                        name=backend,
                        backend_addresses=[network.ApplicationGatewayBackendAddressArgs(ip_address=address)],
                    )
                    for backend, address in args.backends.items()
                ],
                **_route_settings(routes, gateway_id, restricted_waf),
                tags=tags,
            ),
            # The gateway reads the certificates while it is created: the grant must be in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[read_certificates]),
        )

    def _waf_policy(
        self,
        logical: str,
        args: PublicEntryArgs,
        physical: str,
        rg: pulumi.Input[str],
        custom_rules: list[network.WebApplicationFirewallCustomRuleArgs] | None,
    ) -> network.WebApplicationFirewallPolicy:
        return network.WebApplicationFirewallPolicy(
            logical,
            network.WebApplicationFirewallPolicyArgs(
                policy_name=physical,
                resource_group_name=rg,
                location=args.site.location,
                policy_settings=network.PolicySettingsArgs(
                    mode=network.WebApplicationFirewallMode.PREVENTION,
                    state=network.WebApplicationFirewallEnabledState.ENABLED,
                    request_body_check=True,
                    max_request_body_size_in_kb=128,
                    file_upload_limit_in_mb=100,
                ),
                managed_rules=network.ManagedRulesDefinitionArgs(
                    managed_rule_sets=[
                        network.ManagedRuleSetArgs(rule_set_type=kind, rule_set_version=version)
                        for kind, version in MANAGED_RULE_SETS
                    ]
                ),
                custom_rules=custom_rules,
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _route_settings(
    routes: tuple[Route, ...],
    gateway_id: pulumi.Output[str],
    restricted_waf: network.WebApplicationFirewallPolicy | None,
) -> dict[str, Any]:
    """Per hostname: probe, backend settings (original Host header kept), HTTPS and HTTP listeners, the
    redirect to HTTPS and the two routing rules. Items refer to each other by id inside the gateway."""

    def ref(collection: str, item: str) -> network.SubResourceArgs:
        return network.SubResourceArgs(id=pulumi.Output.concat(gateway_id, f"/{collection}/{item}"))

    def policy_of(route: Route) -> network.SubResourceArgs | None:
        return network.SubResourceArgs(id=restricted_waf.id) if route.restricted and restricted_waf else None

    return {**_backends(routes, ref), **_listeners(routes, ref, policy_of)}


def _backends(routes: tuple[Route, ...], ref: Callable[[str, str], network.SubResourceArgs]) -> dict[str, Any]:
    """Per hostname: a probe and backend settings that keep the original Host header."""
    return dict(
        probes=[
            network.ApplicationGatewayProbeArgs(
                name=f"probe-{r.slug}",
                protocol=network.ApplicationGatewayProtocol.HTTP,
                host=r.hostname,
                path=r.probe_path,
                interval=30,
                timeout=30,
                unhealthy_threshold=3,
                match=network.ApplicationGatewayProbeHealthResponseMatchArgs(status_codes=["200-399"]),
            )
            for r in routes
        ],
        # No host_name override: the backend sees the hostname the client asked for.
        backend_http_settings_collection=[
            network.ApplicationGatewayBackendHttpSettingsArgs(
                name=f"settings-{r.slug}",
                port=BACKEND_PORT,
                protocol=network.ApplicationGatewayProtocol.HTTP,
                cookie_based_affinity=network.ApplicationGatewayCookieBasedAffinity.DISABLED,
                pick_host_name_from_backend_address=False,
                request_timeout=120,
                probe=ref("probes", f"probe-{r.slug}"),
            )
            for r in routes
        ],
    )


def _listeners(
    routes: tuple[Route, ...],
    ref: Callable[[str, str], network.SubResourceArgs],
    policy_of: Callable[[Route], network.SubResourceArgs | None],
) -> dict[str, Any]:
    """Per hostname: HTTPS and HTTP listeners (the restricted WAF policy on both), the redirect to HTTPS and
    the two routing rules."""
    return dict(
        http_listeners=[
            listener
            for r in routes
            for listener in (
                network.ApplicationGatewayHttpListenerArgs(
                    name=f"https-{r.slug}",
                    protocol=network.ApplicationGatewayProtocol.HTTPS,
                    frontend_ip_configuration=ref("frontendIPConfigurations", FRONTEND),
                    frontend_port=ref("frontendPorts", "https"),
                    ssl_certificate=ref("sslCertificates", r.certificate),
                    host_names=[r.hostname],
                    require_server_name_indication=True,
                    firewall_policy=policy_of(r),
                ),
                network.ApplicationGatewayHttpListenerArgs(
                    name=f"http-{r.slug}",
                    protocol=network.ApplicationGatewayProtocol.HTTP,
                    frontend_ip_configuration=ref("frontendIPConfigurations", FRONTEND),
                    frontend_port=ref("frontendPorts", "http"),
                    host_names=[r.hostname],
                    firewall_policy=policy_of(r),
                ),
            )
        ],
        redirect_configurations=[
            network.ApplicationGatewayRedirectConfigurationArgs(
                name=f"to-https-{r.slug}",
                redirect_type=network.ApplicationGatewayRedirectType.PERMANENT,
                target_listener=ref("httpListeners", f"https-{r.slug}"),
                include_path=True,
                include_query_string=True,
            )
            for r in routes
        ],
        request_routing_rules=[
            rule
            for i, r in enumerate(routes)
            for rule in (
                network.ApplicationGatewayRequestRoutingRuleArgs(
                    name=f"https-{r.slug}",
                    priority=100 + 10 * i,
                    rule_type=network.ApplicationGatewayRequestRoutingRuleType.BASIC,
                    http_listener=ref("httpListeners", f"https-{r.slug}"),
                    backend_address_pool=ref("backendAddressPools", r.backend),
                    backend_http_settings=ref("backendHttpSettingsCollection", f"settings-{r.slug}"),
                ),
                network.ApplicationGatewayRequestRoutingRuleArgs(
                    name=f"http-{r.slug}",
                    priority=1000 + 10 * i,
                    rule_type=network.ApplicationGatewayRequestRoutingRuleType.BASIC,
                    http_listener=ref("httpListeners", f"http-{r.slug}"),
                    redirect_configuration=ref("redirectConfigurations", f"to-https-{r.slug}"),
                ),
            )
        ],
    )
