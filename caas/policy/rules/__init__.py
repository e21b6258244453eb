"""Every rule of the pack, by area. A rule is a plain function over resources (see caas.policy.registry)."""

from caas.policy.registry import Rule
from caas.policy.rules import data, gdpr, hygiene, identity, kubernetes, network, reliability

AREAS: dict[str, tuple[Rule, ...]] = {
    "network": network.RULES,
    "identity": identity.RULES,
    "data": data.RULES,
    "reliability": reliability.RULES,
    "gdpr": gdpr.RULES,
    "kubernetes": kubernetes.RULES,
    "hygiene": hygiene.RULES,
}
RULES: tuple[Rule, ...] = tuple(rule for rules in AREAS.values() for rule in rules)
