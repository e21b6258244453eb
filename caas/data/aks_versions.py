"""AKS's Kubernetes release calendar: when each minor version became generally available on AKS and when its
community support ends. Preflight compares the stack's ``caas:aks.kubernetesVersion`` with it on today's date.

Source: learn.microsoft.com/azure/aks/supported-kubernetes-versions, "AKS Kubernetes release calendar"
(page dated 2026-08-05). The page gives months; "unless an explicit date is provided, the End of Life (EOL) date is
the last day of the specified month", so a month here means its last day for end of life and its first day for GA.
Update this table when the page changes; never edit a test to make an expired version pass.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

SOURCE = "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"


@dataclass(frozen=True)
class Release:
    minor: str
    ga: date  # first day of the AKS GA month
    end_of_life: date  # last day of community support (platform support or paid LTS may follow)


def _month(text: str, last: bool) -> date:
    year, month = map(int, text.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1] if last else 1)


# minor: (AKS GA, End of life) as YYYY-MM, copied from the calendar table.
_CALENDAR = {
    "1.32": ("2025-04", "2026-03"),
    "1.33": ("2025-06", "2026-07"),
    "1.34": ("2025-11", "2026-11"),
    "1.35": ("2026-03", "2027-03"),
    "1.36": ("2026-06", "2027-06"),
    "1.37": ("2026-10", "2027-10"),
}

RELEASES: dict[str, Release] = {
    minor: Release(minor, _month(ga, last=False), _month(eol, last=True)) for minor, (ga, eol) in _CALENDAR.items()
}
