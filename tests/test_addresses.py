"""What counts as a partner's internet address: ipaddress's classes, documentation ranges as the one exception."""

from ipaddress import IPv4Network

import pytest

from caas.addresses import non_public_part


@pytest.mark.parametrize(
    "network",
    [
        "10.1.0.0/16",  # private
        "100.64.0.0/10",  # shared address space (CGNAT)
        "169.254.0.0/16",  # link-local
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
        "172.0.0.0/8",  # both ends global, 172.16.0.0/12 inside
        "96.0.0.0/4",  # both ends global, 100.64.0.0/10 inside
        "0.0.0.0/0",
    ],
)
def test_ranges_that_are_not_on_the_internet_are_named(network):
    """A range is refused when any part of it is not a global address, even one its ends do not show."""
    assert non_public_part(IPv4Network(network)) is not None


@pytest.mark.parametrize(
    "network", ["8.8.8.0/24", "20.50.0.0/16", "198.51.100.0/28", "192.0.2.25/32", "203.0.113.0/24"]
)
def test_public_and_documentation_ranges_pass(network):
    """Public ranges pass; the RFC 5737 documentation ranges pass by name, for the sample stack files."""
    assert non_public_part(IPv4Network(network)) is None
