"""Values Azure computes once a resource exists, which the SDK types as optional (every response field is).

Used with ``Output.apply``: a missing value is a broken deployment, reported by name, not a ``None`` passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def computed(what: str) -> Callable[[T | None], T]:
    """``value`` itself; an error naming ``what`` when Azure returned none."""

    def check(value: T | None) -> T:
        if value is None:
            raise ValueError(f"Azure returned no {what}")
        return value

    return check
