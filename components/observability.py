"""Log Analytics: where every resource's diagnostics go."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.site import Site


@dataclass
class ObservabilityArgs:
    site: Site
    retention_days: int  # the profile's log retention
    resource_group_name: pulumi.Input[str]


class Observability(pulumi.ComponentResource):
    """``intershop:caas:Observability``: the stack's Log Analytics workspace.

    Retention comes from the environment profile (GDPR: logs are kept no longer than the profile says).
    """

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Observability", name, None, opts)
        site = args.site
        self.workspace = azure_native.operationalinsights.Workspace(
            f"{name}-workspace",
            azure_native.operationalinsights.WorkspaceArgs(
                workspace_name=site.names.resource("log_analytics"),
                resource_group_name=args.resource_group_name,
                location=site.location,
                sku=azure_native.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
                retention_in_days=args.retention_days,
                features=azure_native.operationalinsights.WorkspaceFeaturesArgs(
                    # Entra ID only, and a reader sees only the logs of resources they may read.
                    disable_local_auth=True,
                    enable_log_access_using_only_resource_permissions=True,
                ),
                tags=site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect),
        )
        self.workspace_id = self.workspace.id
        self.register_outputs({"workspaceId": self.workspace.id, "customerId": self.workspace.customer_id})
