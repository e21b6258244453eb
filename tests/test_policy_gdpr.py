"""GDPR rules: locations in the stack's regions; log retention exactly the bound in the workspace, at most elsewhere."""

from __future__ import annotations

from caas.policy.rules.gdpr import locations_allowed, log_retention_within_bound
from tests.policy_cases import resource, violations

WORKSPACE = "azure-native:operationalinsights:Workspace"


def test_locations_stay_in_the_stacks_regions():
    inside = resource("azure-native:network:VirtualNetwork", "v", location="West Europe")
    dns = resource("azure-native:privatedns:PrivateZone", "z", location="global")
    child = resource("azure-native:network:Subnet", "s")
    outside = resource("azure-native:network:VirtualNetwork", "us", location="eastus")
    assert violations(locations_allowed, inside, dns, child) == []
    [hit] = violations(locations_allowed, outside)
    assert "eastus" in hit.message


def test_the_workspace_keeps_logs_exactly_the_bound():
    assert violations(log_retention_within_bound, resource(WORKSPACE, "w", retentionInDays=90)) == []
    assert len(violations(log_retention_within_bound, resource(WORKSPACE, "w", retentionInDays=30))) == 1
    assert len(violations(log_retention_within_bound, resource(WORKSPACE, "w", retentionInDays=365))) == 1


def test_other_log_stores_keep_logs_at_most_the_bound():
    table = resource("azure-native:operationalinsights:Table", "t", retentionInDays=30, totalRetentionInDays=90)
    forever = resource(
        "azure-native:monitor:DiagnosticSetting",
        "d",
        logs=[{"category": "audit", "enabled": True, "retentionPolicy": {"enabled": True, "days": 0}}],
    )
    assert violations(log_retention_within_bound, table) == []
    [hit] = violations(log_retention_within_bound, forever)
    assert "forever" in hit.message
