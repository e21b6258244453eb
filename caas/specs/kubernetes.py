"""Derived facts of the kubernetes area: everything computed from the validated model, once."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import cast

from caas import secret_names
from caas.model import Apps, EstateConfig
from caas.profiles import Environment
from caas.sections.base import SYSTEMS
from caas.sections.kubernetes import (
    _APP_FLAG,
    API_CLIENTS,
    APP_IMAGE_ROLES,
    DNS,
    IMAGE_DEFAULTS,
    INGRESS_NAMESPACE,
    MICROSERVICES_SERVICE_ACCOUNT,
    OBSERVABILITY_NAMESPACE,
    OTEL_RELEASE,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    OTLP_SUPPORT,
    PROJECT_IMAGES,
    QUOTA_DEFAULTS,
    RELEASE_IMAGES,
    REPLICA_DEFAULTS,
    RESERVED_NAMESPACES,
    RESOURCE_DEFAULTS,
    SEARCH_RELEASE,
    SOLR_OPERATOR_NAMESPACE,
    SOLR_PORTS,
    SQL_PORTS,
    TAG_ONLY_IMAGES,
    Image,
    Kubernetes,
    Peer,
    PolicyRule,
    Port,
    Quota,
    Resources,
    SyncedSecret,
    Workload,
    helm_fullname,
)
from caas.specs import data as data_spec
from caas.specs import network as network_spec
from caas.specs.memo import once


def image(spec: KubernetesSpec, role: str) -> Image:
    """The image of a role: the stack's, else the default. The model guarantees one for every enabled app."""
    found = spec.settings.images.get(role) or IMAGE_DEFAULTS.get(role)  # type: ignore[call-overload]
    if found is None:
        raise KeyError(f"no image for {role}")
    return found


def image_roles(spec: KubernetesSpec | None) -> list[str]:
    """The image roles the stack runs, in a stable order ([] without containerised apps)."""
    if spec is None:
        return []
    roles = ["ingressController", "otelCollector"]
    for flag, app_roles in APP_IMAGE_ROLES.items():
        if getattr(spec.apps, flag):
            roles.extend(r for r in app_roles if r not in roles)
    if any(w.secrets for w in spec.workloads):
        roles.append("pause")  # the Key Vault secrets sync pod
    return roles


@dataclass(frozen=True)
class Collector:
    """The environment's OpenTelemetry Collector: the OTLP endpoint every app is offered."""

    namespace: str
    release: str
    service_account: str  # the chart's, named after the release (fullnameOverride); federated with its identity
    secret: SyncedSecret  # the Application Insights connection string, synced from Key Vault

    @property
    def host(self) -> str:
        return f"{self.release}.{self.namespace}.svc.cluster.local"

    @property
    def http_endpoint(self) -> str:
        """OTLP/HTTP base URL (SDKs append /v1/traces, /v1/metrics, /v1/logs)."""
        return f"http://{self.host}:{OTLP_HTTP_PORT}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{self.host}:{OTLP_GRPC_PORT}"

    @property
    def secret_sync(self) -> Workload:
        """The collector's namespace as the secrets sync sees it (its SecretProviderClass reads ``secrets``)."""
        return Workload(
            key=OTEL_RELEASE,
            app="observability",
            system=None,
            namespace=self.namespace,
            release=self.release,
            app_service_account=self.service_account,
            secrets=(self.secret,),
        )


COLLECTOR = Collector(
    namespace=OBSERVABILITY_NAMESPACE,
    release=OTEL_RELEASE,
    service_account=OTEL_RELEASE,
    secret=SyncedSecret(secret_names.APPINSIGHTS_CONNECTION_STRING, "appinsights", "connection-string"),
)


def _release(version: str) -> tuple[int, ...] | None:
    """``11.10.3-globex.12`` -> (11, 10, 3); None when the tag does not start with a release number."""
    head = version.split("-", 1)[0].split("@", 1)[0]
    parts = head.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def otlp_wired(spec: KubernetesSpec, app: str) -> bool:
    """Whether ``app``'s release sends OTLP to the collector: its pinned chart has the key and its image's
    release (the tag up to the first '-') reads it (``OTLP_SUPPORT``). A tag without a leading release number
    is not assumed to support it."""
    support = OTLP_SUPPORT.get(app)
    if support is None or spec.collector is None:
        return False
    chart = _release(spec.settings.charts.model_dump(by_alias=True)[support.chart])
    found = spec.settings.images.get(support.image_role) or IMAGE_DEFAULTS.get(support.image_role)  # type: ignore[call-overload]
    version = _release(found.tag) if found is not None else None
    return (
        chart is not None
        and version is not None
        and chart >= _release(support.min_chart)  # type: ignore[operator]
        and version >= _release(support.min_version)  # type: ignore[operator]
    )


def otlp_endpoint(spec: KubernetesSpec, app: str) -> str | None:
    """The collector's OTLP/HTTP base URL where ``app``'s release is wired to it (``otlp_wired``), else None."""
    return spec.collector.http_endpoint if spec.collector is not None and otlp_wired(spec, app) else None


def containerised(cfg: EstateConfig) -> bool:
    return cfg.apps is not None and cfg.apps.containerised


def namespace_name(cfg: EstateConfig, key: str) -> str:
    """``<customer>-<app>-<env>[-<system>]`` unless caas:kubernetes.namespaces overrides it."""
    if key in cfg.kubernetes.namespaces:
        return cfg.kubernetes.namespaces[key]
    app, _, system = key.partition("-")
    short = "ms" if app == "microservices" else app
    return "-".join(p for p in (cfg.customer.code, short, cfg.environment, system) if p)


@once
def workloads(cfg: EstateConfig) -> list[Workload]:
    """Every namespace of the layer, in a stable order; [] without containerised apps."""
    if not containerised(cfg):
        return []
    apps = cfg.apps
    assert apps is not None
    hosts = network_spec.hostnames(cfg)
    result: list[Workload] = []
    if apps.icm11:
        for system in SYSTEMS:
            key, release = f"icm-{system}", f"icm-{system}"
            result.append(
                Workload(
                    key=key,
                    app="icm",
                    system=system,
                    namespace=namespace_name(cfg, key),
                    release=release,
                    # icm-as creates this account itself once workload identity is on (`<fullname>-sa`).
                    app_service_account=f"{helm_fullname(release, 'icm-as')}-sa",
                    hostnames=tuple(hosts[f"{system}.{role}"] for role in ("shop", "backoffice")),
                    web_ports=(8080,),
                    secrets=(SyncedSecret(secret_names.icm_db_password(system), "icm-database", "password"),),
                )
            )
        result.append(
            Workload(
                key="search",
                app="search",
                system=None,
                namespace=namespace_name(cfg, "search"),
                release=SEARCH_RELEASE,
                app_service_account=None,
            )
        )
    if apps.iom:
        secrets = [
            SyncedSecret(secret_names.IOM_DB_PASSWORD, "iom-database", "oms-password"),
            SyncedSecret(secret_names.POSTGRES_ADMIN_PASSWORD, "iom-database", "admin-password"),
        ]
        if cfg.kubernetes.iom.smtp is not None and cfg.kubernetes.iom.smtp.user is not None:
            secrets.append(SyncedSecret(secret_names.IOM_SMTP_PASSWORD, "iom-smtp", "password"))
        result.append(
            Workload(
                key="iom",
                app="iom",
                system=None,
                namespace=namespace_name(cfg, "iom"),
                release="iom",
                app_service_account=helm_fullname("iom", "iom"),  # the chart's own account (serviceAccount.create)
                hostnames=(hosts["iom"],),
                web_ports=(8080,),
                secrets=tuple(secrets),
            )
        )
    if apps.pwa:
        for system in SYSTEMS:
            key = f"pwa-{system}"
            result.append(
                Workload(
                    key=key,
                    app="pwa",
                    system=system,
                    namespace=namespace_name(cfg, key),
                    release=key,
                    # pwa-main has no service account setting and reads nothing from Azure: no identity.
                    app_service_account=None,
                    hostnames=(hosts[f"{system}.pwa"],),
                    web_ports=(80,),  # the nginx cache in front of SSR
                )
            )
    if apps.microservices:
        result.append(
            Workload(
                key="microservices",
                app="microservices",
                system=None,
                namespace=namespace_name(cfg, "microservices"),
                release=None,
                app_service_account=MICROSERVICES_SERVICE_ACCOUNT,
            )
        )
    return result


def quota(spec: KubernetesSpec, app: str) -> Quota:
    return spec.settings.quotas.get(app) or QUOTA_DEFAULTS[spec.scale][app]  # type: ignore[call-overload]


def replicas(spec: KubernetesSpec, component: str) -> int:
    return spec.settings.replicas.get(component) or REPLICA_DEFAULTS[spec.scale][component]  # type: ignore[call-overload]


def resources(spec: KubernetesSpec, component: str) -> Resources:
    return RESOURCE_DEFAULTS[spec.scale][component]


def _collector_egress(spec: KubernetesSpec) -> list[PolicyRule]:
    """The OTLP endpoint is offered to every app, whether its chart sends to it or its own code does."""
    if spec.collector is None:
        return []
    return [PolicyRule("allow-to-otel-collector", "Egress", (Peer(namespace=spec.collector.namespace),), OTLP_PORTS)]


def network_rules(spec: KubernetesSpec, workload: Workload) -> list[PolicyRule]:
    """The allow rules of a workload's namespace, on top of its default-deny policy."""
    by_key = {w.key: w for w in spec.workloads}
    subnets = spec.subnets
    same = PolicyRule("allow-same-namespace", "Ingress", (Peer(namespace=workload.namespace),))
    rules = [same, PolicyRule("allow-to-same-namespace", "Egress", (Peer(namespace=workload.namespace),)), DNS]
    rules.extend(_collector_egress(spec))
    if workload.web_ports:
        ports = tuple(("TCP", p, None) for p in workload.web_ports)
        rules.append(PolicyRule("allow-from-ingress", "Ingress", (Peer(namespace=INGRESS_NAMESPACE),), ports))
    if workload.app == "icm":
        rules.append(PolicyRule("allow-to-database", "Egress", (Peer(cidr=str(subnets["sqlMi"])),), SQL_PORTS))
        search = by_key["search"].namespace
        rules.append(PolicyRule("allow-to-search", "Egress", (Peer(namespace=search),), SOLR_PORTS))
        live = by_key["icm-live"]
        if workload.system == "edit":  # edit triggers replication on live's web adapter
            rules.append(
                PolicyRule("allow-to-live", "Egress", (Peer(namespace=live.namespace),), (("TCP", 8443, None),))
            )
        else:
            edit = by_key["icm-edit"].namespace
            rules.append(PolicyRule("allow-from-edit", "Ingress", (Peer(namespace=edit),), (("TCP", 8443, None),)))
    elif workload.app == "search":
        clients = tuple(Peer(namespace=by_key[k].namespace) for k in ("icm-live", "icm-edit"))
        rules.append(PolicyRule("allow-from-icm", "Ingress", clients, SOLR_PORTS))
        rules.append(
            PolicyRule("allow-from-operator", "Ingress", (Peer(namespace=SOLR_OPERATOR_NAMESPACE),), SOLR_PORTS)
        )
    elif workload.app == "iom":
        rules.append(
            PolicyRule("allow-to-database", "Egress", (Peer(cidr=str(subnets["postgres"])),), (("TCP", 5432, None),))
        )
        smtp = spec.settings.iom.smtp
        if smtp is not None:
            rules.append(PolicyRule("allow-to-smtp", "Egress", (Peer(cidr="0.0.0.0/0"),), (("TCP", smtp.port, None),)))
    elif workload.app == "pwa":
        # SSR calls ICM's REST API at the matching system's public hostname (through the application gateway).
        rules.append(PolicyRule("allow-to-icm", "Egress", (Peer(cidr="0.0.0.0/0"),), (("TCP", 443, None),)))
    if workload.app in API_CLIENTS:
        # The private API server's endpoint sits in the node subnet.
        aks = str(spec.subnets["aks"])
        rules.append(PolicyRule("allow-to-api-server", "Egress", (Peer(cidr=aks),), (("TCP", 443, None),)))
    for i, extra in enumerate(spec.settings.allow_egress.get(workload.app, ())):  # type: ignore[call-overload]
        ports = tuple(("TCP", p, None) for p in extra.ports)
        rules.append(PolicyRule(f"allow-egress-{i}", "Egress", (Peer(cidr=str(extra.cidr)),), ports))
    return rules


def addon_network_rules(spec: KubernetesSpec, chart: str) -> list[PolicyRule]:
    """The egress a cluster add-on needs on top of its namespace's default-deny policy: DNS, the API server it
    watches, and the namespaces it serves (the ingress controller: every web workload on its ports; the Solr
    operator: the search namespace). Its inbound rules are the add-on's own (the controller's listener).

    The collector watches nothing: it receives OTLP from the app namespaces only and sends to Azure Monitor's
    ingestion endpoint and Entra ID's token endpoint, both public HTTPS names whose addresses Microsoft does not
    pin (a NetworkPolicy matches addresses, not names): 443 to public addresses, private ranges excepted."""
    if chart == "otelCollector":
        apps = tuple(Peer(namespace=w.namespace) for w in spec.workloads)
        return [
            DNS,
            PolicyRule("allow-otlp-from-apps", "Ingress", apps, OTLP_PORTS),
            PolicyRule("allow-to-azure-monitor", "Egress", (PUBLIC_INTERNET,), (("TCP", 443, None),)),
        ]
    aks = str(spec.subnets["aks"])
    rules = [DNS, PolicyRule("allow-to-api-server", "Egress", (Peer(cidr=aks),), (("TCP", 443, None),))]
    if chart == "ingress":
        for w in spec.workloads:
            if w.web_ports:
                ports = tuple(("TCP", p, None) for p in w.web_ports)
                rules.append(PolicyRule(f"allow-to-{w.key}", "Egress", (Peer(namespace=w.namespace),), ports))
    elif chart == "solrOperator":
        search = next(w.namespace for w in spec.workloads if w.key == "search")
        rules.append(PolicyRule("allow-to-search", "Egress", (Peer(namespace=search),), SOLR_PORTS))
    return rules


def problems(cfg: EstateConfig) -> list[tuple[str, str]]:
    """Everything wrong with caas:kubernetes, as (config key, message)."""
    p: list[tuple[str, str]] = []
    declared = "kubernetes" in cfg.model_fields_set
    if cfg.is_shared or cfg.apps is None:
        if declared and cfg.is_shared:
            p.append(("caas:kubernetes", "not allowed here; it belongs to the environment stacks (int, uat, prd)"))
        return p
    if declared and not cfg.apps.containerised:
        p.append(("caas:kubernetes", "set, but no containerised app (icm11, iom, pwa, microservices) is on; remove it"))
        return p
    _check_images(cfg, cfg.apps, p)
    _check_namespaces(cfg, p)
    _check_app_settings(cfg.kubernetes, cfg.apps, p)
    _check_secrets(cfg, p)
    _check_iom(cfg, cfg.apps, p)
    return p


def _check_images(cfg: EstateConfig, apps: Apps, p: list[tuple[str, str]]) -> None:
    """What only the releases need is required once the in-cluster layer is on; every image is pinned."""
    k8s = cfg.kubernetes
    for flag, roles in PROJECT_IMAGES.items():
        for role in roles:
            if k8s.enabled and getattr(apps, flag) and role not in k8s.images:
                p.append((f"caas:kubernetes.images.{role}", f"required when caas:apps.{flag} is true"))
    for role, declared in k8s.images.items():
        if declared.tag.lower() == "latest":
            p.append((f"caas:kubernetes.images.{role}.tag", "'latest' is not a pinned version; name a release"))
        if declared.digest is not None and role in TAG_ONLY_IMAGES:
            p.append((f"caas:kubernetes.images.{role}.digest", "its operator reads the tag as a version; pin the tag"))
        elif declared.digest is None and role in RELEASE_IMAGES and cfg.profile.require_image_digests:
            p.append(
                (
                    f"caas:kubernetes.images.{role}.digest",
                    f"required in {cfg.environment}: promote the released digest "
                    f"(python -m caas release promote --from uat --to {cfg.environment} --role {role})",
                )
            )


def _check_namespaces(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """Namespaces are unique, name a workload of this stack and keep clear of the system's."""
    keys = {w.key for w in workloads(cfg)}
    seen: dict[str, str] = {}
    for key in (w.key for w in workloads(cfg)):
        name = namespace_name(cfg, key)
        if name in seen:
            p.append((f"caas:kubernetes.namespaces.{key}", f"'{name}' is also the namespace of {seen[name]}"))
        seen[name] = key
    for key, name in cfg.kubernetes.namespaces.items():
        path = f"caas:kubernetes.namespaces.{key}"
        if key not in keys:
            p.append((path, f"no such workload in this stack; workloads: {', '.join(sorted(keys))}"))
        if name in RESERVED_NAMESPACES or name in (INGRESS_NAMESPACE, SOLR_OPERATOR_NAMESPACE, OBSERVABILITY_NAMESPACE):
            p.append((path, f"'{name}' is a system namespace; choose another"))


OTLP_PORTS: tuple[Port, ...] = (("TCP", OTLP_GRPC_PORT, None), ("TCP", OTLP_HTTP_PORT, None))
# Every address but the private ranges (RFC 1918): the public endpoints of Azure Monitor and Entra ID.
PUBLIC_INTERNET = Peer(cidr="0.0.0.0/0", except_cidrs=("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

# Replica keys and the app flag each belongs to.
_REPLICA_FLAG = {
    "icmAs": "icm11",
    "icmWebadapter": "icm11",
    "solr": "icm11",
    "zookeeper": "icm11",
    "iom": "iom",
    "pwa": "pwa",
    "pwaCache": "pwa",
}


def _check_app_settings(k8s: Kubernetes, apps: Apps, p: list[tuple[str, str]]) -> None:
    """Per-app quotas, egress and replicas only for apps that are on."""
    for app in (*k8s.quotas, *k8s.allow_egress):
        if not getattr(apps, _APP_FLAG[app]):
            section = "quotas" if app in k8s.quotas else "allowEgress"
            p.append((f"caas:kubernetes.{section}.{app}", f"set, but caas:apps.{_APP_FLAG[app]} is false"))
    for component, flag in _REPLICA_FLAG.items():
        if component in k8s.replicas and not getattr(apps, flag):
            p.append((f"caas:kubernetes.replicas.{component}", f"set, but caas:apps.{flag} is false"))


def _check_iom(cfg: EstateConfig, apps: Apps, p: list[tuple[str, str]]) -> None:
    """IOM's mail relay: required with IOM, and its password in secure config when it signs in."""
    k8s = cfg.kubernetes
    if k8s.enabled and apps.iom and k8s.iom.smtp is None:
        p.append(("caas:kubernetes.iom.smtp", "required when caas:apps.iom is true: IOM's mail relay"))
    if not apps.iom and "iom" in k8s.model_fields_set:
        p.append(("caas:kubernetes.iom", "set, but caas:apps.iom is false"))
    smtp = k8s.iom.smtp
    if apps.iom and smtp is not None and smtp.user is not None and cfg.secrets.smtp_password is None:
        p.append(
            (
                "caas:secrets.smtpPassword",
                "required when caas:kubernetes.iom.smtp.user is set: "
                "`pulumi config set --secret --path caas:secrets.smtpPassword <password>`",
            )
        )


def _check_secrets(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """Every secret a workload syncs must be one the data area keeps in Key Vault: an app needs its database."""
    try:
        data = data_spec.derive(cfg)
    except (KeyError, ValueError):
        return  # a broken region or name: the core reports it; nothing here can be checked before it is fixed
    if data is None:
        return  # the data area reports the missing caas:databases
    missing = {
        w.key: s.vault_secret
        for w in workloads(cfg)
        for s in w.secrets
        if s.vault_secret not in data.secrets
        and s.vault_secret != secret_names.IOM_SMTP_PASSWORD  # that one: caas:secrets
    }
    if data.sql_mi.entra_only and any(key.startswith("icm-") for key in missing):
        icm_secrets = secret_names.icm_db_password("<system>")
        p.append(
            (
                "caas:databases.icm.entraOnlyAuthentication",
                f"ICM 11 signs in to its databases with SQL logins (Key Vault secrets {icm_secrets}); "
                "SQL authentication must stay on while caas:apps.icm11 is true",
            )
        )
        missing = {k: v for k, v in missing.items() if not k.startswith("icm-")}
    for key, secret in missing.items():
        p.append(
            ("caas:databases", f"{key} needs its database credentials (Key Vault secret {secret}); none is created")
        )


@dataclass(frozen=True)
class KubernetesSpec:
    """The Kubernetes layer's slice: ``caas:kubernetes``, the enabled apps and the namespaces they run in."""

    settings: Kubernetes
    apps: Apps
    customer: str
    environment: Environment  # a label in Helm values and namespace labels
    scale: str
    workloads: tuple[Workload, ...]
    subnets: dict[str, IPv4Network]  # the databases' and the nodes' ranges the network policies allow
    hostnames: dict[str, str]
    collector: Collector | None = COLLECTOR  # None: no Application Insights to export to (the DR tier)


def derive(cfg: EstateConfig) -> KubernetesSpec | None:
    """None without containerised apps (no cluster, no layer)."""
    if not containerised(cfg):
        return None
    assert cfg.apps is not None
    return KubernetesSpec(
        settings=cfg.kubernetes,
        apps=cfg.apps,
        customer=cfg.customer.code,
        environment=cast(Environment, cfg.environment),  # containerised apps run in environments only
        scale=cfg.profile.scale,
        workloads=tuple(workloads(cfg)),
        subnets=network_spec.subnets(cfg),
        hostnames=network_spec.hostnames(cfg),
    )
