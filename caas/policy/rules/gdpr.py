"""GDPR rules: data stays in the stack's regions (Art. 44), and logs are kept no longer than the stack's bound
(Art. 5(1)(e)) and exactly as long as it promises (MCSB LT-6).

Retention semantics: ``ctx.log_retention_days`` is both the stack's promise (prd: 90 days, the floor its profile
refuses to lower) and its bound. The Log Analytics workspace, where every diagnostic setting sends its logs, keeps
them exactly that long: shorter breaks the promise incident response relies on (LT-6), longer keeps personal data
(IP addresses, user names in audit logs) beyond need (storage limitation). Every other store of logs (App Insights,
workspace tables, legacy diagnostic-setting retention) keeps them no longer than the bound; shorter is fine there,
since the workspace holds the copy that counts.
"""

from __future__ import annotations

from collections.abc import Iterator

from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule
from caas.policy.resources import Resource

AREA = "gdpr"
WORKSPACE = "azure-native:operationalinsights:Workspace"


def _region(value: str) -> str:
    """Azure accepts display names too ("West Europe"): compare the normalised form."""
    return value.replace(" ", "").lower()


@resource_rule(
    "locations-allowed",
    area=AREA,
    level=Level.MANDATORY,
    controls=("GDPR Art. 44 (transfers)", "MCSB DP-1 (data inventory and residency)"),
    description=(
        "Every `location` input is one of the stack's regions (primary, DR, the backup pair) or `global`; "
        "resources without a location (children, role assignments) are fine. Not relaxable: the regions are "
        "the customer's data-processing agreement."
    ),
)
def locations_allowed(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    location = r.get("location")
    if not isinstance(location, str) or not r.known("location") or r.package != "azure-native":
        return
    if _region(location) not in {_region(allowed) for allowed in ctx.locations}:
        yield f"location {location} is outside the stack's regions {list(ctx.locations)}"


def _retention_leaves(r: Resource) -> Iterator[tuple[str, int]]:
    """Every retention setting of a log store, with its path."""
    if r.type == "azure-native:operationalinsights:Table":
        for path in ("retentionInDays", "totalRetentionInDays"):
            if isinstance(r.get(path), int):
                yield path, r.get(path)
    elif r.type in ("azure-native:applicationinsights:Component", "azure-native:insights:Component"):
        if isinstance(r.get("retentionInDays"), int):
            yield "retentionInDays", r.get("retentionInDays")
    elif r.type == "azure-native:monitor:DiagnosticSetting":
        # Legacy per-category retention (deprecated by Azure, still accepted): enabled with a day count.
        for kind in ("logs", "metrics"):
            for i, category in enumerate(r.get(kind) or ()):
                policy = category.get("retentionPolicy") if isinstance(category, dict) else None
                if isinstance(policy, dict) and policy.get("enabled") and isinstance(policy.get("days"), int):
                    yield f"{kind}[{i}].retentionPolicy.days", policy["days"]


@resource_rule(
    "log-retention-within-bound",
    area=AREA,
    level=Level.MANDATORY,
    controls=("GDPR Art. 5(1)(e) (storage limitation)", "MCSB LT-6"),
    description=(
        "The Log Analytics workspace keeps logs exactly the stack's retention (the profile's log retention); "
        "every other log store (workspace tables, App Insights, diagnostic settings' legacy retention) at most "
        "that long (0 = forever counts as over). Not relaxable: the bound is the profile's, change it there."
    ),
)
def log_retention_within_bound(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    bound = ctx.log_retention_days
    if r.type == WORKSPACE:
        if not r.known("retentionInDays"):
            return
        days = r.get("retentionInDays")
        if days != bound:
            yield f"retentionInDays is {days}; the stack keeps logs exactly {bound} days"
        return
    for path, days in _retention_leaves(r):
        if days == 0 or days > bound:
            yield f"{path} is {days} ({'forever' if days == 0 else 'days'}); the stack keeps logs at most {bound} days"


RULES = (locations_allowed, log_retention_within_bound)
