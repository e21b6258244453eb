"""The Kubernetes layer of one AKS cluster: its provider, cluster add-ons and one AppNamespace per workload.

Every Kubernetes resource names the provider built here from the cluster's user credentials; nothing falls
back to an ambient kubeconfig. ``caas:kubernetes.enabled`` switches the in-cluster part: off, only the Azure
side (identities, federation, role assignments) is registered, so a first ``pulumi up`` works from outside the
VNet; on (from the hub's build agents), the provider, namespaces and releases follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from caas import addressing, kubeconfig, manifests
from caas.charts import icm, ingress, iom, pwa, solr
from caas.sections import kubernetes as layer
from caas.sections.base import SYSTEMS
from caas.specs import kubernetes as kspec
from caas.specs.kubernetes import KubernetesSpec
from caas.specs.site import Site
from components.app_namespace import AppNamespace, AppNamespaceArgs, Share, fence
from components.helm_release import chart_release
from components.otel_collector import OtelCollector, OtelCollectorArgs

core = k8s.core.v1
meta = k8s.meta.v1
AKS_SUBNET = next(s.name for s in addressing.ENVIRONMENT_SUBNETS if s.role == "aks")


@dataclass
class ClusterFacts:
    """What the compute area's AKS cluster provides."""

    cluster_id: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    kubeconfig: pulumi.Input[str]  # secret: the user credentials, exec format (kubelogin)
    ingress_ip: str  # the internal load balancer address the application gateway targets


@dataclass
class DatabaseFacts:
    """What the data area provides; hosts are None when the app is off."""

    sql_host: pulumi.Input[str] | None = None
    # system -> database; ICM signs in with the SQL login of the same name, which the DBA runbook creates
    # with the password in Key Vault secret secret_names.icm_db_password(system).
    icm_databases: dict[str, str] = field(default_factory=dict)
    postgres_host: pulumi.Input[str] | None = None
    postgres_admin_login: str | None = None


@dataclass
class ShareFacts:
    """What the compute area's NFS storage account provides."""

    resource_group_name: pulumi.Input[str]
    account_name: pulumi.Input[str]
    share_names: dict[str, pulumi.Input[str]]  # share key (icm11-live, iom) -> share name
    quotas_gib: dict[str, int]

    @classmethod
    def from_mount_sources(
        cls, resource_group_name: pulumi.Input[str], sources: Mapping[str, pulumi.Output[str]], quotas: dict[str, int]
    ) -> ShareFacts | None:
        """From the compute area's NFS exports, ``<account>.file.core.windows.net:/<account>/<share>``: reading
        account and share from them also waits for each share to exist."""
        if not sources:
            return None
        first = next(iter(sources.values()))
        return cls(
            resource_group_name=resource_group_name,
            account_name=first.apply(lambda s: s.split(".", 1)[0]),
            share_names={k: v.apply(lambda s: s.rsplit("/", 1)[1]) for k, v in sources.items()},
            quotas_gib=quotas,
        )


@dataclass
class TelemetryFacts:
    """What the telemetry area provides: where the collector exports to, and the secret it needs."""

    app_insights_id: pulumi.Input[str]
    connection_string_secret_id: pulumi.Input[str]


@dataclass
class KubernetesLayerArgs:
    site: Site
    spec: KubernetesSpec
    resource_group_name: pulumi.Input[str]
    cluster: ClusterFacts
    vault_name: pulumi.Input[str]
    secret_ids: Mapping[str, pulumi.Input[str]]  # Key Vault secret name -> id, for per-secret read access
    registry_login_server: pulumi.Input[str]
    databases: DatabaseFacts
    shares: ShareFacts | None
    # None: no Application Insights to export to (the DR tier: the primary's is in the lost region), no collector.
    telemetry: TelemetryFacts | None = None


class ClusterAddon(pulumi.ComponentResource):
    """``intershop:caas:ClusterAddon``: a cluster-wide controller in its own namespace, installed by Helm."""

    def __init__(
        self,
        name: str,
        *,
        spec: KubernetesSpec,
        namespace: str,
        release: str,
        chart: str,
        values: pulumi.Input[dict],
        provider: k8s.Provider,
        ingress_ports: tuple[int, ...] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """In its own namespace, fenced like an app's (quota, limit range, default-deny) with the egress the
        add-on needs (``kspec.addon_network_rules``) and inbound only on ``ingress_ports``."""
        super().__init__("intershop:caas:ClusterAddon", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        ns = core.Namespace(
            f"{name}-namespace",
            metadata=meta.ObjectMetaArgs(
                name=namespace,
                labels={"app.kubernetes.io/part-of": "intershop-caas", **manifests.system_namespace_labels()},
            ),
            opts=child,
        )
        ready = fence(name, ns.metadata.name, layer.ADDON_QUOTAS[chart], kspec.addon_network_rules(spec, chart), child)
        if ingress_ports is not None:
            # Inbound only on the listener ports, from anywhere: the internal load balancer's clients.
            ready.append(
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-ingress-only-http",
                    metadata=meta.ObjectMetaArgs(name="ingress-only-http", namespace=ns.metadata.name),
                    spec=k8s.networking.v1.NetworkPolicySpecArgs(
                        pod_selector=meta.LabelSelectorArgs(),
                        policy_types=["Ingress"],
                        ingress=[
                            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                                ports=[
                                    k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p)
                                    for p in ingress_ports
                                ]
                            )
                        ],
                    ),
                    opts=child,
                )
            )
        self.release = chart_release(
            f"{name}-release",
            chart=chart,
            release=release,
            versions=spec.settings.charts,
            namespace=ns.metadata.name,
            values=values,
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=ready),
        )
        self.register_outputs({"namespace": namespace, "release": release})


class KubernetesLayer(pulumi.ComponentResource):
    """``intershop:caas:KubernetesLayer``: everything the environment runs in and around its AKS cluster."""

    def __init__(self, name: str, args: KubernetesLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:KubernetesLayer", name, None, opts)
        if args.telemetry is None:  # nothing to export to: no collector, nothing offered or wired
            args = replace(args, spec=replace(args.spec, collector=None))
        spec = args.spec
        self.provider: k8s.Provider | None = None
        if spec.settings.enabled:
            login = spec.settings.kubelogin
            config: pulumi.Output[str] = pulumi.Output.secret(
                pulumi.Output.from_input(args.cluster.kubeconfig).apply(lambda k: kubeconfig.non_interactive(k, login))
            )
            self.provider = k8s.Provider(
                f"{name}-provider",
                kubeconfig=config,
                # Replace the provider (and with it every object) only if the cluster itself changes.
                cluster_identifier=args.cluster.cluster_id,
                enable_server_side_apply=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.namespaces: dict[str, AppNamespace] = {}
        for w in spec.workloads:
            self.namespaces[w.key] = AppNamespace(
                f"{name}-{w.key}",
                AppNamespaceArgs(
                    site=args.site,
                    spec=spec,
                    workload=w,
                    resource_group_name=args.resource_group_name,
                    cluster_id=args.cluster.cluster_id,
                    oidc_issuer_url=args.cluster.oidc_issuer_url,
                    secret_ids=args.secret_ids,
                    vault_name=args.vault_name,
                    registry_login_server=args.registry_login_server,
                    provider=self.provider,
                    share=_share(w, args.shares),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.collector: OtelCollector | None = None
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        if args.telemetry is not None:
            self._collector(name, args)
        if self.provider is not None:
            self._releases(name, args, self.provider)
        self.namespace_names = {k: ns.namespace for k, ns in self.namespaces.items()}
        # What the customer's own charts (microservices) and runbooks need to use the identities.
        self.client_ids = {k: ns.client_id for k, ns in self.namespaces.items() if ns.client_id is not None}
        self.otlp_endpoint = self.collector.endpoint if self.collector is not None else None
        self.register_outputs(
            {"namespaces": self.namespace_names, "clientIds": self.client_ids, "otlpEndpoint": self.otlp_endpoint}
        )

    def _collector(self, name: str, args: KubernetesLayerArgs) -> None:
        """The OTLP endpoint every app is offered (spec.collector); both phases, like the namespaces' identities."""
        assert args.telemetry is not None
        self.collector = OtelCollector(
            f"{name}-otel",
            OtelCollectorArgs(
                site=args.site,
                spec=args.spec,
                resource_group_name=args.resource_group_name,
                oidc_issuer_url=args.cluster.oidc_issuer_url,
                vault_name=args.vault_name,
                connection_string_secret_id=args.telemetry.connection_string_secret_id,
                app_insights_id=args.telemetry.app_insights_id,
                registry_login_server=args.registry_login_server,
                provider=self.provider,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if self.collector.release is not None:
            self.releases["otel-collector"] = self.collector.release

    def _values(self, build: Callable[..., Any], **inputs: pulumi.Input[Any]) -> pulumi.Output[dict]:
        """Resolve the Azure facts, then build the chart's typed values from the model."""
        return pulumi.Output.all(**inputs).apply(lambda v: build(**v).dump())

    def _releases(self, name: str, args: KubernetesLayerArgs, provider: k8s.Provider) -> None:
        spec, apps, db = args.spec, args.spec.apps, args.databases
        registry = args.registry_login_server
        controller = ClusterAddon(
            f"{name}-ingress",
            spec=spec,
            namespace=layer.INGRESS_NAMESPACE,
            release=layer.INGRESS_RELEASE,
            chart="ingress",
            values=self._values(
                lambda registry: ingress.ingress_values(
                    spec, ingress.IngressFacts(registry, args.cluster.ingress_ip, AKS_SUBNET)
                ),
                registry=registry,
            ),
            provider=provider,
            ingress_ports=(8080,),  # the controller's http container port behind the load balancer's 80
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.releases["ingress"] = controller.release
        web = [controller.release]

        if apps.icm11:
            operator = ClusterAddon(
                f"{name}-solr-operator",
                spec=spec,
                namespace=layer.SOLR_OPERATOR_NAMESPACE,
                release=layer.SOLR_OPERATOR_RELEASE,
                chart="solrOperator",
                values=self._values(
                    lambda registry: solr.solr_operator_values(spec, solr.SolrFacts(registry)), registry=registry
                ),
                provider=provider,
                # It watches only the search namespace, which must exist first (not the whole component:
                # the search release in it waits for this operator's CRDs).
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespaces["search"].namespace_object]),
            )
            self.releases["solr-operator"] = operator.release
            search = self.namespaces["search"].install(
                "solr",
                self._values(lambda registry: solr.solr_values(spec, solr.SolrFacts(registry)), registry=registry),
                depends_on=[operator.release],  # its CRDs
            )
            self.releases["search"] = search
            assert db.sql_host is not None
            for system in SYSTEMS:
                ns = self.namespaces[f"icm-{system}"]
                assert ns.client_id is not None
                assert ns.tenant_id is not None
                self.releases[f"icm-{system}"] = ns.install(
                    "icm",
                    self._values(
                        lambda system=system, **facts: icm.icm_values(spec, system, icm.IcmFacts(**facts)),
                        registry=registry,
                        sql_host=db.sql_host,
                        database=db.icm_databases[system],
                        jdbc_user=db.icm_databases[system],
                        client_id=ns.client_id,
                        tenant_id=ns.tenant_id,
                    ),
                    # The first install initialises the database: ICM's dbinit takes long.
                    timeout_seconds=2700,
                    depends_on=[*web, search],
                )
        if apps.iom:
            ns = self.namespaces["iom"]
            assert db.postgres_host is not None
            assert db.postgres_admin_login is not None
            assert ns.client_id is not None
            assert args.shares is not None
            self.releases["iom"] = ns.install(
                "iom",
                self._values(
                    lambda **facts: iom.iom_values(spec, iom.IomFacts(**facts)),
                    registry=registry,
                    postgres_host=db.postgres_host,
                    admin_login=db.postgres_admin_login,
                    client_id=ns.client_id,
                    volume=ns.share_volume.metadata.name,
                    share_size=f"{args.shares.quotas_gib['iom']}Gi",
                ),
                timeout_seconds=1800,
                depends_on=web,
            )
        if apps.pwa:
            for system in SYSTEMS:
                self.releases[f"pwa-{system}"] = self.namespaces[f"pwa-{system}"].install(
                    "pwaMain",
                    self._values(
                        lambda registry, system=system: pwa.pwa_values(spec, system, pwa.PwaFacts(registry)),
                        registry=registry,
                    ),
                    depends_on=web,
                )


# Which NFS share each workload mounts (share keys as the compute area names them).
SHARE_OF = {"icm-live": "icm11-live", "icm-edit": "icm11-edit", "iom": "iom"}


def _share(w: layer.Workload, shares: ShareFacts | None) -> Share | None:
    key = SHARE_OF.get(w.key)
    if key is None or shares is None or key not in shares.share_names:
        return None
    return Share(shares.resource_group_name, shares.account_name, shares.share_names[key], shares.quotas_gib[key])
