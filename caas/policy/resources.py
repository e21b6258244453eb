"""The neutral view of one resource every rule reads: a plan entry or a CrossGuard resource, made alike."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# How values a rule cannot judge appear: offline the plan prints them so; the pack maps CrossGuard's to the same.
UNKNOWN = "[unknown]"
SECRET = "[secret]"  # never read by a rule: no rule may depend on whether a value is secret


@dataclass(frozen=True)
class Resource:
    """One registered resource: its type token, logical name, camelCase inputs and options."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str = ""  # the parent's URN
    provider: str = ""  # the provider resource's URN; "" is the default provider
    protect: bool = False
    dependencies: tuple[str, ...] = field(default=())

    @property
    def is_custom(self) -> bool:
        """A cloud or Kubernetes resource (not a component, a stack or a provider)."""
        return ":" in self.type and not self.type.startswith(("pulumi:", "intershop:"))

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]

    def get(self, path: str, default: Any = None) -> Any:
        """The input at a dotted camelCase path (``sku.name``); ``default`` where any step is missing."""
        node: Any = self.props
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def known(self, path: str) -> bool:
        """Whether the input at ``path`` is set to a value a rule can judge (not unknown until deploy)."""
        return self.get(path, UNKNOWN) != UNKNOWN


def from_plan(document: Mapping[str, Any]) -> list[Resource]:
    """Every resource of a plan JSON document (``python -m caas plan --format json``)."""
    return [
        Resource(
            urn=r["urn"],
            type=r["type"],
            name=r["name"],
            props=r.get("inputs") or {},
            parent=r.get("parent") or "",
            provider=r.get("provider") or "",
            protect=bool(r.get("protect")),
            dependencies=tuple(r.get("dependencies") or ()),
        )
        for r in document["resources"]
    ]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a nested input with its dotted path (list items as ``[i]``)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")
    else:
        yield path, value


def by_urn(resources: Sequence[Resource]) -> dict[str, Resource]:
    return {r.urn: r for r in resources}
