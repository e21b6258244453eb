"""Small hand-made resources and contexts for the policy rules' tests: one passing and one violating case each."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from caas.model import EstateConfig
from caas.plan import Plan
from caas.policy import Level, PolicyContext, Resource, Rule, Violation, evaluate
from caas.policy.context import for_stack
from caas.policy.resources import from_plan
from caas.policy.rules import RULES
from caas.specs import derive

STACK_URN = "urn:pulumi:prd::caas-acme::pulumi:pulumi:Stack::caas-acme-prd"

CONTEXT = PolicyContext(
    stack="prd",
    locations=("global", "northeurope", "westeurope"),
    log_retention_days=90,
    protect=True,
    backup=True,
    zones=("1", "2", "3"),
    purge_protection=True,
    tags={"customer": "acme", "environment": "prd", "managed-by": "pulumi", "platform": "intershop-caas"},
)


def resource(
    type_: str,
    name: str = "r",
    *,
    parent: str = "",
    provider: str = "",
    protect: bool = False,
    dependencies: tuple[str, ...] = (),
    **props: Any,
) -> Resource:
    """A resource as a plan records it: ``props`` are the camelCase inputs."""
    return Resource(
        urn=f"urn:pulumi:prd::caas-acme::{type_}::{name}",
        type=type_,
        name=name,
        props=props,
        parent=parent or STACK_URN,
        provider=provider,
        protect=protect,
        dependencies=dependencies,
    )


def context(**changes: Any) -> PolicyContext:
    return replace(CONTEXT, **changes)


def violations(rule: Rule, *resources: Resource, ctx: PolicyContext = CONTEXT) -> list[Violation]:
    return evaluate(list(resources), ctx, [rule])


def mandatory_in(plan: Plan, cfg: EstateConfig) -> list[Violation]:
    """The mandatory violations of every rule in a (component's) plan, judged in the stack's context."""
    document = json.loads(plan.to_json())
    found = evaluate(from_plan(document), for_stack(cfg, derive(cfg)), RULES)
    return [v for v in found if v.level == Level.MANDATORY]
