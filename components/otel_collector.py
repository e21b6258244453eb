"""The environment's OpenTelemetry Collector: the OTLP endpoint offered to every app, exporting to Application
Insights with an Entra ID token.

Azure side (deployed in both phases of ``caas:kubernetes.enabled``): the collector's user-assigned identity,
federated with its service account and the secrets sync's, allowed to publish telemetry to the Application
Insights resource (*Monitoring Metrics Publisher*, which local authentication off requires) and to read the one
Key Vault secret it needs (the connection string). Cluster side (only when enabled): the ``observability``
namespace fenced like every namespace (OTLP in from the app namespaces only; DNS and public HTTPS out), the Key
Vault -> Secret sync, and the Helm release of the official chart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from caas import manifests
from caas.charts import otel_collector
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec
from caas.specs.kubernetes import KubernetesSpec
from caas.specs.site import Site
from components import roles
from components.app_namespace import fence, secret_sync, workload_identity
from components.helm_release import chart_release

core = k8s.core.v1
meta = k8s.meta.v1
managedidentity = azure_native.managedidentity

CHART = "otelCollector"


@dataclass
class OtelCollectorArgs:
    site: Site
    spec: KubernetesSpec
    resource_group_name: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    connection_string_secret_id: pulumi.Input[str]  # the Key Vault secret the telemetry area writes
    app_insights_id: pulumi.Input[str]
    registry_login_server: pulumi.Input[str]
    provider: k8s.Provider | None  # None: the in-cluster layer is switched off


class OtelCollector(pulumi.ComponentResource):
    """``intershop:caas:OtelCollector``: see the module docstring; docs/operations.md says which app sends."""

    def __init__(self, name: str, args: OtelCollectorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:OtelCollector", name, None, opts)
        collector = args.spec.collector
        assert collector is not None  # the layer builds this component only with a collector
        self.endpoint = collector.http_endpoint
        identity = workload_identity(
            name,
            self,
            args.site,
            args.site.names.resource("identity", collector.release),
            args.resource_group_name,
            args.oidc_issuer_url,
            collector.namespace,
            (collector.service_account, layer.SYNC_SERVICE_ACCOUNT),
        )
        # With local authentication off, Application Insights accepts telemetry only from a principal holding
        # this role on the resource ("Microsoft Entra authentication for Application Insights").
        roles.assign(
            f"{name}-publishes-telemetry",
            role="Monitoring Metrics Publisher",
            principal_id=identity.principal_id,
            scope=args.app_insights_id,
            parent=self,
        )
        roles.assign(
            f"{name}-reads-{collector.secret.vault_secret}",
            role="Key Vault Secrets User",
            principal_id=identity.principal_id,
            scope=args.connection_string_secret_id,
            parent=self,
        )
        self.client_id = identity.client_id
        self.release: k8s.helm.v3.Release | None = None
        if args.provider is not None:
            self._in_cluster(name, args, args.provider, identity)
        self.register_outputs({"namespace": collector.namespace, "endpoint": self.endpoint, "clientId": self.client_id})

    def _in_cluster(
        self, name: str, args: OtelCollectorArgs, provider: k8s.Provider, identity: managedidentity.UserAssignedIdentity
    ) -> None:
        spec, collector = args.spec, args.spec.collector
        assert collector is not None

        def child(**kwargs) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=provider, **kwargs)

        ns = core.Namespace(
            f"{name}-namespace",
            metadata=meta.ObjectMetaArgs(
                name=collector.namespace,
                labels={"app.kubernetes.io/part-of": "intershop-caas", **manifests.system_namespace_labels()},
            ),
            opts=child(),
        )
        ready = fence(
            name, ns.metadata.name, layer.ADDON_QUOTAS[CHART], kspec.addon_network_rules(spec, CHART), child()
        )
        account = core.ServiceAccount(
            f"{name}-sa-{layer.SYNC_SERVICE_ACCOUNT}",
            metadata=meta.ObjectMetaArgs(
                name=layer.SYNC_SERVICE_ACCOUNT,
                namespace=ns.metadata.name,
                annotations={"azure.workload.identity/client-id": identity.client_id},
            ),
            automount_service_account_token=False,
            opts=child(),
        )
        ready.append(
            secret_sync(
                name,
                spec=spec,
                workload=collector.secret_sync,
                namespace=ns.metadata.name,
                vault_name=args.vault_name,
                client_id=identity.client_id,
                tenant_id=identity.tenant_id,
                registry_login_server=args.registry_login_server,
                opts=child(depends_on=[account]),
            )
        )
        self.release = chart_release(
            f"{name}-release",
            chart=CHART,
            release=collector.release,
            versions=spec.settings.charts,
            namespace=ns.metadata.name,
            values=pulumi.Output.all(args.registry_login_server, identity.client_id).apply(
                lambda v: otel_collector.collector_values(spec, otel_collector.CollectorFacts(v[0], v[1])).dump()
            ),
            timeout_seconds=600,
            opts=child(depends_on=ready),
        )
