"""The pack as the Pulumi engine drives it: CrossGuard's own analyzer service, fed the shipped plans.

Runs in the pack's virtualenv (policy/requirements.txt): `policy/venv/bin/python -m pytest policy/tests`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi.runtime
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

PACK = Path(__file__).resolve().parent.parent
ROOT = PACK.parent
sys.path[:0] = [str(PACK), str(ROOT)]

import adapter  # noqa: E402

from caas import check  # noqa: E402
from caas.config import stack_file_config  # noqa: E402
from caas.plan import Project, render  # noqa: E402
from caas.policy.resources import UNKNOWN  # noqa: E402
from caas.policy.rules import RULES  # noqa: E402

MANDATORY = proto.EnforcementLevel.MANDATORY
ADVISORY = proto.EnforcementLevel.ADVISORY


@pytest.fixture(scope="module")
def int_plan() -> dict[str, Any]:
    return json.loads(render(Project.at(ROOT), "int").to_json())


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch):
    """The analyzer of the pack (as `policy/__main__.py` builds it), configured for a stack as the CLI does:
    the stack's config in PULUMI_CONFIG, its name in PULUMI_STACK."""

    def start(stack: str, rules=RULES, extra_config: dict[str, Any] | None = None) -> _PolicyAnalyzerServicer:
        raw, secret_keys = stack_file_config(str(ROOT / f"Pulumi.{stack}.yaml"))
        raw.update({key: json.dumps(value) for key, value in (extra_config or {}).items()})
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(raw))
        monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(sorted(secret_keys)))
        monkeypatch.setenv("PULUMI_PROJECT", Project.at(ROOT).name)
        monkeypatch.setenv("PULUMI_STACK", stack)
        monkeypatch.setenv("PULUMI_DRY_RUN", "true")
        # One analyzer process serves one stack; here several start in one process, so forget the last one's config.
        pulumi.runtime.set_all_config({}, [])
        adapter.stack_context.cache_clear()
        policies = [adapter.policy(rule, adapter.stack_context) for rule in rules]
        return _PolicyAnalyzerServicer("intershop-caas", "1.0.0", policies, EnforcementLevel.MANDATORY)

    yield start
    adapter.stack_context.cache_clear()


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    """Inputs as the engine sends them in preview: unknown values are the engine's sentinel."""

    def engine_value(v: Any) -> Any:
        if v == UNKNOWN:
            return UNKNOWN_STRING_VALUE
        if isinstance(v, dict):
            return {k: engine_value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [engine_value(x) for x in v]
        return v

    struct = struct_pb2.Struct()
    struct.update(engine_value(value))
    return struct


def _provider(urn: str) -> proto.AnalyzerProviderResource | None:
    if not urn:
        return None
    type_ = urn.split("::")[2].split("$")[-1]
    return proto.AnalyzerProviderResource(type=type_, urn=urn, name=urn.rsplit("::", 1)[1])


def _request(r: dict[str, Any]) -> proto.AnalyzeRequest:
    return proto.AnalyzeRequest(
        type=r["type"],
        properties=_struct(r["inputs"]),
        urn=r["urn"],
        name=r["name"],
        options=proto.AnalyzerResourceOptions(protect=r["protect"], parent=r["parent"]),
        provider=_provider(r["provider"]),
    )


def _stack_request(resources: list[dict[str, Any]]) -> proto.AnalyzeStackRequest:
    return proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r["type"],
                properties=_struct(r["inputs"]),
                urn=r["urn"],
                name=r["name"],
                options=proto.AnalyzerResourceOptions(protect=r["protect"], parent=r["parent"]),
                provider=_provider(r["provider"]),
                parent=r["parent"],
                dependencies=r["dependencies"],
            )
            for r in resources
        ]
    )


def analyze(servicer: _PolicyAnalyzerServicer, document: dict[str, Any]) -> set[tuple[str, str, int]]:
    """(rule, URN, level) of every diagnostic the engine would print for the plan's resources."""
    found: set[tuple[str, str, int]] = set()
    for r in document["resources"]:
        for d in servicer.Analyze(_request(r), None).diagnostics:
            found.add((d.policyName, d.urn or r["urn"], d.enforcementLevel))
    for d in servicer.AnalyzeStack(_stack_request(document["resources"]), None).diagnostics:
        found.add((d.policyName, d.urn, d.enforcementLevel))
    return found


def offline(document: dict[str, Any]) -> set[tuple[str, str, int]]:
    levels = {"mandatory": MANDATORY, "advisory": ADVISORY}
    return {(v.rule, v.urn, levels[v.level.value]) for v in check.check(document)}


def test_the_shipped_stack_passes_in_preview_as_offline(engine, int_plan):
    found = analyze(engine("int"), int_plan)
    assert {f for f in found if f[2] == MANDATORY} == set()
    assert found == offline(int_plan)


def test_a_violation_is_reported_mandatory_in_preview_as_offline(engine, int_plan):
    document = json.loads(json.dumps(int_plan))
    nic = next(r for r in document["resources"] if r["type"] == "azure-native:network:NetworkInterface")
    nic["inputs"]["ipConfigurations"][0]["publicIPAddress"] = {"id": UNKNOWN}
    found = analyze(engine("int"), document)
    assert ("no-public-ip-on-host-nic", nic["urn"], MANDATORY) in found
    assert found == offline(document)


def test_a_relaxed_rule_is_advisory_in_preview_as_offline(engine, int_plan):
    """`caas:policy.relax` in the stack's config lowers a relaxable rule to advisory in preview too."""
    reason = "tags are set by the customer's own Azure Policy"
    document = json.loads(json.dumps(int_plan))
    document["policy"]["relaxed"] = {"required-tags": reason}
    group = next(r for r in document["resources"] if r["type"] == "azure-native:resources:ResourceGroup")
    group["inputs"]["tags"] = {}
    found = analyze(engine("int", extra_config={"caas:policy": {"relax": {"required-tags": reason}}}), document)
    assert ("required-tags", group["urn"], ADVISORY) in found
    assert found == offline(document)
    assert analyze(engine("int"), document) >= {("required-tags", group["urn"], MANDATORY)}
