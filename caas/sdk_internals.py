"""The Pulumi SDK internals this project relies on, in one place (issue 13 item 5).

The public API covers what it can: ``pulumi.runtime.set_mocks`` / ``Mocks`` answer registrations and calls,
``pulumi.runtime.test`` runs a function as a program body and waits for every registration it started,
``set_all_config`` / ``is_config_secret`` / ``get_config_env`` feed and read config. What it does not cover is
below, each item saying why; tests/test_architecture.py fails when any other module imports a private SDK name,
so an SDK upgrade that moves one breaks here only (tests/test_plan.py and tests/test_cli.py exercise every one).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import json_format
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import UNKNOWN, _special_resource_sig, _special_secret_sig, _special_sig_key
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")

# How the engine's wire format marks a secret, a resource reference and an unknown value in the properties a
# monitor receives (pulumi.runtime.rpc). The public API only ever shows Outputs; the plan records the wire form.
SIG_KEY, SECRET_SIG, RESOURCE_SIG, UNKNOWN_VALUE = _special_sig_key, _special_secret_sig, _special_resource_sig, UNKNOWN


def reset_root() -> None:
    """Forget the previous run's stack resource, so several programs can run in one process.

    ``set_mocks`` creates a root stack only when none exists; without this, a second program's resources would
    be parented to the first program's stack (another project/stack URN). No public API clears it.
    """
    settings.ROOT.set(None)


def exported_outputs() -> dict[str, Any]:
    """The outputs the program exported (``pulumi.export``).

    ``get_root_resource`` is public, but the ``outputs`` dict on the Stack it returns is not documented.
    """
    return getattr(settings.get_root_resource(), "outputs", {})


def wait(awaitable: Awaitable[T]) -> T:
    """Block on an Output's future outside the program's event loop.

    ``pulumi.runtime.test`` only awaits what a test returns; the plan reads several exported values after the
    program finished, so it uses the SDK's own loop helper (``_sync_await``).
    """
    return _sync_await(awaitable)


def all_config() -> dict[str, Any]:
    """Every config key the runtime holds: the engine's (``PULUMI_CONFIG``) and ``set_all_config``'s.

    ``get_config(key)`` is public but needs the key; the model validates the whole ``caas:`` namespace, including
    keys nobody asked for (to report them as unknown), and only the module's ``CONFIG`` lists what mocks set.
    """
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


# ---------------------------------------------------------------------------------------------------------
# The mock monitor's gRPC surface. ``set_mocks(monitor=...)`` accepts a MockMonitor, but ``Mocks`` sees neither
# a resource's options (parent, provider, protect, dependencies, timeouts, aliases) nor invokes as sent; only the
# monitor's gRPC methods do, and their protobuf requests are internal. ObservingMonitor turns each into a plain
# record and hands it to a hook, so nothing else touches a request.


@dataclass(frozen=True)
class ObservedResource:
    """A registered (or read) resource as the engine would receive it; ``properties`` in wire format."""

    urn: str
    type: str
    name: str
    parent: str
    provider: str  # the provider resource's URN ("" for the default provider)
    dependencies: tuple[str, ...]
    protect: bool
    custom: bool
    properties: dict[str, Any]
    timeouts: dict[str, str]  # custom timeouts set: create/update/delete -> "6h"
    alias_parents: frozenset[str]  # parents the resource says it had before (its alias specs)


def _timeouts(request: Any) -> dict[str, str]:
    given = getattr(request, "customTimeouts", None)
    if given is None:
        return {}
    return {op: getattr(given, op) for op in ("create", "update", "delete") if getattr(given, op)}


def _observed(request: Any, urn: str, custom: bool, properties: Any) -> ObservedResource:
    aliases = getattr(request, "aliases", ())
    return ObservedResource(
        urn=urn,
        type=request.type,
        name=request.name,
        parent=request.parent,
        provider=request.provider.rsplit("::", 1)[0],  # a provider reference is "<urn>::<id>"
        dependencies=tuple(sorted(set(request.dependencies))),
        protect=bool(getattr(request, "protect", False)),
        custom=custom,
        properties=json_format.MessageToDict(properties),
        timeouts=_timeouts(request),
        alias_parents=frozenset(a.spec.parentUrn for a in aliases if a.spec.parentUrn),
    )


class ObservingMonitor(MockMonitor):
    """A MockMonitor that reports every registration, read and invoke to ``observe_resource``/``observe_invoke``."""

    def observe_resource(self, resource: ObservedResource) -> None:
        """Called once per registered or read resource (the stack itself excluded)."""

    def observe_invoke(self, token: str, args: dict[str, Any]) -> None:
        """Called once per provider function the program calls; ``args`` in wire format."""

    def Invoke(self, request):  # noqa: N802 - gRPC method name
        if request.tok != "pulumi:pulumi:getResource":  # the SDK resolving a resource reference, not a cloud read
            self.observe_invoke(request.tok, json_format.MessageToDict(request.args))
        return super().Invoke(request)

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.observe_resource(_observed(request, response.urn, bool(request.custom), request.object))
        return response

    def ReadResource(self, request):  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)
        self.observe_resource(_observed(request, response.urn, True, request.properties))
        return response
