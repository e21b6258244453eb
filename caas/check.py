"""``python -m caas check``: the policy pack's rules on a recorded plan, offline; exit 1 on a mandatory violation."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, Rule, Violation, evaluate
from caas.policy.resources import from_plan
from caas.policy.rules import RULES


def check(document: Mapping[str, Any], rules: Iterable[Rule] = RULES) -> list[Violation]:
    """Every violation in a plan JSON document, judged against the context the plan carries."""
    if not document.get("policy"):
        raise ValueError("the plan carries no policy context; render it again with `python -m caas plan --format json`")
    return evaluate(from_plan(document), PolicyContext.from_json(document["policy"]), rules)


def exit_code(violations: Sequence[Violation]) -> int:
    return 1 if any(v.level == Level.MANDATORY for v in violations) else 0


def as_table(violations: Sequence[Violation], checked: int) -> str:
    mandatory = sum(v.level == Level.MANDATORY for v in violations)
    summary = f"{checked} resources, {len(violations)} violations ({mandatory} mandatory)\n"
    if not violations:
        return summary
    rows = [("RULE", "RESOURCE", "LEVEL", "MESSAGE")]
    for v in violations:
        note = f" (relaxed: {v.relaxed})" if v.relaxed else ""
        rows.append((v.rule, v.resource, v.level.value, v.message + note))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3] for row in rows]
    return "\n".join(lines) + "\n" + summary


def as_json(violations: Sequence[Violation]) -> str:
    return json.dumps([asdict(v) for v in violations], indent=2) + "\n"


def rules_table(rules: Iterable[Rule] = RULES) -> str:
    """The pack's rules as a Markdown table: the README's list and the review's map of controls."""
    lines = ["| Rule | Area | Level | Relaxable | Controls | What it requires |", "|---|---|---|---|---|---|"]
    for r in rules:
        relaxable = "yes" if r.relaxable else "no"
        controls = "; ".join(r.controls)
        lines.append(f"| `{r.name}` | {r.area} | {r.level.value} | {relaxable} | {controls} | {r.description} |")
    return "\n".join(lines) + "\n"
