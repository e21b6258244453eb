"""Config of the compute estate: ``caas:aks``, ``caas:icm710``, ``caas:fileShares`` and ``caas:publicEntry``.

Sizes the stack file leaves out come from one table per scale (``profile.scale``: ``production`` in prd,
``small`` in uat and int), so every environment's hosts are readable here and diffable in review.
The cross-field rules live beside the derivations (``caas.specs.compute.problems``), which they need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from caas import ssh
from caas.sections.base import Section

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class VmSize:
    vcpus: int
    memory_gib: int
    temp_disk_gib: int  # 0: no local temp disk, so no ephemeral OS disk


# The sizes a stack may use (learn.microsoft.com, "Dv5 and Dsv5-series", "Ddv5 and Ddsv5-series",
# "Dlsv5-series", "Dldsv5-series", "Esv5-series", "Edsv5-series"). Every one supports Premium SSD,
# Trusted Launch (Gen2), encryption at host and accelerated networking, which the hosts rely on.
VM_SIZES: dict[str, VmSize] = {
    "Standard_D2ls_v5": VmSize(2, 4, 0),
    "Standard_D4ls_v5": VmSize(4, 8, 0),
    "Standard_D8ls_v5": VmSize(8, 16, 0),
    "Standard_D2lds_v5": VmSize(2, 4, 75),
    "Standard_D4lds_v5": VmSize(4, 8, 150),
    "Standard_D8lds_v5": VmSize(8, 16, 300),
    "Standard_D2s_v5": VmSize(2, 8, 0),
    "Standard_D4s_v5": VmSize(4, 16, 0),
    "Standard_D8s_v5": VmSize(8, 32, 0),
    "Standard_D16s_v5": VmSize(16, 64, 0),
    "Standard_D2ds_v5": VmSize(2, 8, 75),
    "Standard_D4ds_v5": VmSize(4, 16, 150),
    "Standard_D8ds_v5": VmSize(8, 32, 300),
    "Standard_D16ds_v5": VmSize(16, 64, 600),
    "Standard_E2s_v5": VmSize(2, 16, 0),
    "Standard_E4s_v5": VmSize(4, 32, 0),
    "Standard_E8s_v5": VmSize(8, 64, 0),
    "Standard_E16s_v5": VmSize(16, 128, 0),
    "Standard_E2ds_v5": VmSize(2, 16, 75),
    "Standard_E4ds_v5": VmSize(4, 32, 150),
    "Standard_E8ds_v5": VmSize(8, 64, 300),
    "Standard_E16ds_v5": VmSize(16, 128, 600),
}

# ICM 7.10 host roles (config key -> short name in resource names) and the memory each needs at least.
HOST_ROLES = {"webAdapter": "wa", "appServer": "as", "solr": "solr"}
MIN_MEMORY_GIB = {"webAdapter": 4, "appServer": 8, "solr": 8}
# AKS refuses nodes below 4 GiB (and 2 vCPUs, which every allowed size has).
AKS_MIN_MEMORY_GIB = 4

# Linux user names Azure refuses for the VM administrator.
_RESERVED = (
    "administrator admin user user1 test user2 test1 user3 admin1 1 123 a actuser adm admin2 aspnet backup "
    "console david guest john owner root server sql support support_388945a0 sys test2 test3 user4 user5"
)
RESERVED_USERNAMES = frozenset(_RESERVED.split())
WEEKDAYS = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# --------------------------------------------------------------------------------------------------------
# Per-scale defaults: the one place environment sizes come from.


@dataclass(frozen=True)
class HostSpec:
    count: int
    vm_size: str
    data_disk_gb: int | None = None


@dataclass(frozen=True)
class PoolSpec:
    vm_size: str
    min_count: int
    max_count: int

    @property
    def os_disk(self) -> tuple[Literal["Ephemeral", "Managed"], int]:
        """Ephemeral OS disk on the VM's temp disk where it is large enough, else a managed one."""
        temp = VM_SIZES[self.vm_size].temp_disk_gib
        if temp >= 128:
            return "Ephemeral", 128
        if temp >= 64:
            return "Ephemeral", 64
        return "Managed", 128


ICM710_DEFAULTS: dict[str, dict[str, HostSpec]] = {
    "production": {
        "webAdapter": HostSpec(2, "Standard_D2s_v5"),
        "appServer": HostSpec(2, "Standard_E4s_v5"),
        "solr": HostSpec(2, "Standard_E2s_v5", data_disk_gb=128),
    },
    "small": {
        "webAdapter": HostSpec(1, "Standard_D2ls_v5"),
        "appServer": HostSpec(1, "Standard_E2s_v5"),
        "solr": HostSpec(1, "Standard_D2s_v5", data_disk_gb=64),
    },
}
AKS_POOL_DEFAULTS: dict[str, dict[str, PoolSpec]] = {
    "production": {"system": PoolSpec("Standard_D4ds_v5", 3, 5), "user": PoolSpec("Standard_D8ds_v5", 3, 12)},
    "small": {"system": PoolSpec("Standard_D2ds_v5", 2, 3), "user": PoolSpec("Standard_D4ds_v5", 2, 6)},
}
SHARE_QUOTA_DEFAULTS: dict[str, dict[str, int]] = {
    "production": {"icm710": 1024, "icm11": 512, "iom": 256},
    "small": {"icm710": 256, "icm11": 128, "iom": 100},
}
GATEWAY_CAPACITY_DEFAULTS: dict[str, tuple[int, int]] = {"production": (2, 10), "small": (1, 3)}


# --------------------------------------------------------------------------------------------------------
# Sections as the stack file spells them; None means "the scale's default" (tables above).


def _scale_default(describe) -> str:
    """'default: production …, small …' for a field's description, from the tables above."""
    return "default: " + "; ".join(f"{scale} {describe(scale)}" for scale in ("production", "small"))


def _hosts_default(role: str) -> str:
    return _scale_default(lambda scale: _host_text(ICM710_DEFAULTS[scale][role]))


def _host_text(spec: HostSpec) -> str:
    disk = f", {spec.data_disk_gb} GB index disk" if spec.data_disk_gb else ""
    return f"{spec.count} x {spec.vm_size}{disk}"


def _pool_default(pool: str) -> str:
    return _scale_default(
        lambda scale: "{0.vm_size} x {0.min_count}-{0.max_count}".format(AKS_POOL_DEFAULTS[scale][pool])
    )


def _quota_default(app: str) -> str:
    return _scale_default(lambda scale: f"{SHARE_QUOTA_DEFAULTS[scale][app]} GiB")


class NodePool(Section):
    vm_size: str | None = Field(default=None, description="one of the allowed VM sizes (docs/compute.md)")
    min_count: int | None = Field(default=None, ge=1, le=100, description="autoscaler lower bound")
    max_count: int | None = Field(default=None, ge=1, le=100, description="autoscaler upper bound")


class MaintenanceWindow(Section):
    day_of_week: WEEKDAYS = "Sunday"
    start_time: str = Field(default="02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    duration_hours: int = Field(default=4, ge=4, le=24)
    utc_offset: str = Field(default="+00:00", pattern=r"^[+-](0\d|1[0-4]):[0-5]\d$", description="+HH:MM")


class Aks(Section):
    """``caas:aks``: the environment's cluster (built when ICM 11, IOM, PWA or microservices are on)."""

    kubernetes_version: str = Field(default="1.36", pattern=r"^1\.\d{2}(\.\d{1,2})?$", description="e.g. 1.36")
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image"] = Field(
        default="patch", description="automatic Kubernetes upgrades, inside the maintenance window"
    )
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch"] = Field(
        default="NodeImage", description="automatic node OS updates, inside the maintenance window"
    )
    maintenance_window: MaintenanceWindow = Field(
        default=MaintenanceWindow(), description="weekly window for both AKS-managed upgrade schedules"
    )
    system_pool: NodePool = Field(default=NodePool(), description=f"critical add-ons only; {_pool_default('system')}")
    user_pool: NodePool = Field(default=NodePool(), description=f"workloads; {_pool_default('user')}")
    # Overlay: pods and services get addresses outside every VNet; they must not collide with any routed range.
    pod_cidr: IPv4Network = Field(
        default=IPv4Network("10.244.0.0/16"), description="overlay pod range; no overlap with any VNet or VPN site"
    )
    service_cidr: IPv4Network = Field(
        default=IPv4Network("10.245.0.0/16"), description="/12-/24; no overlap with pods, VNets or VPN sites"
    )
    ingress_ip: IPv4Address | None = Field(
        default=None,
        description="private IP of the ingress controller's internal load balancer; default: the AKS subnet's "
        "last usable address",
    )
    admin_group_object_ids: tuple[str, ...] = Field(
        default=(), description="Entra ID groups with cluster-admin through Azure RBAC"
    )
    deployer_principal_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="object id of the deployer identity (printed by `python -m caas init`); the stack grants it "
        "AKS RBAC Cluster Admin on the cluster; required while caas:kubernetes.enabled is true",
    )


class HostGroup(Section):
    count: int | None = Field(default=None, ge=1, le=20, description="hosts of this role in the system")
    vm_size: str | None = Field(default=None, description="one of the allowed VM sizes (docs/compute.md)")


class SearchHostGroup(HostGroup):
    data_disk_gb: int | None = Field(default=None, ge=32, le=4095, description="Premium SSD for the Solr index")


class Icm710System(Section):
    web_adapter: HostGroup = Field(
        default=HostGroup(), description=f"Apache + web adapter behind the internal LB; {_hosts_default('webAdapter')}"
    )
    app_server: HostGroup = Field(
        default=HostGroup(), description=f"Tomcat, >= 8 GiB memory; {_hosts_default('appServer')}"
    )
    solr: SearchHostGroup = Field(default=SearchHostGroup(), description=f"search hosts; {_hosts_default('solr')}")


class Icm710(Section):
    """``caas:icm710``: the VM hosts of ICM 7.10, per system (live, edit)."""

    admin_username: str = Field(
        default="icmadmin",
        pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="a Linux user name (lower case, <= 32 characters) for the SSH-only administrator",
    )
    ssh_public_keys: tuple[str, ...] = Field(
        min_length=1, description="operators' SSH public keys, Ed25519 or RSA >= 2048 bits (no passwords)"
    )
    share_path: str = Field(
        default="/var/intershop/share",
        pattern=r"^(/[A-Za-z0-9._-]+)+$",
        description="an absolute path: where hosts mount their system's NFS share (IS_SHARE)",
    )
    live: Icm710System = Field(default=Icm710System(), description="the live system's hosts")
    edit: Icm710System = Field(default=Icm710System(), description="the edit system's hosts")


class FileShares(Section):
    """``caas:fileShares``: provisioned size (GiB) of each NFS share; Premium shares start at 100 GiB."""

    icm710_quota_gib: int | None = Field(
        default=None, ge=100, le=102400, description=f"per ICM 7.10 system; {_quota_default('icm710')}"
    )
    icm11_quota_gib: int | None = Field(
        default=None, ge=100, le=102400, description=f"per ICM 11 system (sites); {_quota_default('icm11')}"
    )
    iom_quota_gib: int | None = Field(default=None, ge=100, le=102400, description=_quota_default("iom"))
    soft_delete_days: int = Field(default=14, ge=1, le=365, description="deleted shares are kept this long")
    root_squash: Literal["RootSquash", "NoRootSquash", "AllSquash"] = Field(
        default="RootSquash", description="NoRootSquash only briefly, to hand directories to ICM's user"
    )


# Certificate issuers of a Key Vault policy (learn.microsoft.com, "About Azure Key Vault certificates",
# "Certificate issuer"): the CAs Key Vault partners with, or Unknown (Key Vault returns a CSR the customer's CA
# signs, merged back); "imported" keeps the PFX import path and sets no policy.
INTEGRATED_CAS = ("DigiCert", "GlobalSign")
ISSUERS = Literal["imported", "DigiCert", "GlobalSign", "Unknown"]


class CertificateIssuance(Section):
    """``caas:publicEntry.issuance``: how the gateway's certificates are issued and renewed in the Key Vault."""

    issuer: ISSUERS = Field(
        default="imported",
        description="imported: PFX files imported by pipelines/estate/certificates.yml (no policy); DigiCert or "
        "GlobalSign: the customer's account with that CA, Key Vault orders and renews; Unknown: Key Vault makes "
        "the key and a CSR, the customer's CA signs it, the pipeline merges it back",
    )
    key_type: Literal["RSA", "EC"] = Field(default="RSA", description="the certificates' key type")
    key_size: Literal[2048, 3072, 4096] = Field(default=2048, description="RSA key size in bits")
    curve: Literal["P-256", "P-384"] = Field(default="P-256", description="EC curve")
    validity_months: int = Field(
        default=12, ge=1, le=36, description="validity of each issued certificate (the CA may issue shorter)"
    )
    renew_days_before_expiry: int | None = Field(
        default=None,
        ge=1,
        description="when Key Vault renews (integrated CA) or emails the contacts (Unknown); default: 60, ahead "
        "of Key Vault's near-expiry event 30 days before expiry, so that alert means the renewal failed",
    )
    renew_at_lifetime_percent: int | None = Field(
        default=None, ge=1, le=99, description="instead of renewDaysBeforeExpiry: renew at this share of the lifetime"
    )


class PublicEntry(Section):
    """``caas:publicEntry``: the Application Gateway; off until the certificates are in the Key Vault."""

    enabled: bool = Field(default=False, description="switch on once every certificate is imported")
    certificates: dict[str, str] = Field(
        default_factory=dict,
        description="hostname role (live.shop ...) -> Key Vault certificate name; default: the hostname with - for .",
    )
    restricted_sources: tuple[IPv4Network, ...] = Field(
        default=(), description="public ranges that may reach edit, back-office and IOM hostnames"
    )
    issuance: CertificateIssuance = Field(
        default=CertificateIssuance(), description="issuance and renewal of the certificates (Key Vault policies)"
    )
    min_capacity: int | None = Field(
        default=None, ge=0, le=125, description=_scale_default(lambda s: str(GATEWAY_CAPACITY_DEFAULTS[s][0]))
    )
    max_capacity: int | None = Field(
        default=None, ge=1, le=125, description=_scale_default(lambda s: str(GATEWAY_CAPACITY_DEFAULTS[s][1]))
    )


# --------------------------------------------------------------------------------------------------------
# Effective values, read through EstateConfig's properties.


@dataclass(frozen=True)
class Route:
    """One public hostname: where the gateway sends it and who may reach it."""

    role: str  # live.shop, edit.backoffice, iom ...
    hostname: str
    certificate: str  # Key Vault certificate name
    backend: str  # icm710-live, icm710-edit or aks
    restricted: bool  # only from caas:publicEntry.restrictedSources
    probe_path: str

    @property
    def slug(self) -> str:
        return self.role.replace(".", "-")


# Paths the gateway probes; any 200-399 answer counts as healthy.
PROBE_PATHS = {"shop": "/", "backoffice": "/", "pwa": "/", "iom": "/omt/"}


def default_certificate_name(hostname: str) -> str:
    """Key Vault object names allow letters, digits and hyphens: shop.acme.com -> shop-acme-com."""
    return hostname.replace(".", "-")


# --------------------------------------------------------------------------------------------------------
# Cross-field rules


def _check_vm_size(key: str, size: str, min_memory_gib: int, what: str, p: list[tuple[str, str]]) -> None:
    if size not in VM_SIZES:
        p.append((key, f"unknown VM size '{size}'; allowed: {', '.join(VM_SIZES)}"))
        return
    memory = VM_SIZES[size].memory_gib
    if memory < min_memory_gib:
        bigger = [name for name, s in VM_SIZES.items() if s.memory_gib >= min_memory_gib][:3]
        p.append(
            (
                key,
                f"{size} has {memory} GiB memory; {what} needs at least {min_memory_gib} GiB "
                f"(e.g. {', '.join(bigger)})",
            )
        )


OPERATOR_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")


def ssh_key_problem(line: str) -> str | None:
    """Why ``line`` is not an SSH public key the hosts accept (Ed25519, or RSA of 2048+ bits); None if it is."""
    try:
        ssh.parse(line, OPERATOR_KEY_TYPES, "the ICM 7.10 hosts")
    except ValueError as exc:
        return str(exc)
    return None


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
