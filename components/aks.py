"""The environment's AKS cluster: private, Entra ID only, overlay networking, egress through the NAT gateway."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.compute import PoolSpec
from caas.specs.compute import AksSpec
from caas.specs.site import Site
from components import roles
from components.computed import computed
from components.diagnostics import send_to_log_analytics

cs = azure_native.containerservice
monitor = azure_native.monitor

# Control-plane logs worth their cost; kube-audit-admin leaves out the read-only (get/list/watch) audit events.
CONTROL_PLANE_LOGS = ("kube-apiserver", "kube-audit-admin", "kube-controller-manager", "cluster-autoscaler", "guard")
# Container insights' stream and extension, as the Azure CLI creates them for managed-identity auth.
INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"
SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule"


@dataclass
class AksClusterArgs:
    site: Site
    spec: AksSpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    registry_id: pulumi.Input[str]  # the shared registry, from the shared stack


class AksCluster(pulumi.ComponentResource):
    """``intershop:caas:AksCluster``: cluster, its two identities and their grants, pools, maintenance windows.

    Exposes ``cluster_id``, ``cluster_name``, ``oidc_issuer_url``, the kubelet identity's ids, ``ingress_ip``
    (the fixed private IP the Kubernetes layer gives its ingress controller) and ``kubeconfig``, a secret in
    exec format (kubelogin), from which the Kubernetes layer builds its provider.
    """

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:AksCluster", name, None, opts)
        control_plane, kubelet, grants = self._identities(name, args)
        self.cluster = self._cluster(name, args, control_plane, kubelet, grants)
        cs.AgentPool(
            f"{name}-pool-user",
            agent_pool_name="user",
            resource_name_=self.cluster.name,
            resource_group_name=args.resource_group_name,
            mode=cs.AgentPoolMode.USER,
            **_pool_settings(args, "user"),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["count"]),
        )
        self._maintenance(name, args)
        self._insights(name, args)
        send_to_log_analytics(
            f"{name}-cluster",
            resource_id=self.cluster.id,
            workspace_id=args.workspace_id,
            parent=self,
            categories=CONTROL_PLANE_LOGS,
        )
        deployer_grant = self._deployer_grant(name, args)
        # serverFqdn "public" is what `az aks get-credentials --public-fqdn` asks for (azure-cli, acs/custom.py,
        # aks_get_credentials): the kubeconfig names the public FQDN, which resolves to the API server's private
        # IP. The private FQDN lives in the "system" private DNS zone, linked to the spoke only, so the hub's
        # build agents could not resolve it. The invoke waits for the deployer's grant, and its result carries
        # the grant as a dependency: every Kubernetes object built from this kubeconfig comes after it.
        credentials = cs.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=self.cluster.name,
            format="exec",
            server_fqdn="public",
            opts=pulumi.InvokeOutputOptions(depends_on=[deployer_grant] if deployer_grant else None),
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            credentials.kubeconfigs[0].value.apply(lambda value: base64.b64decode(value).decode())
        )
        self.cluster_id = self.cluster.id
        self.cluster_name = self.cluster.name
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(
            lambda p: computed("OIDC issuer URL")(p.issuer_url if p else None)
        )
        self.identity_principal_id = control_plane.principal_id  # Azure Backup's snapshot group grant
        self.kubelet_identity_id = kubelet.id
        self.kubelet_identity_client_id = kubelet.client_id
        self.kubelet_identity_object_id = kubelet.principal_id
        self.ingress_ip = str(args.spec.ingress_ip)
        self.register_outputs(
            {
                "clusterId": self.cluster_id,
                "clusterName": self.cluster_name,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeletIdentityClientId": self.kubelet_identity_client_id,
                "kubeletIdentityObjectId": self.kubelet_identity_object_id,
                "ingressIp": self.ingress_ip,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _deployer_grant(self, name: str, args: AksClusterArgs) -> pulumi.Resource | None:
        """AKS RBAC Cluster Admin on this cluster for the identity the deploy runs as (from ``caas init``).

        Local accounts are off and Azure RBAC authorises every request, so without it the Kubernetes layer's
        calls (namespaces, persistent volumes, cluster-scoped chart objects) are refused. A managed identity:
        principal type ServicePrincipal.
        """
        principal = args.spec.settings.deployer_principal_id
        if principal is None:
            return None
        return roles.assign(
            f"{name}-deployer-cluster-admin",
            role="Azure Kubernetes Service RBAC Cluster Admin",
            principal_id=principal,
            scope=self.cluster.id,
            parent=self,
            description="the deploy pipeline's identity manages the cluster's Kubernetes objects",
        )

    def _identities(self, name: str, args: AksClusterArgs):
        """The control plane's and the kubelet's identities, and the grants AKS needs before it creates the cluster."""
        site, rg = args.site, args.resource_group_name
        child = pulumi.ResourceOptions(parent=self)
        # Keyword form: these types have an input called resource_name, which the Args form cannot carry.
        control_plane = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=site.names.resource("identity", "aks"),
            resource_group_name=rg,
            location=site.location,
            tags=site.tags,
            opts=child,
        )
        kubelet = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-kubelet-identity",
            resource_name_=site.names.resource("identity", "aks-kubelet"),
            resource_group_name=rg,
            location=site.location,
            tags=site.tags,
            opts=child,
        )
        # AKS refuses to create the cluster until its identity may assign the kubelet identity to nodes and
        # join the subnet (also where the ingress's internal load balancer takes its IP).
        grants = [
            roles.assign(
                f"{name}-kubelet-identity-operator",
                role="Managed Identity Operator",
                principal_id=control_plane.principal_id,
                scope=kubelet.id,
                parent=self,
            ),
            roles.assign(
                f"{name}-subnet-network-contributor",
                role="Network Contributor",
                principal_id=control_plane.principal_id,
                scope=args.subnet_id,
                parent=self,
            ),
        ]
        roles.assign(
            f"{name}-acr-pull",
            role="AcrPull",
            principal_id=kubelet.principal_id,
            scope=args.registry_id,
            parent=self,
        )
        return control_plane, kubelet, grants

    def _cluster(
        self,
        name: str,
        args: AksClusterArgs,
        control_plane: azure_native.managedidentity.UserAssignedIdentity,
        kubelet: azure_native.managedidentity.UserAssignedIdentity,
        grants: list[pulumi.Resource],
    ) -> cs.ManagedCluster:
        """Private, Entra ID only, Azure RBAC, Cilium overlay; only the system pool is inline."""
        site, spec, aks, rg = args.site, args.spec, args.spec.settings, args.resource_group_name
        cluster_name = site.names.resource("aks")
        return cs.ManagedCluster(
            f"{name}-cluster",
            resource_name_=cluster_name,
            resource_group_name=rg,
            location=site.location,
            dns_prefix=cluster_name,
            kubernetes_version=aks.kubernetes_version,
            sku=cs.ManagedClusterSKUArgs(name=cs.ManagedClusterSKUName.BASE, tier=spec.tier),
            support_plan=cs.KubernetesSupportPlan.KUBERNETES_OFFICIAL,
            node_resource_group=site.names.resource("resource_group", "aks-nodes"),
            # Nobody edits the node resource group by hand; AKS alone manages what is in it.
            node_resource_group_profile=cs.ManagedClusterNodeResourceGroupProfileArgs(restriction_level="ReadOnly"),
            identity=cs.ManagedClusterIdentityArgs(
                type=cs.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[control_plane.id]
            ),
            identity_profile={
                "kubeletidentity": cs.UserAssignedIdentityArgs(
                    resource_id=kubelet.id, client_id=kubelet.client_id, object_id=kubelet.principal_id
                )
            },
            **_access(args),
            **_features(args),
            # Only the system pool is inline (a cluster cannot exist without one); user pools are AgentPools,
            # so they can be added, resized and replaced without touching the cluster.
            agent_pool_profiles=[
                cs.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode=cs.AgentPoolMode.SYSTEM,
                    node_taints=[SYSTEM_POOL_TAINT],
                    **_pool_settings(args, "system"),
                )
            ],
            tags=site.tags,
            # The autoscaler owns the node count; Pulumi sets only the starting point.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=site.protect,
                depends_on=grants,
                ignore_changes=["agentPoolProfiles[0].count"],
            ),
        )

    def _maintenance(self, name: str, args: AksClusterArgs) -> None:
        window = args.spec.settings.maintenance_window
        for short, config_name in (
            ("upgrade", "aksManagedAutoUpgradeSchedule"),
            ("node-os", "aksManagedNodeOSUpgradeSchedule"),
        ):
            cs.MaintenanceConfiguration(
                f"{name}-maintenance-{short}",
                config_name=config_name,
                resource_name_=self.cluster.name,
                resource_group_name=args.resource_group_name,
                maintenance_window=cs.MaintenanceWindowArgs(
                    schedule=cs.ScheduleArgs(
                        weekly=cs.WeeklyScheduleArgs(day_of_week=window.day_of_week, interval_weeks=1)
                    ),
                    start_time=window.start_time,
                    duration_hours=window.duration_hours,
                    utc_offset=window.utc_offset,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _insights(self, name: str, args: AksClusterArgs) -> None:
        """Container insights with managed-identity auth: ARM does not create its data collection rule, the
        Azure CLI would; so the rule and its association to the cluster are declared here."""
        rule = monitor.DataCollectionRule(
            f"{name}-insights-rule",
            monitor.DataCollectionRuleArgs(
                data_collection_rule_name=args.site.names.resource("data_collection_rule", "aks"),
                resource_group_name=args.resource_group_name,
                location=args.site.location,
                kind="Linux",
                data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                    extensions=[
                        monitor.ExtensionDataSourceArgs(
                            name="ContainerInsightsExtension",
                            extension_name="ContainerInsights",
                            streams=[INSIGHTS_STREAM],
                            extension_settings={
                                "dataCollectionSettings": {
                                    "interval": "1m",
                                    "namespaceFilteringMode": "Off",
                                    "enableContainerLogV2": True,
                                }
                            },
                        )
                    ]
                ),
                destinations=monitor.DataCollectionRuleDestinationsArgs(
                    log_analytics=[
                        monitor.LogAnalyticsDestinationArgs(name="workspace", workspace_resource_id=args.workspace_id)
                    ]
                ),
                data_flows=[monitor.DataFlowArgs(streams=[INSIGHTS_STREAM], destinations=["workspace"])],
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        monitor.DataCollectionRuleAssociation(
            f"{name}-insights-association",
            monitor.DataCollectionRuleAssociationArgs(
                association_name="ContainerInsightsExtension",
                resource_uri=self.cluster.id,
                data_collection_rule_id=rule.id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _pool_settings(args: AksClusterArgs, pool: str) -> dict[str, Any]:
    """What system and user pools share: autoscaling, zones, host encryption, no public IPs, Azure Linux."""
    spec: PoolSpec = args.spec.pools[pool]
    disk_type, disk_size = spec.os_disk
    return {
        "type": cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        "vm_size": spec.vm_size,
        "enable_auto_scaling": True,
        "count": spec.min_count,
        "min_count": spec.min_count,
        "max_count": spec.max_count,
        "availability_zones": list(args.site.zones) or None,
        "orchestrator_version": args.spec.settings.kubernetes_version,
        "os_type": cs.OSType.LINUX,
        "os_sku": cs.OSSKU.AZURE_LINUX,
        "os_disk_type": disk_type,
        "os_disk_size_gb": disk_size,
        "enable_encryption_at_host": True,
        "enable_node_public_ip": False,
        "vnet_subnet_id": args.subnet_id,
        "upgrade_settings": cs.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
        "tags": args.site.tags,
    }


def _access(args: AksClusterArgs) -> dict[str, Any]:
    """Sign-in and reach: Entra ID with Azure RBAC, a private API server, Cilium overlay behind the NAT gateway."""
    aks = args.spec.settings
    return {
        # Entra ID sign-in and Azure RBAC only: no local admin account, no static credentials.
        "enable_rbac": True,
        "disable_local_accounts": True,
        "aad_profile": cs.ManagedClusterAADProfileArgs(
            managed=True,
            enable_azure_rbac=True,
            tenant_id=azure_native.authorization.get_client_config_output().tenant_id,
            admin_group_object_ids=list(aks.admin_group_object_ids) or None,
        ),
        # The API server has a private IP only. Its public FQDN resolves to that private IP, so the hub's
        # build agents (peered, but without the environment's private DNS zones) can reach it.
        "api_server_access_profile": cs.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=True,
            private_dns_zone="system",
            enable_private_cluster_public_fqdn=True,
        ),
        "network_profile": cs.ContainerServiceNetworkProfileArgs(
            network_plugin=cs.NetworkPlugin.AZURE,
            network_plugin_mode=cs.NetworkPluginMode.OVERLAY,
            network_dataplane=cs.NetworkDataplane.CILIUM,
            network_policy=cs.NetworkPolicy.CILIUM,
            # The AKS subnet already egresses through the environment's NAT gateway.
            outbound_type=cs.OutboundType.USER_ASSIGNED_NAT_GATEWAY,
            load_balancer_sku=cs.LoadBalancerSku.STANDARD,
            pod_cidr=str(aks.pod_cidr),
            service_cidr=str(aks.service_cidr),
            dns_service_ip=str(aks.service_cidr.network_address + 10),
        ),
    }


def _features(args: AksClusterArgs) -> dict[str, Any]:
    """Workload identity, image cleaner, add-ons (Key Vault CSI, policy, container insights) and upgrades."""
    aks = args.spec.settings
    return {
        "oidc_issuer_profile": cs.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
        "security_profile": cs.ManagedClusterSecurityProfileArgs(
            workload_identity=cs.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
            image_cleaner=cs.ManagedClusterSecurityProfileImageCleanerArgs(enabled=True, interval_hours=168),
        ),
        "addon_profiles": {
            "azureKeyvaultSecretsProvider": cs.ManagedClusterAddonProfileArgs(
                enabled=True, config={"enableSecretRotation": "true", "rotationPollInterval": "2m"}
            ),
            "azurepolicy": cs.ManagedClusterAddonProfileArgs(enabled=True),
            "omsagent": cs.ManagedClusterAddonProfileArgs(
                enabled=True,
                config={"logAnalyticsWorkspaceResourceID": args.workspace_id, "useAADAuth": "true"},
            ),
        },
        "auto_upgrade_profile": cs.ManagedClusterAutoUpgradeProfileArgs(
            upgrade_channel=aks.upgrade_channel, node_os_upgrade_channel=aks.node_os_upgrade_channel
        ),
    }
