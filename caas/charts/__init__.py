"""Helm values of the charts the Kubernetes layer installs, as typed models written from each chart's source.

The charts (except pwa-main) ship no values schema: Helm silently ignores a misspelt key. Every values key this
program sets is therefore a field of a pydantic model with ``extra="forbid"`` whose alias is the chart's key,
so a key that is not in the model fails at build time (and in the tests), not as a silently ignored setting.
Builders are pure: plain strings in (Azure facts resolved by the caller), a model out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Values(BaseModel):
    """A block of chart values: unknown keys are errors, keys are the chart's (camelCase unless aliased)."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The values as Helm takes them: chart keys, unset fields left out (the chart's default applies)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class SecretKeyRef(Values):
    """``{name, key}`` of a Kubernetes Secret: how every chart here takes a secret instead of its value."""

    name: str
    key: str


class ResourceAmounts(Values):
    cpu: str
    memory: str


class ResourceRequirements(Values):
    requests: ResourceAmounts
    limits: ResourceAmounts


class IngressPath(Values):
    path: str = "/"
    path_type: str = "Prefix"


class IngressHost(Values):
    host: str
    paths: tuple[IngressPath, ...] = (IngressPath(),)


def image_ref(registry: str, repository: str, tag: str) -> str:
    """``<registry>/<repository>:<tag>``: every image comes from the shared registry (``tag`` may end in
    ``@sha256:...``, see ``Image.pinned_tag``)."""
    return f"{registry}/{repository}:{tag}"
