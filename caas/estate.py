"""Wires the components for one stack from its model. The only place that knows the order of the parts."""

from __future__ import annotations

from typing import Any

import pulumi

from caas import estate_compute
from caas.config import EstateConfig
from caas.stack_outputs import SFTP_SHARED_OUTPUTS, SHARED_OUTPUTS
from components.backup import Backup, BackupArgs
from components.dr_network import DrNetwork, DrNetworkArgs
from components.foundation import Foundation, FoundationArgs
from components.icm_database import DrSite, IcmDatabase, IcmDatabaseArgs
from components.iom_database import IomDatabase, IomDatabaseArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.kubernetes_layer import ClusterFacts, DatabaseFacts, KubernetesLayer, KubernetesLayerArgs, ShareFacts
from components.monitoring import Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs, SharedRefs
from components.observability import Observability, ObservabilityArgs
from components.secrets import PlatformSecrets, PlatformSecretsArgs
from components.sftp import Sftp, SftpAccess, SftpAccessArgs, SftpArgs
from components.shared_services import SharedServices, SharedServicesArgs
from components.vpn import SiteToSiteVpn, SiteToSiteVpnArgs


def build(cfg: EstateConfig) -> dict[str, Any]:
    """Register the stack's resources; return its outputs."""
    foundation = Foundation("foundation", FoundationArgs(cfg))
    rg = foundation.resource_group_name
    observability = Observability("observability", ObservabilityArgs(cfg, rg))
    outputs: dict[str, Any] = {
        "customer": cfg.customer.code,
        "environment": cfg.environment,
        "location": cfg.location.primary,
        "resourceGroupName": rg,
        "logAnalyticsWorkspaceId": observability.workspace_id,
    }
    if cfg.is_shared:
        # -- shared: connectivity (SFTP account) --
        if cfg.sftp_service is not None:
            sftp = Sftp("sftp", SftpArgs(cfg, rg, observability.workspace_id))
            outputs.update(
                sftpStorageAccountId=sftp.account.id,
                sftpStorageAccountName=sftp.account.name,
                sftpHost=sftp.host,
                sftp=sftp.facts,
            )

        shared = SharedServices("shared", SharedServicesArgs(cfg, rg, observability.workspace_id))
        outputs.update(
            hubVnetId=shared.hub_vnet.id,
            hubVnetName=shared.hub_vnet.name,
            hubResourceGroupName=rg,
            registryId=shared.registry.id,
            registryName=shared.registry.name,
            registryLoginServer=shared.registry.login_server,
            pipelineIdentityClientId=shared.pipeline_identity.client_id,
        )
        return outputs

    assert cfg.shared_stack is not None  # the model requires it for environment stacks
    shared_stack = pulumi.StackReference("shared", stack_name=cfg.shared_stack)
    refs = SharedRefs(*(shared_stack.require_output(key) for key in SHARED_OUTPUTS if key not in SFTP_SHARED_OUTPUTS))
    net = Network("network", NetworkArgs(cfg, rg, observability.workspace_id, refs))
    vault = KeyVault(
        "keyvault",
        KeyVaultArgs(
            cfg, rg, net.subnet_ids["privateEndpoints"], net.dns_zone_ids["vault"], observability.workspace_id
        ),
    )
    # Each area wires its components below its marker and adds its outputs to `outputs`.
    # -- compute --
    compute = estate_compute.build(cfg, rg, observability.workspace_id, net, vault, refs)
    outputs.update(compute.outputs)

    # -- data --
    data = cfg.data
    assert data is not None  # the model requires caas:databases and caas:monitoring in environment stacks
    workspace = observability.workspace_id
    secrets = PlatformSecrets("secrets", PlatformSecretsArgs(cfg, rg, vault.vault_id, vault.vault.name))
    dr_site = None
    if cfg.dr_subnets:
        assert foundation.dr_resource_group_name is not None
        dr_net = DrNetwork(
            "dr-network",
            DrNetworkArgs(
                cfg,
                foundation.dr_resource_group_name,
                rg,
                workspace,
                net.vnet.id,
                net.vnet.name,
                net.subnet_ids["sqlMi"],
            ),
        )
        dr_site = DrSite(foundation.dr_resource_group_name, dr_net.subnet_ids["sqlMi"])
    icm_db = IcmDatabase(
        "icm-database",
        IcmDatabaseArgs(
            cfg, rg, net.subnet_ids["sqlMi"], workspace, secrets.values.get("sql-mi-admin-password"), dr_site
        ),
    )
    iom_db = None
    if data.postgres is not None:
        iom_db = IomDatabase(
            "iom-database",
            IomDatabaseArgs(
                cfg,
                rg,
                net.subnet_ids["postgres"],
                net.dns_zone_ids["postgres"],
                workspace,
                secrets.values["postgres-admin-password"],
            ),
        )
    backup = Backup("backup", BackupArgs(cfg, rg, workspace, compute.vm_ids)) if data.vault is not None else None
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            cfg,
            rg,
            [g for g in (rg, foundation.dr_resource_group_name) if g is not None],
            sql_mi_id=icm_db.instance.id,
            postgres_id=iom_db.server.id if iom_db is not None else None,
            aks_cluster_id=compute.aks.cluster_id if compute.aks is not None else None,
            vm_ids=list(compute.vm_ids.values()),
            app_gateway_id=compute.app_gateway_id,
        ),
    )
    outputs.update(
        icmDatabase={"host": icm_db.host, "databases": data.sql_mi.databases},
        iomDatabase={"host": iom_db.host} if iom_db is not None else None,
        keyVaultSecretNames=sorted(data.secrets),
        recoveryVaultId=backup.vault.id if backup is not None else None,
        actionGroupId=monitoring.action_group.id,
        recoveryObjectives=data.recovery_objectives(),
        dataProtection={
            "regions": cfg.data_regions,
            "logRetentionDays": cfg.profile.log_retention_days,
            "maxLogRetentionDays": cfg.data_protection.max_log_retention_days,
            "dataRule": cfg.data_rule,
        },
    )

    # -- connectivity --
    if cfg.sftp_endpoint is not None:
        account_id, account_name, host = (shared_stack.require_output(key) for key in SFTP_SHARED_OUTPUTS)
        sftp_access = SftpAccess(
            "sftp",
            SftpAccessArgs(
                cfg, rg, net.subnet_ids["privateEndpoints"], net.dns_zone_ids["blob"], account_id, account_name, host
            ),
        )
        outputs["sftp"] = sftp_access.facts
    if cfg.vpn_plan is not None:
        vpn = SiteToSiteVpn(
            "vpn",
            SiteToSiteVpnArgs(cfg, rg, net.subnet_ids["gateway"], observability.workspace_id, vault.vault.name),
        )
        outputs["vpn"] = vpn.facts

    # -- kubernetes --
    if compute.aks is not None:
        aks = compute.aks
        kubernetes = KubernetesLayer(
            "k8s",
            KubernetesLayerArgs(
                config=cfg,
                resource_group_name=rg,
                cluster=ClusterFacts(aks.cluster_id, aks.oidc_issuer_url, aks.kubeconfig, aks.ingress_ip),
                vault_name=vault.vault.name,
                secret_ids=secrets.secret_ids,
                registry_login_server=refs.registry_login_server,
                databases=DatabaseFacts(
                    sql_host=icm_db.host,
                    icm_databases=data.sql_mi.databases,
                    postgres_host=iom_db.host if iom_db is not None else None,
                    postgres_admin_login=data.postgres.admin_login if data.postgres is not None else None,
                ),
                shares=ShareFacts.from_mount_sources(rg, compute.mount_sources, cfg.nfs_shares),
            ),
        )
        outputs.update(kubernetesNamespaces=kubernetes.namespace_names, workloadIdentityClientIds=kubernetes.client_ids)

    outputs.update(
        vnetId=net.vnet.id,
        egressIpAddress=net.egress_ip,
        subnetIds=net.subnet_ids,
        keyVaultId=vault.vault_id,
        keyVaultUri=vault.vault_uri,
        registryLoginServer=refs.registry_login_server,
        hostnames=cfg.hostnames,
    )
    return outputs
