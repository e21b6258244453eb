"""Wires the compute estate of an environment stack; ``caas.estate.build`` calls it under its compute marker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi

from caas.specs.compute import ComputeSpec
from caas.specs.site import Site
from components.aks import AksCluster, AksClusterArgs
from components.icm710_hosts import Icm710Hosts, Icm710HostsArgs
from components.key_vault import KeyVault
from components.network import SharedRefs
from components.public_entry import PublicEntry, PublicEntryArgs
from components.shared_file_system import SharedFileSystem, SharedFileSystemArgs


class Placement(Protocol):
    """The network the compute estate is placed in: the primary spoke (Network) or the activated DR VNet
    (DrNetwork), with the same subnet roles and privatelink zone keys."""

    @property
    def subnet_ids(self) -> Mapping[str, pulumi.Output[str]]: ...
    @property
    def dns_zone_ids(self) -> Mapping[str, pulumi.Output[str]]: ...
    @property
    def egress_ip(self) -> pulumi.Output[str] | None: ...


@dataclass
class ComputeEstate:
    """What the compute estate hands to the stack outputs and to the areas wired after it (backup, alerts,
    the Kubernetes layer)."""

    outputs: dict[str, Any] = field(default_factory=dict)
    aks: AksCluster | None = None
    vm_ids: dict[str, pulumi.Output[str]] = field(default_factory=dict)  # icm710-live-as1 ... -> VM id
    nic_ids: dict[str, pulumi.Output[str]] = field(default_factory=dict)  # icm710-live-as1 ... -> NIC id
    mount_sources: dict[str, pulumi.Output[str]] = field(default_factory=dict)  # share -> NFS export
    app_gateway_id: pulumi.Output[str] | None = None


def build(
    site: Site,
    spec: ComputeSpec,
    rg: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    net: Placement,
    vault: KeyVault,
    refs: SharedRefs,
    prefix: str = "",
) -> ComputeEstate:
    """Hosts follow the model: ICM 7.10 gets VMs per system, containerised apps get the AKS cluster, whatever
    needs RWX storage gets an NFS share, and the public entry exists once its switch is on. ``prefix`` keeps the
    logical names of a second placement (``dr-`` for the DR region's) apart from the primary's."""
    estate = ComputeEstate()
    outputs = estate.outputs
    if spec.files is not None:
        files = SharedFileSystem(
            f"{prefix}files",
            SharedFileSystemArgs(
                site, spec.files, rg, net.subnet_ids["privateEndpoints"], net.dns_zone_ids["file"], workspace_id
            ),
        )
        estate.mount_sources = files.mount_sources
        outputs.update(nfsAccountName=files.account_name, nfsMountSources=files.mount_sources)

    # Route backend (see caas.sections.compute.Route) -> private IP the gateway sends it to.
    backends: dict[str, pulumi.Input[str]] = {}
    for system, hosts_spec in spec.icm710.items():
        hosts = Icm710Hosts(
            f"{prefix}icm710-{system}",
            Icm710HostsArgs(
                site,
                hosts_spec,
                rg,
                workspace_id,
                net.subnet_ids["vms"],
                estate.mount_sources[f"icm710-{system}"],
                refs.registry_id,
            ),
        )
        backends[f"icm710-{system}"] = hosts.frontend_ip
        estate.vm_ids.update(hosts.vm_ids)
        estate.nic_ids.update(hosts.nic_ids)
    if backends:
        outputs["icm710FrontendIps"] = dict(backends)

    if spec.aks is not None:
        aks = estate.aks = AksCluster(
            f"{prefix}aks", AksClusterArgs(site, spec.aks, rg, workspace_id, net.subnet_ids["aks"], refs.registry_id)
        )
        backends["aks"] = aks.ingress_ip
        outputs.update(
            aksClusterId=aks.cluster_id,
            aksClusterName=aks.cluster_name,
            aksOidcIssuerUrl=aks.oidc_issuer_url,
            aksKubeletIdentityClientId=aks.kubelet_identity_client_id,
            aksKubeletIdentityObjectId=aks.kubelet_identity_object_id,
            aksIngressIp=aks.ingress_ip,
            kubeconfig=aks.kubeconfig,
        )

    # What must be imported into the Key Vault before caas:publicEntry.enabled may be switched on.
    entry_spec = spec.public_entry
    outputs["publicCertificates"] = {r.hostname: r.certificate for r in entry_spec.routes}
    if entry_spec.settings.enabled:
        entry = PublicEntry(
            f"{prefix}public-entry",
            PublicEntryArgs(
                site,
                entry_spec,
                rg,
                workspace_id,
                net.subnet_ids["appGateway"],
                vault.vault_id,
                # Certificates are read through the vault's private endpoint: wait for its DNS registration.
                vault.vault_uri,
                {r.backend: backends[r.backend] for r in entry_spec.routes},
                [net.egress_ip] if net.egress_ip is not None else [],
            ),
        )
        outputs["publicIpAddress"] = entry.public_ip_address
        estate.app_gateway_id = entry.gateway_id
    return estate
