"""Observability to SLOs: the Telemetry component built alone from a shipped model with its public entry on.

The shipped stacks keep ``caas:publicEntry.enabled: false``, so their plans hold no probe; these tests switch it
on in a copy of the model (as tests/test_public_entry.py does) and build only the Telemetry component.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from caas.plan import Plan, Project
from caas.specs import derive
from caas.specs.telemetry import TelemetrySpec
from components.telemetry import Telemetry, TelemetryArgs
from tests.conftest import EXAMPLE, ROOT, assert_reported, parse, set_key, stack_data
from tests.helpers import build_plan
from tests.policy_cases import mandatory_in

WEB_TEST = "azure-native:applicationinsights:WebTest"
COMPONENT = "azure-native:applicationinsights:Component"
WORKBOOK = "azure-native:applicationinsights:Workbook"
RULE = "azure-native:monitor:ScheduledQueryRule"
SECRET = "azure-native:keyvault:Secret"
ACTION_GROUP = "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actionGroups/ag-acme-prd-weu"
WORKSPACE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log"
RESOURCES = {
    "sqlMi": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/sqlmi",
    "aks": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
    "recoveryVault": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/rsv",
}


def telemetry_spec(directory: Path, stack: str, *, served: bool = True) -> TelemetrySpec:
    """A shipped stack's telemetry spec with its public entry switched on (or left off)."""
    cfg = Project.at(directory).load(stack)[0]
    spec = derive(cfg.model_copy(update={"public_entry": cfg.public_entry.model_copy(update={"enabled": served})}))
    assert spec.telemetry is not None
    return spec.telemetry


def built(spec: TelemetrySpec, stack: str = "prd") -> Plan:
    stack_spec = derive(Project.at(ROOT).load(stack)[0])
    assert stack_spec.data is not None
    rotation = stack_spec.data.rotation  # as caas.estate passes it
    args = TelemetryArgs(stack_spec.site, spec, "rg", WORKSPACE, "kv-acme-prd-weu", ACTION_GROUP, RESOURCES, rotation)
    return build_plan(lambda: Telemetry("telemetry", args), stack=stack)


@pytest.fixture(scope="module")
def prd() -> tuple[TelemetrySpec, Plan]:
    spec = telemetry_spec(ROOT, "prd")
    return spec, built(spec)


def test_app_insights_is_workspace_based_entra_only_and_its_connection_string_is_a_vault_secret(prd) -> None:
    """Application Insights writes to the stack's workspace, refuses key-only ingestion; the vault holds its
    connection string under the shared secret name, as a secret value."""
    spec, plan = prd
    (component,) = plan.find(COMPONENT)
    assert component.inputs["workspaceResourceId"] == WORKSPACE
    assert component.inputs["ingestionMode"] == "LogAnalytics"
    assert component.inputs["disableLocalAuth"] is True
    (secret,) = plan.find(SECRET)
    assert secret.inputs["secretName"] == "appinsights-connection-string" == spec.connection_string_secret
    assert secret.inputs["vaultName"] == "kv-acme-prd-weu"
    assert secret.inputs["properties"]["value"] == "[secret]"


def test_one_standard_test_per_public_hostname_from_several_locations_with_the_certificate_check(prd) -> None:
    """Every served, unrestricted hostname gets a standard test of its https URL from >= 5 Azure locations with
    the SSL and certificate-lifetime checks; restricted hostnames (edit, back office, IOM) get none."""
    spec, plan = prd
    tests = {t.inputs["request"]["requestUrl"]: t for t in plan.find(WEB_TEST)}
    assert set(tests) == {"https://shop.acme-shop.com/", "https://pwa.acme-shop.com/"}
    for test in tests.values():
        assert test.inputs["kind"] == "standard"
        locations = [loc["location"] for loc in test.inputs["locations"]]
        assert len(set(locations)) >= 5
        assert "emea-nl-ams-azr" in locations
        assert test.inputs["validationRules"]["sSLCheck"] is True
        assert test.inputs["validationRules"]["sSLCertRemainingLifetimeCheck"] >= 7
        assert any(tag.startswith("hidden-link:") for tag in test.inputs["tags"])
    assert set(spec.restricted) == {"live.backoffice", "edit.shop", "edit.backoffice", "edit.pwa", "iom"}


def test_no_probe_and_no_slo_alert_while_the_public_entry_is_off() -> None:
    """Shipped with the public entry off: no hostname is served, so nothing is probed or alerted on."""
    spec = telemetry_spec(ROOT, "prd", served=False)
    plan = built(spec)
    assert not plan.find(WEB_TEST)
    assert not plan.find(RULE)
    assert set(spec.unserved) == set(spec.slos)


def test_slo_burn_rate_alerts_per_hostname_with_the_profile_target(prd) -> None:
    """Each probed hostname has a fast (1h/5m, 14.4x, critical) and a slow (6h/30m, 6x, warning) burn-rate rule
    on the Application Insights resource, thresholded on the profile's SLO and routed to the action group."""
    spec, plan = prd
    rules = {r.name: r for r in plan.find(RULE)}
    assert set(rules) == {f"telemetry-slo-{s}-{w}" for s in ("live-shop", "live-pwa") for w in ("fast", "slow")}
    fast, slow = rules["telemetry-slo-live-shop-fast"], rules["telemetry-slo-live-shop-slow"]
    assert (fast.inputs["windowSize"], slow.inputs["windowSize"]) == ("PT1H", "PT6H")
    assert (fast.inputs["severity"], slow.inputs["severity"]) == (1, 2)  # prd: critical 1, warning 2
    # 99.9 % -> budget 0.001; 14.4x -> 0.0144, 6x -> 0.006, over both the long and the short window
    assert "> 0.0144" in fast.inputs["criteria"]["allOf"][0]["query"]
    assert "ago(5m)" in fast.inputs["criteria"]["allOf"][0]["query"]
    assert "> 0.006" in slow.inputs["criteria"]["allOf"][0]["query"]
    for rule in rules.values():
        assert rule.inputs["actions"]["actionGroups"] == [ACTION_GROUP]
        (scope,) = rule.inputs["scopes"]
        assert scope.lower().endswith(f"/components/{spec.app_insights_name}")


def test_a_per_hostname_slo_override_changes_only_that_hostnames_threshold() -> None:
    """caas:profile.availabilitySlos.live.pwa: 99.5 moves live.pwa's thresholds; live.shop keeps prd's 99.9."""
    data = stack_data("prd")
    set_key("publicEntry.enabled", True)(data)
    set_key("profile.availabilitySlos", {"live.pwa": 99.5})(data)
    spec = derive(parse(data, "prd")).telemetry
    assert spec is not None
    assert {p.role: p.slo for p in spec.probes} == {"live.shop": 99.9, "live.pwa": 99.5}
    query = built(spec).one(RULE, "telemetry-slo-live-pwa-fast").inputs["criteria"]["allOf"][0]["query"]
    assert "> 0.072" in query  # 14.4 x 0.005


def test_pre_production_slo_and_severities_come_from_the_profile_and_rules() -> None:
    """uat probes against 99.5 % and its burn alerts carry the pre-production severities (3, 4): they do not page."""
    spec = telemetry_spec(EXAMPLE, "uat")
    assert spec.probes
    assert all(p.slo == 99.5 for p in spec.probes)
    severities = {r.inputs["severity"] for r in built(spec, "uat").find(RULE)}
    assert severities == {3, 4}


def test_backup_failures_and_aks_upgrade_failures_reach_the_action_group(prd) -> None:
    """Azure Backup's built-in alerts of the vault are routed by an alert processing rule, failed AKS/pool/node
    image upgrades by an activity log alert on the cluster; both to the stack's action group."""
    _, plan = prd
    (routing,) = plan.find("azure-native:alertsmanagement:AlertProcessingRuleByName")
    props = routing.inputs["properties"]
    assert props["scopes"] == [RESOURCES["recoveryVault"]]
    assert props["actions"] == [{"actionType": "AddActionGroups", "actionGroupIds": [ACTION_GROUP]}]
    assert props["conditions"][0] == {"field": "MonitorService", "operator": "Equals", "values": ["Azure Backup"]}
    (upgrade,) = plan.find("azure-native:monitor:ActivityLogAlert")
    assert upgrade.inputs["scopes"] == [RESOURCES["aks"]]
    conditions = {c["field"]: c for c in upgrade.inputs["condition"]["allOf"]}
    assert conditions["status"]["equals"] == "Failed"
    assert any("upgradeNodeImageVersion" in op for op in conditions["operationName"]["containsAny"])
    assert upgrade.inputs["actions"]["actionGroups"] == [{"actionGroupId": ACTION_GROUP}]


def test_workbook_is_shared_named_by_a_stable_guid_and_shows_every_hostname_and_the_estate(prd) -> None:
    """One shared workbook per stack with a uuid5 name; its content names every hostname (SLO tiles for the
    probed ones, the reason for the others) and the estate's resources and backup jobs."""
    spec, plan = prd
    (workbook,) = plan.find(WORKBOOK)
    assert workbook.inputs["kind"] == "shared"
    name = workbook.inputs["resourceName"]
    assert str(uuid.UUID(name)) == name
    assert name == built(spec).one(WORKBOOK, "telemetry-workbook").inputs["resourceName"]  # stable across runs
    assert name != built(telemetry_spec(ROOT, "uat"), "uat").one(WORKBOOK, "telemetry-workbook").inputs["resourceName"]
    content = workbook.inputs["serializedData"]
    for hostname in {**spec.restricted, **{p.role: p.hostname for p in spec.probes}}.values():
        assert hostname in content
    document = json.loads(content)
    names = [item["name"] for item in document["items"]]
    assert {"slo-tiles", "unprobed", "estate-health", "backup-jobs"} <= set(names)
    assert RESOURCES["aks"].lower() in content
    assert RESOURCES["sqlMi"].lower() in content


def test_a_bad_slo_is_reported_by_its_key() -> None:
    """100 % leaves no error budget; an SLO for a hostname the stack does not have is named as such."""
    assert_reported("prd", set_key("profile.availabilitySlo", 100.5), "caas:profile.availabilitySlo", "less than 100")
    mutate = set_key("profile.availabilitySlos", {"live.api": 99.0})
    assert_reported("prd", mutate, "caas:profile.availabilitySlos.live.api", "not a hostname")


def test_the_telemetry_passes_the_policy_pack(prd) -> None:
    """Probes, alerts, the workbook and the secret keep the platform's rules (the shipped stacks serve no
    hostname yet, so their plans hold none of these)."""
    assert mandatory_in(prd[1], Project.at(ROOT).load("prd")[0]) == []
