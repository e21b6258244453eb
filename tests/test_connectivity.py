"""Partner connectivity: the shared SFTP host, environments' private endpoints to it, site-to-site VPN."""

from __future__ import annotations

import base64
import copy
import json
import struct

import pytest
import yaml

from caas.config import cross_stack_problems
from caas.mocks import SECRET, Registration, fake_password
from caas.plan import Plan
from caas.sections.connectivity import parse_ssh_public_key
from caas.specs import derive
from components.vpn import SiteToSiteVpn, SiteToSiteVpnArgs
from tests.conftest import EXAMPLE, assert_reported, parse, problems, stack_data
from tests.helpers import build

ENVS = ("int", "uat", "prd")
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
SFTP_TYPES = {
    "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobServiceProperties",
    "azure-native:storage:BlobContainer",
    "azure-native:storage:LocalUser",
    "azure-native:storage:ManagementPolicy",
}
VPN_TYPES = {
    "azure-native:network:VirtualNetworkGateway",
    "azure-native:network:LocalNetworkGateway",
    "azure-native:network:VirtualNetworkGatewayConnection",
}


def _sftp_config() -> dict:
    return stack_data("shared")["caas:sftp"]


# --------------------------------------------------------------------------------------------------------
# SFTP in the shipped stacks


def test_sftp_users_are_key_only_and_scoped_to_their_own_container(plans: dict[str, Plan]) -> None:
    """One local user per environment: SSH keys from config only, no password or shared key, its container only."""
    users = {u.inputs["username"]: u.inputs for u in plans["shared"].find("azure-native:storage:LocalUser")}
    assert set(users) == {f"icmacme{env}" for env in ENVS}
    config = _sftp_config()["users"]
    for env in ENVS:
        user = users[f"icmacme{env}"]
        assert (user["hasSshKey"], user["hasSshPassword"], user["hasSharedKey"]) == (True, False, False)
        assert user["allowAclAuthorization"] is False
        assert user["homeDirectory"] == env
        assert user["permissionScopes"] == [{"permissions": "rwdlc", "resourceName": env, "service": "blob"}]
        expected = [" ".join(k.split()[:2]) for k in config[env]["sshPublicKeys"]]
        assert [k["key"] for k in user["sshAuthorizedKeys"]] == expected
    containers = {c.inputs["containerName"]: c for c in plans["shared"].find("azure-native:storage:BlobContainer")}
    assert set(containers) == set(ENVS)
    assert all(c.inputs["publicAccess"] == "None" and c.protect for c in containers.values())


def test_sftp_account_denies_by_default_and_admits_only_partner_ranges(plans: dict[str, Plan]) -> None:
    """HNS + SFTP + local users; no account keys, TLS 1.2, double encryption; firewall Deny except partner ranges."""
    account = plans["shared"].one("azure-native:storage:StorageAccount", "sftp-account")
    a = account.inputs
    assert a["isHnsEnabled"]
    assert a["isSftpEnabled"]
    assert a["isLocalUserEnabled"]
    assert a["allowSharedKeyAccess"] is False
    assert a["allowBlobPublicAccess"] is False
    assert a["minimumTlsVersion"] == "TLS1_2"
    assert a["enableHttpsTrafficOnly"] is True
    assert a["encryption"]["requireInfrastructureEncryption"] is True
    assert a["sku"] == {"name": "Standard_ZRS"}
    assert account.protect
    rules = a["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert rules["bypass"] == "None"
    allowed = [r.removesuffix("/32") for r in _sftp_config()["allowedSourceRanges"]]
    assert [(r["iPAddressOrRange"], r["action"]) for r in rules["ipRules"]] == [(r, "Allow") for r in allowed]
    assert a["publicNetworkAccess"] == "Enabled"  # partners come from the internet, through the firewall


def test_lifecycle_rules_match_housekeeping_config(plans: dict[str, Plan]) -> None:
    """Per environment, files under <container>/import/ and /export/ are deleted after the configured days."""
    days = {"importDays": 30, **_sftp_config()["housekeeping"]}  # the shipped stack keeps import's default
    policy = plans["shared"].one("azure-native:storage:ManagementPolicy", "sftp-housekeeping").inputs["policy"]
    found = {
        (
            r["definition"]["filters"]["prefixMatch"][0],
            r["definition"]["actions"]["baseBlob"]["delete"].get("daysAfterModificationGreaterThan"),
        )
        for r in policy["rules"]
        if r["enabled"] and r["definition"]["filters"]["blobTypes"] == ["blockBlob"]
    }
    expected = {(f"{env}/{folder}/", days[f"{folder}Days"]) for env in ENVS for folder in ("import", "export")}
    assert found == expected
    assert len(policy["rules"]) == len(expected)


def test_sftp_housekeeping_defaults_are_30_and_90_days() -> None:
    """Without caas:sftp.housekeeping, imports are kept 30 days and exports 90."""
    data = stack_data("shared")
    del data["caas:sftp"]["housekeeping"]
    rules = {r.prefix: r.days for r in derive(parse(data, "shared")).sftp_service.lifecycle_rules}
    assert rules["prd/import/"] == 30
    assert rules["prd/export/"] == 90


def test_sftp_logs_go_to_log_analytics(plans: dict[str, Plan]) -> None:
    """The blob service (where storage logs live) sends all logs and metrics; the account sends metrics."""
    shared = plans["shared"]
    account_id = shared.outputs["sftpStorageAccountId"]
    settings_by_target = {
        s.inputs["resourceUri"]: s.inputs for s in shared.find("azure-native:monitor:DiagnosticSetting")
    }
    blob = settings_by_target[f"{account_id}/blobServices/default"]
    assert blob["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert blob["metrics"]
    assert "logs" not in settings_by_target[account_id]


def test_environments_reach_the_sftp_host_through_the_hubs_private_endpoint(plans: dict[str, Plan]) -> None:
    """One endpoint (hub subnet, sub-resource blob) registered in the shared blob zone; each env with SFTP links
    its spoke to that zone and creates no endpoint of its own."""
    shared = plans["shared"]
    account_id = shared.outputs["sftpStorageAccountId"]
    assert not shared.find("intershop:caas:SftpAccess")  # the shared stack never depends on an env
    pe = shared.one("azure-native:network:PrivateEndpoint", "sftp-pe").inputs
    connection = pe["privateLinkServiceConnections"][0]
    assert connection["privateLinkServiceId"] == account_id
    assert connection["groupIds"] == ["blob"]
    assert pe["subnet"]["id"].startswith(shared.outputs["hubVnetId"])
    group = shared.one("azure-native:network:PrivateDnsZoneGroup", "sftp-pe-dns").inputs
    assert group["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == shared.outputs["privateDnsZoneIds"]["blob"]
    for env in ENVS:
        plan = plans[env]
        link = plan.one("azure-native:privatedns:VirtualNetworkLink", "network-dns-blob-link").inputs
        assert link["privateZoneName"] == "privatelink.blob.core.windows.net"
        assert link["resourceGroupName"] == shared.outputs["hubResourceGroupName"]
        assert link["virtualNetwork"]["id"] == plan.outputs["vnetId"]


def test_sftp_facts_for_runbooks(plans: dict[str, Plan]) -> None:
    """Host, port 22, login form, user and container per env, ranges and housekeeping: in outputs and the model."""
    shared = derive(parse(stack_data("shared"), "shared")).sftp_service
    assert shared.host == "stacmesharedweusftp.blob.core.windows.net"
    assert shared.port == 22
    prd = derive(parse(stack_data("prd"), "prd")).sftp_endpoint
    assert (prd.user, prd.container, prd.home_directory) == ("icmacmeprd", "prd", "prd")
    assert prd.login(shared.account) == f"stacmesharedweusftp.icmacmeprd@{shared.host}"

    out = plans["shared"].outputs["sftp"]
    assert out["host"] == shared.host
    assert out["port"] == 22
    assert out["housekeeping"] == {"importDays": 30, "exportDays": 60}
    assert out["allowedSourceRanges"] == _sftp_config()["allowedSourceRanges"]
    assert out["users"]["prd"]["login"] == prd.login(shared.account)
    env_out = plans["prd"].outputs["sftp"]
    assert env_out == {
        "host": shared.host,
        "port": 22,
        "user": "icmacmeprd",
        "container": "prd",
        "login": prd.login(shared.account),
    }


# --------------------------------------------------------------------------------------------------------
# VPN in the shipped stacks


@pytest.mark.parametrize("stack", ["uat", "prd"])
def test_vpn_connection_carries_the_ipsec_policy_and_a_secret_key(plans: dict[str, Plan], stack: str) -> None:
    """IKEv2, AES256/SHA256/DH14/PFS2048 with configured SA lifetimes; the pre-shared key is a secret."""
    plan = plans[stack]
    connection = plan.one("azure-native:network:VirtualNetworkGatewayConnection", "vpn-connection-erp").inputs
    assert connection["connectionType"] == "IPsec"
    assert connection["connectionProtocol"] == "IKEv2"
    assert connection["ipsecPolicies"] == [
        {
            "ikeEncryption": "AES256",
            "ikeIntegrity": "SHA256",
            "dhGroup": "DHGroup14",
            "ipsecEncryption": "AES256",
            "ipsecIntegrity": "SHA256",
            "pfsGroup": "PFS2048",
            "saLifeTimeSeconds": 27000,
            "saDataSizeKilobytes": 102400000,
        }
    ]
    assert connection["sharedKey"] == SECRET
    assert connection["usePolicyBasedTrafficSelectors"] is False
    local = plan.one("azure-native:network:LocalNetworkGateway", "vpn-site-erp").inputs
    assert connection["localNetworkGateway2"]["id"].endswith(
        f"/localNetworkGateways/{local['localNetworkGatewayName']}"
    )
    assert local["localNetworkAddressSpace"]["addressPrefixes"] == ["192.168.100.0/24"]
    # No key in config: one is generated and kept in the environment's Key Vault, never in the plan.
    secret = plan.one("azure-native:keyvault:Secret", "vpn-erp-psk").inputs
    assert secret["vaultName"] == f"kv-acme-{stack}-weu"
    assert secret["properties"]["value"] == SECRET
    generated = fake_password("vpn-erp-psk")
    assert generated not in plan.to_json()
    assert generated not in json.dumps(plan.outputs)


def test_prd_gateway_is_active_active_zone_redundant_generation2(plans: dict[str, Plan]) -> None:
    """prd: VpnGw2AZ, Generation2, route-based, two instances on two zone-redundant Standard IPs in GatewaySubnet."""
    prd = plans["prd"]
    gateway = prd.one("azure-native:network:VirtualNetworkGateway", "vpn-gateway").inputs
    assert gateway["sku"] == {"name": "VpnGw2AZ", "tier": "VpnGw2AZ"}
    assert (gateway["vpnType"], gateway["vpnGatewayGeneration"], gateway["gatewayType"]) == (
        "RouteBased",
        "Generation2",
        "Vpn",
    )
    assert gateway["activeActive"] is True
    assert len(gateway["ipConfigurations"]) == 2
    assert {c["subnet"]["id"].rsplit("/", 1)[-1] for c in gateway["ipConfigurations"]} == {"GatewaySubnet"}
    ips = prd.find("azure-native:network:PublicIPAddress")
    vpn_ips = [ip.inputs for ip in ips if ip.name.startswith("vpn-ip-")]
    assert len(vpn_ips) == 2
    assert all(ip["zones"] == ["1", "2", "3"] and ip["sku"]["name"] == "Standard" for ip in vpn_ips)
    uat = plans["uat"].one("azure-native:network:VirtualNetworkGateway", "vpn-gateway").inputs
    assert uat["activeActive"] is False
    assert len(uat["ipConfigurations"]) == 1


def test_vpn_facts_for_runbooks_never_hold_the_key(plans: dict[str, Plan]) -> None:
    """Outputs give gateway IPs, Azure-side ranges, IPsec parameters and where the key is kept, not the key."""
    out = plans["prd"].outputs["vpn"]
    ips = {ip.name: ip for ip in plans["prd"].find("azure-native:network:PublicIPAddress")}
    assert len(set(out["gatewayPublicIps"])) == 2  # active-active: one address per gateway instance
    assert set(ips) >= {"vpn-ip-1", "vpn-ip-2"}
    assert out["azureAddressRanges"] == ["10.43.0.0/20"]
    assert out["ipsec"]["pfsGroup"] == "PFS2048"
    assert out["ipsec"]["saLifetimeSeconds"] == 27000
    assert out["sites"]["erp"]["sharedKeySource"] == "keyvault:kv-acme-prd-weu/vpn-erp-shared-key"
    assert SECRET not in json.dumps(out)
    plan = derive(parse(stack_data("prd"), "prd")).vpn_plan
    assert plan.ipsec.describe() == out["ipsec"]
    assert plan.active_active


def test_int_ships_without_vpn_and_nothing_of_it_exists(plans: dict[str, Plan]) -> None:
    """VPN off: no gateway, IPs, local gateways, connections, keys, GatewaySubnet or vpn output."""
    int_ = plans["int"]
    assert not VPN_TYPES & set(int_.by_type())
    assert not int_.find("intershop:caas:SiteToSiteVpn")
    assert "GatewaySubnet" not in {s.inputs["subnetName"] for s in int_.find("azure-native:network:Subnet")}
    # Public IPs, generated keys and their vault secrets are all named vpn-*.
    assert not [r.name for r in int_.resources if r.name.startswith("vpn-")]
    assert "vpn-erp-shared-key" not in {s.inputs["secretName"] for s in int_.find("azure-native:keyvault:Secret")}
    assert "vpn" not in int_.outputs


def test_no_sftp_host_exists_when_switched_off(example_plans: dict[str, Plan]) -> None:
    """SFTP off in the shared stack (globex sets no caas:sftp): no account, containers, users, policy,
    diagnostics or sftp outputs."""
    assert "caas:sftp" not in yaml.safe_load((EXAMPLE / "Pulumi.shared.yaml").read_text())["config"]
    shared = example_plans["shared"]
    assert not SFTP_TYPES & set(shared.by_type())
    assert not shared.find("intershop:caas:Sftp")
    assert not [s for s in shared.find("azure-native:monitor:DiagnosticSetting") if s.name.startswith("sftp-")]
    assert not {k for k in shared.outputs if k.startswith("sftp")}


def test_no_blob_link_exists_in_an_environment_when_switched_off(plans: dict[str, Plan]) -> None:
    """SFTP and backup off in an env: no link to the blob zone (the AKS backup's account also needs it); in the
    shipped int the link exists."""
    data = stack_data("int")
    del data["caas:sftp"]
    data["caas:profile"] = {**data.get("caas:profile", {}), "backup": False}
    cfg = parse(data, "int")
    assert derive(cfg).sftp_endpoint is None
    assert "blob" not in derive(cfg).private_dns_zones
    int_ = plans["int"]
    int_.one("intershop:caas:SftpAccess", "sftp")
    links = [
        z for z in int_.find("azure-native:privatedns:VirtualNetworkLink") if "blob" in z.inputs["privateZoneName"]
    ]
    assert [z.name for z in links] == ["network-dns-blob-link"]  # from derive(cfg).private_dns_zones["blob"]


# --------------------------------------------------------------------------------------------------------
# The VPN component with BGP, an FQDN site and a configured key


def _register(program) -> list[Registration]:
    """Run ``program`` under the recording mocks; return what it registered."""
    return build(program, stack="prd")


def test_vpn_with_bgp_fqdn_site_and_configured_key() -> None:
    """BGP on both ends, a partner known by FQDN, and the key from caas:secrets (no generated key, no vault secret)."""
    data = stack_data("prd")
    data["caas:vpn"] = {
        "enableBgp": True,
        "saLifetimeSeconds": 3600,
        "sites": [
            {
                "name": "wms",
                "gatewayFqdn": "vpn.partner.example.com",
                "addressPrefixes": ["192.168.200.0/24"],
                "bgpAsn": 65010,
                "bgpPeeringAddress": "192.168.200.1",
            }
        ],
    }
    data["caas:secrets"] = {"vpnSharedKey": "from-config-7f3a"}
    cfg = parse(data, "prd", secret_keys={"caas:secrets"})
    subnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/GatewaySubnet"
    registered = _register(
        lambda: SiteToSiteVpn(
            "vpn",
            SiteToSiteVpnArgs(
                derive(cfg).site, derive(cfg).vpn, "rg-acme-prd-weu", subnet, "workspace-id", "kv-acme-prd-weu"
            ),
        )
    )
    by_type = {r.type: r.inputs for r in registered}
    assert RANDOM_PASSWORD not in by_type
    assert "azure-native:keyvault:Secret" not in by_type
    gateway = by_type["azure-native:network:VirtualNetworkGateway"]
    assert gateway["enableBgp"] is True
    assert gateway["bgpSettings"] == {"asn": 65515}
    local = by_type["azure-native:network:LocalNetworkGateway"]
    assert local["fqdn"] == "vpn.partner.example.com"
    assert "gatewayIpAddress" not in local
    assert local["bgpSettings"] == {"asn": 65010, "bgpPeeringAddress": "192.168.200.1"}
    connection = by_type["azure-native:network:VirtualNetworkGatewayConnection"]
    assert connection["enableBgp"] is True
    assert connection["sharedKey"] == SECRET
    assert connection["ipsecPolicies"][0]["saLifeTimeSeconds"] == 3600
    assert "from-config-7f3a" not in json.dumps([r.inputs for r in registered])


# --------------------------------------------------------------------------------------------------------
# Model defaults and bad input


def test_vpn_defaults_follow_the_environment() -> None:
    """VpnGw2AZ everywhere; active-active by default in prd only; zones from the profile; static routing."""
    prd = derive(parse(stack_data("prd"), "prd")).vpn_plan
    uat = derive(parse(stack_data("uat"), "uat")).vpn_plan
    assert (prd.sku, prd.active_active, prd.zones, prd.bgp_asn) == ("VpnGw2AZ", True, ("1", "2", "3"), None)
    assert (uat.sku, uat.active_active) == ("VpnGw2AZ", False)
    assert derive(parse(stack_data("int"), "int")).vpn_plan is None


def _rsa_key(bits: int) -> str:
    def string(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    modulus = (1 << (bits - 1)) | 1
    blob = string(b"ssh-rsa") + string(b"\x01\x00\x01") + string(b"\x00" + modulus.to_bytes(bits // 8, "big"))
    return "ssh-rsa " + base64.b64encode(blob).decode()


def test_shipped_keys_parse_and_comments_are_kept_apart() -> None:
    """Every shipped key is accepted; Azure gets '<type> <data>', the comment becomes the description."""
    for user in _sftp_config()["users"].values():
        for text in user["sshPublicKeys"]:
            key = parse_ssh_public_key(text)
            assert key.key == " ".join(text.split()[:2])
            assert key.comment == text.split()[2]
    assert parse_ssh_public_key(_rsa_key(2048)).algorithm == "ssh-rsa"


def _set(stack_key: str, *path: str | int, value):
    """A mutation that sets data[caas:<stack_key>][path...] = value."""

    def mutate(data):
        node = data[f"caas:{stack_key}"] if path else data
        for part in path[:-1]:
            node = node[part]
        if path:
            node[path[-1]] = value
        else:
            data[f"caas:{stack_key}"] = value

    return mutate


def _key(env: str, text: str):
    return _set("sftp", "users", env, "sshPublicKeys", value=[text])


ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN8upvccbOy8+IIfy5BzWl7VuVMJc6AY+Ik9W5aRkzbz ed"
SITE = {"name": "erp", "gatewayIp": "198.51.100.10", "addressPrefixes": ["192.168.100.0/24"]}
BGP_SITE = {**SITE, "bgpAsn": 65010, "bgpPeeringAddress": "192.168.100.1"}


def _uat_prd_key(data):
    data["caas:sftp"]["users"]["uat"]["sshPublicKeys"] = data["caas:sftp"]["users"]["prd"]["sshPublicKeys"][:1]


BAD_INPUT = [
    # partner ranges
    (
        "prd",
        _set("vpn", "sites", 0, "addressPrefixes", value=["10.43.4.0/24"]),
        "caas:vpn.sites[0].addressPrefixes[0]",
        "overlaps caas:network.addressSpace",
    ),
    (
        "uat",
        _set("vpn", "sites", 0, "addressPrefixes", value=["10.40.0.0/16"]),
        "caas:vpn.sites[0].addressPrefixes[0]",
        "overlaps caas:network.hubAddressSpace",
    ),
    (
        "prd",
        _set("vpn", "sites", 0, "addressPrefixes", value=["10.44.0.0/25"]),
        "caas:vpn.sites[0].addressPrefixes[0]",
        "overlaps caas:network.drAddressSpace",
    ),
    (
        "prd",
        _set("vpn", "sites", value=[SITE, {**SITE, "name": "pim", "addressPrefixes": ["192.168.0.0/16"]}]),
        "caas:vpn.sites[1].addressPrefixes[0]",
        "overlaps caas:vpn.sites[0].addressPrefixes[0]",
    ),
    (
        "prd",
        _set("vpn", "sites", value=[SITE, {**SITE, "addressPrefixes": ["172.20.0.0/16"]}]),
        "caas:vpn.sites",
        "unique",
    ),
    (
        "prd",
        _set("vpn", "sites", 0, "gatewayIp", value="192.168.1.1"),
        "caas:vpn.sites[0].gatewayIp",
        "not a public address",
    ),
    (
        "prd",
        _set("vpn", "sites", 0, "gatewayFqdn", value="vpn.example.com"),
        "caas:vpn.sites[0].gatewayIp",
        "exactly one",
    ),
    # gateway
    ("prd", _set("vpn", "sku", value="VpnGw2"), "caas:vpn.sku", "'VpnGw2AZ'"),
    ("uat", _set("vpn", "sku", value="VpnGw1AZ"), "caas:vpn.sku", "'VpnGw2AZ', 'VpnGw3AZ', 'VpnGw4AZ' or 'VpnGw5AZ'"),
    (
        "prd",
        _set("vpn", "activeActive", value=False),
        "caas:vpn.activeActive",
        "prd runs the VPN gateway active-active",
    ),
    ("prd", _set("vpn", "saLifetimeSeconds", value=100), "caas:vpn.saLifetimeSeconds", "greater than or equal to 300"),
    ("prd", _set("vpn", "enableBgp", value=True), "caas:vpn.sites[0].bgpAsn", "set bgpAsn and bgpPeeringAddress"),
    ("prd", _set("vpn", "sites", value=[BGP_SITE]), "caas:vpn.sites[0].bgpAsn", "BGP is off"),
    (
        "prd",
        _set("vpn", value={"enableBgp": True, "sites": [{**BGP_SITE, "bgpAsn": 65515}]}),
        "caas:vpn.sites[0].bgpAsn",
        "reserved",
    ),
    ("prd", _set("vpn", value={"enableBgp": True, "bgpAsn": 8075, "sites": [BGP_SITE]}), "caas:vpn.bgpAsn", "reserved"),
    (
        "prd",
        _set("vpn", value={"enableBgp": True, "sites": [{**BGP_SITE, "bgpPeeringAddress": "10.43.15.250"}]}),
        "caas:vpn.sites[0].bgpPeeringAddress",
        "lies in caas:network.addressSpace",
    ),
    ("shared", _set("vpn", value={"sites": [SITE]}), "caas:vpn", "belongs to environment stacks"),
    # SFTP users and keys
    ("shared", _key("prd", "not a key"), "caas:sftp.users.prd.sshPublicKeys[0]", "not an OpenSSH public key"),
    ("shared", _key("prd", "ssh-rsa AAAA!!notbase64"), "caas:sftp.users.prd.sshPublicKeys[0]", "not valid base64"),
    (
        "shared",
        _key("prd", "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE="),
        "caas:sftp.users.prd.sshPublicKeys[0]",
        "this is a private key",
    ),
    ("shared", _key("int", ED25519), "caas:sftp.users.int.sshPublicKeys[0]", "not accepted by Azure SFTP"),
    (
        "shared",
        _key("uat", _rsa_key(1024)),
        "caas:sftp.users.uat.sshPublicKeys[0]",
        "1024 bits; Azure SFTP needs at least 2048",
    ),
    (
        "shared",
        _key("uat", "ecdsa-sha2-nistp256 " + _rsa_key(2048).split()[1]),
        "caas:sftp.users.uat.sshPublicKeys[0]",
        "does not encode a ecdsa-sha2-nistp256 key",
    ),
    (
        "shared",
        _set("sftp", "users", "prd", "sshPublicKeys", value=[]),
        "caas:sftp.users.prd.sshPublicKeys",
        "at least 1 item",
    ),
    ("shared", _set("sftp", "users", "prd", value={}), "caas:sftp.users.prd.sshPublicKeys", "required"),
    ("shared", _set("sftp", "users", value={}), "caas:sftp.users", "at least one user"),
    (
        "shared",
        _set("sftp", "users", "dev", value={"sshPublicKeys": [ED25519]}),
        "caas:sftp.users.dev",
        "unknown environment; allowed: int, uat, prd",
    ),
    (
        "shared",
        _uat_prd_key,
        "caas:sftp.users.prd.sshPublicKeys[0]",
        "also a key of uat; production keys must not open another environment",
    ),
    # SFTP network and layout
    (
        "shared",
        _set("sftp", "allowedSourceRanges", value=["10.0.0.0/8"]),
        "caas:sftp.allowedSourceRanges[0]",
        "not a public range",
    ),
    (
        "shared",
        _set("sftp", "allowedSourceRanges", value=["198.51.100.6/31"]),
        "caas:sftp.allowedSourceRanges[0]",
        "198.51.100.6/32 and 198.51.100.7/32",
    ),
    (
        "shared",
        _set("sftp", "housekeeping", "importDays", value=0),
        "caas:sftp.housekeeping.importDays",
        "greater than or equal to 1",
    ),
    (
        "prd",
        _set("sftp", "users", value={"prd": {"sshPublicKeys": [ED25519]}}),
        "caas:sftp.users",
        "set in the shared stack",
    ),
    ("prd", _set("sftp", "housekeeping", value={"importDays": 7}), "caas:sftp.housekeeping", "set in the shared stack"),
]


@pytest.mark.parametrize(("stack", "mutate", "key", "text"), BAD_INPUT, ids=[f"{c[2]}:{c[3]}" for c in BAD_INPUT])
def test_bad_input_names_file_and_key(stack: str, mutate, key: str, text: str) -> None:
    """Each bad connectivity value yields `Pulumi.<stack>.yaml: <key>: ...` saying what is wrong or allowed."""
    assert_reported(stack, mutate, key, text)


def test_non_production_users_may_share_a_key() -> None:
    """Only production keys are exclusive: int and uat may use the same partner key."""

    def same_key_for_int_and_uat(data):
        users = data["caas:sftp"]["users"]
        users["uat"]["sshPublicKeys"] = copy.deepcopy(users["int"]["sshPublicKeys"])

    assert problems("shared", same_key_for_int_and_uat) == []


def test_an_environment_with_sftp_needs_its_user_in_the_shared_stack() -> None:
    """Checked across stack files: SFTP on in prd, but the shared stack has no prd user (or no host at all)."""
    prd = parse(stack_data("prd"), "prd")
    shared = stack_data("shared")
    del shared["caas:sftp"]["users"]["prd"]
    assert cross_stack_problems(prd, parse(shared, "shared"), "caas-acme") == [
        ("caas:sftp.enabled", "Pulumi.shared.yaml has no caas:sftp.users.prd; add it there")
    ]
    del shared["caas:sftp"]
    assert [k for k, _ in cross_stack_problems(prd, parse(shared, "shared"), "caas-acme")] == ["caas:sftp.enabled"]
    assert cross_stack_problems(prd, parse(stack_data("shared"), "shared"), "caas-acme") == []
