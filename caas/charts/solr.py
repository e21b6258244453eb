"""Values of Apache's ``solr-operator`` 0.9.1 (with pravega's zookeeper-operator 0.2.15) and ``solr`` 0.9.1 charts:
the SolrCloud with a provided ZooKeeper that ICM 11's search needs.

Keys from helm/solr-operator/values.yaml and helm/solr/values.yaml + templates/solrcloud.yaml of apache/solr-operator
at v0.9.1, and charts/zookeeper-operator/values.yaml of pravega/zookeeper-operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field

from caas.charts import ResourceAmounts, ResourceRequirements, Values
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec

# Premium SSD disks that AKS provisions for the StatefulSets' claims (the index and ZooKeeper's data).
DISK_STORAGE_CLASS = "managed-csi-premium"


class Image(Values):
    repository: str
    tag: str


class ZookeeperOperatorCrd(Values):
    create: bool = True  # the solr-operator chart ships the Solr CRDs only


class ZookeeperOperatorHooks(Values):
    image: Image  # the hook jobs need kubectl and sh


class ZookeeperOperator(Values):
    install: bool = True
    crd: ZookeeperOperatorCrd = ZookeeperOperatorCrd()
    image: Image
    hooks: ZookeeperOperatorHooks
    watch_namespace: str


class SolrOperatorValues(Values):
    image: Image
    watch_namespaces: str  # only the search namespace: namespaced Roles instead of cluster-wide rights
    zookeeper_operator: ZookeeperOperator = Field(alias="zookeeper-operator")


class SolrOptions(Values):
    java_memory: str


class PersistentClaim(Values):
    storage_class_name: str = DISK_STORAGE_CLASS


class PersistentStorage(Values):
    reclaim_policy: str = "Retain"
    pvc: PersistentClaim = PersistentClaim()


class DataStorage(Values):
    type: str = "persistent"
    capacity: str
    persistent: PersistentStorage = PersistentStorage()


class ClaimResources(Values):
    requests: dict[str, str]


class ClaimSpec(Values):
    storage_class_name: str = DISK_STORAGE_CLASS
    resources: ClaimResources


class ZookeeperPersistence(Values):
    reclaim_policy: str = "Retain"
    spec: ClaimSpec


class ZookeeperPodPolicy(Values):
    resources: ResourceRequirements


class ProvidedZookeeper(Values):
    replicas: int
    image: Image
    persistence: ZookeeperPersistence
    zookeeper_pod_policy: ZookeeperPodPolicy


class Zk(Values):
    provided: ProvidedZookeeper


class PodOptions(Values):
    resources: ResourceRequirements


class SolrValues(Values):
    replicas: int
    image: Image
    busy_box_image: Image
    solr_options: SolrOptions
    data_storage: DataStorage
    zk: Zk
    pod_options: PodOptions


@dataclass(frozen=True)
class SolrFacts:
    registry: str


def _image(spec: KubernetesSpec, registry: str, role: str) -> Image:
    image = kspec.image(spec, role)
    # "<repository>:<tag>" everywhere; solr and zookeeper never carry a digest (TAG_ONLY_IMAGES).
    return Image(repository=f"{registry}/{image.repository}", tag=image.pinned_tag)


def _resources(spec: KubernetesSpec, component: str) -> ResourceRequirements:
    r = kspec.resources(spec, component)
    return ResourceRequirements(
        requests=ResourceAmounts(cpu=r.cpu_request, memory=r.memory),
        limits=ResourceAmounts(cpu=r.cpu_limit, memory=r.memory),
    )


def search_namespace(spec: KubernetesSpec) -> str:
    return next(w.namespace for w in spec.workloads if w.key == "search")


def solr_operator_values(spec: KubernetesSpec, facts: SolrFacts) -> SolrOperatorValues:
    namespace = search_namespace(spec)
    return SolrOperatorValues(
        image=_image(spec, facts.registry, "solrOperator"),
        watch_namespaces=namespace,
        zookeeper_operator=ZookeeperOperator(
            image=_image(spec, facts.registry, "zookeeperOperator"),
            hooks=ZookeeperOperatorHooks(image=_image(spec, facts.registry, "kubectl")),
            watch_namespace=namespace,
        ),
    )


def heap(memory: str) -> str:
    """Half the container's memory for the JVM heap: ``4Gi`` -> ``-Xms2048m -Xmx2048m``."""
    amount, unit = int(memory[:-2]), memory[-2:]
    mib = amount * {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}[unit] // 2
    return f"-Xms{mib}m -Xmx{mib}m"


def solr_values(spec: KubernetesSpec, facts: SolrFacts) -> SolrValues:
    scale = spec.scale
    return SolrValues(
        replicas=kspec.replicas(spec, "solr"),
        image=_image(spec, facts.registry, "solr"),
        busy_box_image=_image(spec, facts.registry, "busybox"),
        solr_options=SolrOptions(java_memory=heap(kspec.resources(spec, "solr").memory)),
        data_storage=DataStorage(capacity=f"{layer.SEARCH_STORAGE_GIB[scale]}Gi"),
        zk=Zk(
            provided=ProvidedZookeeper(
                replicas=kspec.replicas(spec, "zookeeper"),
                image=_image(spec, facts.registry, "zookeeper"),
                persistence=ZookeeperPersistence(spec=ClaimSpec(resources=ClaimResources(requests={"storage": "5Gi"}))),
                zookeeper_pod_policy=ZookeeperPodPolicy(resources=_resources(spec, "zookeeper")),
            )
        ),
        pod_options=PodOptions(resources=_resources(spec, "solr")),
    )
