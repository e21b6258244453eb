"""Config of the Kubernetes layer: ``caas:kubernetes``.

What runs in each environment's AKS cluster: one namespace per app, environment and system, the ingress
controller, SolrCloud for ICM 11, the Helm releases of Intershop's charts, and who may touch which namespace.
Everything the components and the Helm values need is derived once in ``caas.specs.kubernetes`` (``workloads``
with their secrets, ``network_rules``, quotas, images), so tests read the facts the program deploys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from caas.sections.base import Hostname, Section

if TYPE_CHECKING:
    pass

App = Literal["icm", "iom", "pwa", "search", "microservices"]


# -------------------------------------------------------------------------------------------------------
# Charts: where each comes from. The versions are pinned in config (defaults below), never ranges.

INTERSHOP_REPO = "https://intershop.github.io/helm-charts"
SOLR_REPO = "https://solr.apache.org/charts"
HAPROXY_REPO = "https://haproxytech.github.io/helm-charts"
OTEL_REPO = "https://open-telemetry.github.io/opentelemetry-helm-charts"


@dataclass(frozen=True)
class ChartSource:
    repo: str
    chart: str


CHARTS: dict[str, ChartSource] = {
    "icm": ChartSource(INTERSHOP_REPO, "icm"),
    "iom": ChartSource(INTERSHOP_REPO, "iom"),
    "pwaMain": ChartSource(INTERSHOP_REPO, "pwa-main"),
    "solrOperator": ChartSource(SOLR_REPO, "solr-operator"),
    "solr": ChartSource(SOLR_REPO, "solr"),
    "ingress": ChartSource(HAPROXY_REPO, "kubernetes-ingress"),
    "otelCollector": ChartSource(OTEL_REPO, "opentelemetry-collector"),
}

ChartVersion = Annotated[
    str,
    Field(
        pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$",
        description="an exact chart version such as 2.21.1 (no ranges, no wildcards)",
    ),
]


def _pinned(chart: str) -> str:
    return f"an exact version of {chart}, e.g. 1.2.3 (no ranges, no wildcards)"


class ChartVersions(Section):
    """Pinned chart versions; upgrade one by changing it here after reading the chart's changelog."""

    icm: ChartVersion = Field(default="2.21.1", description=_pinned("intershop/icm"))
    iom: ChartVersion = Field(default="3.1.1", description=_pinned("intershop/iom"))
    pwa_main: ChartVersion = Field(default="0.13.0", description=_pinned("intershop/pwa-main"))
    solr_operator: ChartVersion = Field(default="0.9.1", description=_pinned("apache-solr/solr-operator"))
    solr: ChartVersion = Field(default="0.9.1", description=_pinned("apache-solr/solr"))
    ingress: ChartVersion = Field(default="1.52.1", description=_pinned("haproxytech/kubernetes-ingress"))
    otel_collector: ChartVersion = Field(
        default="0.170.0", description=_pinned("open-telemetry/opentelemetry-collector")
    )


# -------------------------------------------------------------------------------------------------------
# Images: every container comes from the shared registry (mirrored there with `az acr import`).


class Image(Section):
    repository: str = Field(
        pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$",
        description="path in the shared registry, e.g. acme/icm-as",
    )
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="an image tag, never latest")
    digest: str | None = Field(
        default=None,
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="the manifest digest the tag was pushed as (sha256:<64 hex>); prd requires it for release images",
    )

    @property
    def pinned_tag(self) -> str:
        """The tag as charts that concatenate ``repository:tag`` take it: ``<tag>@<digest>`` once a digest is set,
        so the kubelet pulls exactly the released manifest whatever the tag points to later."""
        return f"{self.tag}@{self.digest}" if self.digest else self.tag


ImageRole = Literal[
    "icmAs",
    "iom",
    "pwaSsr",
    "pwaNginx",
    "solr",
    "icmWebadapter",
    "icmWebadapterAgent",
    "icmWaMonitoring",
    "icmInfrastructureProbing",
    "iomDbaccount",
    "kubectl",
    "zookeeper",
    "zookeeperOperator",
    "solrOperator",
    "ingressController",
    "busybox",
    "pause",
    "otelCollector",
]
# Project images (built by the customer's pipeline) and Solr (its version follows Intershop's release notes for
# the ICM release) have no default. The others default to what the pinned charts were released with.
PROJECT_IMAGES = {"icm11": ("icmAs", "solr"), "iom": ("iom",), "pwa": ("pwaSsr", "pwaNginx")}
# What the application release pipelines build and promote (pipelines/release/): the digest-pinned roles in prd.
RELEASE_IMAGES = ("icmAs", "iom", "pwaSsr", "pwaNginx")
# Roles whose chart or operator reads the tag as a version, so a digest cannot be appended to it: the Solr
# operator compares the pods' image tag with spec.solrImage.tag, the ZooKeeper operator copies the tag likewise.
TAG_ONLY_IMAGES = ("solr", "zookeeper")
IMAGE_DEFAULTS: dict[str, Image] = {
    role: Image(repository=repository, tag=tag)
    for role, (repository, tag) in {
        "icmWebadapter": ("intershophub/icm-webadapter", "2.7.0"),
        "icmWebadapterAgent": ("intershophub/icm-webadapteragent", "6.0.1"),
        "icmWaMonitoring": ("intershophub/icm-wa-monitoring-exporter", "1.1.0"),
        "icmInfrastructureProbing": ("intershophub/infrastructure-probing", "3.0.0"),
        "iomDbaccount": ("intershophub/iom-dbaccount", "2.0.0"),
        "kubectl": ("bitnami/kubectl", "1.32.1"),  # IOM's and the PWA's upgrade hooks, ZooKeeper operator hooks
        "zookeeper": ("pravega/zookeeper", "0.2.15"),
        "zookeeperOperator": ("pravega/zookeeper-operator", "0.2.15"),
        "solrOperator": ("apache/solr-operator", "v0.9.1"),
        "ingressController": ("haproxytech/kubernetes-ingress", "3.2.12"),
        "busybox": ("library/busybox", "1.37.0"),  # prepares the ICM share's folders
        "pause": ("k8s/pause", "3.10"),  # keeps the Key Vault secrets synced
        # The contrib distribution: the core image has neither the azuremonitor exporter nor the azureauth
        # extension. The tag is the pinned chart's appVersion (opentelemetry-collector 0.170.0 -> 0.158.0).
        "otelCollector": ("otel/opentelemetry-collector-contrib", "0.158.0"),
    }.items()
}


# The roles each app's releases and manifests run (caas/charts, components/app_namespace.py); the ingress controller
# runs whenever the layer does. Tests hold this against every image of the rendered plans.
APP_IMAGE_ROLES: dict[str, tuple[str, ...]] = {
    "icm11": (
        "icmAs",
        "icmInfrastructureProbing",
        "icmWebadapter",
        "icmWebadapterAgent",
        "icmWaMonitoring",
        "busybox",
        "solr",
        "zookeeper",
        "zookeeperOperator",
        "solrOperator",
        "kubectl",
    ),
    "iom": ("iom", "iomDbaccount", "kubectl"),
    "pwa": ("pwaSsr", "pwaNginx", "kubectl"),
}


# -------------------------------------------------------------------------------------------------------
# Sizes: per scale in one table each; the stack file may override per app or component.

CpuQuantity = Annotated[str, Field(pattern=r"^\d+(\.\d+)?m?$", description="CPU, e.g. 4 or 500m")]
MemoryQuantity = Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$", description="memory, e.g. 16Gi")]


class Quota(Section):
    """The ResourceQuota of one namespace."""

    requests_cpu: CpuQuantity
    requests_memory: MemoryQuantity
    limits_cpu: CpuQuantity
    limits_memory: MemoryQuantity
    pods: int = Field(ge=1, le=500)


def _quota(rc: str, rm: str, lc: str, lm: str, pods: int) -> Quota:
    return Quota(requests_cpu=rc, requests_memory=rm, limits_cpu=lc, limits_memory=lm, pods=pods)


# Per namespace (ICM and PWA: per system). Sized for the replicas and resources below plus one rolling-update surge.
QUOTA_DEFAULTS: dict[str, dict[str, Quota]] = {
    "production": {
        "icm": _quota("10", "32Gi", "20", "40Gi", 20),
        "iom": _quota("6", "12Gi", "8", "12Gi", 10),
        "pwa": _quota("4", "6Gi", "8", "8Gi", 15),
        "search": _quota("6", "16Gi", "12", "20Gi", 12),
        "microservices": _quota("8", "16Gi", "16", "32Gi", 50),
    },
    "small": {
        "icm": _quota("4", "12Gi", "8", "16Gi", 15),
        "iom": _quota("2", "4Gi", "3", "6Gi", 8),
        "pwa": _quota("2", "3Gi", "4", "4Gi", 10),
        "search": _quota("2", "6Gi", "4", "8Gi", 6),
        "microservices": _quota("4", "8Gi", "8", "16Gi", 30),
    },
}

Component = Literal["icmAs", "icmWebadapter", "iom", "pwa", "pwaCache", "solr", "zookeeper", "ingress", "otelCollector"]
REPLICA_DEFAULTS: dict[str, dict[str, int]] = {
    "production": {
        "icmAs": 2,
        "icmWebadapter": 2,
        "iom": 2,
        "pwa": 2,
        "pwaCache": 2,
        "solr": 3,
        "zookeeper": 3,
        "ingress": 3,
        "otelCollector": 2,  # telemetry keeps flowing through a node drain or a rolling update
    },
    "small": {
        "icmAs": 1,
        "icmWebadapter": 1,
        "iom": 1,
        "pwa": 1,
        "pwaCache": 1,
        "solr": 1,
        "zookeeper": 1,
        "ingress": 2,
        "otelCollector": 1,
    },
}


@dataclass(frozen=True)
class Resources:
    """Container requests and limits (memory requests equal limits: no overcommit of JVM heaps)."""

    cpu_request: str
    cpu_limit: str
    memory: str


RESOURCE_DEFAULTS: dict[str, dict[str, Resources]] = {
    "production": {
        "icmAs": Resources("2", "4", "8Gi"),
        "iom": Resources("2", "2", "4Gi"),
        "pwa": Resources("500m", "1", "1Gi"),
        "pwaCache": Resources("100m", "500m", "256Mi"),
        "solr": Resources("1", "2", "4Gi"),
        "zookeeper": Resources("250m", "500m", "1Gi"),
        "otelCollector": Resources("200m", "1", "512Mi"),
    },
    "small": {
        "icmAs": Resources("1", "2", "4Gi"),
        "iom": Resources("1", "1", "2000Mi"),
        "pwa": Resources("250m", "1", "1Gi"),
        "pwaCache": Resources("50m", "250m", "128Mi"),
        "solr": Resources("500m", "1", "3Gi"),
        "zookeeper": Resources("100m", "250m", "512Mi"),
        "otelCollector": Resources("100m", "500m", "256Mi"),
    },
}
SEARCH_STORAGE_GIB = {"production": 64, "small": 16}


# -------------------------------------------------------------------------------------------------------
# The section

NamespaceName = Annotated[
    str,
    Field(
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="a Kubernetes namespace name: lower-case letters, digits and '-', at most 63 characters",
    ),
]
WorkloadKey = Literal["icm-live", "icm-edit", "iom", "pwa-live", "pwa-edit", "search", "microservices"]


class Smtp(Section):
    """IOM's mail relay; its password comes from caas:secrets.smtpPassword through Key Vault."""

    host: Hostname
    port: int = Field(default=587, ge=1, le=65535)
    encryption: Literal["auto", "ssl", "startTls"] = "startTls"
    user: str | None = Field(default=None, min_length=1, max_length=256)


class Iom(Section):
    """IOM's settings the Azure estate cannot know."""

    smtp: Smtp | None = Field(default=None, description="required with iom")


class EgressRule(Section):
    """Extra egress an app needs beyond its database, search and DNS (e.g. a payment provider)."""

    cidr: IPv4Network
    ports: tuple[Annotated[int, Field(ge=1, le=65535)], ...] = Field(min_length=1)


class Kubernetes(Section):
    """``caas:kubernetes``: the in-cluster layer of an environment with containerised apps."""

    enabled: bool = Field(
        default=False,
        description="register in-cluster resources (needs line of sight to the private API server)",
    )
    kubelogin: Literal["azurecli", "workloadidentity", "msi"] = Field(
        default="azurecli", description="how kubelogin gets the deployer's token (non-interactive)"
    )
    charts: ChartVersions = ChartVersions()
    images: dict[ImageRole, Image] = Field(
        default_factory=dict, description="per-role images in the shared registry, over the defaults"
    )
    namespaces: dict[WorkloadKey, NamespaceName] = Field(
        default_factory=dict, description="per-workload namespace name overrides"
    )
    quotas: dict[App, Quota] = Field(default_factory=dict, description="per-app ResourceQuota overrides")
    replicas: dict[Component, Annotated[int, Field(ge=1, le=50)]] = Field(
        default_factory=dict, description="per-component replica overrides"
    )
    iom: Iom = Iom()
    allow_egress: dict[App, tuple[EgressRule, ...]] = Field(
        default_factory=dict, description="extra egress per app (default: none)"
    )


# The cluster add-ons' namespaces (key: the chart). Ingress: two 1-CPU/400Mi controllers plus a surge; the Solr
# operator: one small controller (its chart's defaults) plus a surge.
ADDON_QUOTAS: dict[str, Quota] = {
    "ingress": _quota("2", "2Gi", "4", "2Gi", 10),
    "solrOperator": _quota("1", "1Gi", "2", "2Gi", 5),
    # The collector (production: two 1-CPU/512Mi replicas) plus a surge, and the secrets sync pod.
    "otelCollector": _quota("1", "2Gi", "4", "2Gi", 6),
}


# -------------------------------------------------------------------------------------------------------
# Derived facts

INGRESS_NAMESPACE = "ingress-haproxy"
INGRESS_CLASS = "haproxy"
INGRESS_RELEASE = "ingress"
SOLR_OPERATOR_NAMESPACE = "solr-operator"
SOLR_OPERATOR_RELEASE = "solr-operator"
# The OpenTelemetry Collector every app may send OTLP to; the chart's fullname is overridden to the release name,
# so its Service and ServiceAccount are both "otel-collector".
OBSERVABILITY_NAMESPACE = "observability"
OTEL_RELEASE = "otel-collector"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
SEARCH_RELEASE = "search"  # the solr chart names the SolrCloud after the release: "search"
SYNC_SERVICE_ACCOUNT = "secrets-sync"
MICROSERVICES_SERVICE_ACCOUNT = "microservices"
STATIC_STORAGE_CLASS = "caas-static-nfs"  # no StorageClass of this name exists: nothing is ever provisioned
# Namespaces the platform owns; overrides may not take them.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "gatekeeper-system"})


def helm_fullname(release: str, chart: str) -> str:
    """The `<chart>.fullname` helper all Intershop charts share: the release name alone when it contains the
    chart name (a substring test), else ``<release>-<chart>``; cut to 63 characters minus a trailing '-'."""
    name = release if chart in release else f"{release}-{chart}"
    name = name[:63]
    return name[:-1] if name.endswith("-") else name


@dataclass(frozen=True)
class OtlpSupport:
    """Where an app's chart takes an OTLP endpoint, and from which chart and app version on (read from the
    chart sources in intershop/helm-charts): the layer wires the collector only when both pinned versions reach
    the minimum, so a newer pinned chart or image turns the wiring on by itself."""

    chart: str  # a key of CHARTS
    key: str  # the values key, for docs and reports
    min_chart: str  # the first chart version with the key
    image_role: str  # whose tag carries the app version (up to the first '-')
    min_version: str  # the first app version that reads it


OTLP_SUPPORT: dict[str, OtlpSupport] = {
    # icm-as 2.13.0 (umbrella icm 2.19.0) added openTelemetry.*; its docs (values-yaml/open-telemety.asciidoc):
    # "@Since icm-as version 14.3.0, previous icm-as versions do not support the Open Telemetry Java agent".
    "icm": OtlpSupport("icm", "icm-as.openTelemetry.exporterEndpoint", "2.19.0", "icmAs", "14.3.0"),
    # iom 3.0.0 added jboss.metricsEndpoint (OMS_OTEL_COLLECTOR): "Requires IOM version 5.0.0 or later".
    "iom": OtlpSupport("iom", "jboss.metricsEndpoint", "3.0.0", "iom", "5.0.0"),
}


@dataclass(frozen=True)
class SyncedSecret:
    """A Key Vault secret copied into a Kubernetes Secret of the workload's namespace."""

    vault_secret: str  # the Key Vault secret name
    secret: str  # the Kubernetes Secret
    key: str  # the key inside it


@dataclass(frozen=True)
class Workload:
    """One namespace of the layer and what runs in it."""

    key: str  # icm-live, iom, pwa-edit, search, microservices
    app: str
    system: str | None
    namespace: str
    release: str | None  # the Helm release in it (None: the customer deploys)
    app_service_account: str | None  # the service account the app runs as, federated with its identity
    hostnames: tuple[str, ...] = ()
    web_ports: tuple[int, ...] = ()  # container ports the ingress controller reaches
    secrets: tuple[SyncedSecret, ...] = field(default=())

    @property
    def identity(self) -> bool:
        """Workloads that read Key Vault or run customer code get a user-assigned identity."""
        return self.app_service_account is not None

    @property
    def federated_service_accounts(self) -> tuple[str, ...]:
        if self.app_service_account is None:
            return ()
        accounts = [self.app_service_account]
        if self.secrets:
            accounts.append(SYNC_SERVICE_ACCOUNT)
        return tuple(accounts)


# -------------------------------------------------------------------------------------------------------
# Network policy: default deny, then exactly what each workload needs.

Port = tuple[str, int, int | None]  # protocol, port, end port


@dataclass(frozen=True)
class Peer:
    namespace: str | None = None  # all pods of this namespace
    pod_labels: tuple[tuple[str, str], ...] = ()  # with namespace: only these pods
    cidr: str | None = None
    except_cidrs: tuple[str, ...] = ()  # with cidr: these ranges excepted


@dataclass(frozen=True)
class PolicyRule:
    """One NetworkPolicy: all pods of the namespace may receive from / send to ``peers`` on ``ports``."""

    name: str
    direction: Literal["Ingress", "Egress"]
    peers: tuple[Peer, ...]
    ports: tuple[Port, ...] = ()  # () = every port


DNS = PolicyRule(
    "allow-dns",
    "Egress",
    (Peer(namespace="kube-system", pod_labels=(("k8s-app", "kube-dns"),)),),
    (("UDP", 53, None), ("TCP", 53, None)),
)
SQL_PORTS: tuple[Port, ...] = (("TCP", 1433, None), ("TCP", 11000, 11999))  # SQL MI: proxy and redirect
SOLR_PORTS: tuple[Port, ...] = (("TCP", 8983, None), ("TCP", 2181, None))
# Apps whose charts run kubectl in upgrade hooks: IOM's downtime patch job, pwa-main's cache reset job.
API_CLIENTS = frozenset({"iom", "pwa"})


# -------------------------------------------------------------------------------------------------------
# Cross-field rules

_APP_FLAG = {"icm": "icm11", "search": "icm11", "iom": "iom", "pwa": "pwa", "microservices": "microservices"}
