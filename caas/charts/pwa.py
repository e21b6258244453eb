"""Values of the ``pwa-main`` chart 0.13.0 for one system's PWA.

Keys from charts/pwa/values.yaml and values.schema.json (which closes ``upstream``, ``image``, ``ingress`` and
its instances and hosts) of intershop/helm-charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from caas.charts import ResourceAmounts, ResourceRequirements, Values
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec


class Image(Values):
    repository: str
    tag: str
    pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


class Upstream(Values):
    icm_base_url: str = Field(alias="icmBaseURL")


class CacheReset(Values):
    """After an upgrade a hook job restarts the nginx cache with kubectl; the image is the mirrored kubectl."""

    enabled: bool = True
    image: Image


class Cache(Values):
    replica_count: int
    image: Image
    resources: ResourceRequirements
    reset: CacheReset


class IngressInstanceHost(Values):
    host: str


class IngressInstance(Values):
    hosts: tuple[IngressInstanceHost, ...]


class Ingress(Values):
    enabled: bool = True
    class_name: str
    instances: dict[str, IngressInstance]


class EnvVar(Values):
    name: str
    value: str


# The OpenTelemetry SDKs' standard variable for the OTLP base URL: the partner's SSR code decides whether to send.
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


class PwaValues(Values):
    replica_count: int
    image: Image
    upstream: Upstream
    resources: ResourceRequirements
    cache: Cache
    ingress: Ingress
    environment: tuple[EnvVar, ...]  # extra env vars of the SSR containers


@dataclass(frozen=True)
class PwaFacts:
    registry: str


def icm_base_url(spec: KubernetesSpec, system: str) -> str:
    """The matching ICM system's public shop hostname: ICM 7.10 or 11, behind the application gateway."""
    return f"https://{spec.hostnames[f'{system}.shop']}"


def pwa_values(spec: KubernetesSpec, system: str, facts: PwaFacts) -> PwaValues:
    workload = next(w for w in spec.workloads if w.key == f"pwa-{system}")

    def image(role: str) -> Image:
        i = kspec.image(spec, role)
        return Image(repository=f"{facts.registry}/{i.repository}", tag=i.pinned_tag)  # "<repository>:<tag>"

    def resources(component: str) -> ResourceRequirements:
        r = kspec.resources(spec, component)
        return ResourceRequirements(
            requests=ResourceAmounts(cpu=r.cpu_request, memory=r.memory),
            limits=ResourceAmounts(cpu=r.cpu_limit, memory=r.memory),
        )

    return PwaValues(
        replica_count=kspec.replicas(spec, "pwa"),
        image=image("pwaSsr"),
        upstream=Upstream(icm_base_url=icm_base_url(spec, system)),
        resources=resources("pwa"),
        cache=Cache(
            replica_count=kspec.replicas(spec, "pwaCache"),
            image=image("pwaNginx"),
            resources=resources("pwaCache"),
            reset=CacheReset(image=image("kubectl")),
        ),
        # The endpoint is offered, not wired: the PWA's telemetry is the partner's code (docs/operations.md).
        environment=(
            (EnvVar(name=OTLP_ENDPOINT_ENV, value=spec.collector.http_endpoint),) if spec.collector is not None else ()
        ),
        ingress=Ingress(
            class_name=layer.INGRESS_CLASS,
            instances={
                "default": IngressInstance(hosts=tuple(IngressInstanceHost(host=h) for h in workload.hostnames))
            },
        ),
    )
