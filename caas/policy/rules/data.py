"""Data rules: TLS 1.2 or later on every data endpoint, no public network access to data services, recoverable
vaults, and secrets that expire and have a way to rotate."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule, stack_rule
from caas.policy.resources import UNKNOWN, Resource

STORAGE = "azure-native:storage:StorageAccount"
FILE_SHARE = "azure-native:storage:FileShare"
SQL_MI = "azure-native:sql:ManagedInstance"
POSTGRES = "azure-native:dbforpostgresql:Server"
POSTGRES_PARAMETER = "azure-native:dbforpostgresql:Configuration"
APP_GATEWAY = "azure-native:network:ApplicationGateway"
REDIS = "azure-native:cache:Redis"
WEB_APP = "azure-native:web:WebApp"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
RECOVERY_VAULT = "azure-native:recoveryservices:Vault"
SECRET = "azure-native:keyvault:Secret"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

# Application Gateway predefined policies whose minimum protocol is TLS 1.2 (learn.microsoft.com/azure/
# application-gateway/application-gateway-ssl-policy-overview, "Predefined TLS policy"): the 2022 policies.
TLS12_GATEWAY_POLICIES = frozenset({"AppGwSslPolicy20220101", "AppGwSslPolicy20220101S"})
TLS12_GATEWAY_PROTOCOLS = frozenset({"TLSv1_2", "TLSv1_3"})

# Where each data service's public network access is set, and the value that closes it.
PUBLIC_ACCESS: Mapping[str, tuple[str, object]] = {
    REGISTRY: ("publicNetworkAccess", "Disabled"),
    VAULT: ("properties.publicNetworkAccess", "Disabled"),
    RECOVERY_VAULT: ("properties.publicNetworkAccess", "Disabled"),
    POSTGRES: ("network.publicNetworkAccess", "Disabled"),
    SQL_MI: ("publicDataEndpointEnabled", False),
    REDIS: ("publicNetworkAccess", "Disabled"),
    STORAGE: ("publicNetworkAccess", "Disabled"),
}


def _unset_or(value: Any, allowed: frozenset[Any] | set[Any]) -> bool:
    return value == UNKNOWN or value in allowed


def _storage_tls(r: Resource) -> Iterator[str]:
    if not _unset_or(r.get("minimumTlsVersion"), {"TLS1_2", "TLS1_3"}):
        yield f"minimumTlsVersion is {r.get('minimumTlsVersion')!r}, not TLS1_2"


def _sql_mi_tls(r: Resource) -> Iterator[str]:
    if not _unset_or(r.get("minimalTlsVersion"), {"1.2", "1.3"}):
        yield f"minimalTlsVersion is {r.get('minimalTlsVersion')!r}, not 1.2"


def _postgres_tls(r: Resource) -> Iterator[str]:
    name, value = str(r.get("configurationName", "")), str(r.get("value", "")).lower()
    if name == "ssl_min_protocol_version" and not _unset_or(value, {"tlsv1.2", "tlsv1.3", UNKNOWN.lower()}):
        yield f"ssl_min_protocol_version is {r.get('value')!r}, below TLSv1.2"
    elif name == "require_secure_transport" and not _unset_or(value, {"on", UNKNOWN.lower()}):
        yield "require_secure_transport is off: clients may connect without TLS"


def _redis_tls(r: Resource) -> Iterator[str]:
    if not _unset_or(r.get("minimumTlsVersion"), {"1.2", "1.3"}):
        yield f"minimumTlsVersion is {r.get('minimumTlsVersion')!r}, not 1.2"
    if r.get("enableNonSslPort") is True:
        yield "enableNonSslPort is true: the plaintext port 6379 is open"


def _web_app_tls(r: Resource) -> Iterator[str]:
    if r.get("httpsOnly") not in (True, UNKNOWN):
        yield "httpsOnly is not true"
    if not _unset_or(r.get("siteConfig.minTlsVersion"), {"1.2", "1.3"}):
        yield f"siteConfig.minTlsVersion is {r.get('siteConfig.minTlsVersion')!r}, not 1.2"


def _gateway_tls(r: Resource) -> Iterator[str]:
    policy = r.get("sslPolicy")
    if policy == UNKNOWN:
        return
    if not isinstance(policy, Mapping):
        yield "no sslPolicy: the gateway's default policy may allow TLS 1.0"
    elif policy.get("policyType") == "Predefined":
        if policy.get("policyName") not in TLS12_GATEWAY_POLICIES:
            yield f"predefined SSL policy {policy.get('policyName')!r} allows protocols below TLS 1.2"
    elif policy.get("minProtocolVersion") not in TLS12_GATEWAY_PROTOCOLS:
        yield f"sslPolicy.minProtocolVersion is {policy.get('minProtocolVersion')!r}, not TLSv1_2"


TLS_CHECKS: Mapping[str, Callable[[Resource], Iterator[str]]] = {
    STORAGE: _storage_tls,
    SQL_MI: _sql_mi_tls,
    POSTGRES_PARAMETER: _postgres_tls,
    APP_GATEWAY: _gateway_tls,
    REDIS: _redis_tls,
    WEB_APP: _web_app_tls,
}


@resource_rule(
    "tls-1-2-minimum",
    area="data",
    level=Level.MANDATORY,
    controls=("MCSB DP-3", "CIS Azure 1.5.0 3.15 (storage minimum TLS version 1.2)"),
    description="Every endpoint that carries data requires TLS 1.2 or later: storage minimumTlsVersion, SQL MI "
    "minimalTlsVersion, PostgreSQL ssl_min_protocol_version/require_secure_transport where set (the server "
    "defaults are TLS 1.2 and on), the Application Gateway's SSL policy (AppGwSslPolicy20220101[S] or a custom "
    "minimum TLSv1_2), Redis and web apps where present. Not relaxable.",
)
def tls_1_2_minimum(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    check = TLS_CHECKS.get(r.type)
    if check is not None:
        yield from check(r)


def _nfs_only(account: Resource, shares: Sequence[Resource]) -> bool:
    """An NFS account: Premium FileStorage whose every share speaks NFS, reachable from no public network."""
    own = [s for s in shares if s.get("accountName") == account.get("accountName")]
    return (
        account.get("kind") == "FileStorage"
        and account.get("publicNetworkAccess") == "Disabled"
        and bool(own)
        and all(s.get("enabledProtocols") == "NFS" for s in own)
    )


@stack_rule(
    "storage-secure-transfer",
    area="data",
    level=Level.MANDATORY,
    controls=("MCSB DP-3",),
    description="Storage accounts require secure transfer (enableHttpsTrafficOnly). Exception: an account with "
    "only NFS shares and no public network, since NFS 4.1 shares need secure transfer off and rely on the "
    "private network instead (learn.microsoft.com/azure/storage/files/storage-files-how-to-create-nfs-shares, "
    "'Disable secure transfer'). Not relaxable.",
)
def storage_secure_transfer(resources: Sequence[Resource], _ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    shares = [r for r in resources if r.type == FILE_SHARE]
    for r in resources:
        if r.type != STORAGE or r.get("enableHttpsTrafficOnly") is not False:
            continue
        if not _nfs_only(r, shares):
            yield r, "enableHttpsTrafficOnly is false on an account that is not NFS-only behind a private network"


def _sftp_partner_endpoint(r: Resource) -> bool:
    """The SFTP account's public endpoint, open only to the partners' address ranges."""
    rules = r.get("networkRuleSet")
    return (
        r.get("isSftpEnabled") is True
        and isinstance(rules, Mapping)
        and rules.get("defaultAction") == "Deny"
        and bool(rules.get("ipRules"))
    )


@resource_rule(
    "public-network-access-off",
    area="data",
    level=Level.MANDATORY,
    controls=("MCSB NS-2", "CIS Azure 4.0.0 10.3.2.2 (storage public network access disabled)"),
    description="Registries, key vaults, Recovery Services vaults, storage accounts, SQL MI (public data endpoint) "
    "PostgreSQL and Redis take no traffic from public networks; clients use private endpoints or VNet "
    "integration. Exception: the SFTP account, whose partners connect over the internet, may be public only with "
    "networkRuleSet.defaultAction Deny and their ipRules (learn.microsoft.com/azure/storage/blobs/secure-file-"
    "transfer-protocol-support, 'Networking considerations'). Not relaxable.",
)
def public_network_access_off(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    setting = PUBLIC_ACCESS.get(r.type)
    if setting is None:
        return
    path, closed = setting
    value = r.get(path)
    if value in (closed, UNKNOWN) or (value is None and closed is False):
        return
    if r.type == STORAGE and _sftp_partner_endpoint(r):
        return
    yield f"{path} is {value!r}, not {closed!r}"


@resource_rule(
    "key-vault-recoverable",
    area="data",
    level=Level.MANDATORY,
    controls=("MCSB DP-8", "CIS Azure 3.0.0 3.3.5 (Key Vault is recoverable)"),
    description="Key vaults keep soft delete on, and purge protection on where the stack's profile says so "
    "(caas:profile.purgeProtection; prd and shared always). Not relaxable: the profile is the place to decide.",
)
def key_vault_recoverable(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    if r.type != VAULT:
        return
    if r.get("properties.enableSoftDelete") is False:
        yield "properties.enableSoftDelete is false"
    if ctx.purge_protection and r.get("properties.enablePurgeProtection") not in (True, UNKNOWN):
        yield "properties.enablePurgeProtection is not true, but the stack's profile requires purge protection"


@stack_rule(
    "secret-expiry-and-rotation",
    area="data",
    level=Level.MANDATORY,
    controls=("MCSB DP-6", "CIS Azure 3.0.0 3.3.3 (expiration date on secrets in RBAC vaults)"),
    description="Key Vault secrets carry an expiry (properties.attributes.expires, from caas:keyVault."
    "secretsRotatedOn + secretLifetimeDays) and a rotation path: a generated secret's generator has keepers, so "
    "changing secretsRotatedOn generates a new value; a configured one is rotated by setting a new value. "
    "Relaxable: a stack may knowingly keep secrets without expiry (e.g. while a partner agrees a rotation date).",
    relaxable=True,
)
def secret_expiry_and_rotation(resources: Sequence[Resource], _ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    generators = {r.urn: r for r in resources if r.type == RANDOM_PASSWORD}
    for r in resources:
        if r.type != SECRET:
            continue
        expires = r.get("properties.attributes.expires")
        if expires != UNKNOWN and not isinstance(expires, int):
            yield r, "no expiry (properties.attributes.expires): set caas:keyVault.secretsRotatedOn"
        for urn in r.dependencies:
            generator = generators.get(urn)
            if generator is not None and not generator.get("keepers"):
                yield r, f"its generator {generator.name} has no keepers: nothing can make it generate a new value"


RULES = (
    tls_1_2_minimum,
    storage_secure_transfer,
    public_network_access_off,
    key_vault_recoverable,
    secret_expiry_and_rotation,
)
