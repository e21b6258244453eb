"""Shared fixtures: every shipped stack is rendered once per session under the recording mocks."""

from __future__ import annotations

import copy
import json
import multiprocessing
import shutil
import tempfile
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
# Kept lean, since it is the session's largest render: one host per ICM 7.10 role.
_ACTIVATED = (
    ("    activate: false", "    activate: true"),
    ("    enabled: false", "    enabled: true"),
    ("    icm710: true\n", "    icm710: true\n    icm11: true\n"),
    (
        "  caas:icm710:\n",
        "  caas:icm710:\n"
        + "".join(
            f"    {system}: {{webAdapter: {{count: 1}}, appServer: {{count: 1}}, solr: {{count: 1}}}}\n"
            for system in ("live", "edit")
        ),
    ),
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


ACTIVATED = "activated"  # the key of the DR variant's render


def _submit_all(
    pool: ProcessPoolExecutor, directories: list[Path], activated: Path
) -> dict[tuple[Path | str, str], Future[Plan]]:
    """Every stack of every folder rendered exactly once, spread over the machine's cores, plus acme's prd with
    its DR activation (the one extra render: every DR test reads it).

    No render waits for another: environments read the shared outputs derived from the shared model. The DR
    variant, the longest, goes first; then acme's and globex's stacks, longest first, in the order the tests read
    them, so acme's tests run here while the workers still render globex.
    """
    futures: dict[tuple[Path | str, str], Future[Plan]] = {(ACTIVATED, "prd"): pool.submit(_render, activated, "prd")}
    for directory in directories:
        for stack in reversed(STACKS):
            futures[(directory, stack)] = pool.submit(_render, directory, stack)
    return futures


# The session fixtures that read renders, in the order the renders complete; a test runs after those it reads.
PLAN_FIXTURES = ("plans", "example_plans", "activated_plan")


def _plan_rank(item: pytest.Item) -> int:
    """0 for a test that reads no plan; else 1 + the position of the last render fixture it reads."""
    names = getattr(item, "fixturenames", ())
    return max((1 + i for i, fixture in enumerate(PLAN_FIXTURES) if fixture in names), default=0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no plan run first, while the workers render; then those reading acme's plans, globex's,
    the DR variant's: each group starts as soon as its renders are done."""
    items.sort(key=_plan_rank)  # stable: each group keeps its collection order


class _Renders:
    """The session's renders: started at configure time for a whole-suite run, so the workers render while the
    tests are collected; otherwise when the first selected test needs a plan."""

    pool: ProcessPoolExecutor | None = None
    futures: dict[tuple[Path | str, str], Future[Plan]] | None = None
    folder: Path | None = None


def _start_rendering() -> dict[tuple[Path | str, str], Future[Plan]]:
    if _Renders.futures is None:
        # Forked before this process runs a program itself (a test building a component), or the workers would
        # inherit the runtime's threads and hang; the program's modules (and the SDK modules they import) are
        # imported once here and shared with both workers.
        import caas.estate  # noqa: F401

        _Renders.pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork"))
        _Renders.folder = Path(tempfile.mkdtemp(prefix="caas-activated-"))
        _Renders.futures = _submit_all(_Renders.pool, [ROOT, EXAMPLE], activated_folder(_Renders.folder))
    return _Renders.futures


def _whole_suite(config: pytest.Config) -> bool:
    """No narrower path, node id, -k or -m than the test folder: the run reads the plans."""
    if config.option.keyword or config.option.markexpr:
        return False
    here = config.invocation_params.dir
    return all((here / arg.split("::")[0]).resolve() in (ROOT, ROOT / "tests") for arg in config.args)


def pytest_configure(config: pytest.Config) -> None:
    if _whole_suite(config):
        _start_rendering()


def pytest_unconfigure(config: pytest.Config) -> None:  # noqa: ARG001 - pytest's hook signature
    if _Renders.pool is not None:
        _Renders.pool.shutdown(cancel_futures=True)
    if _Renders.folder is not None:
        shutil.rmtree(_Renders.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def rendering() -> dict[tuple[Path | str, str], Future[Plan]]:
    return _start_rendering()


@pytest.fixture(scope="session", autouse=True)
def _render_before_any_test(request: pytest.FixtureRequest) -> None:
    """When any selected test needs the plans, start rendering them before any test runs (see _start_rendering);
    the renders run in the background while the tests that need no plan run here."""
    if any(_plan_rank(item) for item in request.session.items):
        request.getfixturevalue("rendering")


@pytest.fixture(scope="session")
def project() -> Project:
    return Project.at(ROOT)


@pytest.fixture(scope="session")
def plans(rendering: dict[tuple[Path | str, str], Future[Plan]]) -> dict[str, Plan]:
    """The offline plan of every shipped stack of the sample customer acme (ICM 7.10, IOM, PWA)."""
    return {stack: rendering[(ROOT, stack)].result() for stack in STACKS}


@pytest.fixture(scope="session")
def example_plans(rendering: dict[tuple[Path | str, str], Future[Plan]]) -> dict[str, Plan]:
    """The offline plan of every stack of the ICM 11 sample customer globex (examples/globex)."""
    return {stack: rendering[(EXAMPLE, stack)].result() for stack in STACKS}


@pytest.fixture(scope="session")
def activated_plan(rendering: dict[tuple[Path | str, str], Future[Plan]]) -> Plan:
    """acme's prd with caas:disasterRecovery.activate on (``_ACTIVATED``): the application tier in the DR region."""
    return rendering[(ACTIVATED, "prd")].result()


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
