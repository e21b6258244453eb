"""The ICM 7.10 hosts as the release pipeline sees them: names, role, NIC and load-balancer pool, per system.

Pure: computed from the model with the names ``components.icm710_hosts`` registers (tests compare the two on the
rendered plans), so the pipeline never types a host name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from caas.model import EstateConfig
from caas.sections.compute import HOST_ROLES
from caas.specs import derive

# What components/icm710_hosts.py registers: the web adapters' backend pool and the NIC's only IP configuration.
BACKEND_POOL = "web-adapters"
IP_CONFIG = "ipconfig1"


@dataclass(frozen=True)
class Host:
    system: str
    role: str
    vm: str
    resource_group: str
    nic: str
    ip_config: str
    load_balancer: str | None  # only web adapters sit in the system's internal load balancer
    backend_pool: str | None


def host_part(system: str, role: str, index: int) -> str:
    """``icm710-<system>-<short><n>``: the part of every per-host name (VM, NIC, disks), n counting from 1."""
    return f"icm710-{system}-{HOST_ROLES[role]}{index + 1}"


def hosts(cfg: EstateConfig, system: str | None = None) -> list[Host]:
    """Every ICM 7.10 host of the stack (or of one system), in the model's role order."""
    spec = derive(cfg)
    names = spec.names
    result = []
    for name, roles in spec.icm710_hosts.items():
        if system is not None and name != system:
            continue
        for role, host in roles.items():
            pooled = role == "webAdapter"
            for i in range(host.count):
                part = host_part(name, role, i)
                result.append(
                    Host(
                        system=name,
                        role=role,
                        vm=names.resource("vm", part),
                        resource_group=names.resource("resource_group"),
                        nic=names.resource("nic", part),
                        ip_config=IP_CONFIG,
                        load_balancer=names.resource("load_balancer", f"icm710-{name}") if pooled else None,
                        backend_pool=BACKEND_POOL if pooled else None,
                    )
                )
    return result


COLUMNS = ("system", "role", "vm", "resource_group", "nic", "ip_config", "load_balancer", "backend_pool")


def as_json(found: list[Host]) -> str:
    return json.dumps([asdict(h) for h in found], indent=2) + "\n"


def as_tsv(found: list[Host]) -> str:
    """One host a line, tab-separated in COLUMNS order, ``-`` for none: what scripts/icm710/rollout.sh reads."""
    return "".join("\t".join(getattr(h, c) or "-" for c in COLUMNS) + "\n" for h in found)


def as_table(found: list[Host]) -> str:
    table = [list(COLUMNS), *([getattr(h, c) or "-" for c in COLUMNS] for h in found)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    return "".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in table)


FORMATS = {"table": as_table, "json": as_json, "tsv": as_tsv}
