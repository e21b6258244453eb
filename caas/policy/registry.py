"""What a rule is, and how a set of rules is evaluated over one stack's resources."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from caas.policy.context import PolicyContext
from caas.policy.resources import Resource


class Level(StrEnum):
    """CrossGuard's enforcement levels the pack uses: a mandatory violation fails preview and ``caas check``."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


ResourceCheck = Callable[[Resource, PolicyContext], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], PolicyContext], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Rule:
    """One policy: a resource check (each resource alone) or a stack check (relations between resources)."""

    name: str  # the policy's name in the pack and in `caas:policy.relax`
    area: str
    level: Level
    controls: tuple[str, ...]  # the controls it implements, e.g. "CIS Azure 2.1.0 7.1", "MCSB NS-2", "platform"
    description: str
    check: ResourceCheck | None = None
    check_stack: StackCheck | None = None
    relaxable: bool = False  # a stack may lower it to advisory through `caas:policy.relax` (with a reason)

    def violations(self, resources: Sequence[Resource], ctx: PolicyContext) -> Iterable[tuple[Resource, str]]:
        if self.check is not None:
            for resource in resources:
                for message in self.check(resource, ctx):
                    yield resource, message
        if self.check_stack is not None:
            yield from self.check_stack(resources, ctx)


def resource_rule(
    name: str, *, area: str, level: Level, controls: tuple[str, ...], description: str, relaxable: bool = False
) -> Callable[[ResourceCheck], Rule]:
    """Declare a resource check as a rule: ``@resource_rule("name", ...)`` over ``def f(r, ctx) -> messages``."""

    def wrap(check: ResourceCheck) -> Rule:
        return Rule(name, area, level, controls, description, check=check, relaxable=relaxable)

    return wrap


def stack_rule(
    name: str, *, area: str, level: Level, controls: tuple[str, ...], description: str, relaxable: bool = False
) -> Callable[[StackCheck], Rule]:
    """Declare a stack check as a rule: ``def f(resources, ctx) -> (resource, message) pairs``."""

    def wrap(check: StackCheck) -> Rule:
        return Rule(name, area, level, controls, description, check_stack=check, relaxable=relaxable)

    return wrap


@dataclass(frozen=True)
class Violation:
    rule: str
    area: str
    level: Level
    urn: str
    resource: str  # "<type> <name>", for people
    message: str
    relaxed: str = ""  # the stack's reason, where `caas:policy.relax` lowered the rule to advisory


def evaluate(resources: Sequence[Resource], ctx: PolicyContext, rules: Iterable[Rule]) -> list[Violation]:
    """Every violation of ``rules`` in ``resources``, in rule order, then resource (URN) order."""
    found: list[Violation] = []
    for rule in rules:
        reason = ctx.relaxed.get(rule.name, "") if rule.relaxable else ""
        level = Level.ADVISORY if reason else rule.level
        hits = sorted(rule.violations(resources, ctx), key=lambda hit: (hit[0].urn, hit[1]))
        found += [Violation(rule.name, rule.area, level, r.urn, f"{r.type} {r.name}", m, reason) for r, m in hits]
    return found
