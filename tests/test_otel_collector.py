"""The OpenTelemetry Collector: the OTLP endpoint every app is offered, and which app's chart sends to it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from caas import release
from caas.charts import icm, otel_collector, pwa
from caas.mocks import Registration
from caas.plan import Plan
from caas.specs import derive
from caas.specs import kubernetes as kspec
from components.roles import ROLES
from tests.conftest import problems
from tests.test_kubernetes import REGISTRY, config

SCHEMA = Path(__file__).parent / "fixtures" / "charts" / "opentelemetry-collector-0.170.0.values.schema.json"
ENDPOINT = "http://otel-collector.observability.svc.cluster.local:4318"


def _release(plan: Plan, name: str) -> dict[str, Any]:
    (found,) = [x.inputs for x in plan.find("kubernetes:helm.sh/v3:Release") if x.inputs["name"] == name]
    return found


def _in_namespace(plan: Plan, namespace: str, kind: str) -> list[Registration]:
    return [
        x
        for x in plan.resources
        if x.type.startswith("kubernetes:")
        and x.inputs.get("kind") == kind
        and x.inputs.get("metadata", {}).get("namespace") == namespace
    ]


def test_collector_is_the_pinned_official_chart_pulled_from_the_shared_registry(plans: dict[str, Plan]) -> None:
    """Release otel-collector of open-telemetry's chart at its pinned version in `observability`, the contrib
    image (azuremonitor exporter) from the shared registry, two replicas in prd (production scale), one in uat."""
    for stack, replicas in (("prd", 2), ("uat", 1)):
        plan = plans[stack]
        r = _release(plan, "otel-collector")
        assert (r["chart"], r["version"], r["repositoryOpts"]["repo"]) == (
            "opentelemetry-collector",
            "0.170.0",
            "https://open-telemetry.github.io/opentelemetry-helm-charts",
        )
        assert r["namespace"] == "observability"
        values = r["values"]
        registry = plan.outputs["registryLoginServer"]
        assert values["image"]["repository"] == f"{registry}/otel/opentelemetry-collector-contrib"
        assert values["mode"] == "deployment"
        assert values["fullnameOverride"] == "otel-collector"  # Service and ServiceAccount: otel-collector
        assert values["replicaCount"] == replicas, stack
        assert "podDisruptionBudget" in values if replicas > 1 else "podDisruptionBudget" not in values


def test_collector_image_is_mirrored_like_every_upstream_image() -> None:
    """`caas images` lists the collector for the nightly import, from Docker Hub at the chart's appVersion."""
    needed = {n.role: n for n in release.needed_images(config("uat"))}
    assert needed["otelCollector"].source == "docker.io/otel/opentelemetry-collector-contrib:0.158.0"
    assert needed["otelCollector"].target == "otel/opentelemetry-collector-contrib:0.158.0"


def test_collector_values_are_keys_of_the_pinned_chart() -> None:
    """The values pass the chart's own values.schema.json (closed at the top level): no misspelt key is
    silently ignored; a misspelt one fails."""
    spec = derive(config("prd")).kubernetes
    values = otel_collector.collector_values(spec, otel_collector.CollectorFacts(REGISTRY, "client")).dump()
    schema = json.loads(SCHEMA.read_text())
    # Helm validates the values merged with the chart's values.yaml, which supplies apiVersion ("apps/v1").
    validator = jsonschema.Draft7Validator(schema)
    merged = {"apiVersion": "apps/v1", **values}
    assert [e.message for e in validator.iter_errors(merged)] == []
    assert list(validator.iter_errors({**merged, "replicas": 2}))


def test_collector_receives_otlp_and_exports_to_application_insights_with_entra_id() -> None:
    """Only OTLP in (gRPC 4317, HTTP 4318), only azuremonitor out, on every pipeline; the exporter presents a
    workload identity token for Azure Monitor (local authentication is off) and reads the connection string
    from the environment, never from the values; the chart's other receivers' ports are closed."""
    spec = derive(config("prd")).kubernetes
    values = otel_collector.collector_values(spec, otel_collector.CollectorFacts(REGISTRY, "client")).dump()
    cfg = values["alternateConfig"]
    assert set(cfg["receivers"]) == {"otlp"}
    protocols = cfg["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert set(cfg["exporters"]) == {"azuremonitor"}
    exporter = cfg["exporters"]["azuremonitor"]
    assert exporter["connection_string"] == "${env:APPLICATIONINSIGHTS_CONNECTION_STRING}"
    assert exporter["auth"] == {"authenticator": "azureauth"}
    auth = cfg["extensions"]["azureauth"]
    assert set(auth) == {"workload_identity", "scopes"}
    assert auth["scopes"] == ["https://monitor.azure.com/.default"]
    assert set(cfg["service"]["extensions"]) == {"health_check", "azureauth"}
    for name in ("traces", "metrics", "logs"):
        pipeline = cfg["service"]["pipelines"][name]
        assert (pipeline["receivers"], pipeline["exporters"]) == (["otlp"], ["azuremonitor"])
    assert {p for p, port in values["ports"].items() if port["enabled"] is False} == {
        "jaeger-compact",
        "jaeger-thrift",
        "jaeger-grpc",
        "zipkin",
    }
    assert values["podLabels"] == {"azure.workload.identity/use": "true"}
    assert values["serviceAccount"]["annotations"] == {"azure.workload.identity/client-id": "client"}


def test_connection_string_reaches_the_collector_through_the_csi_driver(plans: dict[str, Plan]) -> None:
    """The SecretProviderClass in `observability` syncs the vault's appinsights-connection-string into the
    Secret and key the collector's environment variable reads; a sync pod mounts the class."""
    plan = plans["prd"]
    (provider_class,) = _in_namespace(plan, "observability", "SecretProviderClass")
    params = provider_class.inputs["spec"]["parameters"]
    assert "objectName: appinsights-connection-string" in params["objects"]
    (synced,) = provider_class.inputs["spec"]["secretObjects"]
    (env,) = _release(plan, "otel-collector")["values"]["extraEnvs"]
    ref = env["valueFrom"]["secretKeyRef"]
    assert env["name"] == "APPLICATIONINSIGHTS_CONNECTION_STRING"
    assert ref["name"] == synced["secretName"]
    assert synced["data"] == [{"objectName": "appinsights-connection-string", "key": ref["key"]}]
    (sync,) = _in_namespace(plan, "observability", "Deployment")
    volumes = sync.inputs["spec"]["template"]["spec"]["volumes"]
    assert volumes[0]["csi"]["volumeAttributes"] == {"secretProviderClass": provider_class.inputs["metadata"]["name"]}


def test_collector_identity_publishes_to_application_insights_and_reads_only_its_secret(
    plans: dict[str, Plan],
) -> None:
    """One identity, federated with the collector's and the sync's service accounts; Monitoring Metrics
    Publisher on the Application Insights resource; Key Vault Secrets User on the connection string only."""
    plan = plans["prd"]
    (identity,) = [x for x in plan.find("azure-native:managedidentity:UserAssignedIdentity") if "otel" in x.name]
    credentials = [
        x for x in plan.find("azure-native:managedidentity:FederatedIdentityCredential") if x.parent == identity.parent
    ]
    assert {c.inputs["subject"] for c in credentials} == {
        "system:serviceaccount:observability:otel-collector",
        "system:serviceaccount:observability:secrets-sync",
    }
    assert {c.inputs["issuer"] for c in credentials} == {plan.outputs["aksOidcIssuerUrl"]}
    grants = {
        x.inputs["roleDefinitionId"].rsplit("/", 1)[1]: x.inputs["scope"]
        for x in plan.find("azure-native:authorization:RoleAssignment")
        if x.parent == identity.parent
    }
    assert grants == {
        ROLES["Monitoring Metrics Publisher"]: plan.outputs["applicationInsightsId"],
        ROLES["Key Vault Secrets User"]: f"{plan.outputs['keyVaultId']}/secrets/appinsights-connection-string",
    }


def test_observability_namespace_is_fenced_and_admits_only_the_apps(plans: dict[str, Plan]) -> None:
    """Quota, limit range, default deny both ways; OTLP in only from the app namespaces on 4317/4318; out only
    DNS and HTTPS to public addresses; every app namespace may reach the collector on those ports."""
    plan = plans["prd"]
    cfg = derive(config("prd", icm11=False))
    assert _in_namespace(plan, "observability", "ResourceQuota")
    assert _in_namespace(plan, "observability", "LimitRange")
    policies = {
        x.inputs["metadata"]["name"]: x.inputs["spec"] for x in _in_namespace(plan, "observability", "NetworkPolicy")
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert set(policies) == {"default-deny", "allow-dns", "allow-otlp-from-apps", "allow-to-azure-monitor"}
    (inbound,) = policies["allow-otlp-from-apps"]["ingress"]
    sources = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in inbound["from"]}
    assert sources == {w.namespace for w in cfg.workloads}
    assert {(p["protocol"], p["port"]) for p in inbound["ports"]} == {("TCP", 4317), ("TCP", 4318)}
    (outbound,) = policies["allow-to-azure-monitor"]["egress"]
    assert outbound["to"] == [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}
    ]
    assert outbound["ports"] == [{"protocol": "TCP", "port": 443}]
    for w in cfg.workloads:
        (to_collector,) = [
            x.inputs["spec"]
            for x in _in_namespace(plan, w.namespace, "NetworkPolicy")
            if x.inputs["metadata"]["name"] == "allow-to-otel-collector"
        ]
        (rule,) = to_collector["egress"]
        assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}


def test_observability_namespace_is_not_an_app_namespace_override() -> None:
    """A workload may not take the collector's namespace."""
    messages = problems("prd", lambda d: d["caas:kubernetes"].update(namespaces={"iom": "observability"}))
    assert "Pulumi.prd.yaml: caas:kubernetes.namespaces.iom: 'observability' is a system namespace; choose another" in (
        messages
    )


def test_iom_sends_its_metrics_to_the_collector(plans: dict[str, Plan]) -> None:
    """iom 3.1.1 with IOM 5.x: jboss.metricsEndpoint is the collector's OTLP/HTTP metrics URL."""
    values = _release(plans["prd"], "iom")["values"]
    assert values["jboss"] == {"metricsEndpoint": f"{ENDPOINT}/v1/metrics"}


def test_pwa_is_offered_the_endpoint(plans: dict[str, Plan]) -> None:
    """The PWA's SSR containers get OTEL_EXPORTER_OTLP_ENDPOINT; sending is the partner's code."""
    values = _release(plans["prd"], "pwa-live")["values"]
    assert values["environment"] == [{"name": pwa.OTLP_ENDPOINT_ENV, "value": ENDPOINT}]


def test_icm11_is_not_wired_for_its_pinned_version(example_plans: dict[str, Plan]) -> None:
    """globex runs ICM 11.10.3 (icm-as reads openTelemetry from ICM 14.3.0): no openTelemetry block."""
    for system in ("live", "edit"):
        assert "openTelemetry" not in _release(example_plans["prd"], f"icm-{system}")["values"]["icm-as"]


@pytest.mark.parametrize(
    ("tag", "chart", "wired"),
    [
        ("11.10.3-globex.12", "2.21.1", False),  # the pinned ICM 11
        ("14.3.0-acme.1", "2.21.1", True),  # an ICM that reads it, with a chart that has the key
        ("14.3.0", "2.18.0", False),  # the chart before icm-as 2.13.0 has no openTelemetry key
        ("build-123", "2.21.1", False),  # no release number in the tag: not assumed
    ],
)
def test_icm_wiring_follows_the_pinned_chart_and_image(tag: str, chart: str, wired: bool) -> None:
    """Whether ICM sends is data (layer.OTLP_SUPPORT) against the pinned versions, not a comment."""

    def mutate(d: dict[str, Any]) -> None:
        d["caas:kubernetes"]["images"]["icmAs"]["tag"] = tag
        d["caas:kubernetes"]["images"]["icmAs"].pop("digest", None)
        d["caas:kubernetes"].setdefault("charts", {})["icm"] = chart

    spec = derive(config("uat", mutate)).kubernetes
    facts = icm.IcmFacts(REGISTRY, "sql", "icm-live", "icm-live", "client", "tenant")
    values = icm.icm_values(spec, "live", facts).dump()["icm-as"]
    assert kspec.otlp_wired(spec, "icm") is wired
    assert ("openTelemetry" in values) is wired
    if wired:
        assert values["openTelemetry"] == {"enabled": True, "exporterEndpoint": ENDPOINT}


def test_without_application_insights_nothing_is_offered_or_wired() -> None:
    """The DR tier has no Application Insights to export to: no collector, so no egress rule to it, no IOM
    metrics endpoint and no PWA variable pointing at a service that does not exist."""
    spec = replace(derive(config("prd")).kubernetes, collector=None)
    assert all(r.name != "allow-to-otel-collector" for w in spec.workloads for r in kspec.network_rules(spec, w))
    assert kspec.otlp_endpoint(spec, "iom") is None
    values = pwa.pwa_values(spec, "live", pwa.PwaFacts(REGISTRY)).dump()
    assert values["environment"] == []
