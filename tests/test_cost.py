"""`caas cost`: quantities read from the plan, meters matched to the price file, the refresh's requests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from caas import cost, prices
from caas.cli import main
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "cost"
SMALL_PLAN = FIXTURES / "small-plan.json"
PRICE_FIXTURE = FIXTURES / "retail-prices.json"


def small_plan() -> dict[str, Any]:
    return json.loads(SMALL_PLAN.read_text())


def small_report(book: cost.PriceBook | None = None) -> cost.Report:
    return cost.report("caas-t", "t", small_plan(), book)


def lines_of(result: cost.Report, resource: str) -> list[cost.Line]:
    return [line for line in result.lines if line.resource == resource]


def test_quantities_of_the_small_plan() -> None:
    """Each resource's billable quantities come from its inputs: VM hours and its disk's size tier, the autoscaled
    system pool at its minimum, the user pool's fixed count, vCore hours, GB and license of the SQL MI, the gateway's
    fixed hours and 10 capacity units per minimum instance; regions fall back to the resource group's."""
    result = small_report()
    got = {(line.resource, line.quantity.what, line.quantity.amount, line.quantity.unit, line.region)
           for line in result.lines if line.status == "quantity"}  # fmt: skip
    assert got == {
        ("vm1", "1 x Standard_D2s_v5", 730, "Hour", "westeurope"),
        ("vm1", "disk P6 LRS (64 GiB)", 1, "Month", "westeurope"),
        ("cluster", "2 x Standard_D4ds_v5", 1460, "Hour", "westeurope"),
        ("pool-user", "3 x Standard_D8ds_v5", 2190, "Hour", "westeurope"),
        ("sqlmi", "4 vCores General Purpose Gen5", 2920, "Hour", "westeurope"),
        ("sqlmi", "64 GB reserved storage", 64, "GB/Month", "westeurope"),
        ("sqlmi", "4 vCores SQL license", 2920, "Hour", "westeurope"),
        ("appgw", "WAF v2 gateway", 730, "Hour", "westeurope"),
        ("appgw", "20 capacity units (minimum 2 instances)", 14600, "Hour", "westeurope"),
        ("appgw-ip", "Standard Static IPv4", 730, "Hour", "westeurope"),
    }
    system = next(line for line in lines_of(result, "cluster") if "D4ds" in line.quantity.what)
    assert "autoscale 2-5, priced at the minimum" in system.quantity.note
    assert [line.status for line in lines_of(result, "cluster")] == ["free", "quantity"]  # Free tier control plane


def test_free_and_unknown_types_are_reported_not_skipped() -> None:
    """The NSG counts as free; the Front Door profile (no rule) is listed as an unpriced type in both formats."""
    result = small_report()
    assert result.unpriced_types == {"azure-native:cdn:Profile": 1}
    assert result.free == 3  # resource group, NSG, budget
    assert "azure-native:cdn:Profile x1" in cost.as_table(result)
    assert json.loads(cost.as_json(result))["unpricedTypes"] == {"azure-native:cdn:Profile": 1}


def test_totals_from_the_price_fixture() -> None:
    """Monthly cost per resource, area and stack from the fixture's unit prices: Linux, on-demand, the resource's
    region, the latest price of a meter, per-100-hours units converted; the unpriced public IP is unmatched."""
    result = small_report(cost.PriceBook.load(PRICE_FIXTURE))
    assert result.areas == {"aks": 1168.0, "db": 2196.4, "edge": 511.0, "hosts": 83.0}
    assert result.total == 3958.4
    assert result.currency == "USD"
    assert result.budget == {"name": "budget-t", "amount": 5000.0}
    unmatched = result.by_status("unmatched")
    assert [line.resource for line in unmatched] == ["appgw-ip"]
    assert unmatched[0].reason.startswith("no item for serviceName=Virtual Network")
    table = cost.as_table(result)
    assert re.search(r"total\s+3,958.40", table)
    assert "Budget budget-t: 5,000.00 (billing currency) (79% of it)" in table
    document = json.loads(cost.as_json(result))
    assert document["total"] == 3958.4
    vm_hours = {x["resource"]: x["monthly"] for x in document["lines"] if x["what"] == "1 x Standard_D2s_v5"}
    assert vm_hours == {"vm1": 73.0}


def test_two_matching_meters_are_reported_never_chosen() -> None:
    """A second meter that fits the same rule makes the quantity unmatched, naming both."""
    document = json.loads(PRICE_FIXTURE.read_text())
    twin = dict(next(i for i in document["Items"] if i["meterName"] == "P6 LRS Disk"), meterId="another-meter")
    twin["productName"] = "Premium SSD Managed Disks v2 test twin"
    result = small_report(cost.PriceBook([*document["Items"], twin]))
    disk = next(line for line in lines_of(result, "vm1") if "disk" in line.quantity.what)
    assert disk.status == "unmatched"
    assert disk.reason.startswith("2 meters match")


def test_unit_factor() -> None:
    """Price units convert to the quantity's unit (count, plural, GB<->GiB); other units never match."""
    assert cost.unit_factor("100 Hours", "Hour") == 100
    assert cost.unit_factor("1/Month", "Month") == 1
    assert cost.unit_factor("1 GB/Month", "GiB/Month") == pytest.approx(1 / 1.073741824)
    assert cost.unit_factor("1 Hour", "Month") is None


def test_every_shipped_type_is_classified(plans, example_plans) -> None:
    """Every registration type of the 8 shipped plans has a rule, a reason to be free, or is a component; every
    metered quantity has a region to be priced in."""
    unclassified, no_region = set(), set()
    for plan in [*plans.values(), *example_plans.values()]:
        result = cost.report(plan.project, plan.stack, plan, None)
        unclassified |= set(result.unpriced_types)
        no_region |= {line.resource for line in result.lines if line.status == "quantity" and line.region == "?"}
    assert unclassified == set()
    assert no_region == set()


def test_refresh_requests_and_paging() -> None:
    """One query per service and region (VM sizes, or SKUs, narrowed), consumption prices only; the pages are
    followed through NextPageLink and every item lands in the file once."""
    needed = prices.needed([small_plan()])
    queries = prices.filters(needed)
    assert (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope' and priceType eq 'Consumption' and "
        "(armSkuName eq 'Standard_D2s_v5' or armSkuName eq 'Standard_D4ds_v5' or armSkuName eq 'Standard_D8ds_v5')"
    ) in queries
    assert "serviceName eq 'Application Gateway' and armRegionName eq 'westeurope' and priceType eq 'Consumption'" in (
        queries
    )
    assert len(queries) == len({q.split(" and priceType")[0] for q in queries}) == 5

    items = json.loads(PRICE_FIXTURE.read_text())["Items"]
    first = prices.request_url(queries[0])
    pages = {first: {"Items": items[:2], "NextPageLink": "https://next/1"}, "https://next/1": {"Items": items[2:3]}}
    pages |= {prices.request_url(q): {"Items": [], "NextPageLink": None} for q in queries[1:]}
    asked: list[str] = []

    def get(url: str) -> dict[str, Any]:
        asked.append(url)
        return pages[url]

    document = prices.refresh([small_plan()], get)
    assert asked[:2] == [first, "https://next/1"]
    assert len(asked) == len(queries) + 1
    assert document["Items"] == sorted(items[:3], key=lambda i: (i["meterId"], i["skuId"], i["type"]))
    query = parse_qs(urlsplit(first).query)
    assert query["$filter"] == [queries[0]]
    assert query["api-version"] == [prices.API_VERSION]


def test_refresh_stops_a_page_loop() -> None:
    """A NextPageLink that never ends is an error, not a hang."""
    with pytest.raises(RuntimeError, match="pages"):
        prices.fetch_all("https://loop", lambda url: {"Items": [], "NextPageLink": url})


def test_cli_cost_with_and_without_prices(tmp_path: Path, capsys) -> None:
    """`cost --plan`: JSON with the fixture's total; without a price file, quantities and a clear message, exit 0."""
    assert main(["cost", "--plan", str(SMALL_PLAN), "--prices", str(PRICE_FIXTURE), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 3958.4
    assert main(["cost", "--plan", str(SMALL_PLAN), "--dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "no price file at" in captured.err
    assert "quantities only" in captured.out
    assert "3 x Standard_D8ds_v5" in captured.out


def test_cli_refresh_writes_the_price_file(tmp_path: Path, monkeypatch, capsys) -> None:
    """`cost --refresh` writes the API's items where `cost` reads them."""
    items = json.loads(PRICE_FIXTURE.read_text())["Items"]
    monkeypatch.setattr(prices, "urlopen_json", lambda url: {"Items": items if "Machines" in url else []})
    assert main(["cost", "--refresh", "--plan", str(SMALL_PLAN), "--dir", str(tmp_path)]) == 0
    written = json.loads((tmp_path / cost.PRICE_FILE).read_text())
    assert len(written["Items"]) == len(items)
    assert written["caas"]["source"] == prices.API
    assert "prices from 5 queries" in capsys.readouterr().out


def test_no_price_is_typed_outside_the_test_fixtures() -> None:
    """Prices come only from the refresh: no unitPrice/retailPrice literal in code, docs or shipped data."""
    typed = re.compile(r"(unitPrice|retailPrice)\W{1,4}\d")
    places = [ROOT / "caas", ROOT / "components", ROOT / "docs", ROOT / "examples", ROOT / "README.md"]
    files = [p for place in places for p in ([place] if place.is_file() else place.rglob("*")) if p.is_file()]
    offenders = [str(p) for p in files if p.suffix in {".py", ".md", ".json", ".yaml"} and typed.search(p.read_text())]
    assert offenders == []
