"""Derivations run once per model: each derived fact is computed on first use and then read."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def once(fn: Callable[[T], R]) -> Callable[[T], R]:
    """Cache ``fn(cfg)`` per model object (the models are frozen, so the answer cannot go stale)."""
    cache: dict[int, tuple[T, R]] = {}

    @functools.wraps(fn)
    def cached(cfg: T) -> R:
        hit = cache.get(id(cfg))
        if hit is None or hit[0] is not cfg:
            hit = cache[id(cfg)] = (cfg, fn(cfg))  # the model is kept, so its id is never reused
        return hit[1]

    return cached
