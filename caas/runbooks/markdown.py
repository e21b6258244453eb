"""Markdown building blocks of the runbooks: numbered steps with command, expected output, rollback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Owner = Literal["customer", "partner", "platform team"]


@dataclass(frozen=True)
class Step:
    """One thing someone does, in the style of a deployment runbook."""

    title: str
    owner: Owner
    why: str = ""  # one or two sentences: what the step achieves
    command: str = ""  # shell, run as written
    expected: str = ""  # literal output of the command when all is well
    result: str = ""  # in words, when the output cannot be given literally
    rollback: str = ""  # how to undo it, or why nothing needs undoing


@dataclass(frozen=True)
class Section:
    """One runbook file: reference facts first, then the steps."""

    slug: str  # file name without .md
    title: str
    facts: str  # Markdown: tables and short paragraphs
    steps: tuple[Step, ...] = ()


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; cells are shown as given (wrap values in code() where they are literal)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def code(value: object) -> str:
    return f"`{value}`"


def fence(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def render_steps(steps: Sequence[Step]) -> str:
    out = []
    for i, step in enumerate(steps, 1):
        parts = [f"### {i}. {step.title}\n", f"Owner: **{step.owner}**.\n"]
        if step.why:
            parts.append(step.why.strip() + "\n")
        if step.command:
            parts.append(fence(step.command, "bash"))
        if step.expected:
            parts.append("Expected output:\n\n" + fence(step.expected, "text"))
        if step.result:
            parts.append(f"Expected result: {step.result.strip()}\n")
        if step.rollback:
            parts.append(f"Rollback: {step.rollback.strip()}\n")
        out.append("\n".join(parts))
    return "\n".join(out)


def render_section(section: Section, heading: str) -> str:
    parts = [f"# {section.title}\n", heading, section.facts.strip() + "\n"]
    if section.steps:
        parts.append("## Steps\n")
        parts.append(render_steps(section.steps))
    return "\n".join(parts)
