"""Derived facts of observability to SLOs: Application Insights, availability probes, SLOs and burn-rate windows.

A hostname gets a standard availability test (and so an SLO alert) only when the public entry serves it and
Azure's test locations may reach it: restricted hostnames (edit system, back office, IOM) admit only
``caas:publicEntry.restrictedSources`` at the gateway's WAF, so probes from Azure would only measure the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from caas import secret_names
from caas.model import EstateConfig
from caas.specs import compute as compute_spec
from caas.specs import network as network_spec
from caas.specs import site as site_spec
from caas.specs.memo import once

# Availability test agents by Azure's location ids ("Location population tags", learn.microsoft.com/azure/
# azure-monitor/app/availability#location-population-tags): five EMEA sites in different regions, so that one
# site's network trouble is not an outage; Microsoft recommends at least five.
TEST_LOCATIONS = (
    "emea-nl-ams-azr",  # West Europe
    "emea-gb-db3-azr",  # North Europe
    "emea-fr-pra-edge",  # France Central
    "emea-se-sto-edge",  # UK West
    "emea-ch-zrh-edge",  # France South
)
PROBE_FREQUENCY_SECONDS = 300
PROBE_TIMEOUT_SECONDS = 30
# The probe fails this many days before the certificate expires: Key Vault renews long before, so a failure here
# means renewal broke; it costs error budget on purpose, the outage it announces is real.
CERT_MIN_REMAINING_DAYS = 14
SLO_PERIOD_DAYS = 30


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window burn-rate alert (Google SRE workbook, "Alerting on SLOs", table 5-8): it fires when the
    error rate over both the long and the short window exceeds ``factor`` times the SLO's error budget rate."""

    key: Literal["fast", "slow"]
    long: str  # ISO 8601; also the rule's query window
    short: str
    factor: float
    level: Literal["critical", "warning"]  # severity from the environment rules
    frequency: str  # how often Azure Monitor evaluates it

    @property
    def budget_spent_percent(self) -> float:
        """Share of the 30-day budget the long window consumes at this burn rate (2 % fast, 5 % slow)."""
        hours = {"PT1H": 1, "PT6H": 6}[self.long]
        return round(100 * self.factor * hours / (SLO_PERIOD_DAYS * 24), 1)


BURN_WINDOWS = (
    BurnWindow("fast", "PT1H", "PT5M", 14.4, "critical", "PT5M"),
    BurnWindow("slow", "PT6H", "PT30M", 6.0, "warning", "PT15M"),
)


@dataclass(frozen=True)
class Probe:
    """One served, publicly reachable hostname: its availability test and SLO."""

    role: str  # live.shop, live.pwa ...
    hostname: str
    url: str
    slo: float  # percent
    test_name: str  # the web test's resource name, also ``name`` in availabilityResults

    @property
    def slug(self) -> str:
        return self.role.replace(".", "-")

    @property
    def error_budget(self) -> float:
        """Allowed failure ratio (0.001 for 99.9 %)."""
        return round((100 - self.slo) / 100, 6)


@dataclass(frozen=True)
class TelemetrySpec:
    app_insights_name: str
    connection_string_secret: str  # Key Vault secret name
    probes: tuple[Probe, ...]
    restricted: dict[str, str]  # role -> hostname: served, but only from the restricted sources (no probe)
    unserved: dict[str, str]  # role -> hostname: the public entry is off (caas:publicEntry.enabled: false)
    slos: dict[str, float]  # every hostname role -> its SLO target (probed or not)
    severities: dict[str, int]
    windows: tuple[BurnWindow, ...]
    locations: tuple[str, ...]
    workbook_display_name: str


def slo_targets(cfg: EstateConfig) -> dict[str, float]:
    profile = cfg.profile
    return {role: profile.availability_slos.get(role, profile.availability_slo) for role in network_spec.hostnames(cfg)}


@once
def derive(cfg: EstateConfig) -> TelemetrySpec | None:
    """None for the shared stack (it serves no hostname; its resources report to its workspace)."""
    if cfg.is_shared:
        return None
    names = site_spec.names(cfg)
    slos = slo_targets(cfg)
    served = cfg.public_entry.enabled
    probes, restricted, unserved = [], {}, {}
    for route in compute_spec.public_routes(cfg):
        if not served:
            unserved[route.role] = route.hostname
        elif route.restricted:
            restricted[route.role] = route.hostname
        else:
            probes.append(
                Probe(
                    role=route.role,
                    hostname=route.hostname,
                    url=f"https://{route.hostname}{route.probe_path}",
                    slo=slos[route.role],
                    test_name=names.resource("web_test", route.slug),
                )
            )
    appi = names.resource("app_insights")
    return TelemetrySpec(
        app_insights_name=appi,
        connection_string_secret=secret_names.APPINSIGHTS_CONNECTION_STRING,
        probes=tuple(probes),
        restricted=restricted,
        unserved=unserved,
        slos=slos,
        severities=dict(cfg.rules.severities),
        windows=BURN_WINDOWS,
        locations=TEST_LOCATIONS,
        workbook_display_name=f"{cfg.customer.code} {cfg.environment}: SLOs and estate health",
    )


def problems(cfg: EstateConfig) -> list[tuple[str, str]]:
    """Per-hostname SLOs must name a hostname role of this stack."""
    if cfg.is_shared:
        return []
    roles = network_spec.hostnames(cfg)
    return [
        (
            f"caas:profile.availabilitySlos.{role}",
            f"'{role}' is not a hostname of this stack; known: {', '.join(roles) or 'none'}",
        )
        for role in cfg.profile.availability_slos
        if role not in roles
    ]
