"""Derived facts of the connectivity area: everything computed from the validated model, once."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from pydantic import SecretStr

from caas.addresses import non_public_part
from caas.model import EstateConfig
from caas.profiles import ENVIRONMENTS, RULES
from caas.secret_names import SecretRotation
from caas.sections.connectivity import (
    DEFAULT_GATEWAY_ASN,
    IpsecPolicy,
    Sftp,
    SftpEndpoint,
    SftpService,
    VpnPlan,
    VpnSite,
    _check_site_bgp,
    _reserved_asn,
    parse_ssh_public_key,
    sftp_user_name,
)
from caas.specs import site as site_spec
from caas.specs.memo import once


def _endpoint(cfg: EstateConfig, environment: str) -> SftpEndpoint:
    return SftpEndpoint(environment, sftp_user_name(cfg.customer.code, environment), container=environment)


@once
def sftp_service(cfg: EstateConfig) -> SftpService | None:
    """The shared stack's SFTP host, or None when the stack has none."""
    sftp = cfg.sftp
    if not cfg.is_shared or sftp is None or not sftp.enabled:
        return None
    envs = [env for env in ENVIRONMENTS if env in sftp.users]
    return SftpService(
        account=site_spec.names(cfg).compact("storage", "sftp"),
        allowed_source_ranges=sftp.allowed_source_ranges,
        housekeeping=sftp.housekeeping,
        endpoints={env: _endpoint(cfg, env) for env in envs},
        keys={env: tuple(parse_ssh_public_key(k) for k in sftp.users[env].ssh_public_keys) for env in envs},
    )


@once
def sftp_endpoint(cfg: EstateConfig) -> SftpEndpoint | None:
    """An environment's own user and container on the shared host, or None when SFTP is off for it."""
    if cfg.is_shared or cfg.sftp is None or not cfg.sftp.enabled:
        return None
    return _endpoint(cfg, cfg.environment)


@once
def vpn_plan(cfg: EstateConfig) -> VpnPlan | None:
    vpn = cfg.vpn
    if vpn is None or cfg.is_shared:
        return None
    return VpnPlan(
        sku=vpn.sku,
        active_active=vpn.active_active if vpn.active_active is not None else cfg.rules.vpn_active_active,
        zones=cfg.profile.zones,
        bgp_asn=vpn.bgp_asn if vpn.enable_bgp else None,
        # The hub is not reachable through the tunnel: peerings do not allow gateway transit.
        azure_address_ranges=(cfg.network.address_space,),
        ipsec=IpsecPolicy(vpn.sa_lifetime_seconds, vpn.sa_data_size_kilobytes),
        sites=vpn.sites,
    )


def problems(cfg: EstateConfig) -> list[tuple[str, str]]:
    """Cross-field rules of ``caas:sftp`` and ``caas:vpn``."""
    p: list[tuple[str, str]] = []
    if cfg.sftp is not None:
        (_check_sftp_account if cfg.is_shared else _check_sftp_switch)(cfg, p)
    if cfg.vpn is not None and not cfg.is_shared:  # the layout check refuses it in the shared stack
        _check_vpn(cfg, p)
    return p


def cross_stack_problems(env: EstateConfig, shared: EstateConfig) -> list[tuple[str, str]]:
    """An environment that switches SFTP on needs the host and its user in the shared stack."""
    if sftp_endpoint(env) is None:
        return []
    service = sftp_service(shared)
    if service is None:
        return [("caas:sftp.enabled", "the shared stack has no SFTP host; configure caas:sftp in Pulumi.shared.yaml")]
    if env.environment not in service.endpoints:
        return [("caas:sftp.enabled", f"Pulumi.shared.yaml has no caas:sftp.users.{env.environment}; add it there")]
    return []


def _check_sftp_switch(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    assert cfg.sftp is not None
    for field in sorted(cfg.sftp.model_fields_set - {"enabled"}):
        alias = Sftp.model_fields[field].alias
        p.append(
            (
                f"caas:sftp.{alias}",
                "set in the shared stack (Pulumi.shared.yaml); an environment stack sets only enabled",
            )
        )


def _check_sftp_account(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    sftp = cfg.sftp
    assert sftp is not None
    if not sftp.enabled:
        return
    if not sftp.users:
        p.append(("caas:sftp.users", "at least one user; allowed keys: int, uat, prd, each with sshPublicKeys"))
    _check_sftp_ranges(sftp, p)
    _check_sftp_users(sftp, p)
    try:
        site_spec.names(cfg).compact("storage", "sftp")
        for env in ENVIRONMENTS:
            sftp_user_name(cfg.customer.code, env)
    except ValueError as exc:
        p.append(("caas:customer.code", f"{exc}; choose a shorter customer code"))


def _check_sftp_ranges(sftp: Sftp, p: list[tuple[str, str]]) -> None:
    """Partners connect from public ranges that Azure Storage accepts."""
    for i, network in enumerate(sftp.allowed_source_ranges):
        key = f"caas:sftp.allowedSourceRanges[{i}]"
        reserved = non_public_part(network)
        if reserved is not None:
            p.append(
                (key, f"{network} is not a public range (overlaps {reserved}); partners connect from the internet")
            )
        elif network.prefixlen == 31:
            p.append((key, f"Azure Storage refuses /31 ranges; list {network[0]}/32 and {network[1]}/32 instead"))


def _check_sftp_users(sftp: Sftp, p: list[tuple[str, str]]) -> None:
    """One user per known environment; keys parse, and production keys open no other environment."""
    for env in sftp.users:
        if env not in ENVIRONMENTS:
            p.append((f"caas:sftp.users.{env}", f"unknown environment; allowed: {', '.join(ENVIRONMENTS)}"))
    owners: dict[str, str] = {}
    for env, user in sftp.users.items():
        for i, text in enumerate(user.ssh_public_keys):
            key = f"caas:sftp.users.{env}.sshPublicKeys[{i}]"
            try:
                parsed = parse_ssh_public_key(text)
            except ValueError as error:
                p.append((key, str(error)))
                continue
            other = owners.setdefault(parsed.data, env)
            if other != env and any(e in RULES and RULES[e].exclusive_ssh_keys for e in (env, other)):
                p.append((key, f"also a key of {other}; production keys must not open another environment"))


def _azure_ranges(cfg: EstateConfig) -> dict[str, IPv4Network]:
    net = cfg.network
    ranges = {"caas:network.addressSpace": net.address_space}
    if net.hub_address_space is not None:
        ranges["caas:network.hubAddressSpace"] = net.hub_address_space
    if net.dr_address_space is not None:
        ranges["caas:network.drAddressSpace"] = net.dr_address_space
    if net.dr_app_address_space is not None:
        ranges["caas:network.drAppAddressSpace"] = net.dr_app_address_space
    return ranges


def _check_site_prefixes(
    site: VpnSite,
    key: str,
    azure: dict[str, IPv4Network],
    seen: dict[IPv4Network, str],
    p: list[tuple[str, str]],
) -> None:
    """A partner's ranges overlap neither Azure's nor another site's (``seen``: the ranges listed before)."""
    for j, prefix in enumerate(site.address_prefixes):
        where = f"{key}.addressPrefixes[{j}]"
        for name, azure_range in azure.items():
            if prefix.overlaps(azure_range):
                p.append((where, f"{prefix} overlaps {name} {azure_range}; partner ranges must be distinct"))
        for other, other_key in seen.items():
            if prefix.overlaps(other):
                p.append((where, f"{prefix} overlaps {other_key} {other}; routes would be ambiguous"))
        seen[prefix] = where


def _check_vpn(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    vpn = cfg.vpn
    assert vpn is not None
    azure = _azure_ranges(cfg)
    seen: dict[IPv4Network, str] = {}
    for i, site in enumerate(vpn.sites):
        key = f"caas:vpn.sites[{i}]"
        if (site.gateway_ip is None) == (site.gateway_fqdn is None):
            p.append((f"{key}.gatewayIp", "set exactly one of gatewayIp and gatewayFqdn"))
        if site.gateway_ip is not None and non_public_part(IPv4Network(site.gateway_ip)) is not None:
            p.append((f"{key}.gatewayIp", f"{site.gateway_ip} is not a public address"))
        _check_site_prefixes(site, key, azure, seen, p)
        _check_site_bgp(vpn, site, key, azure, p)
    names = [s.name for s in vpn.sites]
    if len(set(names)) != len(names):
        p.append(("caas:vpn.sites", "site names must be unique"))
    if vpn.enable_bgp and vpn.bgp_asn != DEFAULT_GATEWAY_ASN and _reserved_asn(vpn.bgp_asn):
        p.append(("caas:vpn.bgpAsn", f"{vpn.bgp_asn} is reserved by Azure or IANA; keep 65515 or choose another"))
    if cfg.rules.vpn_active_active and vpn.active_active is False:
        p.append(("caas:vpn.activeActive", "prd runs the VPN gateway active-active; remove the override"))


@dataclass(frozen=True)
class VpnSpec:
    plan: VpnPlan
    shared_key: SecretStr | None  # caas:secrets.vpnSharedKey; else generated and kept in the Key Vault
    rotation: SecretRotation | None = None  # the generated key's expiry and rotation trigger
