"""Partner connectivity: SFTP data exchange and site-to-site VPN.

``caas:sftp`` in the shared stack describes the customer's one SFTP host (a storage account) with one local
user and container per environment; an environment stack sets ``caas:sftp: {enabled: true}`` to reach it
through its own private endpoint. ``caas:vpn`` in an environment stack describes its VPN gateway and the
partner sites it connects to. ``caas.specs.connectivity`` derives the facts defined here (``SftpService``,
``SftpEndpoint``, ``VpnPlan``); components and runbooks read them from ``caas.specs.derive(cfg)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from caas import naming, secret_names, ssh
from caas.sections.base import Hostname, Label, Section
from caas.ssh import SshPublicKey

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------------------
# SFTP

SFTP_PORT = 22
# Public key types the SFTP endpoint accepts (learn.microsoft.com, "SFTP support for Azure Blob Storage",
# supported algorithms); rsa-sha2-256/512 are signatures made with an ssh-rsa key. RSA needs >= 2048 bits.
SSH_KEY_TYPES = ("ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384")
MAX_KEYS_PER_USER = 10  # Azure's limit per local user
# What a local user may do in its own container: read, write, delete, list, create. No ACL changes.
SFTP_PERMISSIONS = "rwdlc"
# Days a deleted file or container can still be restored (a partner's mistaken `rm` on production data).
SOFT_DELETE_DAYS = 7


class Housekeeping(Section):
    """Days after their last change that files are deleted, per folder of each environment's container."""

    import_days: int = Field(default=30, ge=1, le=3650, description="files in <container>/import/")
    export_days: int = Field(default=90, ge=1, le=3650, description="files in <container>/export/")


class SftpUser(Section):
    """An environment's local user: logs in with these keys only, to its own container only."""

    ssh_public_keys: tuple[str, ...] = Field(
        min_length=1,
        max_length=MAX_KEYS_PER_USER,
        description="OpenSSH public keys, '<type> <base64> [comment]' (the .pub file); logins are key-only",
    )


class Sftp(Section):
    """SFTP exchange: in the shared stack the host, its users and who may reach it; in environments only enabled."""

    enabled: bool = Field(
        default=True,
        description="environment stacks: link the VNet to the shared blob zone, reaching the host's hub endpoint",
    )
    allowed_source_ranges: tuple[IPv4Network, ...] = Field(
        default=(),
        max_length=400,
        description="partner IPv4 ranges allowed to reach the public SFTP endpoint; none: the private endpoint only",
    )
    housekeeping: Housekeeping = Housekeeping()
    users: dict[str, SftpUser] = Field(default_factory=dict, description="int, uat, prd: one local user each")


def parse_ssh_public_key(text: str) -> SshPublicKey:
    """``text`` as an OpenSSH public key of a type the SFTP endpoint accepts; ValueError saying why not."""
    return ssh.parse(text, SSH_KEY_TYPES, "Azure SFTP")


def sftp_user_name(customer: str, environment: str) -> str:
    """``icm<customer><env>``: Azure local user names allow lowercase letters and digits only."""
    return naming.check("sftp_user", f"icm{customer}{environment}")


def sftp_host(account: str) -> str:
    """SFTP is served on the account's blob endpoint."""
    return f"{account}.blob.core.windows.net"


@dataclass(frozen=True)
class SftpEndpoint:
    """One environment's exchange point: its local user, logging in to its own container."""

    environment: str
    user: str
    container: str

    @property
    def home_directory(self) -> str:
        return self.container

    def login(self, account: str) -> str:
        """The login form the service expects: ``<account>.<user>@<account>.blob.core.windows.net``."""
        return f"{account}.{self.user}@{sftp_host(account)}"

    def folder(self, name: str) -> str:
        """A lifecycle prefix: container first, then the folder (``prd/import/``)."""
        return f"{self.container}/{name}/"


@dataclass(frozen=True)
class LifecycleRule:
    name: str
    prefix: str
    days: int


@dataclass(frozen=True)
class SftpService:
    """The shared stack's SFTP host: account, network exposure, users and housekeeping."""

    account: str
    allowed_source_ranges: tuple[IPv4Network, ...]
    housekeeping: Housekeeping
    endpoints: dict[str, SftpEndpoint]
    keys: dict[str, tuple[SshPublicKey, ...]]
    port: int = SFTP_PORT

    @property
    def host(self) -> str:
        return sftp_host(self.account)

    @property
    def public(self) -> bool:
        """Partners on the internet need the public endpoint; without partner ranges it stays closed."""
        return bool(self.allowed_source_ranges)

    @property
    def ip_rules(self) -> list[str]:
        """Firewall entries: Azure takes a single address for a /32 and CIDR for larger ranges."""
        return [str(r.network_address) if r.prefixlen == 32 else str(r) for r in self.allowed_source_ranges]

    @property
    def lifecycle_rules(self) -> list[LifecycleRule]:
        """Delete files older than the housekeeping period, per environment and folder (rule names: alphanumeric)."""
        days = {"import": self.housekeeping.import_days, "export": self.housekeeping.export_days}
        return [
            LifecycleRule(f"{env}{folder.capitalize()}", endpoint.folder(folder), days[folder])
            for env, endpoint in self.endpoints.items()
            for folder in ("import", "export")
        ]


# --------------------------------------------------------------------------------------------------------
# Site-to-site VPN

# Zone-redundant SKUs that run as Generation2 (learn.microsoft.com, "About gateway SKUs": VpnGw1AZ is
# Generation1 only). Non-AZ SKUs cannot be created since January 2025 ("VPN Gateway SKU consolidation").
GatewaySku = Literal["VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ"]
GATEWAY_GENERATION = "Generation2"
DPD_TIMEOUT_SECONDS = 45
# ASNs a BGP speaker may not use (learn.microsoft.com, "About BGP with VPN Gateway"): Azure's own and
# IANA-reserved ones. The Azure gateway itself defaults to 65515, which partner devices may not use.
AZURE_RESERVED_ASNS = frozenset({8074, 8075, 12076, 65515, 65517, 65518, 65519, 65520})
IANA_RESERVED_ASNS = (range(23456, 23457), range(64496, 64512), range(65535, 65552), range(4294967295, 4294967296))
DEFAULT_GATEWAY_ASN = 65515


class VpnSite(Section):
    """One partner or on-premises site: its VPN device and the ranges behind it."""

    name: Label = Field(description="names its local gateway, connection and generated key")
    gateway_ip: IPv4Address | None = Field(default=None, description="the partner device's public IPv4 address")
    gateway_fqdn: Hostname | None = Field(default=None, description="or its DNS name")
    address_prefixes: tuple[IPv4Network, ...] = Field(min_length=1, description="partner ranges routed to it")
    bgp_asn: int | None = Field(default=None, ge=1, le=4294967295, description="with enableBgp: the device's ASN")
    bgp_peering_address: IPv4Address | None = Field(default=None, description="with enableBgp: its BGP address")


class Vpn(Section):
    """Site-to-site VPN of the environment (off when absent): a gateway in its GatewaySubnet, a tunnel per site."""

    sku: GatewaySku = Field(default="VpnGw2AZ", description="zone-redundant Generation2 SKU")
    active_active: bool | None = Field(default=None, description="two instances and public IPs; default: on in prd")
    enable_bgp: bool = Field(default=False, description="dynamic routing; off: static routes from addressPrefixes")
    bgp_asn: int = Field(default=DEFAULT_GATEWAY_ASN, ge=1, le=4294967295, description="the Azure gateway's ASN")
    sa_lifetime_seconds: int = Field(default=27000, ge=300, le=172799, description="IPsec (quick mode) SA lifetime")
    sa_data_size_kilobytes: int = Field(default=102400000, ge=1024, le=2147483647, description="IPsec SA data limit")
    sites: tuple[VpnSite, ...] = Field(min_length=1, description="one tunnel (two when active-active) per site")


@dataclass(frozen=True)
class IpsecPolicy:
    """The explicit IPsec/IKE policy of every connection; partners configure the same on their side."""

    sa_lifetime_seconds: int
    sa_data_size_kilobytes: int
    ike_encryption: str = "AES256"
    ike_integrity: str = "SHA256"
    dh_group: str = "DHGroup14"
    ipsec_encryption: str = "AES256"
    ipsec_integrity: str = "SHA256"
    pfs_group: str = "PFS2048"
    protocol: str = "IKEv2"
    dpd_timeout_seconds: int = DPD_TIMEOUT_SECONDS

    def describe(self) -> dict[str, str | int]:
        """camelCase, for stack outputs and runbooks."""
        return {
            "protocol": self.protocol,
            "ikeEncryption": self.ike_encryption,
            "ikeIntegrity": self.ike_integrity,
            "dhGroup": self.dh_group,
            "ipsecEncryption": self.ipsec_encryption,
            "ipsecIntegrity": self.ipsec_integrity,
            "pfsGroup": self.pfs_group,
            "saLifetimeSeconds": self.sa_lifetime_seconds,
            "saDataSizeKilobytes": self.sa_data_size_kilobytes,
            "dpdTimeoutSeconds": self.dpd_timeout_seconds,
        }


@dataclass(frozen=True)
class VpnPlan:
    """An environment's VPN gateway with its effective defaults."""

    sku: str
    active_active: bool
    zones: tuple[str, ...]
    bgp_asn: int | None  # None: static routing
    azure_address_ranges: tuple[IPv4Network, ...]  # what partners route into the tunnel
    ipsec: IpsecPolicy
    sites: tuple[VpnSite, ...]
    generation: str = GATEWAY_GENERATION

    @staticmethod
    def key_secret_name(site: str) -> str:
        """Key Vault secret holding a site's pre-shared key (caas.secret_names; kept for the runbooks)."""
        return secret_names.vpn_shared_key(site)


# --------------------------------------------------------------------------------------------------------
# Checks


def _reserved_asn(asn: int) -> bool:
    return asn in AZURE_RESERVED_ASNS or any(asn in r for r in IANA_RESERVED_ASNS)


def _check_site_bgp(vpn: Vpn, site: VpnSite, key: str, azure: dict[str, IPv4Network], p: list[tuple[str, str]]) -> None:
    if not vpn.enable_bgp:
        if site.bgp_asn is not None or site.bgp_peering_address is not None:
            p.append((f"{key}.bgpAsn", "BGP is off (caas:vpn.enableBgp); remove the BGP settings or turn it on"))
        return
    if site.bgp_asn is None or site.bgp_peering_address is None:
        p.append((f"{key}.bgpAsn", "BGP is on: set bgpAsn and bgpPeeringAddress for every site"))
        return
    if _reserved_asn(site.bgp_asn) or site.bgp_asn == vpn.bgp_asn:
        p.append((f"{key}.bgpAsn", f"{site.bgp_asn} is reserved or equals the gateway's ASN {vpn.bgp_asn}"))
    for name, azure_range in azure.items():
        if site.bgp_peering_address in azure_range:
            p.append((f"{key}.bgpPeeringAddress", f"{site.bgp_peering_address} lies in {name} {azure_range}"))
