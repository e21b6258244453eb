"""What each Azure DevOps pipeline of a customer folder does, read from its YAML file and the templates it
includes: trigger, service connections, environments (and so approvals) and the agent pool. Nothing is typed by
hand: names come from ``delivery.yml``'s variables (caas.pipeline_vars), which the files reference."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from caas.delivery import Delivery
from caas.pipeline_vars import PipelineDefinition, variables

TEMPLATE = re.compile(r"template:\s*(\S+\.yml)")
VARIABLE = re.compile(r"variables\.(\w+)")
# restore.yml picks the environment from a parameter: any of the stacks' environments.
ANY_ENVIRONMENT = "variables[format('environment{0}'"
CONNECTIONS = ("serviceConnection", "registryServiceConnection", "dataServiceConnection")


@dataclass(frozen=True)
class PipelineFacts:
    definition: PipelineDefinition
    trigger: str
    connections: tuple[str, ...]  # service connection names
    environments: tuple[str, ...]  # Azure DevOps environment names
    gated: tuple[str, ...]  # those of them with an approval check
    pool: bool  # runs on the hub pool


def _text(root: Path, path: str, seen: set[str]) -> str:
    """The file's text and that of every template it includes (delivery.yml excepted), once each."""
    if path in seen:
        return ""
    seen.add(path)
    file = root / path
    text = file.read_text(encoding="utf-8")
    for ref in TEMPLATE.findall(text):
        if ref.endswith("/delivery.yml"):
            continue
        target = ref.lstrip("/") if ref.startswith("/") else (Path(path).parent / ref).as_posix()
        if (root / target).exists():
            text += "\n" + _text(root, target, seen)
    return text


def trigger(document: dict) -> str:
    """When the pipeline runs, in words (Azure Repos ignores `pr:`: init makes validate a build policy)."""
    if document.get("schedules"):
        return "; ".join(f"schedule `{s['cron']}` (UTC)" for s in document["schedules"]) + ", or by hand"
    ci = document.get("trigger")
    if isinstance(ci, dict):
        branches = ", ".join(f"`{b}`" for b in ci.get("branches", {}).get("include", []))
        return f"every push to {branches}"
    pr = document.get("pr")
    if isinstance(pr, dict):
        branches = ", ".join(f"`{b}`" for b in pr.get("branches", {}).get("include", []))
        return f"pull requests into {branches}"
    return "by hand (Run pipeline)"


def describe(root: Path, definition: PipelineDefinition, facts: Delivery, folder: str) -> PipelineFacts:
    values = variables(facts, folder)
    text = _text(root, definition.path, set())
    used = set(VARIABLE.findall(text))
    environments = [e for e in facts.environments if f"environment{e.stack.capitalize()}" in used]
    if ANY_ENVIRONMENT in text:
        environments = [e for e in facts.environments if e.stack != "shared"]
    document = yaml.safe_load((root / definition.path).read_text(encoding="utf-8"))
    return PipelineFacts(
        definition=definition,
        trigger=trigger(document),
        connections=tuple(values[c] for c in CONNECTIONS if c in used),
        environments=tuple(e.name for e in environments),
        gated=tuple(e.name for e in environments if e.gated),
        pool="agentPool" in used,
    )
