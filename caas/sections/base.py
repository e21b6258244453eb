"""Building blocks of the stack model shared by every config section."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# Every environment runs two ICM systems: live (customers) and edit (content editors).
SYSTEMS = ("live", "edit")

Hostname = Annotated[
    str,
    Field(
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        max_length=253,
        description="a lower-case DNS name",
    ),
]
Label = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", description="a DNS label")]


class Section(BaseModel):
    """A config object: unknown keys are errors, keys are camelCase in the stack file."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )
