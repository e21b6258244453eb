"""SLA monitoring: the environment's action group, metric alerts on what it runs, and its cost budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.data import AlertRule, DataModel
from caas.sections.data import Monitoring as MonitoringConfig
from caas.specs.site import Site

monitor = azure_native.monitor
consumption = azure_native.consumption


@dataclass
class MonitoringArgs:
    site: Site
    spec: DataModel  # alert rules, severities, action group and budget names
    monitoring: MonitoringConfig  # caas:monitoring: receivers and budget
    resource_group_name: pulumi.Input[str]
    # Every resource group of the environment: the budget counts their costs together.
    resource_group_names: Sequence[pulumi.Input[str]]
    # What to watch; a target that is None (or empty) gets no alerts.
    sql_mi_id: pulumi.Input[str] | None = None
    postgres_id: pulumi.Input[str] | None = None
    aks_cluster_id: pulumi.Input[str] | None = None
    vm_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    app_gateway_id: pulumi.Input[str] | None = None


def _criterion(rule: AlertRule) -> monitor.MetricCriteriaArgs:
    return monitor.MetricCriteriaArgs(
        criterion_type="StaticThresholdCriterion",
        name=rule.key,
        metric_namespace=rule.namespace,
        metric_name=rule.metric,
        time_aggregation=rule.aggregation,
        operator=rule.operator,
        threshold=rule.threshold,
        dimensions=[monitor.MetricDimensionArgs(name=n, operator="Include", values=list(v)) for n, v in rule.dimensions]
        or None,
    )


class Monitoring(pulumi.ComponentResource):
    """``intershop:caas:Monitoring``: action group (receivers from ``caas:monitoring``), one metric alert per
    model rule whose target exists, severities per environment, and a monthly budget with alert thresholds."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Monitoring", name, None, opts)
        data, mon = args.spec, args.monitoring
        rg = args.resource_group_name

        self.action_group = monitor.ActionGroup(
            f"{name}-action-group",
            monitor.ActionGroupInitArgs(
                action_group_name=data.action_group_name,
                group_short_name=data.action_group_short_name,
                resource_group_name=rg,
                location="Global",
                enabled=True,
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(
                        name=f"email-{i}", email_address=address, use_common_alert_schema=True
                    )
                    for i, address in enumerate(mon.emails)
                ],
                webhook_receivers=[
                    monitor.WebhookReceiverArgs(
                        name=hook.name,
                        service_uri=pulumi.Output.secret(hook.service_uri.get_secret_value()),
                        use_common_alert_schema=True,
                    )
                    for hook in mon.webhooks
                ]
                or None,
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        targets: dict[str, list[pulumi.Input[str]]] = {
            "sqlMi": [args.sql_mi_id] if args.sql_mi_id is not None else [],
            "postgres": [args.postgres_id] if args.postgres_id is not None else [],
            "aks": [args.aks_cluster_id] if args.aks_cluster_id is not None else [],
            "vms": list(args.vm_ids),
            "appGateway": [args.app_gateway_id] if args.app_gateway_id is not None else [],
        }
        self.alerts: dict[str, monitor.MetricAlert] = {}
        for rule in data.alerts:
            scopes = targets[rule.target]
            if scopes:
                self.alerts[rule.key] = self._alert(name, args, rule, scopes, rg)

        self._budget(name, args, args.resource_group_names)
        self.register_outputs({"actionGroupId": self.action_group.id, "alerts": sorted(self.alerts)})

    def _alert(
        self, name: str, args: MonitoringArgs, rule: AlertRule, scopes: list[pulumi.Input[str]], rg: pulumi.Input[str]
    ) -> monitor.MetricAlert:
        if rule.target == "vms":
            # One rule over all hosts; multi-resource rules name the type and region of their targets.
            criteria: (
                monitor.MetricAlertMultipleResourceMultipleMetricCriteriaArgs
                | monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs
            ) = monitor.MetricAlertMultipleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.MultipleResourceMultipleMetricCriteria", all_of=[_criterion(rule)]
            )
            resource_type, region = rule.namespace, args.site.location
        else:
            criteria = monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", all_of=[_criterion(rule)]
            )
            resource_type, region = None, None
        return monitor.MetricAlert(
            f"{name}-alert-{rule.key}",
            monitor.MetricAlertArgs(
                rule_name=args.site.names.resource("metric_alert", rule.key),
                resource_group_name=rg,
                location="global",
                description=rule.description,
                severity=args.spec.severities[rule.level],
                enabled=True,
                scopes=scopes,
                evaluation_frequency="PT1M" if rule.window == "PT5M" else "PT5M",
                window_size=rule.window,
                criteria=criteria,
                target_resource_type=resource_type,
                target_resource_region=region,
                auto_mitigate=True,
                actions=[monitor.MetricAlertActionArgs(action_group_id=self.action_group.id)],
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _budget(self, name: str, args: MonitoringArgs, resource_groups: Sequence[pulumi.Input[str]]) -> None:
        budget = args.monitoring.budget
        notifications = {
            f"{kind.lower()}-{threshold}": consumption.NotificationArgs(
                enabled=True,
                operator="GreaterThanOrEqualTo",
                threshold=threshold,
                threshold_type=kind,
                contact_emails=list(args.monitoring.emails),
                contact_groups=[self.action_group.id],
            )
            for kind, thresholds in (("Actual", budget.thresholds), ("Forecasted", budget.forecast_thresholds))
            for threshold in thresholds
        }
        subscription = azure_native.authorization.get_client_config_output().subscription_id
        # Subscription scope filtered to the environment's groups: prd's DR group counts towards its budget.
        consumption.Budget(
            f"{name}-budget",
            consumption.BudgetArgs(
                budget_name=args.spec.budget_name,
                scope=subscription.apply(lambda sub: f"/subscriptions/{sub}"),
                amount=budget.amount,
                category="Cost",
                time_grain="Monthly",
                time_period=consumption.BudgetTimePeriodArgs(start_date=f"{budget.start_date}T00:00:00Z"),
                filter=consumption.BudgetFilterArgs(
                    dimensions=consumption.BudgetComparisonExpressionArgs(
                        name="ResourceGroupName", operator="In", values=list(resource_groups)
                    )
                ),
                notifications=notifications,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
