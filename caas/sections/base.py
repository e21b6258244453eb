"""Building blocks of the stack model shared by every config section."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# Every environment runs two ICM systems: live (customers) and edit (content editors).
SYSTEMS = ("live", "edit")

HOSTNAME_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"
# What a failed pattern means, for messages about fields that carry no description of their own.
PATTERN_NAMES = {
    HOSTNAME_PATTERN: "a lower-case DNS name such as shop.example.com",
    LABEL_PATTERN: "a DNS label: lower-case letters, digits and inner hyphens, at most 32 characters",
}

Hostname = Annotated[str, Field(pattern=HOSTNAME_PATTERN, max_length=253, description="a lower-case DNS name")]
Label = Annotated[str, Field(pattern=LABEL_PATTERN, description="a DNS label")]


class Section(BaseModel):
    """A config object: unknown keys are errors, keys are camelCase in the stack file."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )
