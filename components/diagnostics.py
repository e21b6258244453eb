"""One helper that sends a resource's logs and metrics to Log Analytics; every component reuses it."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_azure_native as azure_native


def send_to_log_analytics(
    name: str,
    *,
    resource_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
    logs: bool = True,
    metrics: bool = True,
    categories: Sequence[str] = (),
) -> azure_native.monitor.DiagnosticSetting:
    """Diagnostic setting ``<name>-diagnostics``: all log categories and all metrics the type offers.

    Some types have no logs (NAT gateway, public IP metrics only) or no metrics (NSG); callers say which.
    ``categories`` names the log categories instead of all, where "all" would be too costly (AKS's kube-audit).
    """
    if categories:
        log_settings = [azure_native.monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in categories]
    elif logs:
        log_settings = [azure_native.monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)]
    else:
        log_settings = None
    return azure_native.monitor.DiagnosticSetting(
        f"{name}-diagnostics",
        azure_native.monitor.DiagnosticSettingArgs(
            name="to-log-analytics",
            resource_uri=resource_id,
            workspace_id=workspace_id,
            log_analytics_destination_type="Dedicated",
            logs=log_settings,
            metrics=[azure_native.monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)]
            if metrics
            else None,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
