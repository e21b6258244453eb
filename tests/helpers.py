"""Building one component (or a few) under the recording mocks, for the per-component tests.

Each test hands a function that constructs the component(s) from a small spec; the helper gives it a fresh root
stack and recording monitor, runs it as the program body through the public ``pulumi.runtime.test`` runner and
returns what was registered. Nothing here keeps state between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from caas.mocks import RecordingMocks, RecordingMonitor, Registration
from caas.plan import Plan
from caas.sdk_internals import reset_root

PROJECT = "caas-acme"


def build(
    program: Callable[[], Any],
    *,
    stack: str = "prd",
    project: str = PROJECT,
    monitor: RecordingMonitor | None = None,
    config: Mapping[str, str] | None = None,
    secret_keys: tuple[str, ...] = (),
) -> list[Registration]:
    """Run ``program`` as a stack's body under the recording mocks; every registration it made, in order."""
    monitor = monitor if monitor is not None else RecordingMonitor(RecordingMocks())
    reset_root()
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    if config is not None:
        pulumi.runtime.set_all_config(dict(config), list(secret_keys))

    def body() -> None:  # returns nothing: the runner awaits what its function returns
        program()

    pulumi.runtime.test(body)()
    return monitor.registrations


def build_plan(program: Callable[[], Any], *, stack: str = "prd", project: str = PROJECT, **kwargs: Any) -> Plan:
    """``build``'s registrations as a Plan (``find``/``one``/``children`` lookups), no outputs."""
    return Plan(project, stack, build(program, stack=stack, project=project, **kwargs), {})
