"""The shared PA/AR layer: hub network, container registry, build agents and the pipelines' identity."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas import addressing
from caas.config import PRIVATELINK_ZONES, EstateConfig
from components import roles
from components.diagnostics import send_to_log_analytics
from components.private_link import private_endpoint, private_zone
from components.vnet import VNetArgs, build_vnet

acr = azure_native.containerregistry
network = azure_native.network

# Audience Entra ID expects in tokens exchanged by workload identity federation.
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"


@dataclass
class SharedServicesArgs:
    config: EstateConfig
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]


class SharedServices(pulumi.ComponentResource):
    """``intershop:caas:SharedServices``: what every environment uses and nothing environment-specific.

    The shared stack never depends on an environment: environments peer to the hub and create their own
    private endpoints to the registry from their side.
    """

    def __init__(self, name: str, args: SharedServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:SharedServices", name, None, opts)
        cfg = args.config
        names, rg, loc, tags = cfg.names, args.resource_group_name, cfg.location.primary, cfg.tag_set
        assert cfg.registry is not None and cfg.devops is not None and cfg.build_agents is not None

        hub = build_vnet(
            f"{name}-hub",
            VNetArgs(
                resource_group_name=rg,
                location=loc,
                names=names,
                address_space=cfg.network.address_space,
                subnets=cfg.subnets,
                specs=addressing.HUB_SUBNETS,
                workspace_id=args.workspace_id,
                tags=tags,
            ),
            parent=self,
        )
        self.hub_vnet = hub.vnet
        self._bastion(name, cfg, rg, hub.subnet_ids["bastion"], args.workspace_id)

        self.registry = acr.Registry(
            f"{name}-registry",
            acr.RegistryArgs(
                registry_name=names.compact("registry"),
                resource_group_name=rg,
                location=loc,
                sku=acr.SkuArgs(name="Premium"),
                admin_user_enabled=False,
                anonymous_pull_enabled=False,
                public_network_access="Disabled",
                network_rule_bypass_options="None",
                # Dedicated data endpoints: firewall rules can name the registry's own data hosts.
                data_endpoint_enabled=True,
                zone_redundancy="Enabled",
                policies=acr.PoliciesArgs(
                    retention_policy=acr.RetentionPolicyArgs(status="enabled", days=cfg.registry.retention_days),
                    # Images leave only through the private network, never by `az acr import` elsewhere.
                    export_policy=acr.ExportPolicyArgs(status="disabled"),
                ),
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=cfg.profile.protect),
        )
        send_to_log_analytics(
            f"{name}-registry", resource_id=self.registry.id, workspace_id=args.workspace_id, parent=self
        )
        if cfg.registry.geo_replication:
            acr.Replication(
                f"{name}-registry-dr",
                acr.ReplicationArgs(
                    replication_name=cfg.location.dr,
                    registry_name=self.registry.name,
                    resource_group_name=rg,
                    location=cfg.location.dr,
                    region_endpoint_enabled=True,
                    zone_redundancy="Enabled",
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=cfg.profile.protect),
            )

        zone = private_zone(
            f"{name}-dns-registry",
            zone_name=PRIVATELINK_ZONES["registry"],
            resource_group_name=rg,
            links={"link": (hub.vnet.id, names.resource("vnet"))},
            tags=tags,
            parent=self,
        )
        private_endpoint(
            f"{name}-pe-registry",
            endpoint_name=names.resource("private_endpoint", "cr"),
            resource_group_name=rg,
            location=loc,
            subnet_id=hub.subnet_ids["privateEndpoints"],
            target_id=self.registry.id,
            group_id="registry",
            zone_id=zone.id,
            tags=tags,
            parent=self,
        )

        # Azure DevOps service connection: workload identity federation, no client secret anywhere.
        # Keyword form: these types have an input called resource_name, which the Args form cannot carry.
        self.pipeline_identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-pipeline-identity",
            resource_name_=names.resource("identity", "pipelines"),
            resource_group_name=rg,
            location=loc,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        azure_native.managedidentity.FederatedIdentityCredential(
            f"{name}-pipeline-federation",
            federated_identity_credential_resource_name="azure-devops",
            resource_name_=self.pipeline_identity.name,
            resource_group_name=rg,
            issuer=cfg.devops.service_connection_issuer,
            subject=cfg.devops.service_connection_subject,
            audiences=[FEDERATION_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        roles.assign(
            f"{name}-pipeline-acr-push",
            role="AcrPush",
            principal_id=self.pipeline_identity.principal_id,
            scope=self.registry.id,
            parent=self,
        )

        self._build_agents(name, cfg, rg, hub)

        self.register_outputs(
            {
                "hubVnetId": hub.vnet.id,
                "registryId": self.registry.id,
                "registryLoginServer": self.registry.login_server,
                "pipelineIdentityClientId": self.pipeline_identity.client_id,
            }
        )

    def _bastion(
        self,
        name: str,
        cfg: EstateConfig,
        rg: pulumi.Input[str],
        subnet_id: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
    ) -> None:
        """Operators reach the key-only VMs and the private AKS API through Bastion, never a public host IP."""
        ip = network.PublicIPAddress(
            f"{name}-bastion-ip",
            network.PublicIPAddressInitArgs(
                public_ip_address_name=cfg.names.resource("public_ip", "bastion"),
                resource_group_name=rg,
                location=cfg.location.primary,
                sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method="Static",
                zones=list(cfg.profile.zones) or None,
                tags=cfg.tag_set,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        bastion = network.BastionHost(
            f"{name}-bastion",
            network.BastionHostArgs(
                bastion_host_name=cfg.names.resource("bastion"),
                resource_group_name=rg,
                location=cfg.location.primary,
                sku=network.SkuArgs(name="Standard"),
                # Native-client tunnelling: `az network bastion ssh|tunnel` for VMs and the AKS API.
                enable_tunneling=True,
                enable_shareable_link=False,
                ip_configurations=[
                    network.BastionHostIPConfigurationArgs(
                        name="default",
                        subnet=network.SubResourceArgs(id=subnet_id),
                        public_ip_address=network.SubResourceArgs(id=ip.id),
                    )
                ],
                zones=list(cfg.profile.zones) or None,
                tags=cfg.tag_set,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        send_to_log_analytics(f"{name}-bastion", resource_id=bastion.id, workspace_id=workspace_id, parent=self)

    def _build_agents(self, name: str, cfg: EstateConfig, rg: pulumi.Input[str], hub) -> None:
        """Managed DevOps Pool in the hub: with the registry's public access off, pipelines push from inside."""
        agents = cfg.build_agents
        devops = cfg.devops
        assert agents is not None and devops is not None
        dev_center = azure_native.devcenter.DevCenter(
            f"{name}-dev-center",
            azure_native.devcenter.DevCenterArgs(
                dev_center_name=cfg.names.resource("dev_center"),
                resource_group_name=rg,
                location=cfg.location.primary,
                tags=cfg.tag_set,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        project = azure_native.devcenter.Project(
            f"{name}-dev-center-project",
            azure_native.devcenter.ProjectArgs(
                project_name=cfg.names.resource("dev_center_project"),
                resource_group_name=rg,
                location=cfg.location.primary,
                dev_center_id=dev_center.id,
                tags=cfg.tag_set,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The DevOpsInfrastructure service principal injects agent NICs into the subnet.
        grants = [
            roles.assign(
                f"{name}-agents-vnet-{role.split()[0].lower()}",
                role=role,
                principal_id=agents.devops_infrastructure_principal_id,
                scope=hub.vnet.id,
                parent=self,
            )
            for role in ("Reader", "Network Contributor")
        ]
        dop = azure_native.devopsinfrastructure
        dop.Pool(
            f"{name}-build-agents",
            dop.PoolArgs(
                pool_name=cfg.names.resource("devops_pool"),
                resource_group_name=rg,
                location=cfg.location.primary,
                dev_center_project_resource_id=project.id,
                maximum_concurrency=agents.max_concurrency,
                agent_profile=dop.StatelessAgentProfileArgs(kind="Stateless"),
                fabric_profile=dop.VmssFabricProfileArgs(
                    kind="Vmss",
                    sku=dop.DevOpsAzureSkuArgs(name=agents.vm_size),
                    images=[dop.PoolImageArgs(well_known_image_name=agents.image)],
                    network_profile=dop.NetworkProfileArgs(subnet_id=hub.subnet_ids["buildAgents"]),
                    storage_profile=dop.StorageProfileArgs(os_disk_storage_account_type="Premium"),
                ),
                organization_profile=dop.AzureDevOpsOrganizationProfileArgs(
                    kind="AzureDevOps",
                    organizations=[dop.OrganizationArgs(url=devops.organization_url, projects=list(devops.projects))],
                    permission_profile=dop.AzureDevOpsPermissionProfileArgs(kind="CreatorOnly"),
                ),
                tags=cfg.tag_set,
            ),
            # The subnet grants are not inputs of the pool, but ARM refuses the pool without them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
