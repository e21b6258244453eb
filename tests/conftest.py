"""Shared fixtures: every shipped stack is rendered once per session under the recording mocks."""

from __future__ import annotations

import copy
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from caas import config as model
from caas.plan import Plan, Project, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "globex"
STACKS = ("shared", "int", "uat", "prd")


def _render(directory: Path, stack: str, shared: Plan | None) -> Plan:
    project = Project.at(directory)
    return render(project, stack, {project.directory: shared} if shared is not None else None)


def _render_all(directories: list[Path]) -> dict[tuple[Path, str], Plan]:
    """Every stack of every folder, each rendered exactly once, spread over the machine's cores.

    Shared stacks go first; environment stacks then get their folder's shared plan instead of rendering it
    again. Worker processes are forked before this process has rendered anything (no runtime threads yet).
    """
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        shared = {d: pool.submit(_render, d, "shared", None) for d in directories}
        shared_plans = {d: f.result() for d, f in shared.items()}
        envs = {(d, s): pool.submit(_render, d, s, shared_plans[d]) for d in directories for s in STACKS[1:]}
        plans = {(d, s): f.result() for (d, s), f in envs.items()}
    return {**{(d, "shared"): p for d, p in shared_plans.items()}, **plans}


@pytest.fixture(scope="session")
def project() -> Project:
    return Project.at(ROOT)


@pytest.fixture(scope="session")
def all_plans() -> dict[tuple[Path, str], Plan]:
    return _render_all([ROOT, EXAMPLE])


@pytest.fixture(scope="session")
def plans(all_plans: dict[tuple[Path, str], Plan]) -> dict[str, Plan]:
    """The offline plan of every shipped stack of the sample customer acme (ICM 7.10, IOM, PWA)."""
    return {stack: all_plans[(ROOT, stack)] for stack in STACKS}


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
