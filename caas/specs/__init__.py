"""One derivation step: the validated model becomes typed per-area specs, before any resource exists.

``derive(cfg)`` is the only place derived facts (names, subnet plans, hostnames, sizes, retention, workloads)
are computed; components take only their own slice of the result plus the ``Site`` they are placed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from caas import secret_names
from caas.model import EstateConfig
from caas.naming import Namer
from caas.specs import access, compute, connectivity, data, dns, kubernetes, network, shared, site, telemetry
from caas.specs.access import AccessSpec
from caas.specs.compute import ComputeSpec, HostSpec, PoolSpec, Route
from caas.specs.connectivity import SftpEndpoint, SftpService, VpnPlan, VpnSpec
from caas.specs.data import DataModel, DataSpec
from caas.specs.dns import ExpiryAlertSpec, PublicDnsSpec
from caas.specs.kubernetes import KubernetesSpec, Workload
from caas.specs.memo import once
from caas.specs.network import DrNetworkSpec, NetworkSpec
from caas.specs.shared import SharedSpec
from caas.specs.site import Site
from caas.specs.telemetry import TelemetrySpec


@dataclass(frozen=True)
class EstateSpec:
    """Everything the estate builds, one typed field per area or component (None where the stack has none)."""

    site: Site
    dr_location: str  # caas:location.dr
    log_retention_days: int
    storage_redundancy: str  # the profile's (LRS or ZRS), for storage accounts
    key_vault_soft_delete_days: int
    purge_protection: bool
    # -- shared stack --
    shared: SharedSpec | None
    sftp_service: SftpService | None
    # -- environment stacks --
    shared_stack: str | None
    network: NetworkSpec | None
    dr_site: Site | None  # the DR region, when the stack has a DR network
    dr_network: DrNetworkSpec | None
    compute: ComputeSpec | None
    # The same compute re-sited in the DR VNet: built only with caas:disasterRecovery.activate (else None).
    dr_compute: ComputeSpec | None
    data: DataSpec | None
    sftp_endpoint: SftpEndpoint | None
    vpn: VpnSpec | None
    kubernetes: KubernetesSpec | None
    access: AccessSpec | None  # the partners' roles on namespaces and ICM 7.10 hosts; None without partners
    telemetry: TelemetrySpec | None  # Application Insights, availability probes and SLOs; None in the shared stack

    public_dns: PublicDnsSpec | None  # caas:dns.zone: the delegated subdomain's zone and records
    certificate_alerts: ExpiryAlertSpec | None  # expiry alerts of the environment vault's certificates
    hostnames: dict[str, str]
    subnets: dict[str, IPv4Network]  # the stack's subnet plan (hub or spoke)
    dr_subnets: dict[str, IPv4Network]  # {} without a DR network
    data_regions: dict[str, str]  # every region holding the stack's data, by role
    data_rule: dict[str, object]  # GDPR: what the stack may hold, where copies may come from and go to

    # Read-only views for the runbooks, the plan and the diff, which look across areas.
    @property
    def is_shared(self) -> bool:
        return self.shared is not None

    @property
    def names(self) -> Namer:
        return self.site.names

    @property
    def dr_names(self) -> Namer:
        return self.site.names.in_region(self.dr_location)

    @property
    def aks_pools(self) -> dict[str, PoolSpec]:
        return self.compute.aks.pools if self.compute is not None and self.compute.aks is not None else {}

    @property
    def aks_ingress_ip(self) -> IPv4Address | None:
        return self.compute.aks.ingress_ip if self.compute is not None and self.compute.aks is not None else None

    @property
    def icm710_hosts(self) -> dict[str, dict[str, HostSpec]]:
        return {s: system.hosts for s, system in self.compute.icm710.items()} if self.compute is not None else {}

    @property
    def public_routes(self) -> list[Route]:
        return list(self.compute.public_entry.routes) if self.compute is not None else []

    @property
    def workloads(self) -> list[Workload]:
        return list(self.kubernetes.workloads) if self.kubernetes is not None else []

    @property
    def data_model(self) -> DataModel | None:
        return self.data.model if self.data is not None else None

    @property
    def nfs_shares(self) -> dict[str, int]:
        files = self.compute.files if self.compute is not None else None
        return files.shares if files is not None else {}

    @property
    def icm710_frontend_ips(self) -> dict[str, IPv4Address]:
        return {s: system.frontend_ip for s, system in self.compute.icm710.items()} if self.compute is not None else {}

    @property
    def gateway_capacity(self) -> tuple[int, int] | None:
        return self.compute.public_entry.capacity if self.compute is not None else None

    @property
    def private_dns_zones(self) -> dict[str, str]:
        return self.network.private_dns_zones if self.network is not None else {}

    @property
    def tag_set(self) -> dict[str, str]:
        return dict(self.site.tags)

    @property
    def vpn_plan(self) -> VpnPlan | None:
        return self.vpn.plan if self.vpn is not None else None


@once
def derive(cfg: EstateConfig) -> EstateSpec:
    """The stack's specs; the model is valid (``caas.config.parse``), so every required section is present."""
    env = not cfg.is_shared
    return EstateSpec(
        site=site.site(cfg),
        dr_location=cfg.location.dr,
        log_retention_days=cfg.profile.log_retention_days,
        storage_redundancy=cfg.profile.storage_redundancy,
        key_vault_soft_delete_days=cfg.key_vault.soft_delete_retention_days,
        purge_protection=cfg.profile.purge_protection,
        shared=shared.derive(cfg),
        sftp_service=connectivity.sftp_service(cfg),
        shared_stack=cfg.shared_stack,
        network=network.spoke(cfg) if env else None,
        dr_site=site.dr_site(cfg) if network.dr_subnets(cfg) else None,
        dr_network=network.dr(cfg),
        compute=compute.derive(cfg) if env else None,
        dr_compute=compute.dr(cfg),
        data=_data(cfg),
        sftp_endpoint=connectivity.sftp_endpoint(cfg),
        vpn=_vpn(cfg),
        kubernetes=kubernetes.derive(cfg),
        access=access.derive(cfg),
        telemetry=telemetry.derive(cfg),
        public_dns=dns.public_dns(cfg),
        certificate_alerts=dns.expiry_alerts(cfg),
        hostnames=network.hostnames(cfg),
        subnets=network.subnets(cfg),
        dr_subnets=network.dr_subnets(cfg),
        data_regions=data.data_regions(cfg),
        data_rule=data.data_rule(cfg),
    )


def _vpn(cfg: EstateConfig) -> connectivity.VpnSpec | None:
    plan = connectivity.vpn_plan(cfg)
    if plan is None:
        return None
    return connectivity.VpnSpec(plan, cfg.secrets.vpn_shared_key, _rotation(cfg))


def _rotation(cfg: EstateConfig) -> secret_names.SecretRotation | None:
    return secret_names.rotation(cfg.key_vault.secrets_rotated_on, cfg.key_vault.secret_lifetime_days)


def _data(cfg: EstateConfig) -> data.DataSpec | None:
    model = data.derive(cfg)
    if model is None:
        return None
    assert cfg.databases is not None
    assert cfg.monitoring is not None
    return data.DataSpec(
        model=model,
        entra_admin=cfg.databases.entra_admin,
        monitoring=cfg.monitoring,
        smtp_password=cfg.secrets.smtp_password,
        rotation=_rotation(cfg),
        protection={
            "regions": data.data_regions(cfg),
            "logRetentionDays": cfg.profile.log_retention_days,
            "maxLogRetentionDays": cfg.data_protection.max_log_retention_days,
            "dataRule": data.data_rule(cfg),
        },
    )
