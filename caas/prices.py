"""``caas cost --refresh``: write the price file from the Azure Retail Prices API (online; public, no sign-in).

API: https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices -- GET
``https://prices.azure.com/api/retail/prices?$filter=...`` answers ``{"Items": [...], "NextPageLink": ...}``, 100
items a page; the next page is the ``NextPageLink`` URL until it is null. ``$filter`` takes ``eq``, ``and``, ``or``
on the item fields (``serviceName``, ``armRegionName``, ``armSkuName``, ``skuName``, ``priceType``...); filter values
are case-sensitive from API version 2023-01-01-preview on. The requests are built from the meters the plans need,
so the file holds only the services, regions and SKUs the stacks use. The transport is a parameter: tests page
through recorded answers, the command uses urllib.
"""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from caas.cost import GLOBAL_REGIONS, QUANTITIES, Index, Meter, classify, resources_of

API = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
MAX_PAGES = 500  # a guard against a NextPageLink that never ends
Get = Callable[[str], dict[str, Any]]


def needed(plans: Iterable[Any]) -> set[tuple[Meter, str]]:
    """Every (meter, region) the plans' quantities are billed on."""
    out: set[tuple[Meter, str]] = set()
    for plan in plans:
        resources = resources_of(plan)
        index = Index(resources)
        for r in resources:
            if classify(r.type) == "priced":
                out |= {(q.meter, index.region(r)) for q in QUANTITIES[r.type](r, index) if q.meter is not None}
    return out


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"  # OData string literal


def _any_of(field: str, values: set[str]) -> str:
    terms = [f"{field} eq {_quoted(v)}" for v in sorted(values)]
    return terms[0] if len(terms) == 1 else "(" + " or ".join(terms) + ")"


def filters(meters: Iterable[tuple[Meter, str]]) -> list[str]:
    """One ``$filter`` per (service, region), narrowed to the SKUs when every meter of the group names one.

    Consumption prices only; a global meter (DNS zones) is fetched for every region of its service."""
    groups: dict[tuple[str, str], list[Meter]] = defaultdict(list)
    for meter, region in meters:
        if region != "?":
            groups[(meter.service, region)].append(meter)
    out = []
    for (service, region), group in sorted(groups.items()):
        terms = [f"serviceName eq {_quoted(service)}", "priceType eq 'Consumption'"]
        if region not in GLOBAL_REGIONS:
            terms.insert(1, f"armRegionName eq {_quoted(region)}")
        if all(m.arm_sku for m in group):
            terms.append(_any_of("armSkuName", {str(m.arm_sku) for m in group}))
        elif all(m.sku for m in group):
            terms.append(_any_of("skuName", {str(m.sku) for m in group}))
        out.append(" and ".join(terms))
    return out


def request_url(filter_: str, currency: str = "USD") -> str:
    query = f"api-version={API_VERSION}&meterRegion='primary'&currencyCode={quote(_quoted(currency))}"
    return f"{API}?{query}&$filter={quote(filter_, safe=chr(39) + '()')}"


def fetch_all(url: str, get: Get) -> list[dict[str, Any]]:
    """Every item of a query: follow ``NextPageLink`` until the API says there is no next page."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if not next_url:
            return items
        page = get(next_url)
        items += page.get("Items", [])
        next_url = page.get("NextPageLink")
    raise RuntimeError(f"more than {MAX_PAGES} pages for {url}")


def refresh(plans: Iterable[Any], get: Get, currency: str = "USD") -> dict[str, Any]:
    """The price file: the API's items for every meter the plans use (deduplicated, in a stable order)."""
    queries = filters(needed(plans))
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    for filter_ in queries:
        for item in fetch_all(request_url(filter_, currency), get):
            key = tuple(str(item.get(k, "")) for k in ("meterId", "skuId", "type", "effectiveStartDate"))
            seen[(*key, str(item.get("tierMinimumUnits", "")))] = item
    return {
        "BillingCurrency": currency,
        "Items": [seen[k] for k in sorted(seen)],
        "caas": {
            "source": API,
            "apiVersion": API_VERSION,
            "retrieved": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "filters": queries,
        },
    }


def urlopen_json(url: str) -> dict[str, Any]:  # pragma: no cover - the network is never reached in tests
    with urllib.request.urlopen(url, timeout=60) as response:  # a fixed https endpoint
        return json.loads(response.read().decode("utf-8"))
