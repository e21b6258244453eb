"""Values of the ``icm`` umbrella chart 2.21.1 (icm-as 2.14.0, icm-web 0.19.0) for one ICM 11 system.

Keys from charts/icm/values.yaml, charts/icm-as/values.yaml and templates (_environments.tpl, _volumes.tpl,
serviceaccount.yaml), charts/icm-web/values.yaml and templates/ingress.yaml of intershop/helm-charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from caas.charts import (
    IngressHost,
    ResourceAmounts,
    ResourceRequirements,
    SecretKeyRef,
    Values,
    image_ref,
)
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec

# -- icm-as ------------------------------------------------------------------------------------------------


class AsImage(Values):
    repository: str
    tag: str
    pull_policy: Literal["IfNotPresent", "Always"] = "IfNotPresent"


class RepositoryOnly(Values):
    """Images the charts take as one ``repository`` string that includes the tag."""

    repository: str


class InfrastructureMonitoring(Values):
    enabled: bool = True
    image: RepositoryOnly


class OperationalContext(Values):
    customer_id: str
    environment_type: Literal["int", "uat", "prd"]
    environment_name: str
    # icm-web only: icm-as derives it from replication (source -> edit, target -> live).
    staging_type: Literal["standalone", "live", "edit"] | None = None


class WorkloadIdentity(Values):
    enabled: bool = True
    client_id: str
    tenant_id: str


class Database(Values):
    type: Literal["mssql", "oracle"] = "mssql"
    jdbc_url: str = Field(alias="jdbcURL")
    jdbc_user: str
    jdbc_password_secret_key_ref: SecretKeyRef


class Volume(Values):
    """A persistence entry as ``type: existingClaim`` on a claim this program binds to the NFS share."""

    type: Literal["existingClaim"] = "existingClaim"
    existing_claim: str


class Persistence(Values):
    sites: Volume
    encryption: Volume
    jgroups: Volume


class Jgroups(Values):
    discovery: Literal["file_ping"] = "file_ping"  # on the shared jgroups folder; no cluster-wide RBAC needed


class Replication(Values):
    """ICM 11 (icm-as < 12.2): only the legacy keys; ``source``/``targets`` make the chart fail to render."""

    enabled: bool = True
    role: Literal["source", "target"]
    target_system_url: str | None = None
    source_database_name: str | None = None


class OpenTelemetry(Values):
    """icm-as >= 2.13.0: the OpenTelemetry Java agent, read by ICM >= 14.3.0 only (``layer.OTLP_SUPPORT``)."""

    enabled: bool = True
    exporter_endpoint: str  # OTLP/HTTP base URL (the chart's default is New Relic's collector, port 4318)


class IcmAs(Values):
    replica_count: int
    image: AsImage
    image_pull_secrets: tuple[str, ...] = ()  # the kubelet identity pulls from the shared registry
    infrastructure_monitoring: InfrastructureMonitoring
    operational_context: OperationalContext
    workload_identity: WorkloadIdentity
    resources: ResourceRequirements
    database: Database
    environment: dict[str, str]
    persistence: Persistence
    jgroups: Jgroups = Jgroups()
    replication: Replication
    open_telemetry: OpenTelemetry | None = None  # only where the pinned chart and image support it


# -- icm-web -----------------------------------------------------------------------------------------------


class Webadapter(Values):
    image: RepositoryOnly
    replica_count: int


class Agent(Values):
    enabled: bool = True
    image: RepositoryOnly
    replica_count: int = 1


class WaMonitoring(Values):
    enabled: bool = True
    image: RepositoryOnly


class Ingress(Values):
    enabled: bool = True
    class_name: str
    hosts: tuple[IngressHost, ...]


class IcmWeb(Values):
    enabled: bool = True
    image_pull_secrets: tuple[str, ...] = ()
    operational_context: OperationalContext
    webadapter: Webadapter
    agent: Agent
    wa_monitoring: WaMonitoring
    ingress: Ingress


class IcmValues(Values):
    icm_as: IcmAs = Field(alias="icm-as")
    icm_web: IcmWeb = Field(alias="icm-web")


# -- builder -----------------------------------------------------------------------------------------------

# Folders of the system's NFS share and where icm-as mounts them; the claims are made by the program.
SHARE_FOLDERS = ("sites", "encryption", "jgroups")


def claim_name(folder: str) -> str:
    return f"icm-{folder}"


@dataclass(frozen=True)
class IcmFacts:
    """Azure facts for one system, resolved by the caller."""

    registry: str  # login server of the shared registry
    sql_host: str  # the SQL Managed Instance's host name
    database: str  # this system's database
    jdbc_user: str
    client_id: str  # the system's workload identity
    tenant_id: str


def live_webadapter_url(spec: KubernetesSpec) -> str:
    """In-cluster HTTPS address of the live web adapter, which the edit system calls to replicate."""
    live = next(w for w in spec.workloads if w.key == "icm-live")
    assert live.release is not None
    return f"https://{layer.helm_fullname(live.release, 'icm-web')}-wa.{live.namespace}.svc.cluster.local:8443"


def zookeeper_hosts(spec: KubernetesSpec) -> str:
    """The ZooKeeper client service of the environment's SolrCloud (the operator's naming)."""
    search = next(w for w in spec.workloads if w.key == "search")
    return f"{layer.SEARCH_RELEASE}-solrcloud-zookeeper-client.{search.namespace}.svc.cluster.local:2181"


def icm_values(spec: KubernetesSpec, system: str, facts: IcmFacts) -> IcmValues:
    workload = next(w for w in spec.workloads if w.key == f"icm-{system}")
    env = spec.environment
    res = kspec.resources(spec, "icmAs")
    context = {"customer_id": spec.customer, "environment_type": env, "environment_name": env}
    if system == "edit":
        replication = Replication(
            # live reads the edit database as `<name>.dbo` on the same instance
            role="source",
            target_system_url=live_webadapter_url(spec),
            source_database_name=facts.database,
        )
    else:
        replication = Replication(role="target")
    jdbc = f"jdbc:sqlserver://{facts.sql_host}:1433;databaseName={facts.database};encrypt=true;trustServerCertificate=false"
    secret = workload.secrets[0]

    def ref(role: str) -> str:
        i = kspec.image(spec, role)
        return image_ref(facts.registry, i.repository, i.pinned_tag)

    project = kspec.image(spec, "icmAs")

    return IcmValues(
        icm_as=IcmAs(
            replica_count=kspec.replicas(spec, "icmAs"),
            # icm-as renders "<repository>:<tag>"; its version check reads the tag up to the first '-', so a
            # "<tag>@sha256:..." tag keeps the release (e.g. 11.10.3) it compares.
            image=AsImage(repository=f"{facts.registry}/{project.repository}", tag=project.pinned_tag),
            infrastructure_monitoring=InfrastructureMonitoring(
                image=RepositoryOnly(repository=ref("icmInfrastructureProbing"))
            ),
            operational_context=OperationalContext(**context),
            workload_identity=WorkloadIdentity(client_id=facts.client_id, tenant_id=facts.tenant_id),
            resources=ResourceRequirements(
                requests=ResourceAmounts(cpu=res.cpu_request, memory=res.memory),
                limits=ResourceAmounts(cpu=res.cpu_limit, memory=res.memory),
            ),
            database=Database(
                jdbc_url=jdbc,
                jdbc_user=facts.jdbc_user,
                jdbc_password_secret_key_ref=SecretKeyRef(name=secret.secret, key=secret.key),
            ),
            environment={
                "SOLR_ZOOKEEPERHOSTLIST": zookeeper_hosts(spec),
                # Both systems share the SolrCloud; each keeps its own collections.
                "SOLR_CLUSTERINDEXPREFIX": f"{spec.customer}-{env}-{system}",
            },
            persistence=Persistence(**{f: Volume(existing_claim=claim_name(f)) for f in SHARE_FOLDERS}),
            replication=replication,
            open_telemetry=OpenTelemetry(exporter_endpoint=otlp)
            if (otlp := kspec.otlp_endpoint(spec, "icm"))
            else None,
        ),
        icm_web=IcmWeb(
            operational_context=OperationalContext(**context, staging_type=system),
            webadapter=Webadapter(
                image=RepositoryOnly(repository=ref("icmWebadapter")),
                replica_count=kspec.replicas(spec, "icmWebadapter"),
            ),
            agent=Agent(image=RepositoryOnly(repository=ref("icmWebadapterAgent"))),
            wa_monitoring=WaMonitoring(image=RepositoryOnly(repository=ref("icmWaMonitoring"))),
            ingress=Ingress(
                class_name=layer.INGRESS_CLASS, hosts=tuple(IngressHost(host=h) for h in workload.hostnames)
            ),
        ),
    )
