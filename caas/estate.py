"""Wires the components for one stack from its specs. The only place that knows the order of the parts."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from caas import estate_compute, secret_names
from caas.sections.data import DataModel
from caas.specs import EstateSpec
from caas.specs.access import AccessSpec
from caas.specs.access import facts as access_facts
from caas.specs.compute import ComputeSpec
from caas.specs.shared import SharedSpec
from caas.stack_outputs import DR_SHARED_OUTPUTS, SFTP_SHARED_OUTPUTS, SHARED_OUTPUTS
from components.aks_backup import AksBackup, AksBackupArgs
from components.backup import Backup, BackupArgs
from components.bastion import Bastion, BastionArgs
from components.build_agents import BuildAgents, BuildAgentsArgs
from components.certificate_alerts import CertificateExpiryAlerts, CertificateExpiryAlertsArgs
from components.dr_network import DrHubRefs, DrNetwork, DrNetworkArgs
from components.foundation import Foundation, FoundationArgs
from components.hub_network import HubNetwork, HubNetworkArgs
from components.icm_database import DrSite, IcmDatabase, IcmDatabaseArgs
from components.iom_database import IomDatabase, IomDatabaseArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.kubernetes_layer import (
    ClusterFacts,
    DatabaseFacts,
    KubernetesLayer,
    KubernetesLayerArgs,
    ShareFacts,
    TelemetryFacts,
)
from components.monitoring import Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs, SharedRefs
from components.observability import Observability, ObservabilityArgs
from components.partner_access import PartnerAccess, PartnerAccessArgs
from components.private_dns import PrivateDns, PrivateDnsArgs
from components.private_link import after
from components.public_dns import PublicDns, PublicDnsArgs
from components.registry import (
    ContainerRegistry,
    ContainerRegistryArgs,
    DrEndpoint,
    PipelineIdentity,
    PipelineIdentityArgs,
)
from components.secrets import PlatformSecrets, PlatformSecretsArgs
from components.sftp import Sftp, SftpAccess, SftpAccessArgs, SftpArgs
from components.telemetry import Telemetry, TelemetryArgs
from components.vpn import SiteToSiteVpn, SiteToSiteVpnArgs

# What each component of an environment stack is built from, as paths into its EstateSpec: the stack diff
# (caas.diff) explains a component's plan differences by the spec differences there; keep in step with the
# wiring below. The Site every component takes explains a setting only where it carries the value
# (site.protect -> opts.protect), except for the Foundation, which is built from it.
SLICES: dict[str, tuple[str, ...]] = {
    "pulumi:pulumi:StackReference": ("shared_stack",),
    "intershop:caas:Foundation": ("site", "dr_site"),
    "intershop:caas:Observability": ("log_retention_days",),
    "intershop:caas:Network": ("network",),
    "intershop:caas:KeyVault": ("key_vault_soft_delete_days", "purge_protection"),
    "intershop:caas:SharedFileSystem": ("compute.files",),
    "intershop:caas:Icm710Hosts": ("compute.icm710", "compute.files"),
    "intershop:caas:AksCluster": ("compute.aks",),
    "intershop:caas:PublicEntry": ("compute.public_entry", "compute.icm710", "compute.aks.ingress_ip"),
    "intershop:caas:PlatformSecrets": ("data.model.secrets", "data.smtp_password"),
    "intershop:caas:DrNetwork": ("dr_site", "dr_network"),
    # The activated application tier in the DR region: the same component types, built from dr_compute.
    "intershop:caas:DrSite": ("dr_site", "dr_compute", "dr_network"),
    "intershop:caas:IcmDatabase": ("data.model.sql_mi", "data.entra_admin", "dr_site", "dr_network"),
    "intershop:caas:IomDatabase": ("data.model.postgres", "data.entra_admin"),
    "intershop:caas:Backup": ("data.model.vault", "data.model.dr_vault", "compute.icm710"),
    "intershop:caas:AksBackup": ("data.model.aks_backup", "kubernetes.workloads"),
    "intershop:caas:Monitoring": ("data.model", "data.monitoring", "dr_site", "compute", "dr_network"),
    "intershop:caas:SftpAccess": ("sftp_endpoint",),
    "intershop:caas:SiteToSiteVpn": ("vpn",),
    "intershop:caas:KubernetesLayer": ("kubernetes", "compute.files", "data.model.secrets", "data.model.postgres"),
    "intershop:caas:PartnerAccess": ("access",),
    "intershop:caas:Telemetry": ("telemetry", "compute.aks", "data.model.vault"),
    "intershop:caas:PublicDns": ("public_dns", "compute.public_entry.settings.enabled"),
    "intershop:caas:CertificateExpiryAlerts": ("certificate_alerts", "data.model", "data.monitoring"),
}
# The stack outputs of an environment stack (caas.estate), by output name.
OUTPUT_SLICES: dict[str, tuple[str, ...]] = {
    name: paths
    for names, paths in (
        ("customer environment location resourceGroupName", ("site",)),
        ("logAnalyticsWorkspaceId", SLICES["intershop:caas:Observability"]),
        ("icmDatabase", SLICES["intershop:caas:IcmDatabase"]),
        ("iomDatabase", SLICES["intershop:caas:IomDatabase"]),
        ("keyVaultSecretNames", ("data.model.secrets",)),
        ("recoveryVaultId", SLICES["intershop:caas:Backup"]),
        ("aksBackupVaultId", SLICES["intershop:caas:AksBackup"]),
        ("actionGroupId", ("data.model", "data.monitoring")),
        ("recoveryObjectives", ("data.model.objectives",)),
        ("dataProtection", ("data.protection",)),
        ("sftp", ("sftp_endpoint",)),
        ("vpn", ("vpn",)),
        ("kubernetesNamespaces workloadIdentityClientIds", ("kubernetes",)),
        ("vnetId egressIpAddress subnetIds", ("network",)),
        ("keyVaultId keyVaultUri", SLICES["intershop:caas:KeyVault"]),
        ("registryLoginServer", ("shared_stack",)),
        ("hostnames", ("hostnames",)),
        ("nfsAccountName nfsMountSources", ("compute.files",)),
        ("icm710FrontendIps", ("compute.icm710",)),
        ("aksClusterId aksClusterName aksOidcIssuerUrl aksIngressIp kubeconfig", ("compute.aks",)),
        ("aksKubeletIdentityClientId aksKubeletIdentityObjectId", ("compute.aks",)),
        ("publicCertificates", ("compute.public_entry",)),
        ("activeSite publicIpAddress", ("compute.public_entry", "dr_compute")),
        ("drSite drKeyVaultName", ("dr_compute",)),
        ("partnerAccess", SLICES["intershop:caas:PartnerAccess"]),
        ("applicationInsightsId", SLICES["intershop:caas:Telemetry"]),
        ("publicDns", SLICES["intershop:caas:PublicDns"]),
    )
    for name in names.split()
}


def build(spec: EstateSpec) -> dict[str, Any]:
    """Register the stack's resources; return its outputs."""
    site = spec.site
    foundation = Foundation("foundation", FoundationArgs(site, spec.dr_site))
    rg = foundation.resource_group_name
    observability = Observability("observability", ObservabilityArgs(site, spec.log_retention_days, rg))
    outputs: dict[str, Any] = {
        "customer": site.names.customer,
        "environment": site.environment,
        "location": site.location,
        "resourceGroupName": rg,
        "logAnalyticsWorkspaceId": observability.workspace_id,
    }
    if spec.shared is not None:
        outputs.update(_shared(spec, spec.shared, rg, observability.workspace_id, foundation.dr_resource_group_name))
        return outputs
    outputs.update(_environment(spec, foundation, rg, observability.workspace_id))
    return outputs


def _shared(
    spec: EstateSpec,
    shared: SharedSpec,
    rg: pulumi.Input[str],
    workspace: pulumi.Input[str],
    dr_rg: pulumi.Input[str] | None,
) -> dict[str, Any]:
    """The shared PA/AR layer: hub, private DNS, SFTP host, Bastion, registry, pipelines' identity, agents."""
    site, outputs = spec.site, dict[str, Any]()
    hub = HubNetwork("shared-hub", HubNetworkArgs(site, shared.hub, rg, workspace))
    dns = PrivateDns("shared-dns", PrivateDnsArgs(site, shared.private_dns_zones, rg, hub.vnet.id))
    endpoints = hub.subnet_ids["privateEndpoints"]
    dr_hub, dr_endpoint = _shared_dr(spec, shared, dr_rg, workspace)
    if spec.sftp_service is not None:
        sftp = Sftp(
            "sftp",
            SftpArgs(site, spec.sftp_service, spec.storage_redundancy, rg, workspace, endpoints, dns.zone_ids["blob"]),
        )
        outputs.update(
            sftpStorageAccountId=sftp.account.id,
            sftpStorageAccountName=sftp.account.name,
            sftpHost=sftp.host,
            sftp=sftp.facts,
        )
    bastion = Bastion("shared-bastion", BastionArgs(site, rg, hub.subnet_ids["bastion"], workspace))
    registry = ContainerRegistry(
        "shared-registry",
        ContainerRegistryArgs(
            site, shared.registry, rg, endpoints, dns.zone_ids["registry"], workspace, dr_endpoint=dr_endpoint
        ),
    )
    pipelines = PipelineIdentity(
        "shared-pipeline", PipelineIdentityArgs(site, shared.pipeline_identity, rg, registry.registry.id)
    )
    BuildAgents(
        "shared-build-agents",
        BuildAgentsArgs(site, shared.build_agents, rg, hub.vnet.id, hub.subnet_ids["buildAgents"]),
    )
    if dr_hub is not None:
        outputs.update(dr_hub)
    outputs.update(
        hubVnetId=hub.vnet.id,
        hubVnetName=hub.vnet.name,
        hubResourceGroupName=rg,
        registryId=registry.registry.id,
        registryName=registry.registry.name,
        registryLoginServer=registry.registry.login_server,
        bastionId=bastion.host.id,
        privateDnsZoneIds=dns.zone_ids,
        pipelineIdentityClientId=pipelines.client_id,
    )
    return outputs


def _shared_dr(
    spec: EstateSpec, shared: SharedSpec, dr_rg: pulumi.Input[str] | None, workspace: pulumi.Input[str]
) -> tuple[dict[str, Any] | None, DrEndpoint | None]:
    """The hub in the DR region: VNet, its own privatelink zones (DR endpoints register there, so nothing in the DR
    region resolves through the primary's records), and a Managed DevOps Pool that runs the activation. Built
    before any loss: after it, the shared stack's deploy would need the primary hub's agents."""
    if shared.dr_hub is None:
        return None, None
    assert spec.dr_site is not None  # the DR hub's range plans the DR site
    assert dr_rg is not None
    dr_site = spec.dr_site
    # Diagnostics go to the shared workspace, as the primary hub's do: the DR hub exists long before any loss.
    hub = HubNetwork("shared-dr-hub", HubNetworkArgs(dr_site, shared.dr_hub, dr_rg, workspace))
    dns = PrivateDns("shared-dr-dns", PrivateDnsArgs(dr_site, shared.private_dns_zones, dr_rg, hub.vnet.id))
    BuildAgents(
        "shared-dr-build-agents",
        BuildAgentsArgs(dr_site, shared.build_agents, dr_rg, hub.vnet.id, hub.subnet_ids["buildAgents"]),
    )
    outputs = {
        "drHubVnetId": hub.vnet.id,
        "drHubVnetName": hub.vnet.name,
        "drHubResourceGroupName": dr_rg,
        "drPrivateDnsZoneIds": dns.zone_ids,
    }
    return outputs, DrEndpoint(dr_site, dr_rg, hub.subnet_ids["privateEndpoints"], dns.zone_ids["registry"])


def _environment(
    spec: EstateSpec, foundation: Foundation, rg: pulumi.Input[str], workspace: pulumi.Input[str]
) -> dict[str, Any]:
    site = spec.site
    assert spec.shared_stack is not None
    assert spec.network is not None
    assert spec.compute is not None
    assert spec.data is not None  # the model requires caas:databases and caas:monitoring in environment stacks
    shared_stack = pulumi.StackReference("shared", stack_name=spec.shared_stack)
    read_later = {*SFTP_SHARED_OUTPUTS, *DR_SHARED_OUTPUTS}  # read below, only where the stack uses them
    refs = SharedRefs(*(shared_stack.require_output(key) for key in SHARED_OUTPUTS if key not in read_later))
    net = Network("network", NetworkArgs(site, spec.network, rg, workspace, refs))
    vault = KeyVault(
        "keyvault",
        KeyVaultArgs(
            site,
            spec.key_vault_soft_delete_days,
            spec.purge_protection,
            rg,
            net.subnet_ids["privateEndpoints"],
            net.dns_zone_ids["vault"],
            workspace,
            spec.compute.aks.settings.deployer_principal_id if spec.compute.aks is not None else None,
        ),
    )
    # -- compute --
    compute = estate_compute.build(site, spec.compute, rg, workspace, net, vault, refs)
    outputs = dict(compute.outputs)

    # -- data --
    data = spec.data.model
    secrets = PlatformSecrets(
        "secrets",
        PlatformSecretsArgs(
            site,
            data.secrets,
            spec.data.smtp_password,
            rg,
            vault.vault_id,
            vault.vault.name,
            rotation=spec.data.rotation,
        ),
    )
    icm_db, iom_db, dr_net = _databases(spec, foundation, net, rg, workspace, secrets, shared_stack)
    backup = Backup("backup", BackupArgs(site, data.vault, rg, workspace, compute.vm_ids)) if data.vault else None
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            site,
            data,
            spec.data.monitoring,
            rg,
            [g for g in (rg, foundation.dr_resource_group_name) if g is not None],
            sql_mi_id=icm_db.instance.id,
            postgres_id=iom_db.server.id if iom_db is not None else None,
            aks_cluster_id=compute.aks.cluster_id if compute.aks is not None else None,
            vm_ids=list(compute.vm_ids.values()),
            app_gateway_id=compute.app_gateway_id,
        ),
    )
    assert spec.telemetry is not None  # every environment stack has one
    health: dict[str, pulumi.Input[str]] = {"sqlMi": icm_db.instance.id}
    optional = {
        "postgres": iom_db.server.id if iom_db is not None else None,
        "aks": compute.aks.cluster_id if compute.aks is not None else None,
        "appGateway": compute.app_gateway_id,
        "recoveryVault": backup.vault.id if backup is not None else None,
    }
    health.update({label: rid for label, rid in optional.items() if rid is not None})
    telemetry = Telemetry(
        "telemetry",
        TelemetryArgs(
            site,
            spec.telemetry,
            rg,
            workspace,
            vault.vault.name,
            monitoring.action_group.id,
            health,
            rotation=spec.data.rotation,
        ),
    )
    outputs.update(
        applicationInsightsId=telemetry.app_insights_id,
        icmDatabase={"host": icm_db.host, "databases": data.sql_mi.databases},
        iomDatabase={"host": iom_db.host} if iom_db is not None else None,
        keyVaultSecretNames=sorted(data.secrets),
        recoveryVaultId=backup.vault.id if backup is not None else None,
        actionGroupId=monitoring.action_group.id,
        recoveryObjectives=data.recovery_objectives(),
        dataProtection=spec.data.protection,
    )

    # -- connectivity --
    if spec.sftp_endpoint is not None:
        account_name, host = (shared_stack.require_output(key) for key in SFTP_SHARED_OUTPUTS)
        sftp_access = SftpAccess("sftp", SftpAccessArgs(site, spec.sftp_endpoint, account_name, host))
        outputs["sftp"] = sftp_access.facts
    if spec.vpn is not None:
        vpn = SiteToSiteVpn(
            "vpn", SiteToSiteVpnArgs(site, spec.vpn, rg, net.subnet_ids["gateway"], workspace, vault.vault.name)
        )
        outputs["vpn"] = vpn.facts

    # -- kubernetes --
    if compute.aks is not None and spec.kubernetes is not None:
        aks = compute.aks
        kubernetes = KubernetesLayer(
            "k8s",
            KubernetesLayerArgs(
                site=site,
                spec=spec.kubernetes,
                resource_group_name=rg,
                cluster=ClusterFacts(aks.cluster_id, aks.oidc_issuer_url, aks.kubeconfig, aks.ingress_ip),
                vault_name=vault.vault.name,
                secret_ids=secrets.secret_ids,
                # Charts pull from the hub's registry endpoint: their releases wait for the spoke's zone link.
                registry_login_server=after(refs.registry_login_server, net.dns_zone_ids["registry"]),
                databases=_database_facts(data, icm_db, iom_db),
                shares=ShareFacts.from_mount_sources(
                    rg, compute.mount_sources, spec.compute.files.shares if spec.compute.files else {}
                ),
                telemetry=TelemetryFacts(telemetry.app_insights_id, telemetry.connection_string_secret.id),
            ),
        )
        outputs.update(kubernetesNamespaces=kubernetes.namespace_names, workloadIdentityClientIds=kubernetes.client_ids)
        if data.aks_backup is not None:
            aks_backup = AksBackup(
                "aks-backup",
                AksBackupArgs(
                    site,
                    data.aks_backup,
                    rg,
                    workspace,
                    aks.cluster_id,
                    aks.cluster_name,
                    aks.identity_principal_id,
                    [w.namespace for w in spec.kubernetes.workloads],
                    net.subnet_ids["privateEndpoints"],
                    net.dns_zone_ids["blob"],
                ),
                # The namespaces (and the PVCs it snapshots) exist once the Kubernetes layer is in place.
                opts=pulumi.ResourceOptions(depends_on=[kubernetes]),
            )
            outputs["aksBackupVaultId"] = aks_backup.vault.id

    # -- partners' access --
    if spec.access is not None:
        outputs["partnerAccess"] = _partners(spec.access, compute, net, refs)

    # -- disaster recovery: the application tier in the DR region --
    outputs["activeSite"] = "primary"
    if spec.dr_compute is not None:
        assert dr_net is not None  # activation is validated with the DR network it builds on
        dr = _dr_tier(spec, spec.dr_compute, foundation, dr_net, refs, secrets, icm_db, iom_db)
        outputs.update(dr)

    # -- public DNS and certificates --
    if spec.public_dns is not None:
        # The entry clients reach: the active site's gateway (the DR region's once activated; None while off).
        entry_ip = outputs.get("publicIpAddress")
        public_dns = PublicDns("public-dns", PublicDnsArgs(site, spec.public_dns, rg, entry_ip))
        outputs["publicDns"] = public_dns.facts
    if spec.certificate_alerts is not None:
        CertificateExpiryAlerts(
            "certificate-alerts",
            CertificateExpiryAlertsArgs(
                site,
                spec.certificate_alerts,
                rg,
                workspace,
                {"kv": vault.vault_id},
                monitoring.action_group.id,
            ),
        )

    outputs.update(
        vnetId=net.vnet.id,
        egressIpAddress=net.egress_ip,
        subnetIds=net.subnet_ids,
        keyVaultId=vault.vault_id,
        keyVaultUri=vault.vault_uri,
        registryLoginServer=refs.registry_login_server,
        hostnames=spec.hostnames,
    )
    return outputs


def _partners(
    access: AccessSpec, compute: estate_compute.ComputeEstate, net: Network, refs: SharedRefs
) -> pulumi.Output[list]:
    """The partners' roles on exactly their namespaces, hosts and the hub's Bastion; returns the facts they
    were built from (roles with ids and scopes, commands) with the real subscription, for the stack output."""
    cluster_id = compute.aks.cluster_id if compute.aks is not None else None
    scopes: dict[str, pulumi.Input[str]] = {
        f"bastion:{access.bastion}": refs.bastion_id,
        f"vnet:{access.vnet}": net.vnet.id,
    }
    if cluster_id is not None and access.cluster is not None:
        scopes[f"cluster:{access.cluster}"] = cluster_id
        for namespace in access.workload_keys:
            scopes[f"namespace:{namespace}"] = pulumi.Output.concat(cluster_id, "/namespaces/", namespace)
    for host, vm_id in compute.vm_ids.items():
        scopes[f"vm:{access.vm_names[host]}"] = vm_id
        scopes[f"nic:{access.nic_names[host]}"] = compute.nic_ids[host]
    PartnerAccess("partners", PartnerAccessArgs(access, scopes))
    client = azure_native.authorization.get_client_config_output()
    return client.subscription_id.apply(lambda sub: [a.output() for a in access_facts(access, sub)])


def _databases(
    spec: EstateSpec,
    foundation: Foundation,
    net: Network,
    rg: pulumi.Input[str],
    workspace: pulumi.Input[str],
    secrets: PlatformSecrets,
    shared_stack: pulumi.StackReference,
) -> tuple[IcmDatabase, IomDatabase | None, DrNetwork | None]:
    """SQL MI (with its DR secondary in prd) and, with IOM, PostgreSQL; the DR network they fail over to."""
    assert spec.data is not None
    site, data, admin = spec.site, spec.data.model, spec.data.entra_admin
    dr_site, dr_net = None, None
    if spec.dr_network is not None and spec.dr_site is not None:
        assert foundation.dr_resource_group_name is not None
        dr_net = DrNetwork(
            "dr-network",
            DrNetworkArgs(
                spec.dr_site,
                spec.dr_network,
                foundation.dr_resource_group_name,
                rg,
                workspace,
                net.vnet.id,
                net.vnet.name,
                net.subnet_ids["sqlMi"],
                # The shared DR hub, read only by an activated stack (the others do not need a DR hub).
                DrHubRefs(*(shared_stack.require_output(key) for key in DR_SHARED_OUTPUTS))
                if spec.dr_network.dr_zones
                else None,
            ),
        )
        dr_site = DrSite(foundation.dr_resource_group_name, dr_net.subnet_ids["sqlMi"])
    icm_db = IcmDatabase(
        "icm-database",
        IcmDatabaseArgs(
            site,
            data.sql_mi,
            admin,
            rg,
            net.subnet_ids["sqlMi"],
            workspace,
            secrets.values.get(secret_names.SQL_MI_ADMIN_PASSWORD),
            dr_site,
        ),
    )
    iom_db = None
    if data.postgres is not None:
        iom_db = IomDatabase(
            "iom-database",
            IomDatabaseArgs(
                site,
                data.postgres,
                admin,
                rg,
                net.subnet_ids["postgres"],
                net.dns_zone_ids["postgres"],
                workspace,
                secrets.values[secret_names.POSTGRES_ADMIN_PASSWORD],
            ),
        )
    return icm_db, iom_db, dr_net


def _database_facts(data: DataModel, icm_db: IcmDatabase, iom_db: IomDatabase | None) -> DatabaseFacts:
    """What the apps connect to: ICM's SQL MI by its failover group's listener (or the instance), IOM's server."""
    return DatabaseFacts(
        sql_host=icm_db.host,
        icm_databases=data.sql_mi.databases,
        postgres_host=iom_db.host if iom_db is not None else None,
        postgres_admin_login=data.postgres.admin_login if data.postgres is not None else None,
    )


def _dr_tier(
    spec: EstateSpec,
    compute_spec: ComputeSpec,
    foundation: Foundation,
    dr_net: DrNetwork,
    refs: SharedRefs,
    secrets: PlatformSecrets,
    icm_db: IcmDatabase,
    iom_db: IomDatabase | None,
) -> dict[str, Any]:
    """The application tier re-sited in the DR region (caas:disasterRecovery.activate): the same components from
    the same specs with the DR site, the DR VNet's subnets and the DR hub's zones, reading the databases through
    the failover group's listener. Nothing here depends on a resource of the primary region being reachable:
    the databases' hosts are names, the secrets' values come from the state."""
    assert spec.data is not None
    assert spec.dr_site is not None
    assert foundation.dr_resource_group_name is not None
    dr_site, dr_rg, data = spec.dr_site, foundation.dr_resource_group_name, spec.data.model
    # The DR region's own workspace: diagnostics must not point into the lost region.
    workspace = Observability("dr-observability", ObservabilityArgs(dr_site, spec.log_retention_days, dr_rg))
    vault = KeyVault(
        "dr-keyvault",
        KeyVaultArgs(
            dr_site,
            spec.key_vault_soft_delete_days,
            spec.purge_protection,
            dr_rg,
            dr_net.subnet_ids["privateEndpoints"],
            dr_net.dns_zone_ids["vault"],
            workspace.workspace_id,
            compute_spec.aks.settings.deployer_principal_id if compute_spec.aks is not None else None,
        ),
    )
    # The same values as the primary vault's (from the state): the logins behind the listener are the same.
    dr_secrets = PlatformSecrets(
        "dr-secrets",
        PlatformSecretsArgs(
            dr_site,
            data.secrets,
            spec.data.smtp_password,
            dr_rg,
            vault.vault_id,
            vault.vault.name,
            rotation=spec.data.rotation,  # the same expiry as the primary's copies
            copies=secrets.values,
        ),
    )
    compute = estate_compute.build(dr_site, compute_spec, dr_rg, workspace.workspace_id, dr_net, vault, refs, "dr-")
    if data.dr_vault is not None and compute.vm_ids:
        # The DR hosts are backed up like the primary's, by a vault in their own region.
        Backup("dr-backup", BackupArgs(dr_site, data.dr_vault, dr_rg, workspace.workspace_id, compute.vm_ids))
    outputs: dict[str, Any] = {
        "activeSite": "dr",
        # What the DR tier exports (cluster, NFS, hosts, entry), without its kubeconfig: it would make all secret.
        "drSite": {k: v for k, v in compute.outputs.items() if k != "kubeconfig"},
        # The gateway's certificates are imported here (pipelines/estate/certificates.yml) before it can start.
        "drKeyVaultName": vault.vault.name,
    }
    if "publicIpAddress" in compute.outputs:
        outputs["publicIpAddress"] = compute.outputs["publicIpAddress"]
    if compute.aks is not None and spec.kubernetes is not None:
        aks = compute.aks
        KubernetesLayer(
            "dr-k8s",
            KubernetesLayerArgs(
                site=dr_site,
                spec=spec.kubernetes,
                resource_group_name=dr_rg,
                cluster=ClusterFacts(aks.cluster_id, aks.oidc_issuer_url, aks.kubeconfig, aks.ingress_ip),
                vault_name=vault.vault.name,
                secret_ids=dr_secrets.secret_ids,
                # Pulled through the DR hub's endpoint to the registry's replica.
                registry_login_server=after(refs.registry_login_server, dr_net.dns_zone_ids["registry"]),
                # ICM's host is the failover group's listener: whichever instance is primary serves both sites.
                databases=_database_facts(data, icm_db, iom_db),
                shares=ShareFacts.from_mount_sources(
                    dr_rg, compute.mount_sources, compute_spec.files.shares if compute_spec.files else {}
                ),
            ),
        )
    return outputs
