"""Network rules: nothing on a host faces the internet; NSGs open only what the platform needs."""

from __future__ import annotations

from collections.abc import Iterator

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule
from caas.policy.resources import Resource


@resource_rule(
    "no-public-ip-on-host-nic",
    area="network",
    level=Level.MANDATORY,
    controls=("MCSB NS-2", "CIS Azure 2.1.0 7.x (VM management ports not exposed)"),
    description="A network interface (a host's) carries no public IP; hosts are reached through Bastion.",
)
def no_public_ip_on_host_nic(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != "azure-native:network:NetworkInterface":
        return
    for i, ip_config in enumerate(r.get("ipConfigurations") or ()):
        if isinstance(ip_config, dict) and ip_config.get("publicIPAddress"):
            yield f"ipConfigurations[{i}] attaches a public IP"


RULES = (no_public_ip_on_host_nic,)
