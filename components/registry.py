"""The shared container registry (``caas:registry``) and the pipelines' identity that pushes to it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.shared import PipelineIdentitySpec, RegistrySpec
from caas.specs.site import Site
from components import roles
from components.diagnostics import send_to_log_analytics
from components.hub_network import SHARED_SERVICES_URN
from components.moved import moved_from, stack_urn
from components.private_link import private_endpoint

acr = azure_native.containerregistry

# Audience Entra ID expects in tokens exchanged by workload identity federation.
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"


def _moved(component: pulumi.Resource, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    moved = pulumi.ResourceOptions(transformations=[moved_from(component, stack_urn(*SHARED_SERVICES_URN))])
    return pulumi.ResourceOptions.merge(opts, moved)


@dataclass
class DrEndpoint:
    """The DR hub's endpoint to the same registry (its replica serves the DR region), registered in the DR hub's
    own ``privatelink.azurecr.io``: DR clusters pull without the primary region."""

    site: Site  # the DR region's
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    zone_id: pulumi.Input[str]


@dataclass
class ContainerRegistryArgs:
    site: Site
    spec: RegistrySpec
    resource_group_name: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]  # the hub's: the one endpoint, spokes reach it over peering
    zone_id: pulumi.Input[str]  # the shared privatelink.azurecr.io (PrivateDns)
    workspace_id: pulumi.Input[str]
    dr_endpoint: DrEndpoint | None = None  # None without a DR hub


class ContainerRegistry(pulumi.ComponentResource):
    """``intershop:caas:ContainerRegistry``: Premium, private only (one endpoint, in the hub, registered in the
    shared zone), no admin user, no export, optionally replicated to the DR region. Named ``<stem>-registry``;
    the endpoint keeps the name it had in the shared layer (``<stem>-pe-registry``)."""

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:ContainerRegistry", name, None, _moved(self, opts))
        site, spec, rg = args.site, args.spec, args.resource_group_name
        stateful = pulumi.ResourceOptions(parent=self, protect=site.protect)
        self.registry = acr.Registry(
            name,
            acr.RegistryArgs(
                registry_name=site.names.compact("registry"),
                resource_group_name=rg,
                location=site.location,
                sku=acr.SkuArgs(name="Premium"),
                admin_user_enabled=False,
                anonymous_pull_enabled=False,
                public_network_access="Disabled",
                network_rule_bypass_options="None",
                # Dedicated data endpoints: firewall rules can name the registry's own data hosts.
                data_endpoint_enabled=True,
                zone_redundancy="Enabled",
                policies=acr.PoliciesArgs(
                    retention_policy=acr.RetentionPolicyArgs(status="enabled", days=spec.retention_days),
                    # Images leave only through the private network, never by `az acr import` elsewhere.
                    export_policy=acr.ExportPolicyArgs(status="disabled"),
                ),
                tags=site.tags,
            ),
            opts=stateful,
        )
        send_to_log_analytics(name, resource_id=self.registry.id, workspace_id=args.workspace_id, parent=self)
        if spec.replica_location is not None:
            acr.Replication(
                f"{name}-dr",
                acr.ReplicationArgs(
                    replication_name=spec.replica_location,
                    registry_name=self.registry.name,
                    resource_group_name=rg,
                    location=spec.replica_location,
                    region_endpoint_enabled=True,
                    zone_redundancy="Enabled",
                    tags=site.tags,
                ),
                opts=stateful,
            )
        self._private_access(name.removesuffix("-registry"), args)
        self.register_outputs({"registryId": self.registry.id, "loginServer": self.registry.login_server})

    def _private_access(self, stem: str, args: ContainerRegistryArgs) -> None:
        site = args.site
        private_endpoint(
            f"{stem}-pe-registry",
            endpoint_name=site.names.resource("private_endpoint", "cr"),
            resource_group_name=args.resource_group_name,
            location=site.location,
            subnet_id=args.private_endpoint_subnet_id,
            target_id=self.registry.id,
            group_id="registry",
            zone_id=args.zone_id,
            tags=site.tags,
            parent=self,
        )
        if args.dr_endpoint is not None:
            dr = args.dr_endpoint
            private_endpoint(
                f"{stem}-dr-pe-registry",
                endpoint_name=dr.site.names.resource("private_endpoint", "cr"),
                resource_group_name=dr.resource_group_name,
                location=dr.site.location,
                subnet_id=dr.subnet_id,
                target_id=self.registry.id,
                group_id="registry",
                zone_id=dr.zone_id,
                tags=dr.site.tags,
                parent=self,
            )


@dataclass
class PipelineIdentityArgs:
    site: Site
    spec: PipelineIdentitySpec
    resource_group_name: pulumi.Input[str]
    registry_id: pulumi.Input[str]


class PipelineIdentity(pulumi.ComponentResource):
    """``intershop:caas:PipelineIdentity``: the Azure DevOps service connection's identity, federated (no client
    secret anywhere) and allowed to push images to the registry."""

    def __init__(self, name: str, args: PipelineIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:PipelineIdentity", name, None, _moved(self, opts))
        site, rg, child = args.site, args.resource_group_name, pulumi.ResourceOptions(parent=self)
        # Keyword form: these types have an input called resource_name, which the Args form cannot carry.
        self.identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=site.names.resource("identity", "pipelines"),
            resource_group_name=rg,
            location=site.location,
            tags=site.tags,
            opts=child,
        )
        azure_native.managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name="azure-devops",
            resource_name_=self.identity.name,
            resource_group_name=rg,
            issuer=args.spec.issuer,
            subject=args.spec.subject,
            audiences=[FEDERATION_AUDIENCE],
            opts=child,
        )
        roles.assign(
            f"{name}-acr-push",
            role="AcrPush",
            principal_id=self.identity.principal_id,
            scope=args.registry_id,
            parent=self,
        )
        self.client_id = self.identity.client_id
        self.register_outputs({"clientId": self.identity.client_id})
