"""The platform's security and reliability rules, as plain functions over a plan's resources.

The same rule functions run in two places: offline on a recorded plan (``python -m caas check``) and inside
``pulumi preview --policy-pack policy`` (``policy/__main__.py`` adapts CrossGuard's arguments to ``Resource``).
Nothing here imports pulumi-policy, so the program's environment never needs it.
"""

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, Rule, Violation, evaluate
from caas.policy.resources import Resource

__all__ = ["Level", "PolicyContext", "Resource", "Rule", "Violation", "evaluate"]
