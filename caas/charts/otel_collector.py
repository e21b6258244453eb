"""Values of the ``opentelemetry-collector`` chart 0.170.0 (collector 0.158.0), and the collector's own config.

Keys from charts/opentelemetry-collector/values.yaml, values.schema.json and templates (_pod.tpl, _config.tpl,
NOTES.txt) of open-telemetry/opentelemetry-helm-charts at tag opentelemetry-collector-0.170.0. The chart fails to
render without ``mode`` and ``image.repository`` (NOTES.txt), so both are always set.

The collector's config goes in ``alternateConfig``, which the chart uses as is, not merged with its default
``config`` (jaeger, zipkin and prometheus receivers and a debug exporter that would otherwise stay in: removing a
default map key takes a null in the values, which Helm honours inconsistently, helm/helm#12879).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from caas.charts import ResourceAmounts, ResourceRequirements, SecretKeyRef, Values
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec

# Application Insights' Entra ID audience ("Microsoft Entra authentication for Application Insights",
# learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication): the token the exporter presents.
MONITOR_SCOPE = "https://monitor.azure.com/.default"
# The azuremonitor exporter reads the connection string from this variable (its README, "Environment Variable
# Support"); the chart's extraEnvs fill it from the Secret the CSI driver syncs.
CONNECTION_STRING_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# The chart's receivers other than OTLP, each with a container and Service port enabled by default.
UNUSED_PORTS = ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
PIPELINES = ("traces", "metrics", "logs")


class Image(Values):
    repository: str
    tag: str
    digest: str | None = None  # the chart pulls by digest when set, whatever the tag


class ServiceAccount(Values):
    create: bool = True
    name: str
    annotations: dict[str, str]
    # The collector calls no Kubernetes API; the workload identity webhook projects its own token.
    automount_service_account_token: bool = False


class Port(Values):
    enabled: bool


class SecretKeySelector(Values):
    secret_key_ref: SecretKeyRef


class EnvVar(Values):
    name: str
    value_from: SecretKeySelector


class SeccompProfile(Values):
    type: Literal["RuntimeDefault"] = "RuntimeDefault"


class PodSecurityContext(Values):
    run_as_non_root: bool = True
    seccomp_profile: SeccompProfile = SeccompProfile()


class Capabilities(Values):
    drop: tuple[str, ...] = ("ALL",)


class SecurityContext(Values):
    allow_privilege_escalation: bool = False
    read_only_root_filesystem: bool = True
    capabilities: Capabilities = Capabilities()


class PodDisruptionBudget(Values):
    enabled: bool
    min_available: int


class CollectorValues(Values):
    fullname_override: str
    mode: Literal["deployment"] = "deployment"
    image: Image
    replica_count: int
    resources: ResourceRequirements
    service_account: ServiceAccount
    pod_labels: dict[str, str]
    extra_envs: tuple[EnvVar, ...]
    ports: dict[str, Port]
    pod_security_context: PodSecurityContext = PodSecurityContext()
    security_context: SecurityContext = SecurityContext()
    pod_disruption_budget: PodDisruptionBudget | None = None
    alternate_config: dict[str, Any]


@dataclass(frozen=True)
class CollectorFacts:
    registry: str
    client_id: str  # the collector's workload identity


def collector_config() -> dict[str, Any]:
    """The collector's pipelines: OTLP (gRPC 4317, HTTP 4318) in, memory limit and batching, Application Insights
    out. Application Insights has local authentication off, so the exporter presents an Entra ID token: the
    ``azureauth`` extension gets it with the pod's workload identity (the webhook injects the AZURE_* variables)
    and the exporter's HTTP client attaches it (``auth.authenticator``, the exporter's confighttp client settings,
    contrib PR #41107)."""
    pipeline = {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": ["azuremonitor"]}
    return {
        "extensions": {
            "health_check": {"endpoint": "${env:MY_POD_IP}:13133"},  # the chart's probes
            "azureauth": {
                "workload_identity": {
                    "client_id": "${env:AZURE_CLIENT_ID}",
                    "tenant_id": "${env:AZURE_TENANT_ID}",
                    "federated_token_file": "${env:AZURE_FEDERATED_TOKEN_FILE}",
                },
                "scopes": [MONITOR_SCOPE],
            },
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"${{env:MY_POD_IP}}:{layer.OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"${{env:MY_POD_IP}}:{layer.OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {},
        },
        "exporters": {
            "azuremonitor": {
                "connection_string": f"${{env:{CONNECTION_STRING_ENV}}}",
                "auth": {"authenticator": "azureauth"},
            }
        },
        "service": {
            "extensions": ["health_check", "azureauth"],
            "pipelines": {p: dict(pipeline) for p in PIPELINES},
        },
    }


def collector_values(spec: KubernetesSpec, facts: CollectorFacts) -> CollectorValues:
    collector = spec.collector
    assert collector is not None  # the layer installs the collector only with one
    image = kspec.image(spec, "otelCollector")
    res = kspec.resources(spec, "otelCollector")
    replicas = kspec.replicas(spec, "otelCollector")
    secret = collector.secret
    return CollectorValues(
        fullname_override=collector.release,
        image=Image(repository=f"{facts.registry}/{image.repository}", tag=image.tag, digest=image.digest),
        replica_count=replicas,
        resources=ResourceRequirements(
            requests=ResourceAmounts(cpu=res.cpu_request, memory=res.memory),
            limits=ResourceAmounts(cpu=res.cpu_limit, memory=res.memory),
        ),
        service_account=ServiceAccount(
            name=collector.service_account, annotations={"azure.workload.identity/client-id": facts.client_id}
        ),
        pod_labels={"azure.workload.identity/use": "true"},
        extra_envs=(
            EnvVar(
                name=CONNECTION_STRING_ENV,
                value_from=SecretKeySelector(secret_key_ref=SecretKeyRef(name=secret.secret, key=secret.key)),
            ),
        ),
        ports={p: Port(enabled=False) for p in UNUSED_PORTS},
        # With more than one replica, a drain keeps one receiving.
        pod_disruption_budget=PodDisruptionBudget(enabled=True, min_available=1) if replicas > 1 else None,
        alternate_config=collector_config(),
    )
