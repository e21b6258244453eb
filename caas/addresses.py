"""Which IPv4 ranges can be a partner's internet address: Python's `ipaddress` classes, in one place.

`ipaddress` knows the IANA special-purpose registry (private, shared/CGNAT, loopback, link-local, reserved,
"this network"; multicast is its own class), so no table of ranges is kept here. The one exception is explicit:
the documentation ranges of RFC 5737 are not globally routable either, but the sample stack files use them in
place of real partner addresses, so they count as public.
"""

from __future__ import annotations

from ipaddress import IPv4Network

DOCUMENTATION_RANGES = tuple(IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
# Down to this size a range is split to find a special block inside it whose ends are global (172.16.0.0/12
# inside 172.0.0.0/8); smaller special blocks (/24 and below) touch the ends of any range short enough to hold them.
_SPLIT_DOWN_TO = 16


def non_public_part(network: IPv4Network) -> IPv4Network | None:
    """The first part of ``network`` that is not a global internet address (None when it is all public)."""
    if any(network.subnet_of(doc) for doc in DOCUMENTATION_RANGES):
        return None
    for address in (network.network_address, network.broadcast_address):
        if not address.is_global or address.is_multicast:
            return IPv4Network(address)
    if network.prefixlen >= _SPLIT_DOWN_TO:
        return None
    return next((part for half in network.subnets() if (part := non_public_part(half)) is not None), None)
