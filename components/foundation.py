"""The stack's resource groups and, where the profile protects, delete locks on them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.config import EstateConfig


@dataclass
class FoundationArgs:
    config: EstateConfig


class Foundation(pulumi.ComponentResource):
    """``intershop:caas:Foundation``: the primary resource group (and the DR one when DR is on).

    ``protect`` guards only against Pulumi; the CanNotDelete lock also stops the portal, CLI and scripts.
    """

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Foundation", name, None, opts)
        cfg = args.config
        self.resource_group = self._group(f"{name}-rg", cfg.names.resource("resource_group"), cfg.location.primary, cfg)
        self.resource_group_name = self.resource_group.name
        self.dr_resource_group_name: pulumi.Output[str] | None = None
        if cfg.dr_subnets:
            dr_group = self._group(f"{name}-dr-rg", cfg.dr_names.resource("resource_group"), cfg.location.dr, cfg)
            self.dr_resource_group_name = dr_group.name
        self.register_outputs(
            {"resourceGroupName": self.resource_group_name, "drResourceGroupName": self.dr_resource_group_name}
        )

    def _group(
        self, logical: str, physical: str, location: str, cfg: EstateConfig
    ) -> azure_native.resources.ResourceGroup:
        group = azure_native.resources.ResourceGroup(
            logical,
            azure_native.resources.ResourceGroupArgs(resource_group_name=physical, location=location, tags=cfg.tag_set),
            opts=pulumi.ResourceOptions(parent=self, protect=cfg.profile.protect),
        )
        if cfg.profile.protect:
            azure_native.authorization.ManagementLockAtResourceGroupLevel(
                f"{logical}-lock",
                azure_native.authorization.ManagementLockAtResourceGroupLevelArgs(
                    lock_name="do-not-delete",
                    level="CanNotDelete",
                    resource_group_name=group.name,
                    notes=f"{cfg.environment} estate of {cfg.customer.code}; remove only by change request",
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return group
