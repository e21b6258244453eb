"""Kubernetes rules: explicit provider, fenced namespaces, pinned charts, no credentials in values."""

from __future__ import annotations

from caas.policy.rules.kubernetes import (
    helm_charts_pinned,
    helm_values_without_credentials,
    kubernetes_explicit_provider,
    namespaces_fenced,
)
from tests.policy_cases import resource, violations

PROVIDER = "urn:pulumi:prd::caas-acme::intershop:caas:KubernetesLayer$pulumi:providers:kubernetes::k8s-provider"
DEFAULT = "urn:pulumi:prd::caas-acme::pulumi:providers:kubernetes::default_4_18_0"
RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def test_kubernetes_objects_use_an_explicit_provider():
    ns = "kubernetes:core/v1:Namespace"
    assert violations(kubernetes_explicit_provider, resource(ns, "a", provider=PROVIDER)) == []
    hits = violations(kubernetes_explicit_provider, resource(ns, "b", provider=DEFAULT), resource(ns, "c"))
    assert len(hits) == 2


def _fence(ns: str, *, egress_deny: bool = True) -> list:
    types = ["Ingress", "Egress"] if egress_deny else ["Ingress"]
    return [
        resource("kubernetes:core/v1:ResourceQuota", f"{ns}-q", metadata={"name": "quota", "namespace": ns}),
        resource("kubernetes:core/v1:LimitRange", f"{ns}-l", metadata={"name": "defaults", "namespace": ns}),
        resource(POLICY, f"{ns}-d", metadata={"namespace": ns}, spec={"podSelector": {}, "policyTypes": types}),
    ]


def test_every_created_namespace_is_fenced_release_targets_included():
    ns = resource("kubernetes:core/v1:Namespace", "app", metadata={"name": "app"})
    release = resource(RELEASE, "addon", namespace="addon", createNamespace=True)
    assert violations(namespaces_fenced, ns, release, *_fence("app"), *_fence("addon")) == []
    hits = violations(namespaces_fenced, ns, release, *_fence("app", egress_deny=False))
    assert sorted(h.message.split(" ")[1] for h in hits) == ["addon", "app"]
    assert "default-deny egress" in next(h.message for h in hits if " app " in h.message)


def test_an_allow_policy_is_not_a_default_deny():
    ns = resource("kubernetes:core/v1:Namespace", "app", metadata={"name": "app"})
    allow = resource(
        POLICY,
        "allow",
        metadata={"namespace": "app"},
        spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
    )
    [hit] = violations(namespaces_fenced, ns, allow, *_fence("app", egress_deny=False))
    assert "egress" in hit.message


def test_helm_charts_are_pinned():
    pinned = resource(RELEASE, "ok", chart="iom", version="3.1.1", repositoryOpts={"repo": "https://charts"})
    oci = resource(RELEASE, "oci", chart="oci://registry/charts/x", version="1.0.0")
    assert violations(helm_charts_pinned, pinned, oci) == []
    loose = resource(RELEASE, "loose", chart="iom", version="^3.1", devel=True)
    assert len(violations(helm_charts_pinned, loose)) == 3  # range, no repository, devel


def test_helm_values_take_credentials_only_from_existing_secrets():
    referenced = resource(
        RELEASE,
        "ok",
        values={
            "pg": {"passwdSecretKeyRef": {"name": "db", "key": "password"}, "user": "app"},
            "auth": {"existingSecret": "app-secrets", "passwordKey": "admin-password"},
            "tls": {"secretName": "tls"},
        },
    )
    assert violations(helm_values_without_credentials, referenced) == []
    # Judged by key and structure: a value printed "[secret]" offline is still set inline.
    inline = resource(RELEASE, "bad", values={"auth": {"password": "[secret]"}, "smtp": [{"apiToken": "t0k3n"}]})
    hits = violations(helm_values_without_credentials, inline)
    assert sorted(h.message.split(" ")[0] for h in hits) == ["values.auth.password", "values.smtp[0].apiToken"]
