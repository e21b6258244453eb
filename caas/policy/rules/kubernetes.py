"""Kubernetes rules: every object on the cluster's own provider, every namespace the stack creates fenced (quota,
limit range, default-deny both ways), charts pinned, and no credential written into a release's values."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule, stack_rule
from caas.policy.resources import UNKNOWN, Resource

AREA = "kubernetes"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER_TYPE = "pulumi:providers:kubernetes"


@resource_rule(
    "kubernetes-explicit-provider",
    area=AREA,
    level=Level.MANDATORY,
    controls=("platform: never an ambient kubeconfig (the cluster's own provider from its Entra credentials)",),
    description=(
        "Every `kubernetes:*` object names an explicit Kubernetes provider, not Pulumi's default provider (which "
        "reads whatever kubeconfig the deploying machine has: the wrong cluster is one context switch away)."
    ),
)
def kubernetes_explicit_provider(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.package != "kubernetes":
        return
    # urn:pulumi:<stack>::<project>::<qualified type>::<name>; the qualified type ends in the provider's type.
    parts = r.provider.split("::")
    if len(parts) < 4:
        yield "uses the default Kubernetes provider (no provider)"
    elif not parts[-2].endswith(PROVIDER_TYPE) or parts[-1].startswith("default"):
        yield f"uses provider {parts[-1]}, not an explicit Kubernetes provider"


def _name(r: Resource, path: str) -> str | None:
    value = r.get(path)
    return value if isinstance(value, str) and value and r.known(path) else None


def _selects_all(spec: Mapping[str, Any]) -> bool:
    selector = spec.get("podSelector")
    return isinstance(selector, Mapping) and not selector.get("matchLabels") and not selector.get("matchExpressions")


def _denies(spec: Any, direction: str) -> bool:
    """A policy over every pod that lists ``direction`` and allows nothing in it."""
    if not isinstance(spec, Mapping) or not _selects_all(spec):
        return False
    types = spec.get("policyTypes") or ()
    return direction in types and not spec.get(direction.lower())


def _created_namespaces(resources: Sequence[Resource]) -> dict[str, Resource]:
    """Namespaces the stack creates: Namespace objects, and those Helm releases create or install into."""
    created: dict[str, Resource] = {}
    for r in resources:
        if r.type == NAMESPACE and (name := _name(r, "metadata.name")):
            created.setdefault(name, r)
    for r in resources:
        if r.type == RELEASE and (name := _name(r, "namespace")):
            created.setdefault(name, r)
    return created


@stack_rule(
    "namespaces-fenced",
    area=AREA,
    level=Level.MANDATORY,
    controls=(
        "CIS Kubernetes Benchmark 1.9.0 5.3.2 (network policies in every namespace)",
        "MCSB NS-2",
        "platform: a quota and a limit range per namespace (noisy neighbours)",
    ),
    description=(
        "Every namespace the stack creates (add-ons' and the ones Helm releases install into included) has a "
        "ResourceQuota, a LimitRange and default-deny NetworkPolicies for ingress and egress (over every pod, "
        "allowing nothing), so every allowed flow is an explicit policy."
    ),
)
def namespaces_fenced(resources: Sequence[Resource], _ctx: PolicyContext) -> Iterator[tuple[Resource, str]]:
    by_namespace: dict[str, list[Resource]] = {}
    for r in resources:
        if r.type in (QUOTA, LIMIT_RANGE, NETWORK_POLICY) and (ns := _name(r, "metadata.namespace")):
            by_namespace.setdefault(ns, []).append(r)
    for ns, owner in sorted(_created_namespaces(resources).items()):
        objects = by_namespace.get(ns, [])
        missing = [
            what
            for what, present in (
                ("a ResourceQuota", any(o.type == QUOTA for o in objects)),
                ("a LimitRange", any(o.type == LIMIT_RANGE for o in objects)),
                ("a default-deny ingress policy", any(_denies(o.get("spec"), "Ingress") for o in objects)),
                ("a default-deny egress policy", any(_denies(o.get("spec"), "Egress") for o in objects)),
            )
            if not present
        ]
        if missing:
            yield owner, f"namespace {ns} lacks {', '.join(missing)}"


# An exact SemVer 2.0 version: no range (^, ~, x, *, >=), no "latest".
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


@resource_rule(
    "helm-charts-pinned",
    area=AREA,
    level=Level.MANDATORY,
    controls=("platform: what uat tested is what prd installs (a chart version is its content)",),
    description=(
        "Every Helm release names its chart, its repository (`repositoryOpts.repo`, or an `oci://` chart) and an "
        "exact version, and never `devel` (pre-releases): an unpinned chart changes under an unchanged program."
    ),
)
def helm_charts_pinned(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != RELEASE:
        return
    chart, version = r.get("chart"), r.get("version")
    if not chart:
        yield "names no chart"
    if not r.get("repositoryOpts.repo") and not (isinstance(chart, str) and chart.startswith("oci://")):
        yield "names no chart repository (repositoryOpts.repo)"
    if r.known("version") and not (isinstance(version, str) and EXACT_VERSION.match(version)):
        yield f"version {version!r} is not an exact chart version"
    if r.get("devel"):
        yield "allows development versions (devel)"


# Keys that hold a credential, and keys (or ancestors) that only point at one stored elsewhere.
SENSITIVE = re.compile(r"pass(word|wd)|pwd|secret|token|api_?key|private_?key|access_?key|credential|connectionstring")
REFERENCE = re.compile(
    r"existing|ref$|refs$|name$|path$|file$|key$|class$|enabled$|create|mount|audience|type$|mode$|valuefrom"
)


def _inline_credentials(value: Any, path: str = "", under_reference: bool = False) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            lowered = str(key).lower().replace("-", "_")
            child = f"{path}.{key}" if path else str(key)
            reference = under_reference or bool(REFERENCE.search(lowered) and not isinstance(item, str))
            if isinstance(item, str) and not under_reference and SENSITIVE.search(lowered):
                if item and not REFERENCE.search(lowered):
                    yield child
            else:
                yield from _inline_credentials(item, child, reference)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _inline_credentials(item, f"{path}[{i}]", under_reference)


@resource_rule(
    "helm-values-without-credentials",
    area=AREA,
    level=Level.MANDATORY,
    controls=("MCSB IM-8 (restrict the exposure of credentials and secrets)",),
    description=(
        "No Helm value whose key names a credential (password, secret, token, key...) is a string: credentials "
        "come from a Kubernetes Secret the Key Vault CSI driver syncs (`existingSecret`, `...SecretKeyRef`). "
        "Judged by key and structure, never by whether the value is marked secret: a secret written inline is "
        "still stored in the Helm release Secret and readable to anyone who may list releases."
    ),
)
def helm_values_without_credentials(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    if r.type != RELEASE or r.get("values") == UNKNOWN:
        return
    for path in _inline_credentials(r.get("values") or {}):
        yield f"values.{path} sets a credential inline; reference an existing Secret instead"


RULES = (kubernetes_explicit_provider, namespaces_fenced, helm_charts_pinned, helm_values_without_credentials)
