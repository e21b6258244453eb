"""Partner onboarding runbooks, generated from the stack model.

``python -m caas runbook --stack uat`` writes ``runbooks/uat/``: a README (overview, contents, checklist)
and one file per section. Each section is a pure function of the model (``sections.py``); a section whose
area the model does not hold (no VPN configured, no SFTP) is left out, never written as a placeholder.
Facts known only after deployment are given as the exact ``pulumi stack output`` command that prints them.
Output is deterministic: regenerating gives byte-identical files, and a test keeps the committed ones current.
"""

from __future__ import annotations

from pathlib import Path

from caas.plan import Project
from caas.runbooks.context import Context, context
from caas.runbooks.sections import assemble

__all__ = ["Context", "context", "generate", "write"]


def generate(ctx: Context) -> dict[str, str]:
    """File name -> Markdown, for every section the model holds, plus the README with the checklist."""
    return assemble(ctx)


def write(project: Project, stack: str, out: Path) -> list[Path]:
    """Write the runbooks to ``out`` (created if missing); files of sections no longer held are removed."""
    files = generate(context(project, stack))
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out.glob("*.md")):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
