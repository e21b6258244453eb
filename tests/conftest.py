"""Shared fixtures: every shipped stack is rendered once per session under the recording mocks."""

from __future__ import annotations

import copy
import json
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from caas import config as model
from caas.plan import Plan, Project, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "globex"
STACKS = ("shared", "int", "uat", "prd")


def _render(directory: Path, stack: str) -> Plan:
    return render(Project.at(directory), stack)


# acme's prd with its application tier activated in the DR region, its public entry on (as once live) and ICM 11
# beside ICM 7.10 (so an app reads SQL MI through the Kubernetes layer): every DR test reads this one render.
_ACTIVATED = (
    ("    activate: false", "    activate: true"),
    ("    enabled: false", "    enabled: true"),
    ("    icm710: true\n", "    icm710: true\n    icm11: true\n"),
    (
        "    images:  # sample digests",
        "    images:\n"
        "      icmAs: {repository: acme/icm-as, tag: 11.10.3-acme.1, "
        "digest: sha256:2509396c74a199103ea4c845db68337a084d298be16b49893bef2bb69f7e2835}\n"
        "      solr: {repository: library/solr, tag: 9.8.1}\n"
        "    # sample digests",
    ),
)


def activated_folder(target: Path) -> Path:
    """acme's stack files with prd's DR activation (``_ACTIVATED``) in ``target``; the program stays the
    repository's."""
    for path in ROOT.glob("Pulumi.*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "Pulumi.prd.yaml":
            for old, new in _ACTIVATED:
                assert text.count(old) == 1, old
                text = text.replace(old, new)
        (target / path.name).write_text(text, encoding="utf-8")
    project = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    (target / "Pulumi.yaml").write_text(f"{project.rstrip()}\nmain: {ROOT}\n", encoding="utf-8")
    return target


def _submit_all(
    pool: ProcessPoolExecutor, directories: list[Path], activated: Path
) -> dict[tuple[Path, str], Future[Plan]]:
    """Every stack of every folder rendered exactly once, spread over the machine's cores, plus acme's prd with
    its DR activation (the one extra render: every DR test reads it).

    No render waits for another: environments read the shared outputs derived from the shared model.
    """
    # Longest first (prd, then the other environments, the shared stacks) packs the two workers best.
    dr = {(activated, "prd"): pool.submit(_render, activated, "prd")}
    envs = {(d, s): pool.submit(_render, d, s) for s in reversed(STACKS[1:]) for d in directories}
    shared = {(d, "shared"): pool.submit(_render, d, "shared") for d in directories}
    return {**dr, **envs, **shared}


def _needs_plans(item: pytest.Item) -> bool:
    return "all_plans" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no plan run first, while the workers render; the plan-reading tests follow."""
    items.sort(key=_needs_plans)  # stable: each group keeps its collection order


@pytest.fixture(scope="session")
def pool():
    # Forked before this process renders anything, so no runtime threads are copied into the workers.
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as executor:
        yield executor


@pytest.fixture(scope="session")
def rendering(
    pool: ProcessPoolExecutor, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[Path, str], Future[Plan]]:
    return _submit_all(pool, [ROOT, EXAMPLE], activated_folder(tmp_path_factory.mktemp("activated")))


@pytest.fixture(scope="session", autouse=True)
def _render_before_any_test(request: pytest.FixtureRequest) -> None:
    """When any selected test needs the plans, start rendering them first: the pool must fork before this process
    runs a program itself (a test building a component), or the workers inherit the runtime's threads and hang.
    The renders run in the background while the tests that need no plan run here."""
    if any(_needs_plans(item) for item in request.session.items):
        request.getfixturevalue("rendering")


@pytest.fixture(scope="session")
def project() -> Project:
    return Project.at(ROOT)


@pytest.fixture(scope="session")
def all_plans(rendering: dict[tuple[Path, str], Future[Plan]]) -> dict[tuple[Path, str], Plan]:
    return {key: future.result() for key, future in rendering.items()}


@pytest.fixture(scope="session")
def plans(all_plans: dict[tuple[Path, str], Plan]) -> dict[str, Plan]:
    """The offline plan of every shipped stack of the sample customer acme (ICM 7.10, IOM, PWA)."""
    return {stack: all_plans[(ROOT, stack)] for stack in STACKS}


@pytest.fixture(scope="session")
def activated_plan(all_plans: dict[tuple[Path, str], Plan]) -> Plan:
    """acme's prd with caas:disasterRecovery.activate on (``_ACTIVATED``): the application tier in the DR region."""
    (plan,) = [plan for (folder, stack), plan in all_plans.items() if folder not in (ROOT, EXAMPLE)]
    return plan


@pytest.fixture(scope="session")
def example_plans(all_plans: dict[tuple[Path, str], Plan]) -> dict[str, Plan]:
    """The offline plan of every stack of the ICM 11 sample customer globex (examples/globex)."""
    return {stack: all_plans[(EXAMPLE, stack)] for stack in STACKS}


def stack_data(stack: str) -> dict[str, Any]:
    """A stack file's ``config:`` as Python objects, for tests to mutate."""
    raw, _ = model.stack_file_config(str(ROOT / f"Pulumi.{stack}.yaml"))
    return {k: model._decode(v) for k, v in raw.items()}


def parse(data: dict[str, Any], stack: str, secret_keys: set[str] | None = None) -> model.EstateConfig:
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return model.parse(raw, secret_keys or set(), f"Pulumi.{stack}.yaml")


def problems(stack: str, mutate, secret_keys: set[str] | None = None) -> list[str]:
    """The messages a mutated copy of a shipped stack produces (empty when it is accepted)."""
    data = copy.deepcopy(stack_data(stack))
    mutate(data)
    try:
        parse(data, stack, secret_keys)
    except model.ConfigError as error:
        return error.problems
    return []


def set_key(path: str, value: Any):
    """A mutation for ``problems``: set ``caas:<a>.<b>...`` to ``value``, creating objects on the way."""

    def mutate(data: dict[str, Any]) -> None:
        head, *rest = path.split(".")
        if not rest:
            data[f"caas:{head}"] = value
            return
        node = data.setdefault(f"caas:{head}", {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value

    return mutate


def assert_reported(stack: str, mutate, key: str, text: str) -> None:
    """The mutated stack yields a line ``Pulumi.<stack>.yaml: <key>: ...`` containing ``text``."""
    lines = problems(stack, mutate)
    prefix = f"Pulumi.{stack}.yaml: {key}: "
    matching = [line for line in lines if line.startswith(prefix)]
    assert matching, f"no message for {key}; got {lines}"
    assert any(text in line for line in matching), matching
