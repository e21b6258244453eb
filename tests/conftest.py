"""Shared fixtures: every shipped stack is rendered once per session under the recording mocks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from caas import config as model
from caas.plan import Plan, Project, render

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("shared", "int", "uat", "prd")


@pytest.fixture(scope="session")
def project() -> Project:
    return Project.at(ROOT)


@pytest.fixture(scope="session")
def plans(project: Project) -> dict[str, Plan]:
    """The offline plan of every shipped stack (the shared stack is rendered once and referenced)."""
    cache: dict[Path, Plan] = {}
    return {stack: render(project, stack, cache) for stack in STACKS}


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
