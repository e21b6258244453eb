"""The runbook sections in reading order, and the README that lists them with the onboarding checklist.

Each section is a pure function of the model, ``(Context) -> Section | None``; None when the model holds
nothing for it, so no file and no placeholder is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from caas.runbooks.access import access
from caas.runbooks.build_release import build_and_release
from caas.runbooks.context import Context
from caas.runbooks.dns import dns_and_certificates
from caas.runbooks.exchange import data_exchange
from caas.runbooks.markdown import Section, code, render_section
from caas.runbooks.network import network
from caas.runbooks.overview import overview
from caas.runbooks.recovery import data_and_recovery
from caas.runbooks.shared import agents, bastion, pipelines

SECTIONS: tuple[Callable[[Context], Section | None], ...] = (
    agents,
    bastion,
    pipelines,
    access,
    build_and_release,
    data_exchange,
    network,
    dns_and_certificates,
    data_and_recovery,
)


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def assemble(ctx: Context) -> dict[str, str]:
    sections = [s for s in (f(ctx) for f in SECTIONS) if s is not None]
    heading = (
        f"Generated from {code(ctx.source)} by {code(f'python -m caas runbook --stack {ctx.stack}')}; "
        "change the stack file and regenerate instead of editing.\n"
    )
    files = {f"{s.slug}.md": render_section(s, heading) for s in sections}

    readme = [f"# {ctx.cfg.customer.name}: {ctx.cfg.environment} onboarding runbook\n", heading, overview(ctx)]
    if sections:
        readme += ["## Runbooks\n", "\n".join(f"1. [{s.title}]({s.slug}.md)" for s in sections) + "\n"]
        items = [
            f"- [ ] **{step.who}**: {step.title} ([{s.title}, step {i}]({s.slug}.md#{anchor(f'{i}. {step.title}')}))"
            for s in sections
            for i, step in enumerate(s.steps, 1)
        ]
        readme += ["## Onboarding checklist\n", "\n".join(items) + "\n"]
    files = {"README.md": "\n".join(readme), **files}
    return files
