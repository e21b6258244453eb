"""The offline plan: run the real program in-process under recording mocks and describe what it registers.

No Pulumi CLI, cloud or credentials: the same ``__main__.py`` that ``pulumi up`` runs is executed with
``pulumi.runtime.set_mocks``, and every registration is recorded with its inputs and options.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from caas import config as model
from caas import specs
from caas.mocks import SECRET, Invoke, RecordingMocks, RecordingMonitor, Registration, _plain
from caas.policy import context
from caas.sdk_internals import exported_outputs, reset_root, wait
from caas.stack_outputs import derive
from caas.timeline import as_timeline

PROGRAM_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Project:
    """A folder with ``Pulumi.yaml`` and stack files: this repository, or a customer under ``examples/``."""

    directory: Path
    name: str
    program: Path

    @classmethod
    def at(cls, directory: str | Path = ".") -> Project:
        directory = Path(directory).resolve()
        with open(directory / "Pulumi.yaml", encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        main = directory / document.get("main", ".")
        program = main if main.suffix == ".py" else main / "__main__.py"
        return cls(directory, document["name"], program.resolve())

    def stack_file(self, stack: str) -> Path:
        return self.directory / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        found = (model.STACK_FILE.match(p.name) for p in self.directory.glob("Pulumi.*.yaml"))
        return sorted(m["stack"] for m in found if m)

    def label(self, stack: str) -> str:
        """How messages name the stack file: relative to the working directory when that is shorter."""
        path = self.stack_file(stack)
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def load(self, stack: str) -> tuple[model.EstateConfig, dict[str, str], set[str]]:
        """The stack's validated model plus its raw config (as the engine would pass it)."""
        path = self.stack_file(stack)
        if not path.exists():
            raise model.ConfigError(
                [f"{self.label(stack)}: no such stack file; stacks here: {', '.join(self.stacks())}"]
            )
        try:
            raw, secret_keys = model.stack_file_config(str(path))
        except yaml.YAMLError as exc:
            raise model.ConfigError([f"{self.label(stack)}: not valid YAML: {exc}"]) from None
        return model.parse(raw, secret_keys, self.label(stack), self.name), raw, secret_keys


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    invokes: list[Invoke] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)  # the stack's PolicyContext: `caas check --plan` needs it

    def to_json(self) -> str:
        """The plan contract other tooling reads; byte-identical across runs. Keys are added, never renamed."""
        document = {
            "project": self.project,
            "stack": self.stack,
            "resources": [{k: v for k, v in asdict(r).items() if k not in ("custom",)} for r in self.resources],
            "outputs": self.outputs,
            "invokes": [asdict(i) for i in self.invokes],
            "policy": self.policy,
        }
        return json.dumps(document, indent=2, sort_keys=False) + "\n"

    def by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.resources if r.custom)

    def find(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        matches = [r for r in self.resources if r.type == type_ and r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} resources of type {type_} named {name}")
        return matches[0]

    def children(self, parent_urn: str) -> list[Registration]:
        return [r for r in self.resources if r.parent == parent_urn]


def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Await exported Outputs; a secret output prints as [secret]."""
    resolved: dict[str, Any] = {}
    for name in sorted(outputs):
        value = pulumi.Output.from_input(outputs[name])
        if wait(value.is_secret()):
            resolved[name] = SECRET
            continue
        resolved[name] = _plain(json.loads(json.dumps(wait(value.future()), default=str)))
    return resolved


def render(project: Project, stack: str) -> Plan:
    """Validate the stack's config, then run the program under recording mocks.

    An environment's StackReference is answered with the outputs derived from the shared stack's model
    (``caas.stack_outputs``): the shared stack is validated, never rendered, so the plan replays no other stack.
    """
    cfg, raw, secret_keys = project.load(stack)
    stack_outputs: dict[str, dict[str, Any]] = {}
    if cfg.shared_stack is not None:
        shared_cfg = project.load("shared")[0]
        problems = model.cross_stack_problems(cfg, shared_cfg, project.name)
        if problems:
            raise model.ConfigError([f"{project.label(stack)}: {key}: {msg}" for key, msg in problems])
        stack_outputs[cfg.shared_stack] = derive(shared_cfg)

    mocks = RecordingMocks(stack_outputs, secrets=_secret_texts(raw, secret_keys))
    monitor = RecordingMonitor(mocks)
    reset_root()
    pulumi.runtime.set_mocks(mocks, project=project.name, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(raw, sorted(secret_keys))

    program_dir = str(project.program.parent)
    added = program_dir not in sys.path
    if added:
        sys.path.insert(0, program_dir)
    cwd = os.getcwd()

    def program() -> None:  # returns nothing: the test runner awaits whatever its function returns
        runpy.run_path(str(project.program), run_name="__main__")

    try:
        # The public test runner runs a function as the stack's body and waits for every registration.
        pulumi.runtime.test(program)()
        outputs = _resolve_outputs(exported_outputs())
    finally:
        os.chdir(cwd)
        if added:
            sys.path.remove(program_dir)
    # Registration and invoke order depend on thread scheduling; URN order (and token, args order) is stable.
    calls = Counter((i.token, json.dumps(i.args, sort_keys=True)) for i in monitor.invokes)
    invokes = [Invoke(token, json.loads(args), n) for (token, args), n in sorted(calls.items())]
    policy = context.for_stack(cfg, specs.derive(cfg)).to_json()
    return Plan(project.name, stack, sorted(monitor.registrations, key=lambda r: r.urn), outputs, invokes, policy)


def _secret_texts(raw: dict[str, str], secret_keys: set[str]) -> set[str]:
    """The plaintexts of secure config: each secret value, and each string inside a structured one."""
    texts: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)
        elif isinstance(value, str) and value:
            texts.add(value)

    for key in secret_keys:
        texts.add(raw[key])
        collect(model._decode(raw[key]))
    return texts


# ---------------------------------------------------------------------------------------------------------
# Presentation


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def as_table(plan: Plan) -> str:
    """Resources grouped under their component, with counts."""
    groups: dict[str, list[Registration]] = defaultdict(list)
    components = {r.urn: r for r in plan.resources if not r.custom}
    for r in plan.resources:
        if r.custom:
            groups[r.parent].append(r)
    count = sum(len(v) for v in groups.values())
    lines = [f"{plan.project} / {plan.stack}: {count} resources in {len(components)} components", ""]
    for urn in [*components, ""]:
        members = groups.get(urn, [])
        if not members:
            continue
        title = f"{components[urn].type}  {components[urn].name}" if urn in components else "(stack)"
        lines.append(f"{title}  [{len(members)}]")
        for r in members:
            flags = " protected" if r.protect else ""
            flags += " provider=" + _short(r.provider) if r.provider else ""
            lines.append(f"  {r.type:<62} {r.name}{flags}")
        lines.append("")
    lines.extend(_kubernetes_layer(plan))
    lines.append("Resources by type:")
    for typ, count in sorted(plan.by_type().items()):
        lines.append(f"  {count:>4}  {typ}")
    lines.append("")
    lines.append("Outputs:")
    for name, value in plan.outputs.items():
        lines.append(f"  {name}: {json.dumps(value) if not isinstance(value, str) else value}")
    lines.append("")
    lines.extend(_invokes(plan))
    return "\n".join(lines) + "\n"


def _invokes(plan: Plan) -> list[str]:
    """What the program reads while it runs (credentials, client config), each distinct call once."""
    lines = ["Reads (invokes):"]
    for i in plan.invokes:
        lines.append(f"  {i.token} {json.dumps(i.args, sort_keys=True)}" + (f"  x{i.count}" if i.count > 1 else ""))
    return lines if plan.invokes else []


def _namespace_of(r: Registration) -> str:
    """The namespace a Kubernetes object lives in (a Namespace: itself; a release: its target)."""
    metadata = r.inputs.get("metadata") or {}
    if r.type == "kubernetes:core/v1:Namespace":
        return metadata.get("name", "")
    return r.inputs.get("namespace") or metadata.get("namespace") or "(cluster-scoped)"


def _kubernetes_layer(plan: Plan) -> list[str]:
    """Per cluster (one Kubernetes provider each): the namespaces, their object counts and Helm releases."""
    providers = plan.find("pulumi:providers:kubernetes")
    if not providers:
        return []
    lines = ["Kubernetes layer per cluster:"]
    for provider in providers:
        lines.append(f"  {provider.name} -> {provider.inputs.get('clusterIdentifier', '(ambient)')}")
        objects = [r for r in plan.resources if r.provider == provider.urn]
        by_namespace: dict[str, list[Registration]] = defaultdict(list)
        for r in objects:
            by_namespace[_namespace_of(r)].append(r)
        for namespace in sorted(by_namespace):
            members = by_namespace[namespace]
            releases = [
                f"{r.inputs.get('name')}: {r.inputs.get('chart')} {r.inputs.get('version')}"
                for r in members
                if r.type == "kubernetes:helm.sh/v3:Release"
            ]
            lines.append(f"    {namespace:<40} {len(members):>3} objects  {'; '.join(releases)}".rstrip())
    lines.append("")
    return lines


def as_mermaid(plan: Plan) -> str:
    """The component/resource graph: components as subgraphs, resources as nodes, data flow as edges."""
    ids = {r.urn: f"n{i}" for i, r in enumerate(plan.resources)}
    children: dict[str, list[Registration]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent].append(r)

    lines = ["flowchart LR"]

    def emit(urn: str, depth: int) -> None:
        for r in children.get(urn, []):
            pad = "  " * depth
            label = f"{r.type.split(':')[-1]}<br/>{r.name}"
            if r.custom:
                lines.append(f'{pad}{ids[r.urn]}["{label}"]')
            else:
                lines.append(f'{pad}subgraph {ids[r.urn]}["{label}"]')
                emit(r.urn, depth + 1)
                lines.append(f"{pad}end")

    root_parents = {r.parent for r in plan.resources} - set(ids)
    for urn in sorted(root_parents):
        emit(urn, 1)
    for r in plan.resources:
        for dep in r.dependencies:
            if dep in ids and r.custom and dep != r.parent:
                lines.append(f"  {ids[dep]} --> {ids[r.urn]}")
    # Each Kubernetes provider (one per cluster) points at the components whose objects it deploys.
    for provider in plan.find("pulumi:providers:kubernetes"):
        served = sorted({r.parent for r in plan.resources if r.provider == provider.urn and r.parent in ids})
        lines.extend(f"  {ids[provider.urn]} -. cluster .-> {ids[parent]}" for parent in served)
    return "\n".join(lines) + "\n"


FORMATS = {"table": as_table, "json": Plan.to_json, "mermaid": as_mermaid, "timeline": as_timeline}
