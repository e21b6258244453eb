"""Config of the partners' access: ``caas:partners``.

One entry per implementation partner of this environment: its Entra ID group, the apps whose namespaces it
works in on the AKS cluster and the ICM 7.10 systems whose hosts it may sign in to (Entra ID SSH through the
hub's Bastion; partners never get SSH keys). What each partner gets per environment (read or write, user or
admin login) is an environment rule (``caas.profiles``); ``caas.specs.access`` derives the role assignments and
the commands to connect from it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from caas.sections.base import Label, Section

GroupId = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="an Entra ID group object id (a lower-case GUID)",
    ),
]
PartnerApp = Literal["icm", "iom", "pwa", "microservices"]
System = Literal["live", "edit"]


class Partner(Section):
    """An implementation partner's Entra ID group: its apps' namespaces and its ICM 7.10 systems' hosts."""

    name: Label
    group_object_id: GroupId
    apps: tuple[PartnerApp, ...] = Field(
        default=(), description="its namespaces on the AKS cluster: those of these apps (every system)"
    )
    icm710_systems: tuple[System, ...] = Field(
        default=(), description="ICM 7.10 systems whose hosts it may sign in to with Entra ID (through Bastion)"
    )
    prd_write: bool = Field(
        default=False,
        description="write access where partners only read by default (prd); needs prdWriteReason",
    )
    prd_write_reason: str | None = Field(
        default=None, min_length=10, max_length=300, description="why the partner must change things in prd"
    )
