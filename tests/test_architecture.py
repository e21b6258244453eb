"""The program's structure, checked on its source: environment rules in one place, one derivation step, no
import cycle, components that take only their slice of the specs."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from functools import cached_property
from pathlib import Path

import pytest

from caas import estate, specs
from caas.model import EstateConfig
from caas.specs import EstateSpec

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT_NAMES = frozenset({"int", "uat", "prd"})  # "shared" names the stack kind, not an environment
# The profile declares the environment rules; the loader checks a stack against them.
MAY_BRANCH_ON_ENVIRONMENT = {"caas/profiles.py", "caas/config.py"}


def _modules(*packages: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module under the packages."""
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_environment(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in ENVIRONMENT_NAMES


def environment_branches(source: str) -> list[tuple[int, str]]:
    """Where code compares with, indexes by or keys a dict literal on an environment name: (line, what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            members = [e for o in operands if isinstance(o, ast.Tuple | ast.List | ast.Set) for e in o.elts]
            if any(_is_environment(o) for o in operands + members):
                found.append((node.lineno, "compares with an environment name"))
        elif isinstance(node, ast.Subscript) and _is_environment(node.slice):
            found.append((node.lineno, "indexes by an environment name"))
        elif isinstance(node, ast.Dict) and any(k is not None and _is_environment(k) for k in node.keys):
            found.append((node.lineno, "keys a dict literal on an environment name"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and any(_is_environment(a) for a in node.args)
        ):
            found.append((node.lineno, "looks up an environment name"))
    return found


def test_environment_rules_live_in_the_profile_only() -> None:
    """Outside caas/profiles.py and the loader, no module decides anything by an environment's name."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _modules("caas", "components").values()
        if str(path.relative_to(ROOT)) not in MAY_BRANCH_ON_ENVIRONMENT
        for line, what in environment_branches(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        'x = "AlwaysON" if cfg.environment == "prd" else "Enabled"',
        'ok = env in ("uat", "int")',
        'role = {"int": "Writer", "prd": "Reader"}[env]',
        'days = RETENTION["prd"]',
        'rule = RULES.get("uat")',
    ],
)
def test_the_environment_check_finds_each_kind_of_branch(source: str) -> None:
    """The scan above is not vacuous: each way of branching on an environment is reported."""
    assert environment_branches(source)


def test_the_stack_kind_is_not_an_environment_branch() -> None:
    """``shared`` is the kind of stack (hub or environment), which every module may ask."""
    assert environment_branches('if cfg.environment == "shared": pass') == []


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports anywhere: top level, TYPE_CHECKING blocks, functions.
    ``from a import b`` names the submodule ``a.b`` when there is one, else ``a``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return (found & known) - {module}


def import_graph(*packages: str) -> dict[str, set[str]]:
    modules = _modules(*packages)
    return {m: imports(m, p, set(modules)) for m, p in modules.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` reaches through one or more imports."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (or a module importing itself)."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {
        frozenset({node} | {m for m in reach[node] if node in reach.get(m, ())})
        for node in graph
        if node in reach[node]
    }
    return sorted(sorted(group) for group in groups)


def test_caas_has_no_import_cycle() -> None:
    """No module of caas/ reaches itself through its imports, deferred or type-only ones included."""
    assert cycles(import_graph("caas")) == []


def test_the_cycle_check_finds_a_deferred_cycle() -> None:
    """A cycle closed only by an import inside a function still counts."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_components_never_see_the_config_model() -> None:
    """Components take specs (caas.specs) and Outputs, never the validated model or its loader."""
    graph = import_graph("caas", "components")
    reached = {c: sorted(m for m in deps if m in ("caas.config", "caas.model")) for c, deps in graph.items()}
    assert {c: m for c, m in reached.items() if c.startswith("components.") and m} == {}
    for path in _modules("components").values():
        assert "EstateConfig" not in path.read_text(encoding="utf-8"), path


def test_sections_do_not_know_the_model_they_are_part_of() -> None:
    """Section modules hold pydantic sections and their own checks; the model and the specs build on them."""
    graph = import_graph("caas")
    upward = {"caas.config", "caas.model", "caas.specs"}
    assert {s: d & upward for s, d in graph.items() if s.startswith("caas.sections") and d & upward} == {}


def test_the_model_holds_no_derived_facts() -> None:
    """Derived facts (names, subnets, hostnames, sizes ...) come from caas.specs.derive, not from the model;
    the model keeps only what describes the config itself: its kind, effective profile and rules."""
    derived = {
        name
        for klass in EstateConfig.__mro__
        if klass.__module__.startswith("caas.")
        for name, attr in vars(klass).items()
        if isinstance(attr, property | cached_property)
    }
    assert derived == {"is_shared", "profile", "rules"}


def test_derive_runs_once_per_model(project) -> None:
    """Every reader of a model's specs gets the same object: the derivation is not repeated."""
    cfg = project.load("prd")[0]
    assert specs.derive(cfg) is specs.derive(cfg)
    assert specs.derive(project.load("prd")[0]) == specs.derive(cfg)


def test_components_take_a_slice_never_the_whole_estate() -> None:
    """No component's Args carries the whole EstateSpec: each takes its own spec (and the Site)."""
    import components

    args_classes = []
    for path in _modules("components").values():
        module = __import__(f"components.{path.stem}", fromlist=["*"]) if path.stem != "__init__" else components
        args_classes += [
            c
            for name, c in inspect.getmembers(module, inspect.isclass)
            if name.endswith("Args") and c.__module__ == module.__name__ and dataclasses.is_dataclass(c)
        ]
    assert len(args_classes) >= 20
    for klass in args_classes:
        annotations = {f.name: str(f.type) for f in dataclasses.fields(klass)}
        assert not [n for n, t in annotations.items() if "EstateSpec" in t or "EstateConfig" in t], klass
        assert "config" not in annotations, klass
    assert inspect.signature(estate.build).parameters["spec"].annotation in ("EstateSpec", EstateSpec)


# ---------------------------------------------------------------------------------------------------------
# Private SDK names only in the adapter

SDK_ADAPTER = "caas/sdk_internals.py"
# Not underscored, but neither exported by ``pulumi.runtime`` nor documented: the SDK's own machinery.
SDK_INTERNALS = frozenset(
    {
        "pulumi.runtime.config.CONFIG",
        "pulumi.runtime.mocks.MockMonitor",
        "pulumi.runtime.rpc",
        "pulumi.runtime.settings.ROOT",
        "pulumi.runtime.settings.SETTINGS",
        "pulumi.runtime.stack.run_pulumi_func",
        "pulumi.runtime.sync_await",
    }
)


def _private(dotted: str) -> bool:
    """A pulumi path that names an underscored (non-dunder) part or a listed internal."""
    parts = dotted.split(".")
    if any(p.startswith("_") and not p.endswith("__") for p in parts):
        return True
    return any(dotted == i or dotted.startswith(i + ".") for i in SDK_INTERNALS)


def _pulumi_imports(tree: ast.AST) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """Local name -> the pulumi path it stands for; and the imports that name a private path themselves."""
    bound: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [(a.asname or "pulumi", a.name if a.asname else "pulumi", a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(a.asname or a.name, f"{node.module}.{a.name}", f"{node.module}.{a.name}") for a in node.names]
        else:
            continue
        for local, path, imported in names:
            if imported.split(".")[0] == "pulumi":
                bound[local] = path
                if _private(imported):
                    found.append((node.lineno, imported))
    return bound, found


def private_sdk_uses(source: str) -> list[tuple[int, str]]:
    """Where code imports a private SDK name or reads one off a pulumi module: (line, dotted name)."""
    tree = ast.parse(source)
    bound, found = _pulumi_imports(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, base = [node.attr], node.value
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in bound and not _private(bound[base.id]):
            dotted = ".".join([bound[base.id], *reversed(chain)])
            if _private(dotted):  # an import of a private path is reported already
                found.append((node.lineno, dotted))
    return sorted(set(found))


def test_only_the_adapter_uses_private_sdk_names() -> None:
    """Every private Pulumi SDK name is used in caas/sdk_internals.py only (it says why no public API does it)."""
    paths = [
        ROOT / "__main__.py",
        *(p for d in ("caas", "components", "tests", "scripts") for p in (ROOT / d).rglob("*.py")),
    ]
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {dotted}"
        for path in paths
        if str(path.relative_to(ROOT)) != SDK_ADAPTER
        for line, dotted in private_sdk_uses(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "from pulumi.runtime.config import _SECRET_KEYS",
        "from pulumi.runtime import config as rc\nkeys = rc._SECRET_KEYS.get()",
        "import pulumi.runtime.rpc as rpc\nsig = rpc._special_sig_key",
        "import pulumi\npulumi.runtime.settings.ROOT.set(None)",
        "from pulumi.runtime import settings\nsettings.ROOT.set(None)",
        "from pulumi.runtime.stack import run_pulumi_func",
        "from pulumi.runtime.sync_await import _sync_await",
        "from pulumi.runtime.mocks import MockMonitor",
    ],
)
def test_the_private_sdk_check_finds_each_kind_of_use(source: str) -> None:
    """The scan above is not vacuous: an import of a private name and an attribute read are both reported."""
    assert private_sdk_uses(source)


def test_the_private_sdk_check_accepts_the_public_api() -> None:
    """Documented entry points (mocks, the test runner, config) are not reported."""
    source = (
        "import pulumi\nfrom pulumi.runtime import Mocks, set_mocks, is_config_secret\n"
        "pulumi.runtime.test(f)()\npulumi.runtime.set_all_config({}, [])\npulumi.Output.secret(x).__class__"
    )
    assert private_sdk_uses(source) == []
