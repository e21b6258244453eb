"""The stack model: one validated, immutable description of everything a stack's config declares.

``caas.config`` reads and validates it (one line per problem); ``caas.specs.derive`` turns it into the typed
per-area specs the components take. The model itself holds no derived facts beyond the effective profile.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, SecretStr

from caas.profiles import EnvironmentRules, Profile, ProfileOverrides, effective, rules
from caas.sections import access, compute
from caas.sections import data as data_section
from caas.sections import kubernetes as kubernetes_layer
from caas.sections.base import Hostname, Section
from caas.sections.connectivity import Sftp, Vpn

NAMESPACE = "caas"
# A DIY backend (the azblob state of `caas init`) scopes stacks by project, and the organisation part of a stack
# name is always this literal (Pulumi docs, "Stacks": "For DIY backend, the orgName portion of the stack name must
# always be the constant value organization").
DIY_ORGANIZATION = "organization"


class Customer(Section):
    """The customer whose estate this is."""

    code: str = Field(pattern=r"^[a-z0-9]{2,8}$", description="2-8 lowercase letters/digits, part of every name")
    name: str = Field(min_length=1, max_length=80, description="display name in runbooks")


class Location(Section):
    """Where the stack runs; EU regions only unless waived (GDPR)."""

    primary: str = Field(description="Azure region of the stack, e.g. westeurope")
    dr: str = Field(description="disaster-recovery region, e.g. northeurope")
    allow_outside_eu: bool = Field(default=False, description="waive the EU-only rule (GDPR); needs waiverReason")
    waiver_reason: str | None = Field(default=None, min_length=10)


class Network(Section):
    """The stack's VNet range; subnets are carved from it deterministically."""

    address_space: IPv4Network
    hub_address_space: IPv4Network | None = Field(default=None, description="env stacks: the shared hub's range")
    dr_address_space: IPv4Network | None = Field(
        default=None, description="prd: the DR region's VNet range; shared: the DR region's hub range (DR agents)"
    )
    dr_app_address_space: IPv4Network | None = Field(
        default=None,
        description="prd: the DR VNet's second range, for the application tier once caas:disasterRecovery.activate",
    )
    subnets: dict[str, IPv4Network] = Field(default_factory=dict, description="per-role overrides of the plan")


class DisasterRecovery(Section):
    """``caas:disasterRecovery``: the application tier in the DR region (docs/recovery.md, "Region loss")."""

    activate: bool = Field(
        default=False,
        description="render the application tier (AKS, gateway, vault, ICM 7.10 hosts, NFS) in the DR region; "
        "only where the profile has disasterRecovery",
    )


class Apps(Section):
    """Which parts of the Intershop platform run in this environment."""

    icm710: bool = Field(default=False, description="ICM 7.10 on VMs with a shared file system")
    icm11: bool = Field(default=False, description="ICM 11 on AKS")
    iom: bool = False
    pwa: bool = False
    microservices: bool = False

    @property
    def containerised(self) -> bool:
        return self.icm11 or self.iom or self.pwa or self.microservices


class SystemHostnames(Section):
    """Public hostnames of one system; defaults derive from caas:dns.domain."""

    shop: Hostname | None = None
    backoffice: Hostname | None = None
    pwa: Hostname | None = None


class HostnameOverrides(Section):
    """Per-system hostname overrides."""

    live: SystemHostnames = SystemHostnames()
    edit: SystemHostnames = SystemHostnames()
    iom: Hostname | None = None


class Dns(Section):
    """The customer's domain and public hostnames; optionally the Azure DNS zone of a subdomain delegated to the
    stack (docs/deploy.md, "DNS delegation")."""

    domain: Hostname = Field(description="the customer's base domain, a lower-case DNS name such as acme.com")
    hostnames: HostnameOverrides = HostnameOverrides()
    zone: Hostname | None = Field(
        default=None,
        description="a lower-case DNS name such as shop.acme.com: the public Azure DNS zone this stack creates for "
        "a subdomain the parent zone's owner delegates to it, with a record for every hostname inside it; default: "
        "none (records stay with the customer's DNS)",
    )
    record_ttl_seconds: int = Field(
        default=300,
        ge=30,
        le=86400,
        description="TTL of the hostnames' records in caas:dns.zone; short, so a switch of the public entry (DR) "
        "reaches clients within minutes",
    )


class Registry(Section):
    """The shared container registry (shared stack only)."""

    retention_days: int = Field(default=30, ge=0, le=365, description="untagged manifests kept for")
    geo_replication: bool = Field(default=True, description="replicate to the DR region")


_GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class DevOps(Section):
    """Azure DevOps organisation and its service connection (shared stack only)."""

    organization_url: str = Field(pattern=r"^https://dev\.azure\.com/[A-Za-z0-9][A-Za-z0-9-]{0,49}$")
    projects: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = Field(min_length=1)
    service_connection_issuer: str = Field(
        pattern=r"^https://vstoken\.dev\.azure\.com/[0-9a-f-]{36}$",
        description="workload identity federation issuer of the Azure DevOps organisation",
    )
    service_connection_subject: str = Field(
        pattern=r"^sc://[^/\s]+/[^/\s]+/[^/\s]+$", description="sc://<organisation>/<project>/<connection>"
    )
    # The Approval check's approvers are Azure DevOps identities named by their originId, which for Entra ID
    # users and groups is their Entra object id (REST "Check Configurations - Add", settings.approvers[].id).
    approvers: tuple[Annotated[str, Field(pattern=_GUID, description="an Entra object id (GUID)")], ...] = Field(
        min_length=1,
        description="Entra object ids of the users/groups (members of the Azure DevOps organisation) who approve "
        "deploys to gated environments (shared, prd)",
    )


class BuildAgents(Section):
    """Self-hosted build agents in the hub (Managed DevOps Pool; shared stack only)."""

    vm_size: str = Field(default="Standard_D2ads_v5", pattern=r"^Standard_[A-Za-z0-9_]+$")
    max_concurrency: int = Field(default=2, ge=1, le=50)
    image: str = Field(default="ubuntu-22.04/latest", description="well-known Managed DevOps Pools image")
    devops_infrastructure_principal_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="object id of the tenant's DevOpsInfrastructure service principal (needs the agent subnet)",
    )


class KeyVault(Section):
    """The environment's Key Vault."""

    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)
    secrets_rotated_on: date | None = Field(
        default=None,
        description="when the vault's secrets were last rotated (YYYY-MM-DD); a new date generates new values "
        "(the generators' keepers) and moves every secret's expiry",
    )
    secret_lifetime_days: int = Field(
        default=365, ge=30, le=730, description="a secret expires this many days after secretsRotatedOn"
    )


class Secrets(Section):
    """``caas:secrets``: set only with ``pulumi config set --secret --path caas:secrets.<name>``."""

    vpn_shared_key: SecretStr | None = Field(default=None, description="else generated and kept in Key Vault")
    smtp_password: SecretStr | None = Field(default=None, description="IOM's SMTP relay password")


class PolicySettings(Section):
    """``caas:policy``: the policy pack's relaxable rules this stack lowers to advisory, each with its reason."""

    relax: dict[str, Annotated[str, Field(min_length=10)]] = Field(
        default_factory=dict,
        description="rule name -> why this stack may break it (at least 10 characters); see README, Policy",
    )


class EstateConfig(Section):
    """Everything under ``caas:`` for one stack."""

    customer: Customer
    environment: Literal["shared", "int", "uat", "prd"] = Field(
        description="which stack this is: the shared PA/AR layer or one environment"
    )
    location: Location
    shared_stack: str | None = Field(
        default=None,
        pattern=r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$",
        description="env stacks: the shared stack to reference, organization/<project>/shared (DIY backend)",
    )
    network: Network
    apps: Apps | None = None
    dns: Dns | None = None
    profile_overrides: ProfileOverrides = Field(default=ProfileOverrides(), alias="profile")
    key_vault: KeyVault = KeyVault()
    registry: Registry | None = None
    devops: DevOps | None = None
    build_agents: BuildAgents | None = None
    secrets: Secrets = Secrets()
    tags: dict[str, str] = Field(default_factory=dict)
    disaster_recovery: DisasterRecovery = DisasterRecovery()

    # Sections added per area of the estate; keep each area's fields under its own marker.
    # -- compute: AKS, ICM 7.10 hosts, shared file system, public entry --
    aks: compute.Aks = compute.Aks()
    icm710: compute.Icm710 | None = None
    file_shares: compute.FileShares = compute.FileShares()
    public_entry: compute.PublicEntry = compute.PublicEntry()
    # -- data: databases, secrets, backup, monitoring, GDPR --
    databases: data_section.Databases | None = None
    backup: data_section.Backup = data_section.Backup()
    monitoring: data_section.Monitoring | None = None
    data_protection: data_section.DataProtection = data_section.DataProtection()
    # -- connectivity: SFTP, VPN --
    sftp: Sftp | None = None
    vpn: Vpn | None = None
    # -- kubernetes layer and apps --
    kubernetes: kubernetes_layer.Kubernetes = kubernetes_layer.Kubernetes()
    # -- partners' access: namespaces and ICM 7.10 hosts --
    partners: tuple[access.Partner, ...] = ()
    # -- the policy pack's relaxations --
    policy: PolicySettings = PolicySettings()
    # Not config: set only by ``under_rules``; None means the environment's own rules.
    _rules: EnvironmentRules | None = PrivateAttr(default=None)

    # Derived facts (names, subnets, hostnames, sizes ...) are not here: caas.specs.derive computes them once.

    @property
    def is_shared(self) -> bool:
        return self.environment == "shared"

    @cached_property
    def profile(self) -> Profile:
        return effective(self.environment, self.profile_overrides)

    @property
    def rules(self) -> EnvironmentRules:
        return self._rules if self._rules is not None else rules(self.environment)

    def under_rules(self, other: EnvironmentRules) -> EstateConfig:
        """This model held to ``other`` environment rules (the stack diff derives what one rule changes)."""
        copy = self.model_copy()
        copy._rules = other
        return copy
