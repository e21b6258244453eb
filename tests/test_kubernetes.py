"""The Kubernetes layer: config rules, typed chart values, and what the layer registers per cluster."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest
import yaml
from pydantic import ValidationError

from caas import kubeconfig, manifests
from caas.charts import icm, ingress, iom, pwa, solr
from caas.config import EstateConfig
from caas.delivery import for_project
from caas.mocks import SECRET, Registration
from caas.mocks import kubeconfig as aks_kubeconfig
from caas.plan import Plan, Project, as_mermaid, as_table
from caas.sections import kubernetes as layer
from caas.specs import derive
from caas.specs import kubernetes as kspec
from components.kubernetes_layer import (
    ClusterFacts,
    DatabaseFacts,
    KubernetesLayer,
    KubernetesLayerArgs,
    ShareFacts,
    TelemetryFacts,
)
from components.roles import ROLES
from tests.conftest import EXAMPLE, ROOT, parse, problems, stack_data
from tests.helpers import build

SECRET_KEYS = {"caas:secrets"}
CLUSTER_ID = "/subscriptions/s/resourceGroups/rg-acme-prd-weu/providers/Microsoft.ContainerService/managedClusters/aks"
VAULT_ID = "/subscriptions/s/resourceGroups/rg-acme-prd-weu/providers/Microsoft.KeyVault/vaults/kv-acme-prd-weu"
REGISTRY = "cracmesharedweu.azurecr.io"
SQL_HOST = "sqlmi-acme-prd-weu.0123abcd.database.windows.net"
PG_HOST = "psql-acme-prd-weu.postgres.database.azure.com"
NFS_ACCOUNT = "stacmeprdweunfs"
SECRET_NAMES = (
    "icm-live-db-password",
    "icm-edit-db-password",
    "iom-db-password",
    "postgres-admin-password",
    "iom-smtp-password",
)


def with_icm11(data: dict[str, Any]) -> dict[str, Any]:
    """A stack's config with ICM 11 on AKS (and the images it requires) and an authenticated SMTP relay."""
    data = copy.deepcopy(data)
    data["caas:apps"]["icm11"] = True
    data["caas:kubernetes"]["images"].update(
        icmAs={"repository": "acme/icm-as", "tag": "1.4.0", "digest": "sha256:" + "0" * 64},
        solr={"repository": "library/solr", "tag": "9.8.1"},
    )
    data["caas:kubernetes"]["iom"]["smtp"]["user"] = "iom@acme-shop.com"
    data["caas:secrets"] = {"smtpPassword": "offline-plan-placeholder"}
    return data


def config(stack: str, mutate=None, icm11: bool = True) -> EstateConfig:
    data = stack_data(stack)
    data = with_icm11(data) if icm11 else data
    if mutate is not None:
        mutate(data)
    return parse(data, stack, SECRET_KEYS)


APP_INSIGHTS_ID = "/subscriptions/0/resourceGroups/rg-acme-prd-weu/providers/Microsoft.Insights/components/appi"


def render_layer(cfg: EstateConfig) -> list[Registration]:
    """The layer alone under the recording mocks, fed with Azure facts as the compute and data areas give them."""
    shares = {"icm11-live": 512, "icm11-edit": 512, "iom": 256}

    def program() -> None:
        KubernetesLayer(
            "k8s",
            KubernetesLayerArgs(
                site=derive(cfg).site,
                spec=derive(cfg).kubernetes,
                resource_group_name="rg-acme-prd-weu",
                cluster=ClusterFacts(
                    cluster_id=CLUSTER_ID,
                    oidc_issuer_url="https://westeurope.oic.prod-aks.azure.com/tenant/issuer/",
                    kubeconfig=pulumi.Output.secret(aks_kubeconfig("https://aks.privatelink.westeurope.azmk8s.io:443")),
                    ingress_ip="10.43.3.254",
                ),
                secret_ids={s: f"{VAULT_ID}/secrets/{s}" for s in SECRET_NAMES},
                vault_name="kv-acme-prd-weu",
                registry_login_server=REGISTRY,
                databases=DatabaseFacts(
                    sql_host=SQL_HOST,
                    icm_databases={"live": "icm-live", "edit": "icm-edit"},
                    postgres_host=PG_HOST,
                    postgres_admin_login="caasadmin",
                ),
                shares=ShareFacts("rg-acme-prd-weu", NFS_ACCOUNT, {k: k for k in shares}, shares),
                telemetry=TelemetryFacts(APP_INSIGHTS_ID, f"{VAULT_ID}/secrets/appinsights-connection-string"),
            ),
        )

    return build(program, stack=cfg.environment)


class Rendered:
    def __init__(self, registrations: list[Registration]):
        self.resources = registrations

    def find(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        (match,) = [r for r in self.resources if r.type == type_ and r.name == name]
        return match


@pytest.fixture(scope="module")
def switched_off() -> Rendered:
    """prd of acme with ICM 11, IOM and PWA, the in-cluster layer switched off (the first `up` from outside)."""
    return Rendered(render_layer(config("prd", lambda d: d["caas:kubernetes"].update(enabled=False))))


# -------------------------------------------------------------------------------------------------------
# Config rules


def test_every_chart_has_an_exact_default_version() -> None:
    """Each chart the program installs has a default version, and each default passes the exact-version rule a
    stack's own pin must pass (pydantic does not validate defaults by itself)."""
    defaults = layer.ChartVersions().model_dump(by_alias=True)
    assert set(defaults) == set(layer.CHARTS)
    assert layer.ChartVersions.model_validate(defaults) == layer.ChartVersions()


@pytest.mark.parametrize("version", ["~2.21.1", "^2.21", "2.21", "2.x", "*", ">=2.21.1", "latest", ""])
def test_unpinned_chart_version_is_rejected(version: str) -> None:
    """A range, wildcard or partial version fails naming the chart's key."""
    messages = problems("prd", lambda d: d["caas:kubernetes"].setdefault("charts", {}).update(icm=version))
    assert any(
        m.startswith(
            "Pulumi.prd.yaml: caas:kubernetes.charts.icm: invalid value; must be an exact version of intershop/icm"
        )
        for m in messages
    )


def test_namespace_name_over_63_characters_is_rejected() -> None:
    """A namespace override longer than a DNS label fails naming the workload's key."""
    long = "acme-" + "x" * 59
    messages = problems("prd", lambda d: d["caas:kubernetes"].update(namespaces={"iom": long}))
    assert messages == ["Pulumi.prd.yaml: caas:kubernetes.namespaces.iom: string should have at most 63 characters"]


def test_namespace_overrides_are_unique_known_and_not_system() -> None:
    """Overrides must name a workload of the stack, stay unique and keep off system namespaces."""
    messages = problems(
        "prd",
        lambda d: d["caas:kubernetes"].update(namespaces={"pwa-live": "acme-iom-prd", "pwa-edit": "kube-system"}),
    )
    assert (
        "Pulumi.prd.yaml: caas:kubernetes.namespaces.pwa-live: 'acme-iom-prd' is also the namespace of iom" in messages
    )
    assert any(
        m.startswith("Pulumi.prd.yaml: caas:kubernetes.namespaces.pwa-edit: 'kube-system' is a system")
        for m in messages
    )
    unknown = problems("prd", lambda d: d["caas:kubernetes"].update(namespaces={"icm-live": "shop"}))
    assert unknown[0].startswith("Pulumi.prd.yaml: caas:kubernetes.namespaces.icm-live: no such workload in this stack")


def test_project_images_are_required_and_never_latest() -> None:
    """An enabled app needs its project image; 'latest' is not a pinned tag."""

    def mutate(d: dict[str, Any]) -> None:
        del d["caas:kubernetes"]["images"]["iom"]
        d["caas:kubernetes"]["images"]["pwaSsr"]["tag"] = "latest"

    messages = problems("prd", mutate)
    assert "Pulumi.prd.yaml: caas:kubernetes.images.iom: required when caas:apps.iom is true" in messages
    assert any(m.startswith("Pulumi.prd.yaml: caas:kubernetes.images.pwaSsr.tag: 'latest'") for m in messages)


def test_icm11_needs_its_image_and_solr() -> None:
    """Switching ICM 11 on without its project image and a Solr version fails on both keys, once the layer is on."""
    messages = problems("uat", lambda d: d["caas:apps"].update(icm11=True))
    assert "Pulumi.uat.yaml: caas:kubernetes.images.icmAs: required when caas:apps.icm11 is true" in messages
    assert "Pulumi.uat.yaml: caas:kubernetes.images.solr: required when caas:apps.icm11 is true" in messages
    # The first `up` (layer off, from outside the VNet) deploys no release, so it needs no image yet.
    off = problems("uat", lambda d: (d["caas:apps"].update(icm11=True), d["caas:kubernetes"].update(enabled=False)))
    assert off == []


def test_iom_needs_smtp_and_a_secret_password() -> None:
    """IOM needs its mail relay; a relay user needs caas:secrets.smtpPassword."""
    messages = problems("int", lambda d: d["caas:kubernetes"].pop("iom"))
    assert (
        "Pulumi.int.yaml: caas:kubernetes.iom.smtp: required when caas:apps.iom is true: IOM's mail relay" in messages
    )
    messages = problems("int", lambda d: d["caas:kubernetes"]["iom"]["smtp"].update(user="iom@acme-shop.com"))
    assert any(m.startswith("Pulumi.int.yaml: caas:secrets.smtpPassword: required when") for m in messages)


def test_layer_section_belongs_to_environments_with_containers() -> None:
    """The shared stack and an environment without containerised apps take no caas:kubernetes."""

    def icm710_only(d: dict[str, Any]) -> None:
        d["caas:apps"].update(iom=False, pwa=False)

    messages = problems("uat", icm710_only)
    assert any(m.startswith("Pulumi.uat.yaml: caas:kubernetes: set, but no containerised app") for m in messages)
    shared = problems("shared", lambda d: d.update({"caas:kubernetes": {"enabled": False}}))
    assert shared == [
        "Pulumi.shared.yaml: caas:kubernetes: not allowed here; it belongs to the environment stacks (int, uat, prd)"
    ]


# -------------------------------------------------------------------------------------------------------
# Pure facts: names, policies, secrets, kubeconfig


@pytest.mark.parametrize(
    ("release", "chart", "fullname"),
    [
        ("icm-live", "icm-as", "icm-live-icm-as"),
        ("iom", "iom", "iom"),
        ("iom-prod", "iom", "iom-prod"),
        ("pwa-live", "pwa-main", "pwa-live-pwa-main"),
        ("a" * 60, "icm-as", "a" * 60 + "-ic"),
        ("a" * 62, "icm-as", "a" * 62),
    ],
)
def test_helm_fullname_follows_the_charts_helper(release: str, chart: str, fullname: str) -> None:
    """Substring rule, 63-character cut and one trailing '-' trimmed, as the charts' `fullname` helper."""
    assert layer.helm_fullname(release, chart) == fullname


def test_workloads_of_icm11_iom_pwa() -> None:
    """Namespaces are <customer>-<app>-<env>[-<system>]; icm-as and iom run as their charts' own accounts."""
    workloads = {w.key: w for w in derive(config("prd")).workloads}
    assert {k: w.namespace for k, w in workloads.items()} == {
        "icm-live": "acme-icm-prd-live",
        "icm-edit": "acme-icm-prd-edit",
        "search": "acme-search-prd",
        "iom": "acme-iom-prd",
        "pwa-live": "acme-pwa-prd-live",
        "pwa-edit": "acme-pwa-prd-edit",
    }
    assert workloads["icm-live"].federated_service_accounts == ("icm-live-icm-as-sa", "secrets-sync")
    assert workloads["iom"].federated_service_accounts == ("iom", "secrets-sync")
    assert not workloads["pwa-live"].identity
    assert not workloads["search"].identity


def test_network_rules_open_only_what_each_app_needs() -> None:
    """Every namespace reaches DNS; ICM its SQL MI subnet (proxy and redirect ports) and search; IOM PostgreSQL."""
    cfg = config("prd")
    rules = {w.key: {r.name: r for r in kspec.network_rules(derive(cfg).kubernetes, w)} for w in derive(cfg).workloads}
    assert all("allow-dns" in r for r in rules.values())
    to_db = rules["icm-live"]["allow-to-database"]
    assert to_db.peers == (layer.Peer(cidr=str(derive(cfg).subnets["sqlMi"])),)
    assert to_db.ports == (("TCP", 1433, None), ("TCP", 11000, 11999))
    assert rules["iom"]["allow-to-database"].peers == (layer.Peer(cidr=str(derive(cfg).subnets["postgres"])),)
    assert rules["icm-live"]["allow-from-edit"].peers == (layer.Peer(namespace="acme-icm-prd-edit"),)
    assert rules["search"]["allow-from-icm"].peers == (
        layer.Peer(namespace="acme-icm-prd-live"),
        layer.Peer(namespace="acme-icm-prd-edit"),
    )
    assert "allow-from-ingress" not in rules["search"]
    assert {k for k, r in rules.items() if "allow-to-api-server" in r} == {"iom", "pwa-live", "pwa-edit"}
    assert rules["iom"]["allow-to-smtp"].ports == (("TCP", 587, None),)


def test_secret_provider_class_names_secrets_never_values() -> None:
    """The SecretProviderClass lists Key Vault object names and the Secret keys they fill."""
    w = next(w for w in derive(config("prd")).workloads if w.key == "iom")
    spec = manifests.secret_provider_spec(w, vault_name="kv", client_id="cid", tenant_id="tid")
    objects = [yaml.safe_load(doc) for doc in yaml.safe_load(spec["parameters"]["objects"])["array"]]
    assert [o["objectName"] for o in objects] == ["iom-db-password", "postgres-admin-password", "iom-smtp-password"]
    assert spec["secretObjects"][0] == {
        "secretName": "iom-database",
        "type": "Opaque",
        "data": [
            {"objectName": "iom-db-password", "key": "oms-password"},
            {"objectName": "postgres-admin-password", "key": "admin-password"},
        ],
    }
    assert spec["parameters"]["usePodIdentity"] == "false"
    assert spec["parameters"]["clientID"] == "cid"


DEVICECODE = """apiVersion: v1
kind: Config
clusters:
- cluster: {server: 'https://aks:443'}
  name: aks
users:
- name: clusterUser_rg_aks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,
             --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, t, --login, devicecode]
"""


@pytest.mark.parametrize("login", ["azurecli", "workloadidentity", "msi"])
def test_kubeconfig_becomes_non_interactive(login: str) -> None:
    """AKS's devicecode kubeconfig is rewritten to the configured non-interactive kubelogin login."""
    user = yaml.safe_load(kubeconfig.non_interactive(DEVICECODE, login))["users"][0]["user"]["exec"]
    assert user["args"] == ["get-token", "--login", login, "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    assert user["interactiveMode"] == "Never"


def test_kubeconfig_with_static_credentials_is_refused() -> None:
    """A kubeconfig with a token (local accounts on) or without kubelogin is an error, not a silent fallback."""
    token = DEVICECODE.replace("    exec:", "    token: abc\n    exec:")
    with pytest.raises(kubeconfig.KubeconfigError, match="static credential"):
        kubeconfig.non_interactive(token, "azurecli")
    with pytest.raises(kubeconfig.KubeconfigError, match="kubelogin"):
        kubeconfig.non_interactive(DEVICECODE.replace("command: kubelogin", "command: az"), "azurecli")


# -------------------------------------------------------------------------------------------------------
# Typed chart values


def _icm_facts() -> icm.IcmFacts:
    return icm.IcmFacts(REGISTRY, SQL_HOST, "icm-edit", "icm", "client", "tenant")


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (icm.IcmValues, lambda cfg: icm.icm_values(cfg, "edit", _icm_facts())),
        (
            iom.IomValues,
            lambda cfg: iom.iom_values(cfg, iom.IomFacts(REGISTRY, PG_HOST, "caasadmin", "c", "pv", "1Gi")),
        ),
        (pwa.PwaValues, lambda cfg: pwa.pwa_values(cfg, "live", pwa.PwaFacts(REGISTRY))),
        (solr.SolrValues, lambda cfg: solr.solr_values(cfg, solr.SolrFacts(REGISTRY))),
        (solr.SolrOperatorValues, lambda cfg: solr.solr_operator_values(cfg, solr.SolrFacts(REGISTRY))),
        (
            ingress.IngressValues,
            lambda cfg: ingress.ingress_values(cfg, ingress.IngressFacts(REGISTRY, "10.43.3.254", "snet-aks")),
        ),
    ],
)
def test_values_round_trip_through_their_model(model, values) -> None:
    """What a builder dumps is exactly what the chart model accepts back (chart keys, not Python names)."""
    dumped = values(derive(config("prd")).kubernetes).dump()
    assert model.model_validate(dumped).dump() == dumped


@pytest.mark.parametrize(
    ("model", "path", "misspelt"),
    [
        (icm.IcmValues, ("icm-as", "database"), "jdbcUrl"),  # the chart's key is jdbcURL
        (icm.IcmValues, ("icm-as", "replication"), "targets"),  # fails to render with an ICM 11 image
        (iom.IomValues, ("pg",), "passwordSecretKeyRef"),  # the chart's key is passwdSecretKeyRef
        (pwa.PwaValues, ("upstream",), "icmBaseUrl"),  # the chart's schema key is icmBaseURL
        (ingress.IngressValues, ("controller",), "podDisruptionBudget"),  # the chart's key is PodDisruptionBudget
        (solr.SolrValues, ("zk",), "provider"),  # the chart's key is provided
    ],
)
def test_a_misspelt_values_key_fails(model, path, misspelt) -> None:
    """A key the chart does not have is refused where a schema-less chart would silently ignore it."""
    builders = {
        icm.IcmValues: lambda cfg: icm.icm_values(cfg, "edit", _icm_facts()),
        iom.IomValues: lambda cfg: iom.iom_values(cfg, iom.IomFacts(REGISTRY, PG_HOST, "caasadmin", "c", "pv", "1Gi")),
        pwa.PwaValues: lambda cfg: pwa.pwa_values(cfg, "live", pwa.PwaFacts(REGISTRY)),
        ingress.IngressValues: lambda cfg: ingress.ingress_values(cfg, ingress.IngressFacts(REGISTRY, "10.0.0.4", "s")),
        solr.SolrValues: lambda cfg: solr.solr_values(cfg, solr.SolrFacts(REGISTRY)),
    }
    dumped = builders[model](derive(config("prd")).kubernetes).dump()
    block = dumped
    for key in path:
        block = block[key]
    block[misspelt] = "x"
    with pytest.raises(ValidationError, match=misspelt):
        model.model_validate(dumped)


def test_icm_replication_edit_is_source_live_is_target() -> None:
    """Edit replicates to live's in-cluster web adapter and names its own database; live is the target."""
    cfg = derive(config("prd")).kubernetes
    edit = icm.icm_values(cfg, "edit", _icm_facts()).dump()["icm-as"]["replication"]
    live = icm.icm_values(cfg, "live", _icm_facts()).dump()["icm-as"]["replication"]
    assert edit == {
        "enabled": True,
        "role": "source",
        "targetSystemUrl": "https://icm-live-icm-web-wa.acme-icm-prd-live.svc.cluster.local:8443",
        "sourceDatabaseName": "icm-edit",
    }
    assert live == {"enabled": True, "role": "target"}


def test_solr_heap_is_half_the_container() -> None:
    """The JVM heap of Solr is half its memory limit."""
    assert solr.heap("4Gi") == "-Xms2048m -Xmx2048m"
    assert solr.heap("3Gi") == "-Xms1536m -Xmx1536m"


# -------------------------------------------------------------------------------------------------------
# What the layer registers, in the shipped stacks: acme (IOM, PWA next to ICM 7.10) and globex (ICM 11, IOM, PWA)


def _k8s(plan: Plan | Rendered) -> list[Registration]:
    return [x for x in plan.resources if x.type.startswith("kubernetes:")]


def _model(plan: Plan) -> EstateConfig:
    project = Project.at(EXAMPLE if plan.project == "caas-globex" else ROOT)
    return project.load(plan.stack)[0]


@pytest.fixture(scope="module")
def layers(plans: dict[str, Plan], example_plans: dict[str, Plan]) -> dict[str, Plan]:
    """Every environment plan of both sample customers, keyed customer/stack."""
    return {
        **{f"acme/{s}": plans[s] for s in ("int", "uat", "prd")},
        **{f"globex/{s}": example_plans[s] for s in ("int", "uat", "prd")},
    }


def test_every_kubernetes_resource_names_the_clusters_provider(layers: dict[str, Plan]) -> None:
    """No Kubernetes object falls back to an ambient kubeconfig: each names the one provider of its cluster."""
    for key, plan in layers.items():
        (provider,) = plan.find("pulumi:providers:kubernetes")
        assert provider.inputs["kubeconfig"] == SECRET, key
        assert provider.inputs["clusterIdentifier"] == plan.outputs["aksClusterId"], key
        assert _k8s(plan), key
        assert all(x.provider == provider.urn for x in _k8s(plan)), key


def test_switched_off_layer_keeps_only_the_azure_side(switched_off: Rendered) -> None:
    """With caas:kubernetes.enabled off: identities, federation and role assignments, no provider, no object."""
    assert not switched_off.find("pulumi:providers:kubernetes")
    assert not _k8s(switched_off)
    workloads = derive(config("prd")).workloads
    identities = switched_off.find("azure-native:managedidentity:UserAssignedIdentity")
    # One per app that reads Key Vault or runs customer code, and the collector's (its account and the sync's).
    assert len(identities) == sum(w.identity for w in workloads) + 1 == 4
    credentials = switched_off.find("azure-native:managedidentity:FederatedIdentityCredential")
    assert len(credentials) == sum(len(w.federated_service_accounts) for w in workloads) + 2


def test_each_namespace_has_quota_limits_default_deny(layers: dict[str, Plan]) -> None:
    """Every app namespace carries labels, a ResourceQuota, a LimitRange and a default-deny policy."""
    for key, plan in layers.items():
        cfg = _model(plan)
        namespaces = {x.inputs["metadata"]["name"]: x for x in plan.find("kubernetes:core/v1:Namespace")}
        for w in derive(cfg).workloads:
            labels = namespaces[w.namespace].inputs["metadata"]["labels"]
            assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
            assert labels["intershop.com/app"] == w.app
            in_ns = [x for x in _k8s(plan) if x.inputs.get("metadata", {}).get("namespace") == w.namespace]
            kinds = {x.inputs["kind"]: x for x in in_ns}
            assert (
                kinds["ResourceQuota"].inputs["spec"]["hard"]["requests.cpu"]
                == kspec.quota(derive(cfg).kubernetes, w.app).requests_cpu
            )
            assert "LimitRange" in kinds, (key, w.key)
            deny = next(x for x in in_ns if x.inputs["metadata"]["name"] == "default-deny")
            assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_identities_federate_exactly_the_charts_service_accounts(example_plans: dict[str, Plan]) -> None:
    """Each identity trusts the cluster's issuer for the service accounts its namespace runs as, nothing more."""
    plan = example_plans["prd"]
    credentials = plan.find("azure-native:managedidentity:FederatedIdentityCredential")
    assert {x.inputs["issuer"] for x in credentials} == {plan.outputs["aksOidcIssuerUrl"]}
    assert sorted(x.inputs["subject"] for x in credentials) == [
        "system:serviceaccount:globex-icm-prd-edit:icm-edit-icm-as-sa",
        "system:serviceaccount:globex-icm-prd-edit:secrets-sync",
        "system:serviceaccount:globex-icm-prd-live:icm-live-icm-as-sa",
        "system:serviceaccount:globex-icm-prd-live:secrets-sync",
        "system:serviceaccount:globex-iom-prd:iom",
        "system:serviceaccount:globex-iom-prd:secrets-sync",
        "system:serviceaccount:observability:otel-collector",
        "system:serviceaccount:observability:secrets-sync",
    ]
    # icm-as and iom create their own accounts: the layer makes only the sync pod's.
    assert {x.inputs["metadata"]["name"] for x in plan.find("kubernetes:core/v1:ServiceAccount")} == {"secrets-sync"}


def test_identities_read_only_their_own_secrets(example_plans: dict[str, Plan]) -> None:
    """Key Vault Secrets User is granted per secret the namespace syncs, never on the whole vault."""
    plan = example_plans["prd"]
    vault = plan.outputs["keyVaultId"]
    grants = {
        x.name: x.inputs
        for x in plan.find("azure-native:authorization:RoleAssignment")
        if x.name.startswith("k8s-") and "-reads-" in x.name
    }
    assert all(g["roleDefinitionId"].endswith(ROLES["Key Vault Secrets User"]) for g in grants.values())
    assert {n: g["scope"] for n, g in grants.items()} == {
        "k8s-icm-live-reads-icm-live-db-password": f"{vault}/secrets/icm-live-db-password",
        "k8s-icm-edit-reads-icm-edit-db-password": f"{vault}/secrets/icm-edit-db-password",
        "k8s-iom-reads-iom-db-password": f"{vault}/secrets/iom-db-password",
        "k8s-iom-reads-postgres-admin-password": f"{vault}/secrets/postgres-admin-password",
        "k8s-otel-reads-appinsights-connection-string": f"{vault}/secrets/appinsights-connection-string",
    }


@pytest.mark.parametrize(
    ("stack", "role"),
    [
        ("int", "Azure Kubernetes Service RBAC Writer"),
        ("uat", "Azure Kubernetes Service RBAC Writer"),
        ("prd", "Azure Kubernetes Service RBAC Reader"),
    ],
)
def test_partner_access_per_environment(example_plans: dict[str, Plan], stack: str, role: str) -> None:
    """Partners write in int/uat and read in prd, scoped to their apps' namespaces, plus Cluster User and the
    command-invoke role on the cluster."""
    plan = example_plans[stack]
    cluster = plan.outputs["aksClusterId"]
    grants = [
        x.inputs for x in plan.find("azure-native:authorization:RoleAssignment") if x.inputs["principalType"] == "Group"
    ]
    scoped = {g["scope"]: g for g in grants if "/namespaces/" in g["scope"]}
    assert set(scoped) == {
        f"{cluster}/namespaces/globex-{app}-{stack}-{system}" for app in ("icm", "pwa") for system in ("live", "edit")
    }
    assert all(g["roleDefinitionId"].endswith(ROLES[role]) and g["principalType"] == "Group" for g in scoped.values())
    invoke = for_project(Project.at(EXAMPLE)).command_invoke_role.guid  # defined by caas init
    at_cluster = sorted(g["roleDefinitionId"].rsplit("/", 1)[1] for g in grants if g["scope"] == cluster)
    assert at_cluster == sorted([ROLES["Azure Kubernetes Service Cluster User Role"], invoke])


def _releases(plan: Plan) -> dict[str, dict[str, Any]]:
    return {x.inputs["name"]: x.inputs for x in plan.find("kubernetes:helm.sh/v3:Release")}


def test_releases_are_pinned_named_and_from_their_repositories(layers: dict[str, Plan]) -> None:
    """Every release names itself, its repository and the pinned version of its chart; acme runs no ICM 11."""
    expected = {
        "ingress": ("kubernetes-ingress", "1.52.1", layer.HAPROXY_REPO),
        "solr-operator": ("solr-operator", "0.9.1", layer.SOLR_REPO),
        "search": ("solr", "0.9.1", layer.SOLR_REPO),
        "icm-live": ("icm", "2.21.1", layer.INTERSHOP_REPO),
        "icm-edit": ("icm", "2.21.1", layer.INTERSHOP_REPO),
        "iom": ("iom", "3.1.1", layer.INTERSHOP_REPO),
        "pwa-live": ("pwa-main", "0.13.0", layer.INTERSHOP_REPO),
        "pwa-edit": ("pwa-main", "0.13.0", layer.INTERSHOP_REPO),
        "otel-collector": ("opentelemetry-collector", "0.170.0", layer.OTEL_REPO),
    }
    for key, plan in layers.items():
        releases = _releases(plan)
        found = {n: (r["chart"], r["version"], r["repositoryOpts"]["repo"]) for n, r in releases.items()}
        wanted = (
            expected
            if key.startswith("globex")
            else {
                k: v for k, v in expected.items() if k in ("ingress", "iom", "pwa-live", "pwa-edit", "otel-collector")
            }
        )
        assert found == wanted, key
        assert all(r["atomic"] is True and r["namespace"] for r in releases.values()), key


def test_release_values_point_at_the_environments_resources(example_plans: dict[str, Plan]) -> None:
    """ICM: its database on the SQL MI, its claims, hostnames, the shared registry; IOM: PostgreSQL; PWA: ICM."""
    plan = example_plans["prd"]
    out, registry = plan.outputs, example_plans["shared"].outputs["registryLoginServer"]
    values = {n: r["values"] for n, r in _releases(plan).items()}
    as_ = values["icm-live"]["icm-as"]
    host = out["icmDatabase"]["host"]
    assert as_["database"]["jdbcURL"].startswith(
        f"jdbc:sqlserver://{host}:1433;databaseName={out['icmDatabase']['databases']['live']};"
    )
    assert as_["database"]["jdbcUser"] == out["icmDatabase"]["databases"]["live"]
    assert as_["database"]["jdbcPasswordSecretKeyRef"] == {"name": "icm-database", "key": "password"}
    assert as_["persistence"]["sites"] == {"type": "existingClaim", "existingClaim": "icm-sites"}
    assert as_["image"]["repository"] == f"{registry}/globex/icm-as"
    assert as_["imagePullSecrets"] == []
    web = values["icm-live"]["icm-web"]
    assert [h["host"] for h in web["ingress"]["hosts"]] == [
        out["hostnames"]["live.shop"],
        out["hostnames"]["live.backoffice"],
    ]
    assert web["operationalContext"]["stagingType"] == "live"
    assert web["ingress"]["className"] == layer.INGRESS_CLASS
    assert values["iom"]["pg"]["host"] == out["iomDatabase"]["host"]
    assert values["iom"]["persistence"]["static"] == {"pv": "globex-iom-prd-share", "storageClass": "caas-static-nfs"}
    assert values["pwa-edit"]["upstream"] == {"icmBaseURL": f"https://{out['hostnames']['edit.shop']}"}
    service = values["ingress"]["controller"]["service"]
    assert service["annotations"]["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == out["aksIngressIp"]
    assert service["annotations"]["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"


def test_sites_live_on_the_private_share_without_keys(example_plans: dict[str, Plan]) -> None:
    """ICM's claims bind static NFS volumes on its own share: no account key, no class that provisions."""
    plan = example_plans["prd"]
    volumes = {x.inputs["metadata"]["name"]: x.inputs["spec"] for x in plan.find("kubernetes:core/v1:PersistentVolume")}
    assert volumes["globex-icm-prd-live-sites"]["csi"]["volumeAttributes"] == {
        "resourceGroup": plan.outputs["resourceGroupName"],
        "storageAccount": plan.outputs["nfsAccountName"],
        "shareName": "icm11-live",
        "protocol": "nfs",
        "folderName": "sites",
    }
    assert volumes["globex-iom-prd-share"]["csi"]["volumeAttributes"]["shareName"] == "iom"
    assert all(v["storageClassName"] == layer.STATIC_STORAGE_CLASS for v in volumes.values())
    assert all(v["persistentVolumeReclaimPolicy"] == "Retain" for v in volumes.values())
    assert not any(
        "nodeStageSecretRef" in v["csi"] or "secretName" in v["csi"]["volumeAttributes"] for v in volumes.values()
    )


def test_no_secret_value_in_any_kubernetes_input(layers: dict[str, Plan]) -> None:
    """Values and manifests carry secret names only: nothing is a Pulumi secret, no key holds a password."""
    for key, plan in layers.items():
        text = json.dumps([x.inputs for x in _k8s(plan)])
        assert SECRET not in text, key
        assert "offline-plan-placeholder" not in text, key
        for release in plan.find("kubernetes:helm.sh/v3:Release"):
            assert not _keys_named(release.inputs["values"], ("password", "passwd", "jdbcPassword")), key


def _keys_named(value: Any, names: tuple[str, ...]) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if k in names]
        return found + [k for v in value.values() for k in _keys_named(v, names)]
    if isinstance(value, list):
        return [k for v in value for k in _keys_named(v, names)]
    return []


def test_prd_namespaces_are_protected(layers: dict[str, Plan]) -> None:
    """Switching the layer off or dropping an app in prd cannot delete an app's namespace; int stays disposable."""
    for customer in ("acme", "globex"):
        plan = layers[f"{customer}/prd"]
        apps = [x for x in plan.find("kubernetes:core/v1:Namespace") if "$intershop:caas:AppNamespace::" in x.parent]
        assert len(apps) == len(derive(_model(plan)).workloads)
        assert all(x.protect for x in apps)
        assert not any(x.protect for x in _k8s(layers[f"{customer}/int"]))


def test_plan_shows_the_layer_per_cluster(example_plans: dict[str, Plan]) -> None:
    """The table lists each cluster's namespaces with their releases; Mermaid links the provider to them."""
    plan = example_plans["prd"]
    table = as_table(plan)
    section = table[table.index("Kubernetes layer per cluster:") :]
    assert f"k8s-provider -> {plan.outputs['aksClusterId']}" in section
    assert "globex-icm-prd-live" in section
    assert "icm-live: icm 2.21.1" in section
    assert "ingress: kubernetes-ingress 1.52.1" in section
    graph = as_mermaid(plan)
    assert graph.count("-. cluster .->") == len({r.parent for r in _k8s(plan)})
    off = as_table(
        Plan(
            "caas-acme",
            "prd",
            [r for r in plan.resources if not r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))],
            {},
        )
    )
    assert "Kubernetes layer per cluster:" not in off
