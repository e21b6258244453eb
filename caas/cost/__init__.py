"""``caas cost``: the billable quantities of an offline plan (``rules``) and, with a price file, their monthly cost
(``report``). docs/cost.md describes what is counted and how meters are matched."""

from caas.cost.report import FORMATS, Line, Price, PriceBook, Report, as_json, as_table, report
from caas.cost.rules import (
    COMPONENT_PREFIX,
    DAYS,
    FREE,
    GLOBAL_REGIONS,
    HOURS,
    PRICE_FILE,
    QUANTITIES,
    Index,
    Meter,
    Quantity,
    Resource,
    classify,
    resources_of,
    unit_factor,
)

__all__ = [
    "COMPONENT_PREFIX", "DAYS", "FORMATS", "FREE", "GLOBAL_REGIONS", "HOURS", "PRICE_FILE", "QUANTITIES", "Index",
    "Line", "Meter", "Price", "PriceBook", "Quantity", "Report", "Resource", "as_json", "as_table", "classify",
    "report", "resources_of", "unit_factor",
]  # fmt: skip
