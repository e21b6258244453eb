"""Azure Backup for AKS: the cluster's Azure Disk CSI volumes (Solr, ZooKeeper) and its Kubernetes resources.

The steps and roles follow Microsoft's "Back up Azure Kubernetes Service using Azure CLI"
(learn.microsoft.com/azure/backup/azure-kubernetes-service-cluster-backup-using-cli) and the support matrix
(learn.microsoft.com/azure/backup/azure-kubernetes-service-cluster-backup-support-matrix): a Backup vault and an
AKS policy; a storage account + blob container the backup extension writes the resources to (private endpoint,
the cluster is private); the extension ``microsoft.dataprotection.kubernetes``; a trusted-access binding that
lets the vault reach the cluster; the roles ``az dataprotection backup-instance update-msi-permissions``
grants (Azure/azure-cli-extensions, src/dataprotection/.../Manifests/AzureKubernetesService.py: vault Reader on
the cluster and on the snapshot group, cluster Contributor on the snapshot group, narrowed here to Disk Snapshot
Contributor) plus the extension's Storage Blob Data Contributor on the account; then the backup instance. Only
Azure Disk CSI volumes are snapshotted; the NFS volumes of ICM 11 and IOM are skipped (support matrix) and
covered by the share-snapshot pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.data import AksBackupPlan
from caas.specs.site import Site
from components import roles
from components.diagnostics import send_to_log_analytics
from components.private_link import private_endpoint

dp = azure_native.dataprotection
storage = azure_native.storage
kc = azure_native.kubernetesconfiguration

# First backup of the schedule (UTC); the date only anchors the ISO 8601 repeating interval.
BACKUP_START = "2024-01-07T01:00:00+00:00"
EXTENSION_NAMESPACE = "dataprotection-microsoft"  # the namespace the extension deploys itself into


def schedule(frequency_hours: int) -> str:
    """The policy's repeating interval: every 4, 8 or 12 hours, or daily (P1D)."""
    return f"R/{BACKUP_START}/{'P1D' if frequency_hours == 24 else f'PT{frequency_hours}H'}"


def _store(kind: str) -> dp.DataStoreInfoBaseArgs:
    return dp.DataStoreInfoBaseArgs(data_store_type=kind, object_type="DataStoreInfoBase")


def policy(plan: AksBackupPlan) -> dp.BackupPolicyArgs:
    """Operational tier for ``operational_days``; with ``vault_days`` the first backup of each day is copied to
    the vault tier and kept there (the "Daily" retention rule of the CLI article's vault-tier example)."""
    default_tag = dp.TaggingCriteriaArgs(
        is_default=True, tag_info=dp.RetentionTagArgs(tag_name="Default"), tagging_priority=99
    )
    tags = [default_tag]
    rules: list[dp.AzureBackupRuleArgs | dp.AzureRetentionRuleArgs] = [
        dp.AzureRetentionRuleArgs(
            name="Default",
            object_type="AzureRetentionRule",
            is_default=True,
            lifecycles=[
                dp.SourceLifeCycleArgs(
                    delete_after=dp.AbsoluteDeleteOptionArgs(
                        duration=f"P{plan.operational_days}D", object_type="AbsoluteDeleteOption"
                    ),
                    source_data_store=_store("OperationalStore"),
                )
            ],
        )
    ]
    if plan.vault_days:
        tags.append(
            dp.TaggingCriteriaArgs(
                is_default=False,
                tag_info=dp.RetentionTagArgs(tag_name="Daily"),
                tagging_priority=25,
                criteria=[
                    dp.ScheduleBasedBackupCriteriaArgs(
                        object_type="ScheduleBasedBackupCriteria", absolute_criteria=["FirstOfDay"]
                    )
                ],
            )
        )
        rules.append(
            dp.AzureRetentionRuleArgs(
                name="Daily",
                object_type="AzureRetentionRule",
                is_default=False,
                lifecycles=[
                    dp.SourceLifeCycleArgs(
                        delete_after=dp.AbsoluteDeleteOptionArgs(
                            duration=f"P{plan.vault_days}D", object_type="AbsoluteDeleteOption"
                        ),
                        source_data_store=_store("OperationalStore"),
                        target_data_store_copy_settings=[
                            dp.TargetCopySettingArgs(
                                copy_after=dp.ImmediateCopyOptionArgs(object_type="ImmediateCopyOption"),
                                data_store=_store("VaultStore"),
                            )
                        ],
                    )
                ],
            )
        )
    backup_rule = dp.AzureBackupRuleArgs(
        name="BackupDaily" if plan.frequency_hours == 24 else "BackupHourly",
        object_type="AzureBackupRule",
        data_store=_store("OperationalStore"),
        backup_parameters=dp.AzureBackupParamsArgs(backup_type="Incremental", object_type="AzureBackupParams"),
        trigger=dp.ScheduleBasedTriggerContextArgs(
            object_type="ScheduleBasedTriggerContext",
            schedule=dp.BackupScheduleArgs(repeating_time_intervals=[schedule(plan.frequency_hours)], time_zone="UTC"),
            tagging_criteria=tags,
        ),
    )
    return dp.BackupPolicyArgs(
        object_type="BackupPolicy",
        datasource_types=["Microsoft.ContainerService/managedClusters"],
        policy_rules=[backup_rule, *rules],
    )


def extension_settings(plan: AksBackupPlan, resource_group: str, subscription_id: str, tenant_id: str):
    """The extension's configuration settings (the CLI's blobContainer/storageAccount/... shorthands expand to
    these keys)."""
    return {
        "configuration.backupStorageLocation.bucket": plan.container,
        "configuration.backupStorageLocation.config.storageAccount": plan.storage_account,
        "configuration.backupStorageLocation.config.resourceGroup": resource_group,
        "configuration.backupStorageLocation.config.subscriptionId": subscription_id,
        "credentials.tenantId": tenant_id,
    }


@dataclass
class AksBackupArgs:
    site: Site
    plan: AksBackupPlan
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    cluster_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    cluster_principal_id: pulumi.Input[str]  # the control plane's identity: it writes the disk snapshots
    namespaces: Sequence[str]  # the app namespaces to back up
    endpoint_subnet_id: pulumi.Input[str]
    blob_zone_id: pulumi.Input[str]


class AksBackup(pulumi.ComponentResource):
    """``intershop:caas:AksBackup``: vault -> policy; storage -> extension; trusted access; roles -> instance."""

    def __init__(self, name: str, args: AksBackupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:AksBackup", name, None, opts)
        plan, site, rg = args.plan, args.site, args.resource_group_name
        stateful = pulumi.ResourceOptions(parent=self, protect=site.protect)
        client = azure_native.authorization.get_client_config_output()

        self.vault = dp.BackupVault(
            f"{name}-vault",
            dp.BackupVaultInitArgs(
                vault_name=plan.vault_name,
                resource_group_name=rg,
                location=site.location,
                identity=dp.DppIdentityDetailsArgs(type="SystemAssigned"),
                properties=dp.BackupVaultArgs(
                    storage_settings=[dp.StorageSettingArgs(datastore_type="VaultStore", type=plan.redundancy)],
                    security_settings=dp.SecuritySettingsArgs(
                        soft_delete_settings=dp.SoftDeleteSettingsArgs(
                            state=plan.soft_delete_state, retention_duration_in_days=plan.soft_delete_days
                        ),
                        immutability_settings=dp.ImmutabilitySettingsArgs(state=plan.immutability),
                    ),
                    feature_settings=dp.FeatureSettingsArgs(
                        cross_region_restore_settings=dp.CrossRegionRestoreSettingsArgs(
                            state="Enabled" if plan.cross_region_restore else "Disabled"
                        )
                    ),
                    monitoring_settings=dp.MonitoringSettingsArgs(
                        azure_monitor_alert_settings=dp.AzureMonitorAlertSettingsArgs(
                            alerts_for_all_job_failures="Enabled"
                        )
                    ),
                ),
                tags=site.tags,
            ),
            opts=stateful,
        )
        send_to_log_analytics(
            f"{name}-vault", resource_id=self.vault.id, workspace_id=args.workspace_id, parent=self, metrics=False
        )
        self.policy = dp.BackupPolicy(
            f"{name}-policy",
            dp.BackupPolicyInitArgs(
                backup_policy_name=plan.policy_name,
                vault_name=self.vault.name,
                resource_group_name=rg,
                properties=policy(plan),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        # Disk snapshots live in their own group: no delete lock there, Azure Backup prunes them by policy.
        self.snapshot_group = azure_native.resources.ResourceGroup(
            f"{name}-snapshots",
            resource_group_name=plan.snapshot_group,
            location=site.location,
            tags=site.tags,
            opts=stateful,
        )

        # The extension writes the cluster's resources here with its identity: no keys, no public access.
        self.account = storage.StorageAccount(
            f"{name}-storage",
            storage.StorageAccountArgs(
                account_name=plan.storage_account,
                resource_group_name=rg,
                location=site.location,
                kind=storage.Kind.STORAGE_V2,
                sku=storage.SkuArgs(name=plan.storage_sku),
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                enable_https_traffic_only=True,
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                public_network_access=storage.PublicNetworkAccess.DISABLED,
                network_rule_set=storage.NetworkRuleSetArgs(
                    default_action=storage.DefaultAction.DENY, bypass=storage.Bypass.AZURE_SERVICES
                ),
                tags=site.tags,
            ),
            opts=stateful,
        )
        send_to_log_analytics(
            f"{name}-storage", resource_id=self.account.id, workspace_id=args.workspace_id, parent=self, logs=False
        )
        container = storage.BlobContainer(
            f"{name}-container",
            storage.BlobContainerArgs(
                container_name=plan.container,
                account_name=self.account.name,
                resource_group_name=rg,
                public_access=storage.PublicAccess.NONE,
            ),
            opts=stateful,
        )
        # The cluster is private: its extension reaches the account through an endpoint in the spoke.
        endpoint = private_endpoint(
            f"{name}-storage-pe",
            endpoint_name=site.names.resource("private_endpoint", "aksbkp-blob"),
            resource_group_name=rg,
            location=site.location,
            subnet_id=args.endpoint_subnet_id,
            target_id=self.account.id,
            group_id="blob",
            zone_id=args.blob_zone_id,
            tags=site.tags,
            parent=self,
        )

        self.extension = kc.Extension(
            f"{name}-extension",
            kc.ExtensionArgs(
                extension_name=plan.extension_name,
                extension_type="microsoft.dataprotection.kubernetes",
                release_train="stable",
                auto_upgrade_minor_version=True,
                cluster_name=args.cluster_name,
                cluster_resource_name="managedClusters",
                cluster_rp="Microsoft.ContainerService",
                resource_group_name=rg,
                scope=kc.ScopeArgs(cluster=kc.ScopeClusterArgs(release_namespace=EXTENSION_NAMESPACE)),
                configuration_settings=pulumi.Output.all(rg, client.subscription_id, client.tenant_id).apply(
                    lambda v: extension_settings(plan, v[0], v[1], v[2])
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container, endpoint.dns]),
        )
        # Both identities are system-assigned: Azure fills their principal ids on create.
        extension_principal: pulumi.Output[str] = self.extension.aks_assigned_identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )
        vault_principal: pulumi.Output[str] = self.vault.identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )
        grants = [
            roles.assign(
                f"{name}-extension-blob",
                role="Storage Blob Data Contributor",
                principal_id=extension_principal,
                scope=self.account.id,
                parent=self,
            ),
            roles.assign(
                f"{name}-vault-cluster-reader",
                role="Reader",
                principal_id=vault_principal,
                scope=args.cluster_id,
                parent=self,
            ),
            roles.assign(
                f"{name}-vault-snapshots-reader",
                role="Reader",
                principal_id=vault_principal,
                scope=self.snapshot_group.id,
                parent=self,
            ),
            # Microsoft documents Contributor here; the policy pack forbids Contributor in stacks, and all the
            # cluster writes in this group are disk snapshots: Disk Snapshot Contributor (snapshots/*).
            roles.assign(
                f"{name}-cluster-snapshots-contributor",
                role="Disk Snapshot Contributor",
                principal_id=args.cluster_principal_id,
                scope=self.snapshot_group.id,
                parent=self,
            ),
        ]
        # Keyword form: the type has an input called resource_name (the cluster), see NOTES-pulumi-azure-native.
        trusted = azure_native.containerservice.TrustedAccessRoleBinding(
            f"{name}-trusted-access",
            trusted_access_role_binding_name="aks-backup",
            resource_group_name=rg,
            resource_name_=args.cluster_name,
            source_resource_id=self.vault.id,
            roles=["Microsoft.DataProtection/backupVaults/backup-operator"],
            opts=pulumi.ResourceOptions(parent=self),
        )

        def datasource(kind: type[dp.DatasourceArgs] | type[dp.DatasourceSetArgs], object_type: str):
            return kind(
                object_type=object_type,
                resource_id=args.cluster_id,
                resource_location=site.location,
                resource_name=args.cluster_name,
                resource_type="Microsoft.ContainerService/managedClusters",
                datasource_type="Microsoft.ContainerService/managedClusters",
            )

        self.instance = dp.BackupInstance(
            f"{name}-instance",
            dp.BackupInstanceInitArgs(
                backup_instance_name=plan.instance_name,
                vault_name=self.vault.name,
                resource_group_name=rg,
                properties=dp.BackupInstanceArgs(
                    object_type="BackupInstance",
                    friendly_name=plan.instance_name,
                    data_source_info=datasource(dp.DatasourceArgs, "Datasource"),
                    data_source_set_info=datasource(dp.DatasourceSetArgs, "DatasourceSet"),
                    policy_info=dp.PolicyInfoArgs(
                        policy_id=self.policy.id,
                        policy_parameters=dp.PolicyParametersArgs(
                            data_store_parameters_list=[
                                dp.AzureOperationalStoreParametersArgs(
                                    data_store_type="OperationalStore",
                                    object_type="AzureOperationalStoreParameters",
                                    resource_group_id=self.snapshot_group.id,
                                )
                            ],
                            backup_datasource_parameters_list=[
                                dp.KubernetesClusterBackupDatasourceParametersArgs(
                                    object_type="KubernetesClusterBackupDatasourceParameters",
                                    included_namespaces=list(args.namespaces),
                                    snapshot_volumes=True,
                                    include_cluster_scope_resources=True,
                                    included_volume_types=["AzureDisk"],
                                )
                            ],
                        ),
                    ),
                ),
                tags=site.tags,
            ),
            # Validation of the instance fails until the extension, the binding and every role exist.
            opts=pulumi.ResourceOptions(
                parent=self, protect=site.protect, depends_on=[self.extension, trusted, *grants]
            ),
        )
        self.register_outputs({"vaultId": self.vault.id, "instanceId": self.instance.id})
