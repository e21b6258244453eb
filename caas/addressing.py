"""CIDR arithmetic: carve a VNet's address space into the subnets its stack needs. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network


@dataclass(frozen=True)
class SubnetSpec:
    role: str  # model key, e.g. "sqlMi"
    name: str  # Azure subnet name (some are fixed by the service)
    prefix: int  # default prefix length
    max_prefix: int  # smallest subnet the service accepts

    @property
    def nsg_part(self) -> str:
        """The name part of the subnet's NSG (``nsg-<customer>-<env>-<region>-<part>``)."""
        return self.name.removeprefix("snet-").lower()


# Largest first, so sequential allocation stays naturally aligned. The GatewaySubnet is reserved even
# while VPN is off, so switching VPN on never moves another subnet.
ENVIRONMENT_SUBNETS = (
    SubnetSpec("aks", "snet-aks", 22, 24),
    SubnetSpec("vms", "snet-vms", 24, 27),
    SubnetSpec("privateEndpoints", "snet-private-endpoints", 24, 27),
    SubnetSpec("appGateway", "snet-app-gateway", 24, 26),
    SubnetSpec("sqlMi", "snet-sql-mi", 26, 27),  # SQL MI needs a dedicated, delegated /27 or larger
    SubnetSpec("postgres", "snet-postgres", 27, 28),  # PostgreSQL flexible server: delegated, >= /28
    SubnetSpec("gateway", "GatewaySubnet", 27, 27),  # name fixed by Azure; VPN gateways need >= /27
)
HUB_SUBNETS = (
    SubnetSpec("privateEndpoints", "snet-private-endpoints", 24, 27),
    SubnetSpec("buildAgents", "snet-build-agents", 24, 27),
    SubnetSpec("bastion", "AzureBastionSubnet", 26, 26),  # name fixed by Azure; Bastion needs >= /26
)
DR_SUBNETS = (
    SubnetSpec("sqlMi", "snet-sql-mi", 26, 27),
    SubnetSpec("privateEndpoints", "snet-private-endpoints", 27, 28),
)
# The application tier's subnets in the DR VNet, carved from caas:network.drAppAddressSpace (a second prefix of
# the DR VNet) only once caas:disasterRecovery.activate is on: until then the DR VNet stays as it is. Same roles
# and sizes as the primary spoke's; the DR VNet's privateEndpoints subnet serves the vault and the NFS share.
DR_APP_SUBNETS = tuple(s for s in ENVIRONMENT_SUBNETS if s.role in ("aks", "vms", "appGateway"))
# The shared stack's hub in the DR region (caas:network.drAddressSpace of the shared stack): the DR build agents
# and the private endpoints the activation run needs there (the registry's geo-replica).
DR_HUB_SUBNETS = tuple(s for s in HUB_SUBNETS if s.role in ("privateEndpoints", "buildAgents"))


def minimum_prefix(specs: tuple[SubnetSpec, ...]) -> int:
    """The longest prefix (smallest VNet) that still holds every default subnet."""
    needed = sum(2 ** (32 - s.prefix) for s in specs)
    prefix = 32
    while 2 ** (32 - prefix) < needed:
        prefix -= 1
    return prefix


def plan_subnets(
    space: IPv4Network, specs: tuple[SubnetSpec, ...], overrides: dict[str, IPv4Network]
) -> dict[str, IPv4Network]:
    """Place every role: overrides where given, the rest first-fit in the remaining space.

    Raises ValueError when a default-sized subnet no longer fits.
    """
    placed: dict[str, IPv4Network] = {role: net for role, net in overrides.items()}
    for spec in specs:
        if spec.role in placed:
            continue
        if spec.prefix < space.prefixlen:
            raise ValueError(f"/{spec.prefix} for {spec.role} does not fit in {space}")
        for candidate in space.subnets(new_prefix=spec.prefix):
            if not any(candidate.overlaps(other) for other in placed.values()):
                placed[spec.role] = candidate
                break
        else:
            raise ValueError(f"no free /{spec.prefix} left in {space} for {spec.role}")
    return {spec.role: placed[spec.role] for spec in specs}


def overlaps(named: dict[str, IPv4Network]) -> list[tuple[str, str]]:
    """Every pair of names whose ranges overlap, in a stable order."""
    items = sorted(named.items())
    return [(a, b) for i, (a, na) in enumerate(items) for b, nb in items[i + 1 :] if na.overlaps(nb)]
