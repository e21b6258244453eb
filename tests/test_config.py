"""The stack model: shipped stacks load, and bad input is reported per key before anything is registered."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from caas import config as model
from caas.profiles import PROFILES
from caas.specs import derive
from tests.conftest import STACKS, assert_reported, parse, problems, set_key, stack_data


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_load(stack: str) -> None:
    """Every shipped stack file is valid and names its own environment."""
    cfg = parse(stack_data(stack), stack)
    assert cfg.environment == stack
    assert cfg.customer.code == "acme"


def test_prd_profile_is_zonal_protected_backed_up() -> None:
    """prd gets zones 1-3, protect, backup, purge protection and DR without saying so."""
    profile = parse(stack_data("prd"), "prd").profile
    assert profile.zones == ("1", "2", "3")
    assert profile.protect
    assert profile.backup
    assert profile.purge_protection
    assert profile.disaster_recovery
    assert profile.log_retention_days >= 90


def test_uat_keeps_prd_topology_at_smaller_scale() -> None:
    """uat has prd's zones and tiers; only scale and retention are smaller."""
    uat, prd = PROFILES["uat"], PROFILES["prd"]
    assert uat.zones == prd.zones
    assert uat.aks_tier == prd.aks_tier
    assert uat.backup == prd.backup
    assert uat.scale == "small"
    assert prd.scale == "production"


def test_int_relaxations_come_from_its_stack_file() -> None:
    """INT's profile in code equals uat's; what INT relaxes is declared in Pulumi.int.yaml."""
    assert PROFILES["int"] == PROFILES["uat"]
    cfg = parse(stack_data("int"), "int")
    assert cfg.profile.zones == ()
    assert cfg.profile.aks_tier == "Free"
    assert set(cfg.profile_overrides.declared()) == {
        "zones",
        "aks_tier",
        "storage_redundancy",
        "backup_redundancy",
        "purge_protection",
    }


def test_subnet_plan_is_inside_the_vnet_and_disjoint() -> None:
    """The carved subnets lie inside the address space and never overlap; SQL MI gets >= /27."""
    cfg = parse(stack_data("prd"), "prd")
    nets = list(derive(cfg).subnets.values())
    assert all(n.subnet_of(cfg.network.address_space) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert derive(cfg).subnets["sqlMi"].prefixlen <= 27
    assert derive(cfg).subnets["aks"] == IPv4Network("10.43.0.0/22")


def test_subnet_override_is_respected_and_others_avoid_it() -> None:
    """An explicit subnet keeps its range; the rest are placed around it."""
    data = stack_data("uat")
    data["caas:network"]["subnets"] = {"vms": "10.42.0.0/24"}
    cfg = parse(data, "uat")
    assert derive(cfg).subnets["vms"] == IPv4Network("10.42.0.0/24")
    assert not derive(cfg).subnets["aks"].overlaps(derive(cfg).subnets["vms"])


def test_hostnames_follow_environment_and_system() -> None:
    """prd hostnames are bare, other environments are prefixed; edit systems carry -edit."""
    prd = derive(parse(stack_data("prd"), "prd")).hostnames
    uat = derive(parse(stack_data("uat"), "uat")).hostnames
    assert prd["live.shop"] == "shop.acme-shop.com"
    assert prd["edit.shop"] == "shop-edit.acme-shop.com"
    assert uat["live.shop"] == "uat-shop.acme-shop.com"
    assert uat["iom"] == "uat-iom.acme-shop.com"


def _delete(key: str):
    return lambda data: data.pop(f"caas:{key}")


BAD_INPUT = [
    ("prd", set_key("customer.code", "ACME"), "caas:customer.code", "2-8 lowercase"),
    ("prd", set_key("customer.code", "waytoolongcode"), "caas:customer.code", "2-8 lowercase"),
    ("prd", set_key("customer.nickname", "x"), "caas:customer.nickname", "unknown key; allowed here: code, name"),
    ("prd", set_key("environment", "dev"), "caas:environment", "'shared', 'int', 'uat' or 'prd'"),
    ("prd", set_key("colour", "blue"), "caas:colour", "unknown key"),
    ("prd", _delete("location"), "caas:location", "required"),
    ("prd", set_key("location.primary", "eastus"), "caas:location.primary", "outside the EU"),
    ("prd", set_key("location.dr", "westeurope"), "caas:location.dr", "must differ"),
    ("prd", set_key("location.primary", "moon"), "caas:location.primary", "unknown region"),
    ("prd", set_key("location.allowOutsideEu", True), "caas:location.waiverReason", "required when allowOutsideEu"),
    ("prd", set_key("network.addressSpace", "10.43.0.1/20"), "caas:network.addressSpace", "network"),
    ("prd", set_key("network.addressSpace", "10.43.0.0/24"), "caas:network.addressSpace", "too small"),
    (
        "prd",
        set_key("network.addressSpace", "10.40.0.0/20"),
        "caas:network.hubAddressSpace",
        "overlaps caas:network.addressSpace",
    ),
    ("prd", set_key("network.drAddressSpace", "10.43.8.0/24"), "caas:network.drAddressSpace", "overlaps"),
    (
        "prd",
        _delete("network.drAddressSpace") if False else set_key("network.drAddressSpace", None),
        "caas:network.drAddressSpace",
        "required in prd",
    ),
    ("prd", set_key("network.subnets", {"sqlMi": "10.43.15.0/28"}), "caas:network.subnets.sqlMi", "too small"),
    ("prd", set_key("network.subnets", {"vms": "10.99.0.0/24"}), "caas:network.subnets.vms", "outside"),
    (
        "prd",
        set_key("network.subnets", {"vms": "10.43.0.0/24", "privateEndpoints": "10.43.0.0/25"}),
        "caas:network.subnets.vms",
        "overlaps",
    ),
    ("prd", set_key("network.subnets", {"dmz": "10.43.15.0/24"}), "caas:network.subnets.dmz", "unknown subnet role"),
    ("prd", set_key("profile.protect", False), "caas:profile.protect", "prd cannot weaken"),
    ("prd", set_key("profile.zones", []), "caas:profile.zones", "prd cannot weaken"),
    ("prd", set_key("profile.backup", False), "caas:profile.backup", "prd cannot weaken"),
    ("prd", set_key("profile.purgeProtection", False), "caas:profile.purgeProtection", "prd cannot weaken"),
    ("prd", set_key("profile.logRetentionDays", 30), "caas:profile.logRetentionDays", "at least 90"),
    ("uat", set_key("location.primary", "germanynorth"), "caas:profile.zones", "no availability zones"),
    ("prd", set_key("apps", {"iom": True}), "caas:apps", "no ICM"),
    ("prd", _delete("sharedStack"), "caas:sharedStack", "required in the prd stack"),
    ("prd", set_key("registry", {"retentionDays": 7}), "caas:registry", "belongs to the shared stack"),
    ("shared", set_key("apps", {"icm11": True}), "caas:apps", "belongs to environment stacks"),
    ("shared", _delete("devops"), "caas:devops", "required in the shared stack"),
    ("shared", set_key("devops.serviceConnectionSubject", "acme"), "caas:devops.serviceConnectionSubject", "sc://"),
    (
        "prd",
        set_key("dns.hostnames", {"live": {"shop": "shop.acme-shop.com", "pwa": "shop.acme-shop.com"}}),
        "caas:dns.hostnames",
        "must be unique",
    ),
    ("prd", set_key("dns.domain", "Not A Domain"), "caas:dns.domain", "DNS name"),
    ("prd", set_key("tags", {"bad/name": "x"}), "caas:tags", "tag name"),
    ("prd", set_key("secrets", {"vpnSharedKey": "plaintext"}), "caas:secrets", "plain text found"),
    (
        "prd",
        set_key("vpn", {"sites": [{"name": "erp", "gatewayIp": "198.51.100.7", "addressPrefixes": ["10.43.4.0/24"]}]}),
        "caas:vpn.sites[0].addressPrefixes[0]",
        "overlaps caas:network.addressSpace",
    ),
    (
        "prd",
        set_key("vpn", {"sites": [{"name": "erp", "gatewayIp": "10.1.1.1", "addressPrefixes": ["192.168.10.0/24"]}]}),
        "caas:vpn.sites[0].gatewayIp",
        "not a public address",
    ),
    (
        "prd",
        set_key("vpn", {"sites": [{"name": "erp", "addressPrefixes": ["192.168.10.0/24"]}]}),
        "caas:vpn.sites[0].gatewayIp",
        "exactly one of gatewayIp and gatewayFqdn",
    ),
    ("prd", set_key("vpn", {"sku": "VpnGw2", "sites": []}), "caas:vpn.sku", "VpnGw2AZ"),
    ("prd", set_key("customer", "acme"), "caas:customer", "must be an object with the keys code, name"),
    (
        "prd",
        set_key("dns.hostnames", {"live": {"shop": "UPPER.example.com"}}),
        "caas:dns.hostnames.live.shop",
        "a lower-case DNS name",
    ),
]


@pytest.mark.parametrize(("stack", "mutate", "key", "text"), BAD_INPUT, ids=[f"{c[2]}:{c[3]}" for c in BAD_INPUT])
def test_bad_input_names_file_and_key(stack: str, mutate, key: str, text: str) -> None:
    """Each bad value yields a line `Pulumi.<stack>.yaml: <key>: ...` that says what is allowed."""
    assert_reported(stack, mutate, key, text)


def test_all_problems_are_reported_at_once() -> None:
    """Several structural problems come back together, one line each, sorted."""

    def mutate(data):
        data["caas:customer"]["code"] = "X"
        data["caas:environment"] = "dev"
        data["caas:bogus"] = 1

    lines = problems("prd", mutate)
    assert len(lines) == 3
    assert lines == sorted(lines)


def test_secrets_are_accepted_when_set_as_secrets() -> None:
    """A secure caas:secrets value is loaded as SecretStr and never printed."""
    data = stack_data("prd")
    data["caas:secrets"] = {"vpnSharedKey": "s3cr3t-value"}
    cfg = parse(data, "prd", secret_keys={"caas:secrets"})
    assert cfg.secrets.vpn_shared_key is not None
    assert "s3cr3t-value" not in repr(cfg)
    assert cfg.secrets.vpn_shared_key.get_secret_value() == "s3cr3t-value"


def test_waiver_allows_a_region_outside_the_eu() -> None:
    """Outside the EU only with an explicit, reasoned waiver."""
    data = stack_data("uat")
    data["caas:location"] = {
        "primary": "switzerlandnorth",
        "dr": "westeurope",
        "allowOutsideEu": True,
        "waiverReason": "Swiss data residency required by contract",
    }
    assert parse(data, "uat").location.primary == "switzerlandnorth"


def test_stack_file_secure_values_become_marked_placeholders(tmp_path) -> None:
    """Offline, `secure:` values are never decrypted: a placeholder stands in and the key is marked secret."""
    path = tmp_path / "Pulumi.prd.yaml"
    path.write_text("config:\n  caas:secrets:\n    vpnSharedKey:\n      secure: v1:abc\n  caas:environment: prd\n")
    raw, secret_keys = model.stack_file_config(str(path))
    assert secret_keys == {"caas:secrets"}
    assert model.SECRET_PLACEHOLDER in raw["caas:secrets"]
    assert "v1:abc" not in raw["caas:secrets"]


def test_environment_must_match_its_shared_stack() -> None:
    """hubAddressSpace, customer, region and the referenced stack agree with the shared stack file."""
    shared = parse(stack_data("shared"), "shared")
    data = stack_data("prd")
    data["caas:network"]["hubAddressSpace"] = "10.50.0.0/20"
    data["caas:sharedStack"] = "organization/caas-other/shared"
    keys = [key for key, _ in model.cross_stack_problems(parse(data, "prd"), shared, "caas-acme")]
    assert keys == ["caas:network.hubAddressSpace", "caas:sharedStack"]
    assert model.cross_stack_problems(parse(stack_data("prd"), "prd"), shared, "caas-acme") == []


def test_a_failing_item_is_not_echoed_as_an_empty_list() -> None:
    """A list whose only item is invalid reports the item, not also that the list is too short."""
    lines = problems(
        "prd", set_key("vpn", {"sites": [{"name": "erp", "gatewayIp": "198.51.100.7", "addressPrefixes": ["bad"]}]})
    )
    assert lines == ["Pulumi.prd.yaml: caas:vpn.sites[0].addressPrefixes[0]: input is not a valid IPv4 network"]
