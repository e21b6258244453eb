"""The stack model: one validated, immutable description of everything a stack contains.

It is read once from the Pulumi config namespace ``caas:`` (one object per area) and is the single source
of truth: components, the offline plan, runbooks and tests read it and never re-derive it. Every problem
is found before any resource is registered and reported as one line per problem:
``Pulumi.<stack>.yaml: caas:<key.path>: <what is wrong; what is allowed>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from caas import addressing, naming
from caas.profiles import NON_NEGOTIABLE, PRD_MIN_LOG_RETENTION_DAYS, PROFILES, Profile, ProfileOverrides, effective
from caas.sections import compute, connectivity
from caas.sections import data as data_section
from caas.sections import kubernetes as kubernetes_layer
from caas.sections.base import PATTERN_NAMES, SYSTEMS, Hostname, Section
from caas.sections.connectivity import Sftp, Vpn

NAMESPACE = "caas"
ENVIRONMENTS = ("int", "uat", "prd")

# GDPR: customer data stays in EU regions unless the stack explicitly waives it (caas:location).
EU_REGIONS = frozenset(
    {
        "westeurope",
        "northeurope",
        "francecentral",
        "francesouth",
        "germanywestcentral",
        "germanynorth",
        "swedencentral",
        "swedensouth",
        "italynorth",
        "polandcentral",
        "spaincentral",
    }
)
# Regions with availability zones (learn.microsoft.com, "Azure regions list").
ZONAL_REGIONS = frozenset(
    {
        "westeurope",
        "northeurope",
        "francecentral",
        "germanywestcentral",
        "swedencentral",
        "italynorth",
        "polandcentral",
        "spaincentral",
        "switzerlandnorth",
        "norwayeast",
        "uksouth",
        "eastus",
        "eastus2",
        "westus3",
    }
)

# Private DNS zone per private-link sub-resource (learn.microsoft.com, "Azure Private Endpoint DNS values").
PRIVATELINK_ZONES = {
    "registry": "privatelink.azurecr.io",
    "file": "privatelink.file.core.windows.net",
    "blob": "privatelink.blob.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
    "sqlMi": "privatelink.database.windows.net",
}


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
    dr_address_space: IPv4Network | None = Field(default=None, description="prd: the DR region's VNet range")
    subnets: dict[str, IPv4Network] = Field(default_factory=dict, description="per-role overrides of the plan")


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
    """The customer's domain and public hostnames."""

    domain: Hostname = Field(description="the customer's base domain, a lower-case DNS name such as acme.com")
    hostnames: HostnameOverrides = HostnameOverrides()


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


class Secrets(Section):
    """``caas:secrets``: set only with ``pulumi config set --secret --path caas:secrets.<name>``."""

    vpn_shared_key: SecretStr | None = Field(default=None, description="else generated and kept in Key Vault")
    smtp_password: SecretStr | None = Field(default=None, description="IOM's SMTP relay password")


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
        description="env stacks: the shared stack to reference, <org>/<project>/shared",
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

    # Sections added per area of the estate; keep each area's fields under its own marker.
    # -- compute: AKS, ICM 7.10 hosts, shared file system, public entry --
    aks: compute.Aks = compute.Aks()
    icm710: compute.Icm710 | None = None
    file_shares: compute.FileShares = compute.FileShares()
    public_entry: compute.PublicEntry = compute.PublicEntry()

    @cached_property
    def icm710_hosts(self) -> dict[str, dict[str, compute.HostSpec]]:
        return compute.icm710_hosts(self)

    @cached_property
    def icm710_frontend_ips(self) -> dict[str, IPv4Address]:
        return compute.icm710_frontend_ips(self)

    @cached_property
    def aks_pools(self) -> dict[str, compute.PoolSpec]:
        return compute.aks_pools(self)

    @cached_property
    def aks_ingress_ip(self) -> IPv4Address | None:
        return compute.aks_ingress_ip(self)

    @cached_property
    def nfs_shares(self) -> dict[str, int]:
        return compute.nfs_shares(self)

    @cached_property
    def public_routes(self) -> list[compute.Route]:
        return compute.public_routes(self)

    @cached_property
    def gateway_capacity(self) -> tuple[int, int]:
        return compute.gateway_capacity(self)

    # -- data: databases, secrets, backup, monitoring, GDPR --
    databases: data_section.Databases | None = None
    backup: data_section.Backup = data_section.Backup()
    monitoring: data_section.Monitoring | None = None
    data_protection: data_section.DataProtection = data_section.DataProtection()

    @cached_property
    def data(self) -> data_section.DataModel | None:
        """The data area's derived facts (sizes, retention, names, alerts, RPO/RTO); None for the shared stack."""
        return data_section.derive(self)

    @cached_property
    def data_regions(self) -> dict[str, str]:
        """Every region holding the stack's data, by role (primary, dr, backupPair): all EU unless waived."""
        return data_section.data_regions(self)

    @property
    def data_rule(self) -> dict[str, object]:
        """Where this environment's data may come from and go to (GDPR; uat holds pseudonymised prd data only)."""
        return data_section.data_rule(self)

    # -- connectivity: SFTP, VPN --
    sftp: Sftp | None = None
    vpn: Vpn | None = None

    @cached_property
    def sftp_service(self) -> connectivity.SftpService | None:
        """Shared stack: the SFTP host with its users, network rules and housekeeping."""
        return connectivity.sftp_service(self)

    @cached_property
    def sftp_endpoint(self) -> connectivity.SftpEndpoint | None:
        """Environment stacks: their own SFTP user and container, when ``caas:sftp.enabled``."""
        return connectivity.sftp_endpoint(self)

    @cached_property
    def vpn_plan(self) -> connectivity.VpnPlan | None:
        """Environment stacks: the VPN gateway and its partner sites, with effective defaults."""
        return connectivity.vpn_plan(self)

    # -- kubernetes layer and apps --
    kubernetes: kubernetes_layer.Kubernetes = kubernetes_layer.Kubernetes()

    @cached_property
    def workloads(self) -> list[kubernetes_layer.Workload]:
        """The namespaces of the Kubernetes layer and what runs in each; [] without containerised apps."""
        return kubernetes_layer.workloads(self)

    # -- derived facts: computed once, read everywhere ------------------------------------------------

    @property
    def is_shared(self) -> bool:
        return self.environment == "shared"

    @cached_property
    def profile(self) -> Profile:
        return effective(self.environment, self.profile_overrides)

    @cached_property
    def names(self) -> naming.Namer:
        return naming.Namer(self.customer.code, self.environment, self.location.primary)

    @cached_property
    def dr_names(self) -> naming.Namer:
        return self.names.in_region(self.location.dr)

    @cached_property
    def subnets(self) -> dict[str, IPv4Network]:
        specs = addressing.HUB_SUBNETS if self.is_shared else addressing.ENVIRONMENT_SUBNETS
        return addressing.plan_subnets(self.network.address_space, specs, self.network.subnets)

    @cached_property
    def dr_subnets(self) -> dict[str, IPv4Network]:
        if not (self.profile.disaster_recovery and self.network.dr_address_space):
            return {}
        return addressing.plan_subnets(self.network.dr_address_space, addressing.DR_SUBNETS, {})

    @cached_property
    def hostnames(self) -> dict[str, str]:
        """Public hostnames by role (``live.shop``, ``edit.backoffice``, ``iom`` ...), only for enabled apps."""
        if self.is_shared or self.dns is None or self.apps is None:
            return {}
        prefix = "" if self.environment == "prd" else f"{self.environment}-"
        roles = []
        if self.apps.icm710 or self.apps.icm11:
            roles += ["shop", "backoffice"]
        if self.apps.pwa:
            roles.append("pwa")
        result: dict[str, str] = {}
        for system in SYSTEMS:
            overrides = getattr(self.dns.hostnames, system)
            suffix = "" if system == "live" else "-edit"
            for role in roles:
                default = f"{prefix}{role}{suffix}.{self.dns.domain}"
                result[f"{system}.{role}"] = getattr(overrides, role) or default
        if self.apps.iom:
            result["iom"] = self.dns.hostnames.iom or f"{prefix}iom.{self.dns.domain}"
        return result

    @cached_property
    def private_dns_zones(self) -> dict[str, str]:
        """Private DNS zones of an environment, by key: the privatelink zones plus PostgreSQL's own zone."""
        if self.is_shared or self.apps is None:
            return {}
        zones = {key: PRIVATELINK_ZONES[key] for key in ("registry", "vault", "file", "sqlMi")}
        if self.sftp_endpoint is not None:
            zones["blob"] = PRIVATELINK_ZONES["blob"]  # the private endpoint to the shared SFTP host
        if self.apps.iom:
            # Flexible server with VNet integration needs a zone ending in .postgres.database.azure.com.
            zones["postgres"] = f"{self.customer.code}-{self.environment}.private.postgres.database.azure.com"
        return zones

    @property
    def privatelink_zone_keys(self) -> frozenset[str]:
        return frozenset(PRIVATELINK_ZONES)

    @cached_property
    def tag_set(self) -> dict[str, str]:
        """Tags on every resource: the mandatory ones win over user tags of the same name."""
        return {
            **self.tags,
            "customer": self.customer.code,
            "environment": self.environment,
            "managed-by": "pulumi",
            "platform": "intershop-caas",
        }


# --------------------------------------------------------------------------------------------------------
# Loading and reporting


class ConfigError(Exception):
    """Bad stack config: one message per problem, each naming the stack file and the config key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _key(loc: tuple[Any, ...]) -> str:
    """pydantic location -> the config key a user types: caas:network.subnets.aks, caas:vpn.sites[0].name."""
    out = f"{NAMESPACE}:{loc[0]}" if loc else f"{NAMESPACE}:"
    for part in loc[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that sits at a location, to list the keys it allows."""
    model: Any = EstateConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {(f.alias or name): f for name, f in model.model_fields.items()}
        if part not in fields:
            return None
        model = _unwrap(fields[part].annotation)
        if model is None:
            return None
    return model


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def _allowed(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    return ", ".join(sorted((f.alias or n) for n, f in model.model_fields.items()))


def _describe(error: Mapping[str, Any]) -> tuple[tuple[Any, ...], str]:
    loc, kind, msg = tuple(error["loc"]), error["type"], error["msg"]
    if kind == "extra_forbidden":
        return loc, f"unknown key; allowed here: {_allowed(_model_at(loc[:-1]))}"
    if kind == "missing":
        field = _field_at(loc)
        hint = f" ({field.description})" if field is not None and field.description else ""
        return loc, f"required{hint}"
    if kind == "string_pattern_mismatch":
        field = _field_at(loc)
        pattern = error["ctx"]["pattern"]
        what = field.description if field is not None and field.description else None
        return loc, f"invalid value; must be {what or PATTERN_NAMES.get(pattern) or f'pattern {pattern}'}"
    if kind == "model_type":
        return loc, f"must be an object with the keys {_allowed(_model_at(loc))}"
    return loc, msg[0].lower() + msg[1:]


def _errors(exc: ValidationError) -> list[Mapping[str, Any]]:
    """pydantic's errors minus the echoes: a list reported too short only because its items failed."""
    errors = exc.errors()
    failed_inside = {tuple(e["loc"][:i]) for e in errors for i in range(1, len(e["loc"]))}
    return [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in failed_inside)]


def _field_at(loc: tuple[Any, ...]):
    names = [p for p in loc if not isinstance(p, int)]
    if not names:
        return None
    model = _model_at(tuple(names[:-1]))
    if model is None:
        return None
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == names[-1]), None)


def parse(raw: Mapping[str, Any], secret_keys: set[str], source: str) -> EstateConfig:
    """Validate the ``caas:`` config of one stack; raise ConfigError listing every problem.

    ``raw`` maps full keys (``caas:network``) to values as Pulumi stores them: JSON strings for objects.
    ``source`` is the stack file named in messages, e.g. ``Pulumi.prd.yaml``.
    """
    data: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE:
            data[name] = _decode(value)

    try:
        cfg = EstateConfig.model_validate(data)
    except ValidationError as exc:
        lines = sorted({f"{source}: {_key(loc)}: {msg}" for loc, msg in map(_describe, _errors(exc))})
        raise ConfigError(lines) from None

    problems = semantic_problems(cfg, secret_keys)
    if problems:
        raise ConfigError([f"{source}: {key}: {msg}" for key, msg in problems])
    return cfg


def _decode(value: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay strings for pydantic to coerce."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def semantic_problems(cfg: EstateConfig, secret_keys: set[str]) -> list[tuple[str, str]]:
    """Cross-field rules pydantic's field types cannot express. Pure: no Azure calls."""
    p: list[tuple[str, str]] = []
    env = cfg.environment
    _check_layout(cfg, p)
    _check_regions(cfg, p)
    _check_profile(cfg, p)
    _check_network(cfg, p)
    _check_names(cfg, p)
    # Area checks, each a function (cfg) -> list[(key, message)] in its section module.
    # -- compute --
    p += compute.problems(cfg)
    # -- data --
    p += data_section.problems(cfg, secret_keys)

    # -- connectivity --
    p += connectivity.problems(cfg)
    # -- kubernetes --
    p += kubernetes_layer.problems(cfg)

    if cfg.hostnames:
        seen: dict[str, str] = {}
        for role, host in cfg.hostnames.items():
            if host in seen:
                p.append(("caas:dns.hostnames", f"'{host}' is used for both {seen[host]} and {role}; must be unique"))
            seen[host] = role
    for message in naming.validate_tags(cfg.tags):
        p.append(("caas:tags", message))
    if "caas:secrets" in _present_keys(cfg) and "caas:secrets" not in secret_keys:
        p.append(
            (
                "caas:secrets",
                "plain text found; set each value with `pulumi config set --secret --path caas:secrets.<name>`",
            )
        )
    if env != "prd" and cfg.network.dr_address_space is not None and not cfg.profile.disaster_recovery:
        p.append(("caas:network.drAddressSpace", "set, but disaster recovery is off for this environment; remove it"))
    return p


def _present_keys(cfg: EstateConfig) -> set[str]:
    return {f"{NAMESPACE}:{type(cfg).model_fields[name].alias or to_camel(name)}" for name in cfg.model_fields_set}


def _check_layout(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """Which sections a stack of each kind must and must not have."""
    shared_only = {"registry": cfg.registry, "devops": cfg.devops, "buildAgents": cfg.build_agents}
    env_only = {"sharedStack": cfg.shared_stack, "apps": cfg.apps, "dns": cfg.dns, "vpn": cfg.vpn}
    if cfg.is_shared:
        required, forbidden = shared_only, env_only
        if cfg.network.hub_address_space is not None:
            p.append(("caas:network.hubAddressSpace", "only for environment stacks; the shared stack is the hub"))
    else:
        required = {k: v for k, v in env_only.items() if k != "vpn"}
        forbidden = shared_only
        if cfg.network.hub_address_space is None:
            p.append(
                (
                    "caas:network.hubAddressSpace",
                    "required: the shared hub's address space (caas:network.addressSpace of the shared stack)",
                )
            )
        if cfg.apps is not None and not (cfg.apps.icm710 or cfg.apps.icm11):
            p.append(("caas:apps", "no ICM: set icm710 (VMs) and/or icm11 (AKS) to true"))
    for key, value in required.items():
        if value is None:
            p.append((f"caas:{key}", f"required in the {cfg.environment} stack"))
    for key, value in forbidden.items():
        if value is not None:
            where = "environment stacks (int, uat, prd)" if cfg.is_shared else "the shared stack"
            p.append((f"caas:{key}", f"not allowed here; it belongs to {where}"))


def _check_regions(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    loc = cfg.location
    for key, region in (("primary", loc.primary), ("dr", loc.dr)):
        if region not in naming.REGION_CODES:
            p.append(
                (f"caas:location.{key}", f"unknown region '{region}'; known: {', '.join(sorted(naming.REGION_CODES))}")
            )
        elif region not in EU_REGIONS and not loc.allow_outside_eu:
            p.append(
                (
                    f"caas:location.{key}",
                    f"'{region}' is outside the EU (GDPR); allowed: {', '.join(sorted(EU_REGIONS))}, "
                    "or set allowOutsideEu with a waiverReason",
                )
            )
    if loc.primary == loc.dr:
        p.append(("caas:location.dr", "must differ from the primary region"))
    if loc.allow_outside_eu and not loc.waiver_reason:
        p.append(("caas:location.waiverReason", "required when allowOutsideEu is true: record why"))


def _check_profile(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    declared = cfg.profile_overrides.declared()
    if cfg.environment in ("prd", "shared"):
        base = PROFILES[cfg.environment]
        for field in NON_NEGOTIABLE:
            if field in declared and declared[field] != getattr(base, field):
                p.append(
                    (
                        f"caas:profile.{to_camel(field)}",
                        f"{cfg.environment} cannot weaken this (default {getattr(base, field)!r}); remove the override",
                    )
                )
        if cfg.profile.log_retention_days < PRD_MIN_LOG_RETENTION_DAYS:
            p.append(
                (
                    "caas:profile.logRetentionDays",
                    f"{cfg.environment} keeps logs at least {PRD_MIN_LOG_RETENTION_DAYS} days",
                )
            )
    if cfg.profile.zones and cfg.location.primary in naming.REGION_CODES and cfg.location.primary not in ZONAL_REGIONS:
        p.append(
            (
                "caas:profile.zones",
                f"region '{cfg.location.primary}' has no availability zones; choose a zonal region"
                + ("" if cfg.environment in ("prd", "shared") else " or set zones: []"),
            )
        )


def _check_network(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    net = cfg.network
    specs = addressing.HUB_SUBNETS if cfg.is_shared else addressing.ENVIRONMENT_SUBNETS
    by_role = {s.role: s for s in specs}
    minimum = addressing.minimum_prefix(specs)
    if net.address_space.prefixlen > minimum:
        p.append(("caas:network.addressSpace", f"{net.address_space} is too small; needs /{minimum} or larger"))
        return
    ok = True
    for role, subnet in net.subnets.items():
        key = f"caas:network.subnets.{role}"
        if role not in by_role:
            p.append((key, f"unknown subnet role; allowed: {', '.join(sorted(by_role))}"))
            ok = False
        elif not subnet.subnet_of(net.address_space):
            p.append((key, f"{subnet} is outside caas:network.addressSpace {net.address_space}"))
            ok = False
        elif subnet.prefixlen > by_role[role].max_prefix:
            p.append((key, f"{subnet} is too small; {role} needs /{by_role[role].max_prefix} or larger"))
            ok = False
    for a, b in addressing.overlaps({r: n for r, n in net.subnets.items() if r in by_role}):
        p.append((f"caas:network.subnets.{b}", f"overlaps caas:network.subnets.{a}"))
        ok = False
    if ok:
        try:
            cfg.subnets  # noqa: B018 - computing the plan is the check
        except ValueError as exc:
            p.append(("caas:network.subnets", str(exc)))

    ranges = {"caas:network.addressSpace": net.address_space}
    if net.hub_address_space is not None:
        ranges["caas:network.hubAddressSpace"] = net.hub_address_space
    if net.dr_address_space is not None:
        ranges["caas:network.drAddressSpace"] = net.dr_address_space
        dr_min = addressing.minimum_prefix(addressing.DR_SUBNETS)
        if net.dr_address_space.prefixlen > dr_min:
            p.append(("caas:network.drAddressSpace", f"{net.dr_address_space} is too small; needs /{dr_min} or larger"))
    elif cfg.environment == "prd" and cfg.profile.disaster_recovery:
        p.append(("caas:network.drAddressSpace", "required in prd: the VNet range in the DR region"))
    for a, b in addressing.overlaps(ranges):
        p.append((b, f"overlaps {a}"))


def _check_names(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """Every physical name the stack will use must satisfy Azure's limits."""
    try:
        for kind in ("resource_group", "vnet", "log_analytics", "key_vault", "nat_gateway"):
            cfg.names.resource(kind)
        if cfg.is_shared:
            cfg.names.compact("registry")
        else:
            cfg.names.compact("storage", "nfs")
    except (ValueError, KeyError) as exc:
        p.append(("caas:customer.code", f"{exc}; choose a shorter customer code"))


def cross_stack_problems(env: EstateConfig, shared: EstateConfig, project: str) -> list[tuple[str, str]]:
    """Rules between an environment stack and the shared stack of the same customer folder.

    Only checkable where both stack files are at hand (the offline plan, tests, CI); under `pulumi up` the
    StackReference's outputs are the truth.
    """
    p: list[tuple[str, str]] = []
    if env.network.hub_address_space != shared.network.address_space:
        p.append(
            (
                "caas:network.hubAddressSpace",
                f"{env.network.hub_address_space} differs from the shared stack's caas:network.addressSpace "
                f"{shared.network.address_space}",
            )
        )
    if env.customer.code != shared.customer.code:
        p.append(
            ("caas:customer.code", f"'{env.customer.code}' differs from the shared stack's '{shared.customer.code}'")
        )
    if env.location.primary != shared.location.primary:
        p.append(
            (
                "caas:location.primary",
                f"the shared stack runs in '{shared.location.primary}'; environments use the same region",
            )
        )
    parts = (env.shared_stack or "").split("/")
    if len(parts) == 3 and parts[1] != project:
        p.append(("caas:sharedStack", f"project '{parts[1]}' is not this project '{project}'"))
    if parts[-1:] != ["shared"]:
        p.append(("caas:sharedStack", "must name the stack 'shared': <org>/<project>/shared"))
    p += connectivity.cross_stack_problems(env, shared)
    return p


# --------------------------------------------------------------------------------------------------------
# Sources of raw config


def runtime_config() -> tuple[dict[str, Any], set[str]]:
    """The ``caas:`` keys and secret keys as the Pulumi runtime (engine or mocks) provides them."""
    from pulumi.runtime import config as rc

    raw = {**rc.get_config_env(), **rc.CONFIG.get()}
    secret_keys = set(rc.get_config_secret_keys_env()) | set(rc._SECRET_KEYS.get())
    return {k: v for k, v in raw.items() if k.startswith(f"{NAMESPACE}:")}, secret_keys


def load() -> EstateConfig:
    """Inside a Pulumi program: the current stack's model."""
    import pulumi

    raw, secret_keys = runtime_config()
    return parse(raw, secret_keys, f"Pulumi.{pulumi.get_stack()}.yaml")


SECRET_PLACEHOLDER = "offline-plan-placeholder"


def stack_file_config(path: str) -> tuple[dict[str, str], set[str]]:
    """Read a ``Pulumi.<stack>.yaml`` as the engine would hand it to the program.

    ``secure:`` values cannot be decrypted offline; they become a placeholder and are marked secret, so the
    plan shows ``[secret]`` where a real run would use the decrypted value.
    """
    import yaml

    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([f"{path}: config: must be a mapping of keys to values"])
    raw: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        key = str(key)
        value, secret = _strip_secure(value)
        if secret:
            secret_keys.add(key)
        raw[key] = _as_config_string(value)
    return raw, secret_keys


def _as_config_string(value: Any) -> str:
    """Pulumi's wire form: objects and lists as JSON, booleans lower-case, everything else as text."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _strip_secure(value: Any) -> tuple[Any, bool]:
    """Replace every ``{secure: ...}`` with the placeholder; report whether any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        items = [(k, *_strip_secure(v)) for k, v in value.items()]
        return {k: v for k, v, _ in items}, any(s for _, _, s in items)
    if isinstance(value, list):
        items = [_strip_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml$")
