"""The policy pack: `pulumi preview --policy-pack policy` runs every rule of caas.policy against the stack."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The rules and the stack's model are the program's own code, one folder up; the adapter sits beside this file.
sys.path[:0] = [str(HERE), str(HERE.parent)]

from adapter import policy, stack_context  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from caas.policy.rules import RULES  # noqa: E402

PolicyPack(
    name="intershop-caas",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[policy(rule, stack_context) for rule in RULES],
)
