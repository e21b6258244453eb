"""Observability to SLOs: Application Insights on the stack's workspace, availability probes per served public
hostname, multi-window burn-rate alerts on their SLOs, alert routing for backup and AKS upgrade failures, and
one Azure Monitor workbook per environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from caas.secret_names import SecretRotation
from caas.specs.site import Site
from caas.specs.telemetry import (
    CERT_MIN_REMAINING_DAYS,
    PROBE_FREQUENCY_SECONDS,
    PROBE_TIMEOUT_SECONDS,
    BurnWindow,
    Probe,
    TelemetrySpec,
)
from components.secrets import expiry

insights = azure_native.applicationinsights
monitor = azure_native.monitor
alerts = azure_native.alertsmanagement

# Operations whose failure means an AKS or node image upgrade failed: the cluster's own write (version and
# auto-upgrade), a pool's write (its version) and the node image upgrade action. Names from "Azure permissions
# for Containers" (learn.microsoft.com/azure/role-based-access-control/permissions/containers).
AKS_UPGRADE_OPERATIONS = (
    "Microsoft.ContainerService/managedClusters/write",
    "Microsoft.ContainerService/managedClusters/agentPools/write",
    "Microsoft.ContainerService/managedClusters/agentPools/upgradeNodeImageVersion/action",
)


def burn_rate_query(probe: Probe, window: BurnWindow) -> str:
    """KQL over the Application Insights resource: one row when the error rate over both windows exceeds
    ``factor`` x the error budget (the alert fires on a row count above 0)."""
    threshold = round(window.factor * probe.error_budget, 6)
    return "\n".join(
        (
            "availabilityResults",
            f"| where timestamp > ago({_kql_span(window.long)}) and name == '{probe.test_name}'",
            "| summarize total = count(), failed = countif(success == 0),",
            f"    shortTotal = countif(timestamp > ago({_kql_span(window.short)})),",
            f"    shortFailed = countif(success == 0 and timestamp > ago({_kql_span(window.short)}))",
            f"| where total > 0 and shortTotal > 0 and todouble(failed) / total > {threshold}",
            f"    and todouble(shortFailed) / shortTotal > {threshold}",
        )
    )


def _kql_span(iso: str) -> str:
    """PT1H -> 1h, PT30M -> 30m."""
    return iso.removeprefix("PT").lower()


def workbook_content(spec: TelemetrySpec, ids: Mapping[str, str]) -> dict[str, Any]:
    """The workbook's Notebook/1.0 document: SLO tiles per probed hostname (30-day availability and the budget
    left), the hostnames without a probe and why, then the estate's health from Resource Health and the backup
    jobs of the last 7 days. ``ids`` holds resolved resource ids: appInsights, workspace, and whichever of aks,
    sqlMi, postgres, appGateway, recoveryVault the stack has."""
    items: list[dict[str, Any]] = [_text("title", f"# {spec.workbook_display_name}")]
    if spec.probes:
        targets = ", ".join(f"'{p.test_name}', '{p.hostname}', {p.slo}" for p in spec.probes)
        items.append(
            _query(
                "slo-tiles",
                "\n".join(
                    (
                        f"let targets = datatable(name: string, hostname: string, slo: real) [{targets}];",
                        "availabilityResults",
                        "| where timestamp > ago(30d)",
                        "| summarize availability = 100.0 * countif(success == 1) / count() by name",
                        "| join kind=rightouter targets on name",
                        "| extend budgetLeft = 100.0 * (1.0 - (100.0 - availability) / (100.0 - slo))",
                        "| project hostname, slo, availability, budgetLeft",
                    )
                ),
                "microsoft.insights/components",
                [ids["appInsights"]],
                visualization="tiles",
            )
        )
    unprobed = {**{r: f"{h} (restricted sources only)" for r, h in spec.restricted.items()}}
    unprobed |= {r: f"{h} (public entry off)" for r, h in spec.unserved.items()}
    if unprobed:
        lines = "\n".join(f"- {role}: {what}, SLO {spec.slos[role]} %" for role, what in unprobed.items())
        items.append(_text("unprobed", f"## Hostnames without an availability probe\n{lines}"))
    health = [ids[k] for k in ("aks", "sqlMi", "postgres", "appGateway", "recoveryVault") if k in ids]
    if health:
        listed = ", ".join(f"'{i.lower()}'" for i in health)
        items.append(
            _query(
                "estate-health",
                "healthresources\n| where type == 'microsoft.resourcehealth/availabilitystatuses'\n"
                f"| extend target = tolower(tostring(properties.targetResourceId))\n| where target in ({listed})\n"
                "| project resource = split(target, '/')[-1], type = split(target, '/')[-2], "
                "state = tostring(properties.availabilityState), reason = tostring(properties.reasonType)",
                "microsoft.resourcegraph/resources",
                ["value::all"],
                query_type=1,
                visualization="table",
            )
        )
    if "recoveryVault" in ids:
        items.append(
            _query(
                "backup-jobs",
                "AddonAzureBackupJobs\n| where TimeGenerated > ago(7d)\n"
                "| summarize arg_max(TimeGenerated, JobStatus) by JobUniqueId\n| summarize jobs = count() by JobStatus",
                "microsoft.operationalinsights/workspaces",
                [ids["workspace"]],
                visualization="piechart",
            )
        )
    return {"version": "Notebook/1.0", "items": items, "fallbackResourceIds": [ids["appInsights"]]}


def _text(name: str, markdown: str) -> dict[str, Any]:
    return {"type": 1, "name": name, "content": {"json": markdown}}


def _query(
    name: str, query: str, resource_type: str, resources: list[str], *, visualization: str, query_type: int = 0
) -> dict[str, Any]:
    return {
        "type": 3,
        "name": name,
        "content": {
            "version": "KqlItem/1.0",
            "query": query,
            "size": 0,
            "queryType": query_type,  # 0 Logs (KQL), 1 Azure Resource Graph
            "resourceType": resource_type,
            "crossComponentResources": resources,
            "visualization": visualization,
        },
    }


@dataclass
class TelemetryArgs:
    site: Site
    spec: TelemetrySpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]  # the environment's Key Vault: the connection string's secret
    action_group_id: pulumi.Input[str]  # every alert here goes to the stack's action group
    # Resources the workbook shows and whose failures are routed: label (aks, sqlMi, postgres, appGateway,
    # recoveryVault) -> id; a missing label is a part the stack does not have.
    resources: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    rotation: SecretRotation | None = None  # the vault's secret expiry (caas:keyVault.secretsRotatedOn)


class Telemetry(pulumi.ComponentResource):
    """``intershop:caas:Telemetry``: see the module docstring; docs/operations.md explains each alert."""

    def __init__(self, name: str, args: TelemetryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Telemetry", name, None, opts)
        site, spec = args.site, args.spec
        rg = args.resource_group_name
        # Keyword form: the Args class's ``resource_name`` collides with the constructor's first parameter.
        self.component = insights.Component(
            f"{name}-appinsights",
            resource_name_=spec.app_insights_name,
            resource_group_name=rg,
            location=site.location,
            kind="web",
            application_type=insights.ApplicationType.WEB,
            workspace_resource_id=args.workspace_id,
            ingestion_mode=insights.IngestionMode.LOG_ANALYTICS,
            # Entra ID only: telemetry without a token (the connection string alone) is refused.
            disable_local_auth=True,
            # Ingestion and query stay on public endpoints, authenticated by Entra ID: private ingestion
            # needs an Azure Monitor Private Link Scope, which takes over the resolution of every Azure
            # Monitor endpoint for all networks sharing the hub's DNS (every environment at once); that is
            # a decision for the shared stack, not one environment (docs/operations.md).
            public_network_access_for_ingestion=insights.PublicNetworkAccessType.ENABLED,
            public_network_access_for_query=insights.PublicNetworkAccessType.ENABLED,
            tags=site.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.connection_string_secret = azure_native.keyvault.Secret(
            f"{name}-connection-string",
            azure_native.keyvault.SecretArgs(
                secret_name=spec.connection_string_secret,
                vault_name=args.vault_name,
                resource_group_name=rg,
                properties=azure_native.keyvault.SecretPropertiesArgs(
                    value=pulumi.Output.secret(self.component.connection_string),
                    content_type="Application Insights connection string (Entra ID authentication required)",
                    attributes=expiry(args.rotation),
                ),
                tags=site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["properties"]),
        )
        self.web_tests = {p.role: self._web_test(name, args, p) for p in spec.probes}
        self.slo_alerts = {
            f"{p.role}:{w.key}": self._burn_rate_alert(name, args, p, w) for p in spec.probes for w in spec.windows
        }
        self._backup_routing(name, args)
        self._aks_upgrade_alert(name, args)
        self.workbook = self._workbook(name, args)
        self.app_insights_id = self.component.id
        self.register_outputs(
            {
                "applicationInsightsId": self.component.id,
                "availabilityTests": sorted(self.web_tests),
                "workbookId": self.workbook.id,
            }
        )

    def _web_test(self, name: str, args: TelemetryArgs, probe: Probe) -> insights.WebTest:
        return insights.WebTest(
            f"{name}-avail-{probe.slug}",
            insights.WebTestArgs(
                web_test_name=probe.test_name,
                synthetic_monitor_id=probe.test_name,
                resource_group_name=args.resource_group_name,
                location=args.site.location,
                kind=insights.WebTestKind.STANDARD,
                web_test_kind=insights.WebTestKind.STANDARD,
                description=f"Availability of {probe.url} (SLO {probe.slo} %)",
                enabled=True,
                frequency=PROBE_FREQUENCY_SECONDS,
                timeout=PROBE_TIMEOUT_SECONDS,
                retry_enabled=True,
                locations=[insights.WebTestGeolocationArgs(location=loc) for loc in args.spec.locations],
                request=insights.WebTestPropertiesRequestArgs(
                    request_url=probe.url, http_verb="GET", parse_dependent_requests=False
                ),
                validation_rules=insights.WebTestPropertiesValidationRulesArgs(
                    expected_http_status_code=200,
                    s_sl_check=True,
                    s_sl_cert_remaining_lifetime_check=CERT_MIN_REMAINING_DAYS,
                ),
                # Azure links a test to its component by this tag; without it the portal shows no results.
                tags=pulumi.Output.from_input(self.component.id).apply(
                    lambda cid: {**args.site.tags, f"hidden-link:{cid}": "Resource"}
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _burn_rate_alert(
        self, name: str, args: TelemetryArgs, probe: Probe, window: BurnWindow
    ) -> monitor.ScheduledQueryRule:
        spec = args.spec
        return monitor.ScheduledQueryRule(
            f"{name}-slo-{probe.slug}-{window.key}",
            monitor.ScheduledQueryRuleArgs(
                rule_name=args.site.names.resource("scheduled_query_rule", f"slo-{probe.slug}-{window.key}"),
                resource_group_name=args.resource_group_name,
                location=args.site.location,
                kind=monitor.Kind.LOG_ALERT,
                display_name=f"SLO {probe.hostname}: {window.key} burn",
                description=(
                    f"{probe.hostname} burns its {probe.slo} % availability budget at {window.factor}x over "
                    f"{window.long} and {window.short}: {window.budget_spent_percent} % of 30 days' budget spent"
                ),
                severity=spec.severities[window.level],
                enabled=True,
                scopes=[self.component.id],
                evaluation_frequency=window.frequency,
                window_size=window.long,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                    all_of=[
                        monitor.ConditionArgs(
                            query=burn_rate_query(probe, window),
                            time_aggregation=monitor.TimeAggregation.COUNT,
                            operator=monitor.ConditionOperator.GREATER_THAN,
                            threshold=0,
                            failing_periods=monitor.ConditionFailingPeriodsArgs(
                                number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                            ),
                        )
                    ]
                ),
                auto_mitigate=True,
                actions=monitor.ActionsArgs(action_groups=[args.action_group_id]),
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _backup_routing(self, name: str, args: TelemetryArgs) -> None:
        """The vault raises built-in Azure Monitor alerts for failed jobs (components/backup.py); they notify
        nobody until an alert processing rule adds an action group ("Azure Monitor alerts for Azure Backup",
        learn.microsoft.com/azure/backup/backup-azure-monitoring-built-in-monitor)."""
        vault_id = args.resources.get("recoveryVault")
        if vault_id is None:
            return
        alerts.AlertProcessingRuleByName(
            f"{name}-backup-alerts",
            alerts.AlertProcessingRuleByNameArgs(
                alert_processing_rule_name=args.site.names.resource("alert_processing_rule", "backup"),
                resource_group_name=args.resource_group_name,
                location="Global",
                properties=alerts.AlertProcessingRulePropertiesArgs(
                    scopes=[vault_id],
                    conditions=[
                        alerts.ConditionArgs(
                            field=alerts.Field.MONITOR_SERVICE, operator=alerts.Operator.EQUALS, values=["Azure Backup"]
                        )
                    ],
                    actions=[
                        alerts.AddActionGroupsArgs(
                            action_type="AddActionGroups", action_group_ids=[args.action_group_id]
                        )
                    ],
                    description="Failed backup jobs of the environment's vault go to its action group",
                    enabled=True,
                ),
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _aks_upgrade_alert(self, name: str, args: TelemetryArgs) -> None:
        """Activity log alert on the cluster's failed upgrade operations (cluster, pools, node images); the scope
        is a prefix, so it covers the agent pools ("Activity log alert rules", learn.microsoft.com/azure/
        azure-monitor/alerts/alerts-types#activity-log-alerts)."""
        cluster_id = args.resources.get("aks")
        if cluster_id is None:
            return
        leaf = monitor.AlertRuleAnyOfOrLeafConditionArgs
        monitor.ActivityLogAlert(
            f"{name}-aks-upgrade-failed",
            monitor.ActivityLogAlertArgs(
                activity_log_alert_name=args.site.names.resource("activity_log_alert", "aks-upgrade-failed"),
                resource_group_name=args.resource_group_name,
                location="Global",
                scopes=[cluster_id],
                enabled=True,
                description="An AKS, node pool or node image upgrade of the cluster failed",
                condition=monitor.AlertRuleAllOfConditionArgs(
                    all_of=[
                        leaf(field="category", equals="Administrative"),
                        leaf(field="status", equals="Failed"),
                        leaf(field="operationName", contains_any=list(AKS_UPGRADE_OPERATIONS)),
                    ]
                ),
                actions=monitor.ActionListArgs(
                    action_groups=[monitor.ActionGroupArgs(action_group_id=args.action_group_id)]
                ),
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _workbook(self, name: str, args: TelemetryArgs) -> insights.Workbook:
        ids: dict[str, pulumi.Input[str]] = {
            "appInsights": self.component.id,
            "workspace": args.workspace_id,
            **args.resources,
        }
        return insights.Workbook(  # keyword form, as for the Component
            f"{name}-workbook",
            resource_name_=args.site.names.guid("workbook"),  # a workbook's name must be a GUID
            resource_group_name=args.resource_group_name,
            location=args.site.location,
            kind=insights.WorkbookSharedTypeKind.SHARED,
            category="workbook",
            display_name=args.spec.workbook_display_name,
            source_id=self.component.id,
            serialized_data=pulumi.Output.all(**ids).apply(
                lambda resolved: json.dumps(workbook_content(args.spec, resolved), sort_keys=True)
            ),
            tags=args.site.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
