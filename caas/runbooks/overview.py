"""The README's overview: who, where, which systems and hostnames, and what the profile switches on."""

from __future__ import annotations

from caas.profiles import Profile
from caas.runbooks.context import Context
from caas.runbooks.markdown import code, table
from caas.specs import derive

APPS = {
    "icm710": "Intershop Commerce Management 7.10 on virtual machines",
    "icm11": "Intershop Commerce Management 11 on AKS",
    "iom": "Intershop Order Management",
    "pwa": "Intershop PWA (storefront)",
    "microservices": "Intershop microservices",
}
ROLES = {
    "shop": "storefront",
    "backoffice": "Commerce Management back office",
    "pwa": "PWA storefront",
    "iom": "Order Management",
}
SYSTEMS = {"live": "serves customers", "edit": "content and catalogues are prepared here and published to live"}


def _on(value: bool) -> str:
    return "on" if value else "off"


def _profile_value(value: object) -> str:
    if isinstance(value, bool):
        return _on(value)
    if isinstance(value, tuple):
        return ", ".join(value) if value else "none (regional)"
    return str(value)


def overview(ctx: Context) -> str:
    cfg = ctx.cfg
    rows = [
        ("Customer", f"{cfg.customer.name} (code {code(cfg.customer.code)})"),
        ("Environment", f"{code(cfg.environment)}, Pulumi stack {code(ctx.qualified)}"),
        (
            "Primary region",
            f"{code(cfg.location.primary)}, availability zones: {_profile_value(cfg.profile.zones)}",
        ),
        (
            "Disaster-recovery region",
            f"{code(cfg.location.dr)} ({'in use' if cfg.profile.disaster_recovery else 'not used'} by this stack)",
        ),
        ("Resource group", code(derive(cfg).names.resource("resource_group"))),
        ("Virtual network", f"{code(derive(cfg).names.resource('vnet'))}, {code(cfg.network.address_space)}"),
    ]
    if cfg.network.hub_address_space is not None:
        rows.append(("Shared hub", f"stack {code(cfg.shared_stack)}, {code(cfg.network.hub_address_space)}, peered"))
    if cfg.apps is not None:
        enabled = [label for key, label in APPS.items() if getattr(cfg.apps, key)]
        rows.append(("Applications", "; ".join(enabled)))
    out = [table(("Fact", "Value"), rows)]

    if derive(cfg).hostnames:
        host_rows = []
        for role, host in derive(cfg).hostnames.items():
            system, _, part = role.partition(".")
            host_rows.append((system if part else "-", ROLES[part or role], code(host)))
        systems = "; ".join(f"**{k}**: {v}" for k, v in SYSTEMS.items())
        out += [
            "## Systems and hostnames\n",
            f"ICM runs two systems: {systems}.\n",
            table(("System", "Role", "Hostname"), host_rows),
        ]
        out.append(
            f"The stack output {code('hostnames')} prints the same map once deployed: "
            f"{code(ctx.output('hostnames', as_json=True))}.\n"
        )

    fields = Profile.model_fields
    profile_rows = [
        (code(fields[name].alias or name), _profile_value(getattr(cfg.profile, name)), fields[name].description)
        for name in fields
    ]
    declared = cfg.profile_overrides.declared()
    out += [
        "## What is on\n",
        f"The {code(cfg.environment)} profile ({code('caas/profiles.py')})"
        + (
            f", with the deviations {ctx.source} declares under {code('caas:profile')}: "
            + ", ".join(code(fields[k].alias) for k in sorted(declared))
            if declared
            else ""
        )
        + ".\n",
        table(("Setting", "Value", "Meaning"), profile_rows),
    ]
    return "\n".join(out)
