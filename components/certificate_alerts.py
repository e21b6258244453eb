"""Expiry alerts for every certificate in a Key Vault: Key Vault publishes CertificateNearExpiry (30 days ahead)
and CertificateExpired to an Event Grid system topic, whose subscriptions raise Azure Monitor alerts through the
environment's action group. Imported, CA-issued and CSR-merged certificates alike, with no polling job."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.dns import ExpiryAlertSpec
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics

eventgrid = azure_native.eventgrid

# The system topic type of a Key Vault (learn.microsoft.com, "Azure Key Vault as Event Grid source").
KEY_VAULT_TOPIC_TYPE = "Microsoft.KeyVault.vaults"
# Subscription names: 3-64 letters, digits and hyphens, unique per topic.
SUBSCRIPTION_NAMES = {
    "Microsoft.KeyVault.CertificateNearExpiry": "certificate-near-expiry",
    "Microsoft.KeyVault.CertificateExpired": "certificate-expired",
}


@dataclass
class CertificateExpiryAlertsArgs:
    site: Site
    spec: ExpiryAlertSpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    vault_ids: dict[str, pulumi.Input[str]]  # short key (part of the topic's name) -> Key Vault id
    action_group_id: pulumi.Input[str]


class CertificateExpiryAlerts(pulumi.ComponentResource):
    """``intershop:caas:CertificateExpiryAlerts``: per vault, a system topic and one subscription per expiry event.

    Destination: Azure Monitor alerts (``MonitorAlert``, learn.microsoft.com, "How to send events to Azure
    Monitor alerts"; Key Vault events only), whose alerts notify the action group and show with every other alert.
    That destination accepts the CloudEvents 1.0 schema only ("Handle Azure Key Vault events using Monitor alerts").
    """

    def __init__(self, name: str, args: CertificateExpiryAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:CertificateExpiryAlerts", name, None, opts)
        site, rg = args.site, args.resource_group_name
        self.topics: dict[str, eventgrid.SystemTopic] = {}
        self.subscriptions: list[eventgrid.SystemTopicEventSubscription] = []
        for key, vault_id in args.vault_ids.items():
            topic = self.topics[key] = eventgrid.SystemTopic(
                f"{name}-{key}",
                eventgrid.SystemTopicArgs(
                    system_topic_name=site.names.resource("event_grid_topic", key),
                    resource_group_name=rg,
                    location=site.location,  # a regional source's topic lives in the source's region
                    source=vault_id,
                    topic_type=KEY_VAULT_TOPIC_TYPE,
                    tags=site.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            send_to_log_analytics(f"{name}-{key}", resource_id=topic.id, workspace_id=args.workspace_id, parent=self)
            for event, severity in args.spec.severities.items():
                self.subscriptions.append(self._subscription(f"{name}-{key}", topic, event, severity, args))
        self.register_outputs({"systemTopicIds": {key: t.id for key, t in self.topics.items()}})

    def _subscription(
        self,
        logical: str,
        topic: eventgrid.SystemTopic,
        event: str,
        severity: int,
        args: CertificateExpiryAlertsArgs,
    ) -> eventgrid.SystemTopicEventSubscription:
        subscription = SUBSCRIPTION_NAMES[event]
        return eventgrid.SystemTopicEventSubscription(
            f"{logical}-{subscription}",
            eventgrid.SystemTopicEventSubscriptionArgs(
                event_subscription_name=subscription,
                system_topic_name=topic.name,
                resource_group_name=args.resource_group_name,
                event_delivery_schema=eventgrid.EventDeliverySchema.CLOUD_EVENT_SCHEMA_V1_0,
                filter=eventgrid.EventSubscriptionFilterArgs(included_event_types=[event]),
                destination=eventgrid.MonitorAlertEventSubscriptionDestinationArgs(
                    endpoint_type="MonitorAlert",
                    severity=f"Sev{severity}",
                    action_groups=[args.action_group_id],
                    description=f"{event.rsplit('.', 1)[-1]}: a certificate of {args.site.names.key_vault()} "
                    "(docs/deploy.md, certificate lifecycle)",
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
