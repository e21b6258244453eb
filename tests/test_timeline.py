"""``--format timeline``: deploy order by dependencies, durations per type, the critical path."""

from __future__ import annotations

from caas.durations import DURATIONS, SQL_MI_ZONE_REDUNDANT, estimate
from caas.mocks import Registration
from caas.plan import Plan
from caas.timeline import as_timeline, schedule

STACK = "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t"


def _r(name: str, type_: str, deps=(), parent: str = STACK, provider: str = "", inputs=None) -> Registration:
    custom = not type_.startswith("intershop:")
    return Registration(f"urn:{name}", type_, name, parent, provider, sorted(deps), False, custom, inputs or {})


MI = "azure-native:sql:ManagedInstance"
SMALL = [
    _r("comp", "intershop:caas:Data"),
    _r("rg", "azure-native:resources:ResourceGroup"),
    _r("subnet", "azure-native:network:Subnet", ["urn:rg"], parent="urn:comp"),
    _r("mi", MI, ["urn:subnet"], parent="urn:comp", inputs={"zoneRedundant": True}),
    _r("cluster", "azure-native:containerservice:ManagedCluster", ["urn:rg"]),
    _r("k8s", "pulumi:providers:kubernetes", ["urn:cluster"]),
    _r("release", "kubernetes:helm.sh/v3:Release", provider="urn:k8s"),
    _r("alert", "azure-native:monitor:MetricAlert", ["urn:comp"]),  # waits for everything under the component
]


def test_small_plan_schedule() -> None:
    """Starts follow recorded dependencies, the provider and components' children; the path is the longest chain."""
    steps = {s.name: s for s in schedule(SMALL).steps}
    assert "comp" not in steps  # components are not deployed
    assert steps["rg"].start == 0
    assert steps["subnet"].start == steps["rg"].end
    assert steps["mi"].start == steps["subnet"].end
    assert steps["mi"].end - steps["mi"].start == SQL_MI_ZONE_REDUNDANT.seconds
    assert steps["release"].start == steps["k8s"].end == steps["cluster"].end  # a provider costs nothing
    assert steps["alert"].start == max(steps["subnet"].end, steps["mi"].end)
    timeline = schedule(SMALL)
    assert [s.name for s in timeline.critical_path] == ["rg", "subnet", "mi", "alert"]
    assert timeline.total == steps["alert"].end
    assert [steps[n].wave for n in ("rg", "subnet", "mi", "alert")] == [0, 1, 2, 3]


def test_zone_redundancy_selects_the_documented_duration() -> None:
    """A zone-redundant SQL MI takes Microsoft's zone-redundant figure, otherwise the plain one."""
    assert estimate(MI, {"zoneRedundant": True}) == SQL_MI_ZONE_REDUNDANT
    assert estimate(MI, {}) == DURATIONS[MI]
    assert SQL_MI_ZONE_REDUNDANT.seconds > DURATIONS[MI].seconds


def test_every_duration_cites_a_source_or_says_estimate() -> None:
    """No bare number: each entry names a Microsoft page or says it is an estimate and why."""
    for token, duration in [*DURATIONS.items(), (MI, SQL_MI_ZONE_REDUNDANT)]:
        assert duration.source.startswith(("https://learn.microsoft.com/", "estimate: ")), token
        assert duration.source != "estimate: ", token


def test_prd_timeline(plans: dict[str, Plan]) -> None:
    """prd: nothing starts before what it waits for ends; the SQL MI lies on the critical path."""
    plan = plans["prd"]
    timeline = schedule(plan.resources)
    ends = {s.urn: s.end for s in timeline.steps}
    assert len(timeline.steps) == sum(r.custom for r in plan.resources)
    for step in timeline.steps:
        assert all(step.start >= ends[d] for d in step.waits_for), step.name
    assert MI in {s.type for s in timeline.critical_path}
    assert timeline.critical_path[0].start == 0
    assert timeline.critical_path[-1].end == timeline.total
    for before, after in zip(timeline.critical_path, timeline.critical_path[1:], strict=False):
        assert before.urn in after.waits_for
        assert before.end == after.start
    text = as_timeline(plan)
    assert "Critical path" in text
    assert "icm-database-instance" in text.split("Critical path")[1]
