"""The policy pack's frame: rules are declared with controls, run offline on every shipped plan, and relax by config."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from caas import check
from caas.cli import main
from caas.policy import Level
from caas.policy.rules import AREAS, RULES
from caas.policy.rules.network import no_public_ip_on_host_nic
from tests.conftest import ROOT, assert_reported, set_key
from tests.policy_cases import context, resource, violations

NIC = "azure-native:network:NetworkInterface"


def test_every_rule_is_named_once_and_maps_a_control():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for area, rules in AREAS.items():
        for rule in rules:
            assert rule.area == area, rule.name
            assert rule.controls, rule.name
            assert all(c.strip() for c in rule.controls), rule.name
            assert (rule.check is None) != (rule.check_stack is None), rule.name


@pytest.mark.parametrize("stack", ["shared", "int", "uat", "prd"])
def test_every_shipped_stack_passes_every_mandatory_rule(plans, example_plans, stack):
    for plan in (plans[stack], example_plans[stack]):
        found = check.check(json.loads(plan.to_json()))
        assert [v for v in found if v.level == Level.MANDATORY] == [], plan.project


def test_a_relaxed_rule_is_reported_as_advisory_with_its_reason():
    public = resource(NIC, "web", ipConfigurations=[{"name": "ip", "publicIPAddress": {"id": "pip"}}])
    relaxable = replace(no_public_ip_on_host_nic, relaxable=True)
    [hit] = violations(relaxable, public, ctx=context(relaxed={relaxable.name: "a reason of ten+ chars"}))
    assert (hit.level, hit.relaxed) == (Level.ADVISORY, "a reason of ten+ chars")
    [strict] = violations(no_public_ip_on_host_nic, public, ctx=context(relaxed={relaxable.name: "ignored here"}))
    assert strict.level == Level.MANDATORY


def test_check_of_a_saved_plan_fails_on_a_mandatory_violation(plans, tmp_path, capsys):
    document = json.loads(plans["int"].to_json())
    saved = tmp_path / "int.json"
    saved.write_text(json.dumps(document))
    assert main(["check", "--plan", str(saved)]) == 0

    nic = next(r for r in document["resources"] if r["type"] == NIC)
    nic["inputs"]["ipConfigurations"][0]["publicIPAddress"] = {"id": "/subscriptions/x/publicIPAddresses/pip"}
    saved.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["check", "--plan", str(saved), "--format", "json"]) == 1
    [hit] = json.loads(capsys.readouterr().out)
    assert (hit["rule"], hit["urn"], hit["level"]) == ("no-public-ip-on-host-nic", nic["urn"], "mandatory")


def test_a_relaxation_must_name_a_relaxable_rule():
    assert_reported(
        "prd",
        set_key("policy.relax.no-such-rule", "because of a reason"),
        "caas:policy.relax.no-such-rule",
        "no such rule",
    )
    assert_reported(
        "prd",
        set_key("policy.relax.no-public-ip-on-host-nic", "because of a reason"),
        "caas:policy.relax.no-public-ip-on-host-nic",
        "cannot be relaxed",
    )
    assert_reported("prd", set_key("policy.relax.anything", "short"), "caas:policy.relax.anything", "at least 10")


def test_no_public_ip_on_a_host_nic():
    private = resource(NIC, "app", ipConfigurations=[{"name": "ip", "privateIPAllocationMethod": "Dynamic"}])
    public = resource(NIC, "web", ipConfigurations=[{"name": "ip", "publicIPAddress": {"id": "pip"}}])
    assert violations(no_public_ip_on_host_nic, private) == []
    [hit] = violations(no_public_ip_on_host_nic, public)
    assert "public IP" in hit.message


def test_the_documented_rule_table_is_current():
    text = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    block = text.split("<!-- rules:begin -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert block == check.rules_table(), "regenerate with `python -m caas check --rules` into docs/policy.md"
