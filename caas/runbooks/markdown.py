"""Markdown building blocks of the runbooks: steps that each say who, where, what to run, what to expect, and how
to undo it.

Every field of a ``Step`` is required and non-empty (a dataclass without defaults, checked on construction), so a
runbook cannot carry a step that leaves the reader guessing who acts, from where, or what success looks like.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Literal, get_args

# Who acts. Partners follow the runbooks alone; the others are named so a partner knows whom to ask.
Who = Literal[
    "partner engineer",  # the implementation partner's engineer
    "platform engineer",  # runs the estate: stack files, init, pipelines
    "release manager",  # starts release pipelines
    "customer approver",  # approves gated Azure DevOps environments
    "customer",  # hands over certificates, owns public DNS and the data-protection decision
    "DBA",  # a member of the databases' Entra admin group
]


@dataclass(frozen=True)
class Shell:
    """Commands, run as written in a bash shell."""

    script: str


@dataclass(frozen=True)
class Ui:
    """A click path in a web UI (Azure DevOps), with the values to enter."""

    path: str


@dataclass(frozen=True)
class Output:
    """The literal output when all is well."""

    text: str


@dataclass(frozen=True)
class Outcome:
    """The result in words, where the output cannot be given literally."""

    text: str


@dataclass(frozen=True)
class Step:
    """One thing one person does. No field has a default: every step names all of them."""

    title: str
    who: Who
    where: str  # their machine; a hub build agent through pipeline X; Bastion to host Y; the Azure DevOps UI
    why: str  # what the step achieves, with any file content to write
    command: Shell | Ui
    expected: Output | Outcome
    rollback: str  # how to undo it, or why nothing needs undoing

    def __post_init__(self) -> None:
        if self.who not in get_args(Who):
            raise ValueError(f"step {self.title!r}: unknown role {self.who!r}")
        for f in fields(self):
            if not _text(getattr(self, f.name)).strip():
                raise ValueError(f"step {self.title!r}: {f.name} is empty")


def _text(value: str | Shell | Ui | Output | Outcome) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Shell):
        return value.script
    if isinstance(value, Ui):
        return value.path
    return value.text


@dataclass(frozen=True)
class Section:
    """One runbook file: reference facts first, then the steps."""

    slug: str  # file name without .md
    title: str
    facts: str  # Markdown: tables and short paragraphs
    steps: tuple[Step, ...]


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; cells are shown as given (wrap values in code() where they are literal)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def code(value: object) -> str:
    return f"`{value}`"


def fence(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def render_step(i: int, step: Step) -> str:
    parts = [
        f"### {i}. {step.title}\n",
        f"**Who:** {step.who}. **Where:** {step.where}.\n",
        step.why.strip() + "\n",
    ]
    if isinstance(step.command, Shell):
        parts.append(fence(step.command.script, "bash"))
    else:
        parts.append(f"**In the UI:** {step.command.path.strip()}\n")
    if isinstance(step.expected, Output):
        parts.append("**Expected output:**\n\n" + fence(step.expected.text, "text"))
    else:
        parts.append(f"**Expected result:** {step.expected.text.strip()}\n")
    parts.append(f"**Rollback:** {step.rollback.strip()}\n")
    return "\n".join(parts)


def render_section(section: Section, heading: str) -> str:
    parts = [f"# {section.title}\n", heading, section.facts.strip() + "\n"]
    if section.steps:
        parts.append("## Steps\n")
        parts.append("\n".join(render_step(i, s) for i, s in enumerate(section.steps, 1)))
    return "\n".join(parts)
