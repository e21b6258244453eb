"""The Pulumi SDK internals the offline plan relies on, in one place (issue 13 item 5).

The public mock API (``pulumi.runtime.set_mocks``, ``Mocks``, ``MockMonitor``) covers registering and answering
resources, but not running a whole program in-process and reading its stack outputs, nor decoding the markers
the monitor sees in recorded inputs. Each helper below says which internal it wraps and why; an SDK upgrade that
moves one breaks here only (tests/test_plan.py and tests/test_cli.py exercise every one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pulumi.runtime import settings
from pulumi.runtime.rpc import UNKNOWN, _special_resource_sig, _special_secret_sig, _special_sig_key
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")

# How the engine's wire format marks a secret, a resource reference and an unknown value (pulumi.runtime.rpc).
SIG_KEY, SECRET_SIG, RESOURCE_SIG, UNKNOWN_VALUE = _special_sig_key, _special_secret_sig, _special_resource_sig, UNKNOWN


def reset_root() -> None:
    """Forget the previous run's stack resource, so several programs can run in one process."""
    settings.ROOT.set(None)


def run_program(program: Callable[[], Any]) -> None:
    """Run ``program`` as the stack's body and wait until every registration it started has finished.

    ``pulumi.runtime.test`` does this only for decorated test functions; the plan runs a whole program.
    """
    _sync_await(run_pulumi_func(program))


def exported_outputs() -> dict[str, Any]:
    """The outputs the program exported on its stack resource (``pulumi.export``)."""
    return getattr(settings.get_root_resource(), "outputs", {})


def wait(awaitable: Awaitable[T]) -> T:
    """Block on an Output's future outside the program's event loop (the SDK's own helper)."""
    return _sync_await(awaitable)
