"""``python -m caas plan --format timeline``: the expected deploy order, a duration per resource, the critical path.

The engine creates a resource once everything it waits for exists: its recorded ``dependencies`` (the SDK
records every resource whose outputs flow into the inputs, plus explicit ``depends_on``), its provider, and a
custom parent. Components cost nothing and stand for the resources under them. With unlimited parallelism
(Pulumi's default), a resource starts when the last of those ends; durations come from ``caas.durations``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Protocol

from caas.durations import estimate
from caas.mocks import Registration


class Plan(Protocol):
    """What a timeline reads of ``caas.plan.Plan`` (which imports this module for its formats: no import back)."""

    project: str
    stack: str
    resources: list[Registration]


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    start: int  # seconds after the deploy starts
    end: int
    wave: int  # 0: waits for nothing; n: its longest chain of predecessors has n resources
    waits_for: tuple[str, ...]  # URNs of the resources it waits for


@dataclass(frozen=True)
class Timeline:
    steps: list[Step]  # by start, then URN
    critical_path: list[Step]  # first to last

    @property
    def total(self) -> int:
        return max((s.end for s in self.steps), default=0)


def waits_for(resources: list[Registration]) -> dict[str, set[str]]:
    """Per custom resource: the custom resources whose creation it waits for (components expanded)."""
    by_urn = {r.urn: r for r in resources}
    children: dict[str, list[str]] = defaultdict(list)
    for r in resources:
        children[r.parent].append(r.urn)

    def expand(urn: str) -> set[str]:
        if urn not in by_urn:
            return set()  # the stack itself, or a resource outside this plan
        if by_urn[urn].custom:
            return {urn}
        return set().union(*(expand(child) for child in children[urn]))

    graph: dict[str, set[str]] = {}
    for r in resources:
        if not r.custom:
            continue
        direct = [*r.dependencies, r.provider]
        if r.parent in by_urn and by_urn[r.parent].custom:
            direct.append(r.parent)
        graph[r.urn] = set().union(*(expand(d) for d in direct if d)) - {r.urn}
    return graph


def schedule(resources: list[Registration]) -> Timeline:
    """Earliest start and end of every custom resource, and the longest chain (the critical path)."""
    by_urn = {r.urn: r for r in resources}
    graph = waits_for(resources)
    start: dict[str, int] = {}
    end: dict[str, int] = {}
    wave: dict[str, int] = {}
    for urn in TopologicalSorter(graph).static_order():  # raises CycleError on a cycle (the engine would too)
        before = graph[urn]
        start[urn] = max((end[d] for d in before), default=0)
        wave[urn] = max((wave[d] + 1 for d in before), default=0)
        r = by_urn[urn]
        end[urn] = start[urn] + estimate(r.type, r.inputs).seconds
    steps = {
        urn: Step(urn, by_urn[urn].type, by_urn[urn].name, start[urn], end[urn], wave[urn], tuple(sorted(graph[urn])))
        for urn in graph
    }
    ordered = sorted(steps.values(), key=lambda s: (s.start, s.end, s.urn))
    path: list[Step] = []
    if ordered:
        # The last resource to finish (ties: the smallest URN), then back through whichever predecessor held it up.
        current: Step | None = min(ordered, key=lambda s: (-s.end, s.urn))
        while current is not None:
            path.append(current)
            blockers = [steps[d] for d in current.waits_for if steps[d].end == current.start]
            current = min(blockers, key=lambda s: (-s.end, s.urn)) if blockers else None
    return Timeline(ordered, path[::-1])


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def as_timeline(plan: Plan) -> str:
    """The deploy as the engine would schedule it: waves, start/end offsets, the total and the critical path."""
    timeline = schedule(plan.resources)
    lines = [
        f"{plan.project} / {plan.stack}: expected deploy of {len(timeline.steps)} resources, "
        f"about {_clock(timeline.total)} (h:mm:ss) with unlimited parallelism",
        "Durations are typical create times per type (caas/durations.py, sources cited there); updates are faster.",
        "",
    ]
    by_wave: dict[int, list[Step]] = defaultdict(list)
    for step in timeline.steps:
        by_wave[step.wave].append(step)
    for number in sorted(by_wave):
        lines.append(f"Wave {number}")
        for s in by_wave[number]:
            lines.append(f"  {_clock(s.start)} - {_clock(s.end)}  {s.type:<62} {s.name}")
        lines.append("")
    lines.append(f"Critical path ({_clock(timeline.total)}):")
    for s in timeline.critical_path:
        lines.append(f"  {_clock(s.start)} - {_clock(s.end)}  {s.type:<62} {s.name}")
    return "\n".join(lines) + "\n"
