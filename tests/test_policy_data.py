"""Data rules: each with a case it passes and one it reports, built from small resources."""

from __future__ import annotations

from datetime import date

from caas.policy.rules.data import (
    key_vault_recoverable,
    public_network_access_off,
    secret_expiry_and_rotation,
    storage_secure_transfer,
    tls_1_2_minimum,
)
from caas.secret_names import SecretRotation
from tests.policy_cases import context, resource, violations

STORAGE = "azure-native:storage:StorageAccount"
SHARE = "azure-native:storage:FileShare"
SECRET = "azure-native:keyvault:Secret"
RANDOM = "random:index/randomPassword:RandomPassword"
GATEWAY = "azure-native:network:ApplicationGateway"


def test_tls_1_2_on_storage_sql_mi_and_postgres():
    ok = [
        resource(STORAGE, "st", minimumTlsVersion="TLS1_2"),
        resource("azure-native:sql:ManagedInstance", "mi", minimalTlsVersion="1.2"),
        resource(
            "azure-native:dbforpostgresql:Configuration",
            "p",
            configurationName="ssl_min_protocol_version",
            value="TLSv1.2",
        ),
        resource("azure-native:dbforpostgresql:Configuration", "q", configurationName="max_connections", value="200"),
    ]
    assert violations(tls_1_2_minimum, *ok) == []
    bad = [
        resource(STORAGE, "st", minimumTlsVersion="TLS1_0"),
        resource(STORAGE, "unset"),  # the API's default for accounts made outside the portal is TLS 1.0
        resource("azure-native:sql:ManagedInstance", "mi", minimalTlsVersion="1.0"),
        resource(
            "azure-native:dbforpostgresql:Configuration", "t", configurationName="require_secure_transport", value="OFF"
        ),
    ]
    assert len(violations(tls_1_2_minimum, *bad)) == 4


def test_the_gateways_ssl_policy_starts_at_tls_1_2():
    strict = resource(GATEWAY, "agw", sslPolicy={"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"})
    custom = resource(GATEWAY, "c", sslPolicy={"policyType": "CustomV2", "minProtocolVersion": "TLSv1_2"})
    assert violations(tls_1_2_minimum, strict, custom) == []
    legacy = resource(GATEWAY, "old", sslPolicy={"policyType": "Predefined", "policyName": "AppGwSslPolicy20170401S"})
    none = resource(GATEWAY, "none")
    assert len(violations(tls_1_2_minimum, legacy, none)) == 2


def test_secure_transfer_is_off_only_on_a_private_nfs_only_account():
    nfs = dict(kind="FileStorage", enableHttpsTrafficOnly=False, publicNetworkAccess="Disabled", accountName="nfs")
    share = resource(SHARE, "s", accountName="nfs", enabledProtocols="NFS")
    assert violations(storage_secure_transfer, resource(STORAGE, "nfs", **nfs), share) == []
    smb = resource(SHARE, "smb", accountName="nfs", enabledProtocols="SMB")
    public = resource(STORAGE, "pub", **{**nfs, "publicNetworkAccess": "Enabled"})
    assert len(violations(storage_secure_transfer, resource(STORAGE, "nfs", **nfs), share, smb)) == 1
    assert len(violations(storage_secure_transfer, public, share)) == 1


def test_public_network_access_is_off_except_the_sftp_partner_endpoint():
    closed = [
        resource("azure-native:containerregistry:Registry", "cr", publicNetworkAccess="Disabled"),
        resource("azure-native:keyvault:Vault", "kv", properties={"publicNetworkAccess": "Disabled"}),
        resource("azure-native:sql:ManagedInstance", "mi", publicDataEndpointEnabled=False),
        resource("azure-native:dbforpostgresql:Server", "pg", network={"publicNetworkAccess": "Disabled"}),
    ]
    assert violations(public_network_access_off, *closed) == []
    partners = {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "iPAddressOrRange": "198.51.100.0/28"}]}
    sftp = resource(STORAGE, "sftp", publicNetworkAccess="Enabled", isSftpEnabled=True, networkRuleSet=partners)
    assert violations(public_network_access_off, sftp) == []
    open_sftp = resource(
        STORAGE, "o", publicNetworkAccess="Enabled", isSftpEnabled=True, networkRuleSet={"defaultAction": "Allow"}
    )
    blob = resource(STORAGE, "b", publicNetworkAccess="Enabled", networkRuleSet=partners)  # not SFTP: no exception
    vault = resource("azure-native:keyvault:Vault", "kv", properties={})  # unset: Azure's default is public
    assert len(violations(public_network_access_off, open_sftp, blob, vault)) == 3


def test_key_vaults_are_recoverable_as_the_profile_says():
    vault = "azure-native:keyvault:Vault"
    soft = resource(vault, "kv", properties={"enableSoftDelete": True})
    assert violations(key_vault_recoverable, soft, ctx=context(purge_protection=False)) == []
    [hit] = violations(key_vault_recoverable, soft, ctx=context(purge_protection=True))
    assert "enablePurgeProtection" in hit.message
    purged = resource(vault, "kv2", properties={"enableSoftDelete": False, "enablePurgeProtection": True})
    assert len(violations(key_vault_recoverable, purged)) == 1


def test_secrets_expire_and_their_generators_rotate():
    rotation = SecretRotation(date(2026, 1, 5), 365)
    generator = resource(RANDOM, "pw", keepers=rotation.keepers, length=32)
    secret = resource(
        SECRET, "s", dependencies=(generator.urn,), properties={"attributes": {"expires": rotation.expires}}
    )
    assert violations(secret_expiry_and_rotation, generator, secret) == []
    frozen = resource(RANDOM, "pw", length=32)
    eternal = resource(SECRET, "s", dependencies=(frozen.urn,), properties={"contentType": "generated"})
    messages = sorted(v.message for v in violations(secret_expiry_and_rotation, frozen, eternal))
    assert [m.split(":")[0] for m in messages] == [
        "its generator pw has no keepers",
        "no expiry (properties.attributes.expires)",
    ]


def test_a_rotation_expires_its_lifetime_after_the_rotation_date_at_midnight_utc():
    assert SecretRotation(date(2026, 1, 5), 365).expires == 1799107200  # 2027-01-05T00:00:00Z
