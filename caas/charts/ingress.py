"""Values of HAProxy Technologies' ``kubernetes-ingress`` chart 1.52.1: the cluster's one ingress controller.

Keys from kubernetes-ingress/values.yaml and templates (controller-service.yaml, controller-poddisruptionbudget.yaml,
_podspec.tpl) of haproxytech/helm-charts. The controller sits behind an internal load balancer on the fixed
private IP the environment's application gateway sends AKS traffic to (plain HTTP: TLS ends at the gateway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from caas.charts import ResourceAmounts, ResourceRequirements, Values
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec


class Image(Values):
    repository: str
    tag: str


class IngressClassResource(Values):
    name: str = layer.INGRESS_CLASS
    default: bool = False  # only the charts' Ingresses, which name the class, are served


class DefaultTlsSecret(Values):
    enabled: bool = False  # no TLS in the cluster: the gateway terminates it


class EnablePorts(Values):
    http: bool = True
    https: bool = False
    quic: bool = False
    stat: bool = False
    admin: bool = False


class Service(Values):
    type: Literal["LoadBalancer"] = "LoadBalancer"
    # Local: the gateway's address reaches the pod, and nodes without a controller fail the LB probe.
    external_traffic_policy: Literal["Local"] = "Local"
    annotations: dict[str, str]
    enable_ports: EnablePorts = EnablePorts()


class PodDisruptionBudget(Values):
    enable: bool = True
    min_available: int = 1


class Controller(Values):
    replica_count: int
    image: Image
    ingress_class_resource: IngressClassResource = IngressClassResource()
    ingress_class: str = layer.INGRESS_CLASS
    default_tls_secret: DefaultTlsSecret = Field(default=DefaultTlsSecret(), alias="defaultTLSSecret")
    service: Service
    pod_disruption_budget: PodDisruptionBudget = Field(default=PodDisruptionBudget(), alias="PodDisruptionBudget")
    resources: ResourceRequirements
    topology_spread_constraints: tuple[dict[str, Any], ...]


class IngressValues(Values):
    controller: Controller


@dataclass(frozen=True)
class IngressFacts:
    registry: str
    ip: str  # the internal load balancer's address in the AKS subnet, chosen in the model
    subnet: str  # the AKS subnet's name


def ingress_values(spec: KubernetesSpec, facts: IngressFacts) -> IngressValues:
    image = kspec.image(spec, "ingressController")
    spread = {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "kubernetes-ingress"}},
    }
    return IngressValues(
        controller=Controller(
            replica_count=kspec.replicas(spec, "ingress"),
            image=Image(repository=f"{facts.registry}/{image.repository}", tag=image.pinned_tag),
            service=Service(
                annotations={
                    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
                    "service.beta.kubernetes.io/azure-load-balancer-internal-subnet": facts.subnet,
                    "service.beta.kubernetes.io/azure-load-balancer-ipv4": facts.ip,
                }
            ),
            resources=ResourceRequirements(
                requests=ResourceAmounts(cpu="250m", memory="400Mi"), limits=ResourceAmounts(cpu="1", memory="400Mi")
            ),
            topology_spread_constraints=(spread,),
        )
    )
