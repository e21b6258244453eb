"""Deterministic CAF-style physical names and the tags every resource carries.

Physical names follow ``<abbrev>-<customer>-<env>-<region>[-<part>]``; types whose names allow only
alphanumerics (registry, storage) drop the hyphens. There is no random suffix anywhere: a name is a
pure function of the model, so plans are reproducible and a stack can be re-created with the same names.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from caas.regions import REGION_CODES

# Microsoft's recommended abbreviations (Cloud Adoption Framework).
ABBREVIATIONS: dict[str, str] = {
    "action_group": "ag",
    "activity_log_alert": "alert",
    "aks": "aks",
    "alert_processing_rule": "apr",
    "app_insights": "appi",
    "app_gateway": "agw",
    "backup_vault": "bvault",
    "bastion": "bas",
    "budget": "budget",
    "connection": "con",
    "data_collection_rule": "dcr",
    "dev_center": "dc",
    "dev_center_project": "dcp",
    "event_grid_topic": "egst",  # Event Grid system topic
    "disk": "disk",
    "failover_group": "fog",
    "devops_pool": "mdp",
    "identity": "id",
    "key_vault": "kv",
    "load_balancer": "lbi",
    "local_gateway": "lgw",
    "log_analytics": "log",
    "metric_alert": "alert",
    "nat_gateway": "ng",
    "nic": "nic",
    "nsg": "nsg",
    "os_disk": "osdisk",
    "postgres": "psql",
    "private_endpoint": "pe",
    "public_ip": "pip",
    "recovery_vault": "rsv",
    "registry": "cr",
    "resource_group": "rg",
    "route_table": "rt",
    "scheduled_query_rule": "alert",
    "sql_mi": "sqlmi",
    "storage": "st",
    "subnet": "snet",
    "vm": "vm",
    "vnet": "vnet",
    "vpn_gateway": "vgw",
    "waf_policy": "waf",
    "web_test": "avail",
}


@dataclass(frozen=True)
class Rule:
    """Azure's limits for one resource type's name."""

    max_len: int
    pattern: str
    min_len: int = 1


# Limits from "Naming rules and restrictions for Azure resources" (learn.microsoft.com).
RULES: dict[str, Rule] = {
    "registry": Rule(50, r"^[a-zA-Z0-9]+$", 5),
    "storage": Rule(24, r"^[a-z0-9]+$", 3),
    "key_vault": Rule(24, r"^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$", 3),
    "aks": Rule(63, r"^[a-zA-Z0-9][a-zA-Z0-9_-]*[a-zA-Z0-9]$"),
    "sql_mi": Rule(63, r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
    "postgres": Rule(63, r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", 3),
    "vm": Rule(64, r"^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$"),  # also a Linux VM's computer (host) name
    "windows_computer": Rule(15, r"^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$"),  # a Windows VM's computer name
    "log_analytics": Rule(63, r"^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$", 4),
    "recovery_vault": Rule(50, r"^[a-zA-Z][a-zA-Z0-9-]*$", 2),
    "backup_vault": Rule(50, r"^[a-zA-Z][a-zA-Z0-9-]*$", 2),
    "failover_group": Rule(63, r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
    "resource_group": Rule(90, r"^[-\w.()]*[-\w()]$"),
    "sftp_user": Rule(64, r"^[a-z0-9]+$", 3),  # storage account local users
}
DEFAULT_RULE = Rule(80, r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9_]$")

# Characters Azure refuses in tag names.
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")


def check(kind: str, name: str) -> str:
    """Return ``name`` if it satisfies Azure's rules for ``kind``; raise ValueError naming the rule otherwise."""
    rule = RULES.get(kind, DEFAULT_RULE)
    if not rule.min_len <= len(name) <= rule.max_len:
        raise ValueError(f"{kind} name '{name}' has {len(name)} characters; Azure allows {rule.min_len}-{rule.max_len}")
    if not re.match(rule.pattern, name):
        raise ValueError(f"{kind} name '{name}' does not match Azure's pattern {rule.pattern}")
    return name


@dataclass(frozen=True)
class Namer:
    """Physical names for one stack: customer, environment (or ``shared``) and region."""

    customer: str
    env: str
    region: str

    @property
    def region_code(self) -> str:
        return REGION_CODES[self.region]

    def in_region(self, region: str) -> Namer:
        """The same customer and environment in another region (the DR region)."""
        return Namer(self.customer, self.env, region)

    def resource(self, kind: str, part: str | None = None) -> str:
        """``<abbrev>-<customer>-<env>-<region>[-<part>]``, checked against the type's limits."""
        pieces = [ABBREVIATIONS[kind], self.customer, self.env, self.region_code]
        if part:
            pieces.append(part)
        return check(kind, "-".join(pieces))

    def compact(self, kind: str, part: str | None = None) -> str:
        """The hyphen-free form for types that allow only alphanumerics (registry, storage)."""
        pieces = [ABBREVIATIONS[kind], self.customer, self.env, self.region_code, part or ""]
        return check(kind, "".join(pieces).lower())

    def guid(self, purpose: str) -> str:
        """A stable GUID for types whose name must be one (workbooks): uuid5 of the stack's names and purpose."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"intershop-caas/{self.customer}/{self.env}/{self.region}/{purpose}"))

    def key_vault(self) -> str:
        """Key vault names are global and at most 24 characters: ``kv-<customer>-<env>-<region>``."""
        return self.resource("key_vault")


def validate_tags(tags: dict[str, str]) -> list[str]:
    """Problems with user-supplied tags, one message each (Azure: name <= 512, value <= 256 characters)."""
    problems = []
    for key, value in tags.items():
        if len(key) > 512 or _TAG_NAME_FORBIDDEN.search(key):
            problems.append(f"tag name '{key}' is over 512 characters or contains one of < > % & \\ ? /")
        if len(value) > 256:
            problems.append(f"tag '{key}' has a value over 256 characters")
    return problems
