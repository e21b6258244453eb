"""The stack's resource groups and, where the profile protects, delete locks on them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.site import Site


@dataclass
class FoundationArgs:
    site: Site
    dr_site: Site | None = None  # the DR region's group, when the stack has a DR network


class Foundation(pulumi.ComponentResource):
    """``intershop:caas:Foundation``: the primary resource group (and the DR one when DR is on).

    ``protect`` guards only against Pulumi; the CanNotDelete lock also stops the portal, CLI and scripts.
    """

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Foundation", name, None, opts)
        self.resource_group = self._group(f"{name}-rg", args.site)
        self.resource_group_name = self.resource_group.name
        self.dr_resource_group_name: pulumi.Output[str] | None = None
        if args.dr_site is not None:
            self.dr_resource_group_name = self._group(f"{name}-dr-rg", args.dr_site).name
        self.register_outputs(
            {"resourceGroupName": self.resource_group_name, "drResourceGroupName": self.dr_resource_group_name}
        )

    def _group(self, logical: str, site: Site) -> azure_native.resources.ResourceGroup:
        group = azure_native.resources.ResourceGroup(
            logical,
            azure_native.resources.ResourceGroupArgs(
                resource_group_name=site.names.resource("resource_group"), location=site.location, tags=site.tags
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect),
        )
        if site.protect:
            azure_native.authorization.ManagementLockAtResourceGroupLevel(
                f"{logical}-lock",
                azure_native.authorization.ManagementLockAtResourceGroupLevelArgs(
                    lock_name="do-not-delete",
                    level="CanNotDelete",
                    resource_group_name=group.name,
                    notes=f"{site.environment} estate of {site.names.customer}; remove only by change request",
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return group
