"""The price file matched to the quantities, and the report: per resource, per area, total against the budget.

The price file holds items in the Azure Retail Prices API's format, written only by ``caas cost --refresh``
(``caas.prices``). A meter that matches no item, or several, is listed as unmatched: never guessed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caas.cost.rules import (
    GLOBAL_REGIONS,
    HOURS,
    QUANTITIES,
    Index,
    Meter,
    Quantity,
    Resource,
    classify,
    resources_of,
    unit_factor,
)

# ---------------------------------------------------------------------------------------------------------
# Prices


@dataclass(frozen=True)
class Price:
    unit_price: float
    currency: str
    item: dict[str, Any]


class PriceBook:
    """The price file's consumption items, matched to meters. Every tie is reported, never broken."""

    def __init__(self, items: Iterable[dict[str, Any]], path: Path | None = None) -> None:
        self.path = path
        self.by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            if item.get("type") == "Consumption":
                self.by_service[item.get("serviceName", "")].append(item)

    @classmethod
    def load(cls, path: Path) -> PriceBook:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(document.get("Items", []), path)

    def match(self, meter: Meter, region: str, amount: float) -> Price | str:
        """The one price of ``meter`` in ``region`` (the latest ``effectiveStartDate`` per meterId; the tier
        whose ``tierMinimumUnits`` the quantity reaches), or why there is none."""
        regions = GLOBAL_REGIONS if region == "global" else (region,)
        found = [i for i in self.by_service.get(meter.service, []) if i.get("armRegionName") in regions]
        found = [i for i in found if meter.matches(i)]
        by_meter: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in found:
            by_meter[item.get("meterId") or item.get("meterName", "")].append(item)
        if not by_meter:
            return f"no item for {meter.describe()} in {region}"
        if len(by_meter) > 1:
            names = sorted({f"{i.get('productName')}/{i.get('skuName')}/{i.get('meterName')}" for i in found})
            return f"{len(by_meter)} meters match {meter.describe()} in {region}: {'; '.join(names)}"
        items = next(iter(by_meter.values()))
        latest = max(i.get("effectiveStartDate", "") for i in items)
        current = [i for i in items if i.get("effectiveStartDate", "") == latest]
        reached = [i for i in current if float(i.get("tierMinimumUnits", 0)) <= amount] or current
        item = max(reached, key=lambda i: float(i.get("tierMinimumUnits", 0)))
        factor = unit_factor(item["unitOfMeasure"], meter.unit) or 1.0
        return Price(float(item["unitPrice"]) / factor, item.get("currencyCode", ""), item)


# ---------------------------------------------------------------------------------------------------------
# The report


@dataclass
class Line:
    resource: str
    type: str
    area: str
    region: str
    quantity: Quantity
    status: str  # priced | unmatched | usage-based | free | unpriced | quantity
    unit_price: float | None = None
    monthly: float | None = None
    reason: str = ""
    currency: str = ""


@dataclass
class Report:
    project: str
    stack: str
    lines: list[Line]
    unpriced_types: dict[str, int]
    free: int
    budget: dict[str, Any] | None
    prices: PriceBook | None
    currency: str = ""
    areas: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return round(sum(line.monthly or 0 for line in self.lines), 2)

    def by_status(self, status: str) -> list[Line]:
        return [line for line in self.lines if line.status == status]


def _budget(resources: list[Resource]) -> dict[str, Any] | None:
    budgets = [r for r in resources if r.type == "azure-native:consumption:Budget"]
    if not budgets:
        return None
    return {"name": ", ".join(r.inputs.get("budgetName", r.name) for r in budgets),
            "amount": sum(float(r.inputs.get("amount", 0)) for r in budgets)}  # fmt: skip


def _line(r: Resource, index: Index, q: Quantity, prices: PriceBook | None) -> Line:
    region = index.region(r)
    line = Line(r.name, r.type.removeprefix("azure-native:"), index.area(r), region, q, q.kind)
    if q.kind != "metered" or q.meter is None:
        return line
    if prices is None:
        line.status = "quantity"
        return line
    found = prices.match(q.meter, region, q.amount)
    if isinstance(found, str):
        line.status, line.reason = "unmatched", found
        return line
    line.status, line.unit_price, line.currency = "priced", found.unit_price, found.currency
    line.monthly = round(q.amount * found.unit_price, 2)
    return line


def report(project: str, stack: str, plan: Any, prices: PriceBook | None) -> Report:
    resources = resources_of(plan)
    index = Index(resources)
    lines: list[Line] = []
    unpriced: dict[str, int] = defaultdict(int)
    free = 0
    for r in resources:
        kind = classify(r.type)
        if kind == "priced":
            lines += [_line(r, index, q, prices) for q in QUANTITIES[r.type](r, index)]
        elif kind == "free":
            free += 1
        elif kind == "unpriced":
            unpriced[r.type] += 1
    result = Report(project, stack, lines, dict(sorted(unpriced.items())), free, _budget(resources), prices)
    result.currency = ", ".join(sorted({line.currency for line in lines if line.currency}))
    areas: dict[str, float] = defaultdict(float)
    for line in lines:
        if line.monthly is not None:
            areas[line.area] += line.monthly
    result.areas = {k: round(v, 2) for k, v in sorted(areas.items())}
    return result


# ---------------------------------------------------------------------------------------------------------
# Presentation


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _row(line: Line) -> list[str]:
    q = line.quantity
    amount = f"{q.amount:,.2f}".rstrip("0").rstrip(".") if q.kind == "metered" else line.status
    monthly = _money(line.monthly) if line.status == "priced" else ("?" if line.status == "unmatched" else "")
    what = q.what + (f" ({q.note})" if q.note else "")
    return [line.resource, line.type, line.region, what, amount, q.unit, monthly]


def as_table(result: Report) -> str:
    head = ["resource", "type", "region", "what", "quantity", "unit", "monthly"]
    rows = [_row(line) for line in result.lines if line.status != "free"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i < 4 or i == 5 else f"{{:>{w}}}" for i, w in enumerate(widths))
    source = f"prices: {result.prices.path}" if result.prices else "no price file: quantities only"
    out = [f"Cost of {result.project}/{result.stack} per month ({HOURS} hours; {source})", ""]
    out += [fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row).rstrip() for row in rows]
    if result.prices is not None:
        out += ["", f"Per area ({result.currency or 'no priced meter'}):"]
        out += [f"  {area:<24} {_money(total):>12}" for area, total in result.areas.items()]
        out.append(f"  {'total':<24} {_money(result.total):>12}")
    if result.budget:
        share = (
            f" ({result.total / result.budget['amount']:.0%} of it)"
            if result.prices and result.budget["amount"]
            else ""
        )
        out.append(f"Budget {result.budget['name']}: {result.budget['amount']:,.2f} (billing currency){share}")
    else:
        out.append("Budget: none in this stack's plan")
    out += _lists(result)
    return "\n".join(out) + "\n"


def _lists(result: Report) -> list[str]:
    out: list[str] = []
    sections = (
        ("Usage-based (not estimated)", result.by_status("usage-based"), lambda line: line.quantity.what),
        ("Unmatched meters (not guessed)", result.by_status("unmatched"), lambda line: line.reason),
        ("Not counted", result.by_status("unpriced"), lambda line: line.quantity.what),
    )
    for title, lines, text in sections:
        grouped: dict[str, list[str]] = defaultdict(list)
        for line in lines:
            grouped[text(line)].append(line.resource)
        if grouped:
            out += ["", f"{title}:"]
            out += [f"  {what}: {', '.join(names)}" for what, names in sorted(grouped.items())]
    if result.unpriced_types:
        out += ["", "Unpriced types (no rule: add one to caas/cost/rules.py):"]
        out += [f"  {type_} x{n}" for type_, n in result.unpriced_types.items()]
    return out


def as_json(result: Report) -> str:
    def line(x: Line) -> dict[str, Any]:
        q = x.quantity
        return {
            "resource": x.resource, "type": x.type, "area": x.area, "region": x.region, "what": q.what,
            "quantity": q.amount if q.kind == "metered" else None, "unit": q.unit or None, "note": q.note or None,
            "status": x.status, "meter": q.meter.describe() if q.meter else None,
            "unitPrice": x.unit_price, "monthly": x.monthly, "reason": x.reason or None,
        }  # fmt: skip

    document = {
        "project": result.project,
        "stack": result.stack,
        "hoursPerMonth": HOURS,
        "priceFile": str(result.prices.path) if result.prices and result.prices.path else None,
        "currency": result.currency or None,
        "lines": [line(x) for x in result.lines if x.status != "free"],
        "areas": result.areas if result.prices else None,
        "total": result.total if result.prices else None,
        "budget": result.budget,
        "unpricedTypes": result.unpriced_types,
        "freeResources": result.free,
    }
    return json.dumps(document, indent=2) + "\n"


FORMATS: dict[str, Callable[[Report], str]] = {"table": as_table, "json": as_json}
