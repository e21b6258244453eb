"""CrossGuard's view of a resource becomes caas.policy's, and each rule of caas.policy becomes one policy.

Imported only by ``policy/__main__.py`` (inside the pack's own virtualenv, where pulumi-policy is installed)
and by the pack's test; the rules themselves never see pulumi-policy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from pulumi_policy.secret import Secret

from caas.policy import PolicyContext, Resource, Rule
from caas.policy.registry import Level
from caas.policy.resources import UNKNOWN

LEVELS = {Level.MANDATORY: EnforcementLevel.MANDATORY, Level.ADVISORY: EnforcementLevel.ADVISORY}


def plain(read: Callable[[], Any]) -> Any:
    """A CrossGuard value as plain data, with "[unknown]" wherever preview cannot know it yet (as offline)."""
    try:
        value = read()
    except UnknownValueError:
        return UNKNOWN
    if isinstance(value, Secret):  # never consulted by a rule; unwrapped so the structure matches the plan's
        value = value.value
    if isinstance(value, float) and value.is_integer():
        # The engine hands inputs over as a protobuf Struct, whose only number is a double; the program (and the
        # plan) registered a whole number, and the rules compare it as one.
        return int(value)
    if isinstance(value, Mapping):
        return {key: plain(lambda key=key: value[key]) for key in list(value)}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(lambda i=i: value[i]) for i in range(len(value))]
    return value


def from_resource_args(args: ResourceValidationArgs) -> Resource:
    return Resource(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        props=plain(lambda: args.props),
        parent=args.opts.parent or "",
        provider=args.provider.urn if args.provider is not None else "",
        protect=bool(args.opts.protect),
    )


def from_stack_args(args: StackValidationArgs) -> list[Resource]:
    return [
        Resource(
            urn=r.urn,
            type=r.resource_type,
            name=r.name,
            props=plain(lambda r=r: r.props),
            parent=r.parent.urn if r.parent is not None else "",
            provider=r.provider.urn if r.provider is not None else "",
            protect=bool(r.opts.protect),
            dependencies=tuple(d.urn for d in r.dependencies),
        )
        for r in args.resources
    ]


def _reason(rule: Rule, ctx: PolicyContext) -> str:
    return ctx.relaxed.get(rule.name, "") if rule.relaxable else ""


def _framework(rule: Rule) -> PolicyComplianceFramework:
    return PolicyComplianceFramework(name="intershop-caas", reference="; ".join(rule.controls))


class _RuleLevel:
    """A policy's enforcement level: the rule's own, or advisory where the stack relaxes it (`caas:policy.relax`).

    CrossGuard reads the level when it analyses, after it has loaded the stack's config; before that (when the
    CLI asks for the pack's metadata) the stack is not known and the rule's own level stands.
    """

    def __init__(self, rule: Rule, context: Callable[[], PolicyContext]) -> None:
        self.rule, self.context = rule, context

    def __get__(self, _policy: Policy | None, _owner: type | None = None) -> EnforcementLevel:
        try:
            relaxed = bool(_reason(self.rule, self.context()))
        except Exception:  # no stack config yet: the CLI is reading the pack's metadata
            relaxed = False
        return EnforcementLevel.ADVISORY if relaxed else LEVELS[self.rule.level]

    def __set__(self, _policy: Policy, _value: object) -> None:
        """The base class assigns the declared level; the rule already holds it."""


def policy(rule: Rule, context: Callable[[], PolicyContext]) -> Policy:
    """The CrossGuard policy that runs ``rule`` against the stack's context."""

    def suffix() -> str:
        reason = _reason(rule, context())
        return f" (relaxed by caas:policy.relax: {reason})" if reason else ""

    def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
        assert rule.check is not None
        for message in rule.check(from_resource_args(args), context()):
            report(message + suffix(), None)

    def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
        assert rule.check_stack is not None
        for resource, message in rule.check_stack(from_stack_args(args), context()):
            report(message + suffix(), resource.urn)

    base: type[Policy] = ResourceValidationPolicy if rule.check is not None else StackValidationPolicy
    cls = type(f"{base.__name__}_{rule.name}", (base,), {"enforcement_level": _RuleLevel(rule, context)})
    return cls(
        name=rule.name,
        description=rule.description,
        validate=validate_resource if rule.check is not None else validate_stack,
        enforcement_level=LEVELS[rule.level],
        framework=_framework(rule),
        tags=[rule.area],
    )


@functools.cache
def stack_context() -> PolicyContext:
    """The context of the stack being previewed, from its own config (CrossGuard hands the pack the stack's
    config, as the program gets it). Cached once loaded; a failure (no config yet) is not cached."""
    from caas import config, specs
    from caas.policy.context import for_stack

    cfg = config.load()
    return for_stack(cfg, specs.derive(cfg))
