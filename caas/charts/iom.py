"""Values of the ``iom`` chart 3.1.1 (IOM 5.1.0).

Keys from charts/iom/values.yaml and templates (statefulset.yaml, persistenceStatic.yaml, ingress.yaml,
serviceaccount.yaml, patch-downtime.yaml) of intershop/helm-charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from caas import secret_names
from caas.charts import IngressHost, ResourceAmounts, ResourceRequirements, SecretKeyRef, Values
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec


class Image(Values):
    repository: str
    tag: str
    pull_policy: Literal["IfNotPresent", "Always"] = "IfNotPresent"


class DbAccount(Values):
    """Creates IOM's database and user on the first install with the server's admin login."""

    enabled: bool = True
    image: Image


class Pg(Values):
    host: str
    port: str = "5432"
    ssl_mode: Literal["require", "verify-ca", "verify-full"] = "require"  # the flexible server enforces TLS
    user: str
    passwd_secret_key_ref: SecretKeyRef
    db: str = "postgres"


class OmsDb(Values):
    name: str = "oms_db"
    user: str = "oms_user"
    passwd_secret_key_ref: SecretKeyRef


class OmsSmtp(Values):
    host: str
    port: str
    encryption: Literal["auto", "ssl", "startTls"]
    user: str | None = None
    passwd_secret_key_ref: SecretKeyRef | None = None


class Oms(Values):
    public_url: str
    db: OmsDb
    smtp: OmsSmtp


class Project(Values):
    env_name: str


class StaticVolume(Values):
    pv: str
    storage_class: str


class Persistence(Values):
    provisioning: Literal["static"] = "static"  # the program's volume on the private NFS share
    storage_size: str
    static: StaticVolume


class Ingress(Values):
    enabled: bool = True
    class_name: str
    annotations: dict[str, str]
    hosts: tuple[IngressHost, ...]


class ServiceAccount(Values):
    create: bool = True
    annotations: dict[str, str]


class Jboss(Values):
    # iom >= 3.0.0, IOM >= 5.0.0: WildFly pushes its and IOM's metrics as OTLP/HTTP to this URL (the chart's
    # example: http://otel-collector:4318/v1/metrics), as OMS_OTEL_COLLECTOR.
    metrics_endpoint: str


class IomValues(Values):
    replica_count: int
    kubectl_image_repository: str
    image: Image
    dbaccount: DbAccount
    pg: Pg
    oms: Oms
    project: Project
    persistence: Persistence
    ingress: Ingress
    resources: ResourceRequirements
    service_account: ServiceAccount
    jboss: Jboss | None = None  # only where the pinned chart and image support it


@dataclass(frozen=True)
class IomFacts:
    registry: str
    postgres_host: str
    admin_login: str  # the flexible server's administrator, used once by dbaccount
    client_id: str
    volume: str  # the PersistentVolume on the IOM share
    share_size: str


def iom_values(spec: KubernetesSpec, facts: IomFacts) -> IomValues:
    workload = next(w for w in spec.workloads if w.key == "iom")
    smtp = spec.settings.iom.smtp
    assert smtp is not None  # the model requires it with iom

    def image(role: str) -> Image:
        i = kspec.image(spec, role)
        # The chart writes image.tag into the app.kubernetes.io/version label, which cannot hold "@sha256:..."
        # (63 characters of [A-Za-z0-9_.-]): IOM's own image runs by tag, and the release pipeline locks that
        # tag in the registry (write-enabled false) and checks it still resolves to the recorded digest.
        return Image(repository=f"{facts.registry}/{i.repository}", tag=i.tag if role == "iom" else i.pinned_tag)

    kubectl = kspec.image(spec, "kubectl")
    refs = {(s.vault_secret): SecretKeyRef(name=s.secret, key=s.key) for s in workload.secrets}
    res = kspec.resources(spec, "iom")
    return IomValues(
        replica_count=kspec.replicas(spec, "iom"),
        kubectl_image_repository=f"{facts.registry}/{kubectl.repository}:{kubectl.pinned_tag}",
        image=image("iom"),
        dbaccount=DbAccount(image=image("iomDbaccount")),
        pg=Pg(
            host=facts.postgres_host,
            user=facts.admin_login,
            passwd_secret_key_ref=refs[secret_names.POSTGRES_ADMIN_PASSWORD],
        ),
        oms=Oms(
            public_url=f"https://{workload.hostnames[0]}",
            db=OmsDb(passwd_secret_key_ref=refs[secret_names.IOM_DB_PASSWORD]),
            smtp=OmsSmtp(
                host=smtp.host,
                port=str(smtp.port),
                encryption=smtp.encryption,
                user=smtp.user,
                passwd_secret_key_ref=refs.get(secret_names.IOM_SMTP_PASSWORD),
            ),
        ),
        project=Project(env_name=f"{spec.customer}-{spec.environment}"),
        persistence=Persistence(
            storage_size=facts.share_size,
            static=StaticVolume(pv=facts.volume, storage_class=layer.STATIC_STORAGE_CLASS),
        ),
        ingress=Ingress(
            class_name=layer.INGRESS_CLASS,
            # The chart's own affinity annotations are nginx's; HAProxy keeps sessions on one pod with this.
            annotations={"haproxy.org/cookie-persistence": "route"},
            hosts=tuple(IngressHost(host=h) for h in workload.hostnames),
        ),
        resources=ResourceRequirements(
            requests=ResourceAmounts(cpu=res.cpu_request, memory=res.memory),
            limits=ResourceAmounts(cpu=res.cpu_limit, memory=res.memory),
        ),
        service_account=ServiceAccount(annotations={"azure.workload.identity/client-id": facts.client_id}),
        jboss=Jboss(metrics_endpoint=f"{otlp}/v1/metrics") if (otlp := kspec.otlp_endpoint(spec, "iom")) else None,
    )
