"""Public DNS and certificate lifecycle of an environment: the optional Azure DNS zone of a delegated subdomain
with a record per hostname inside it, and the Key Vault expiry alerts of the gateway's certificates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic.alias_generators import to_camel

from caas.model import EstateConfig
from caas.specs import network
from caas.specs.memo import once

# Key Vault's certificate events (learn.microsoft.com, "Azure Key Vault as Event Grid source"): NearExpiry is
# published 30 days before expiry, Expired at expiry. Each maps to the environment's severity level.
EXPIRY_EVENTS: dict[str, Literal["warning", "critical"]] = {
    "Microsoft.KeyVault.CertificateNearExpiry": "warning",
    "Microsoft.KeyVault.CertificateExpired": "critical",
}


@dataclass(frozen=True)
class DnsRecord:
    """One hostname's record set in the zone."""

    role: str  # live.shop, edit.backoffice, iom ...
    hostname: str
    name: str  # relative to the zone; "@" at its apex
    # A: the public entry is a bare public IP (no DNS label to CNAME to), and the apex admits no CNAME.
    type: Literal["A"] = "A"


@dataclass(frozen=True)
class PublicDnsSpec:
    """``caas:dns.zone``: the zone, its records' TTL, and which hostnames it holds (and which it cannot)."""

    zone: str
    ttl: int
    records: tuple[DnsRecord, ...]
    outside: tuple[str, ...]  # hostnames not under the zone: they stay with the customer's DNS


@dataclass(frozen=True)
class ExpiryAlertSpec:
    """Alerts on Key Vault certificate events, one severity per event type (the environment's rules)."""

    severities: dict[str, int]  # event type -> Azure Monitor severity (0 critical .. 4 verbose)


def in_zone(hostname: str, zone: str) -> bool:
    return hostname == zone or hostname.endswith("." + zone)


def relative_name(hostname: str, zone: str) -> str:
    return "@" if hostname == zone else hostname[: -len(zone) - 1]


@once
def public_dns(cfg: EstateConfig) -> PublicDnsSpec | None:
    if cfg.is_shared or cfg.dns is None or cfg.dns.zone is None:
        return None
    zone = cfg.dns.zone
    hostnames = network.hostnames(cfg)
    return PublicDnsSpec(
        zone=zone,
        ttl=cfg.dns.record_ttl_seconds,
        records=tuple(
            DnsRecord(role, host, relative_name(host, zone)) for role, host in hostnames.items() if in_zone(host, zone)
        ),
        outside=tuple(host for host in hostnames.values() if not in_zone(host, zone)),
    )


def expiry_alerts(cfg: EstateConfig) -> ExpiryAlertSpec | None:
    """Every environment vault holds the gateway's certificates; the shared stack has no vault."""
    if cfg.is_shared or cfg.apps is None:
        return None
    return ExpiryAlertSpec({event: cfg.rules.severities[level] for event, level in EXPIRY_EVENTS.items()})


def problems(cfg: EstateConfig) -> list[tuple[str, str]]:
    """What is wrong with caas:dns.zone and the certificate issuance settings, as (config key, message)."""
    p: list[tuple[str, str]] = []
    spec = public_dns(cfg)
    if spec is not None and not spec.records:
        hosts = ", ".join(spec.outside) or "none: no app with a public hostname is on"
        p.append(
            (
                "caas:dns.zone",
                f"'{spec.zone}' contains none of this stack's hostnames ({hosts}); use the delegated subdomain the "
                "hostnames end in, or set caas:dns.hostnames under it",
            )
        )
    issuance = cfg.public_entry.issuance
    key = "caas:publicEntry.issuance"
    if issuance.renew_days_before_expiry is not None and issuance.renew_at_lifetime_percent is not None:
        p.append((f"{key}.renewAtLifetimePercent", "set either renewDaysBeforeExpiry or renewAtLifetimePercent"))
    # Key Vault's bound for daysBeforeExpiry (REST "Create Certificate", Trigger): 1 .. validity months x 27.
    days = issuance.renew_days_before_expiry
    if days is not None and days > issuance.validity_months * 27:
        p.append(
            (
                f"{key}.renewDaysBeforeExpiry",
                f"{days} exceeds Key Vault's limit for {issuance.validity_months} months of validity "
                f"({issuance.validity_months * 27} days)",
            )
        )
    if issuance.issuer == "imported" and issuance.model_fields_set - {"issuer"}:
        fields = ", ".join(sorted(to_camel(f) for f in issuance.model_fields_set - {"issuer"}))
        p.append((f"{key}.issuer", f"imported certificates carry their own key and lifetime; remove {fields}"))
    return p
