"""Physical names and the subnet plan: pure functions, no Pulumi."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from caas import addressing, naming

NAMER = naming.Namer("acme", "prd", "westeurope")


@pytest.mark.parametrize(
    ("kind", "part", "expected"),
    [
        ("resource_group", None, "rg-acme-prd-weu"),
        ("vnet", None, "vnet-acme-prd-weu"),
        ("nsg", "aks", "nsg-acme-prd-weu-aks"),
        ("key_vault", None, "kv-acme-prd-weu"),
        ("log_analytics", None, "log-acme-prd-weu"),
        ("private_endpoint", "cr", "pe-acme-prd-weu-cr"),
    ],
)
def test_caf_names(kind: str, part: str | None, expected: str) -> None:
    """`<abbrev>-<customer>-<env>-<region>[-<part>]`, no random suffix."""
    assert NAMER.resource(kind, part) == expected


def test_compact_names_for_registry_and_storage() -> None:
    """Registry and storage names drop hyphens and stay lowercase alphanumeric within limits."""
    assert naming.Namer("acme", "shared", "westeurope").compact("registry") == "cracmesharedweu"
    assert NAMER.compact("storage", "nfs") == "stacmeprdweunfs"


def test_limits_are_enforced() -> None:
    """A name over Azure's limit is refused with the rule in the message."""
    with pytest.raises(ValueError, match="Azure allows 3-24"):
        naming.Namer("abcdefgh", "shared", "germanywestcentral").compact("storage", "sftpexchange")
    with pytest.raises(ValueError, match="pattern"):
        naming.check("storage", "St-Upper")


def test_dr_namer_changes_only_the_region() -> None:
    """The DR region's names differ only in the region code."""
    assert NAMER.in_region("northeurope").resource("vnet") == "vnet-acme-prd-neu"


def test_tags_validation() -> None:
    """Azure refuses < > % & \\ ? / in tag names and values over 256 characters."""
    assert naming.validate_tags({"cost-center": "x"}) == []
    assert len(naming.validate_tags({"a/b": "x", "ok": "v" * 257})) == 2


def test_plan_places_defaults_largest_first_and_aligned() -> None:
    """Default subnets are carved largest first, each aligned on its own size."""
    plan = addressing.plan_subnets(IPv4Network("10.0.0.0/20"), addressing.ENVIRONMENT_SUBNETS, {})
    assert plan["aks"] == IPv4Network("10.0.0.0/22")
    assert plan["vms"] == IPv4Network("10.0.4.0/24")
    assert plan["gateway"].prefixlen == 27
    assert all(net.network_address.packed[-1] % net.num_addresses == 0 or net.prefixlen < 24 for net in plan.values())


def test_minimum_prefix_holds_every_default_subnet() -> None:
    """The smallest VNet accepted still holds every default subnet."""
    prefix = addressing.minimum_prefix(addressing.ENVIRONMENT_SUBNETS)
    assert prefix == 21
    addressing.plan_subnets(IPv4Network(f"10.0.0.0/{prefix}"), addressing.ENVIRONMENT_SUBNETS, {})
    with pytest.raises(ValueError, match=r"does not fit|no free"):
        addressing.plan_subnets(IPv4Network("10.0.0.0/22"), addressing.ENVIRONMENT_SUBNETS, {})


def test_overlaps_lists_each_pair_once() -> None:
    """Overlap detection reports each overlapping pair once, in a stable order."""
    nets = {"a": IPv4Network("10.0.0.0/24"), "b": IPv4Network("10.0.0.128/25"), "c": IPv4Network("10.1.0.0/24")}
    assert addressing.overlaps(nets) == [("a", "b")]
