"""Self-hosted build agents in the hub (``caas:buildAgents``): a Managed DevOps Pool with its Dev Center."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.shared import BuildAgentsSpec
from caas.specs.site import Site
from components import roles
from components.hub_network import SHARED_SERVICES_URN
from components.moved import moved_from, stack_urn

dop = azure_native.devopsinfrastructure


@dataclass
class BuildAgentsArgs:
    site: Site
    spec: BuildAgentsSpec
    resource_group_name: pulumi.Input[str]
    hub_vnet_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # the hub's buildAgents subnet (delegated to the pools service)


class BuildAgents(pulumi.ComponentResource):
    """``intershop:caas:BuildAgents``: Dev Center, project, the pool and the subnet grants it needs.

    With the registry's public access off, pipelines build and push from inside the hub. Named
    ``<stem>-build-agents``; the Dev Center parts keep their names from the shared layer (``<stem>-dev-center``).
    """

    def __init__(self, name: str, args: BuildAgentsArgs, opts: pulumi.ResourceOptions | None = None):
        moved = pulumi.ResourceOptions(transformations=[moved_from(self, stack_urn(*SHARED_SERVICES_URN))])
        super().__init__("intershop:caas:BuildAgents", name, None, pulumi.ResourceOptions.merge(opts, moved))
        stem = name.removesuffix("-build-agents")
        project_id = self._project(stem, args)
        # The DevOpsInfrastructure service principal injects agent NICs into the subnet.
        grants = [
            roles.assign(
                f"{stem}-agents-vnet-{role.split()[0].lower()}",
                role=role,
                principal_id=args.spec.devops_infrastructure_principal_id,
                scope=args.hub_vnet_id,
                parent=self,
            )
            for role in ("Reader", "Network Contributor")
        ]
        self.pool = self._pool(name, args, project_id, grants)
        self.register_outputs({"poolId": self.pool.id})

    def _project(self, stem: str, args: BuildAgentsArgs) -> pulumi.Output[str]:
        site, child = args.site, pulumi.ResourceOptions(parent=self)
        dev_center = azure_native.devcenter.DevCenter(
            f"{stem}-dev-center",
            azure_native.devcenter.DevCenterArgs(
                dev_center_name=site.names.resource("dev_center"),
                resource_group_name=args.resource_group_name,
                location=site.location,
                tags=site.tags,
            ),
            opts=child,
        )
        project = azure_native.devcenter.Project(
            f"{stem}-dev-center-project",
            azure_native.devcenter.ProjectArgs(
                project_name=site.names.resource("dev_center_project"),
                resource_group_name=args.resource_group_name,
                location=site.location,
                dev_center_id=dev_center.id,
                tags=site.tags,
            ),
            opts=child,
        )
        return project.id

    def _pool(
        self, name: str, args: BuildAgentsArgs, project_id: pulumi.Input[str], grants: Sequence[pulumi.Resource]
    ) -> dop.Pool:
        site, spec = args.site, args.spec
        return dop.Pool(
            name,
            dop.PoolArgs(
                pool_name=site.names.resource("devops_pool"),
                resource_group_name=args.resource_group_name,
                location=site.location,
                dev_center_project_resource_id=project_id,
                maximum_concurrency=spec.max_concurrency,
                agent_profile=dop.StatelessAgentProfileArgs(kind="Stateless"),
                fabric_profile=dop.VmssFabricProfileArgs(
                    kind="Vmss",
                    sku=dop.DevOpsAzureSkuArgs(name=spec.vm_size),
                    images=[dop.PoolImageArgs(well_known_image_name=spec.image)],
                    network_profile=dop.NetworkProfileArgs(subnet_id=args.subnet_id),
                    storage_profile=dop.StorageProfileArgs(os_disk_storage_account_type="Premium"),
                ),
                organization_profile=dop.AzureDevOpsOrganizationProfileArgs(
                    kind="AzureDevOps",
                    organizations=[dop.OrganizationArgs(url=spec.organization_url, projects=list(spec.projects))],
                    permission_profile=dop.AzureDevOpsPermissionProfileArgs(kind="CreatorOnly"),
                ),
                tags=site.tags,
            ),
            # The subnet grants are not inputs of the pool, but ARM refuses the pool without them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(grants)),
        )
