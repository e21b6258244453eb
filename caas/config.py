"""Reading and validating a stack's ``caas:`` config: the loader and its messages.

The model itself is ``caas.model.EstateConfig`` (re-exported here). Every problem is found before any resource
is registered and reported as one line per problem: ``Pulumi.<stack>.yaml: caas:<key.path>: <what is wrong;
what is allowed>``. Rules that need a derived fact (subnets, hostnames) call its derivation in ``caas.specs``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from caas import addressing, naming
from caas.model import DIY_ORGANIZATION, NAMESPACE, EstateConfig, Network
from caas.policy.registry import Rule
from caas.policy.rules import RULES
from caas.profiles import (
    ENVIRONMENTS,
    NON_NEGOTIABLE,
    PRD_MIN_LOG_RETENTION_DAYS,
    PROFILES,
    may_activate_disaster_recovery,
)
from caas.regions import EU_REGIONS, REGION_CODES, ZONAL_REGIONS
from caas.sections.base import PATTERN_NAMES
from caas.specs import access, compute, connectivity, data, dns, kubernetes, network, site, telemetry

__all__ = ["ENVIRONMENTS", "ConfigError", "EstateConfig", "load", "parse", "stack_file_config"]


class ConfigError(Exception):
    """Bad stack config: one message per problem, each naming the stack file and the config key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _key(loc: tuple[Any, ...]) -> str:
    """pydantic location -> the config key a user types: caas:network.subnets.aks, caas:vpn.sites[0].name."""
    out = f"{NAMESPACE}:{loc[0]}" if loc else f"{NAMESPACE}:"
    for part in loc[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that sits at a location, to list the keys it allows."""
    model: Any = EstateConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {(f.alias or name): f for name, f in model.model_fields.items()}
        if part not in fields:
            return None
        model = _unwrap(fields[part].annotation)
        if model is None:
            return None
    return model


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def _allowed(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    return ", ".join(sorted((f.alias or n) for n, f in model.model_fields.items()))


# Keys that moved: the stack file still naming the old place gets the new one instead of "unknown key".
MOVED: dict[tuple[str, ...], str] = {
    ("kubernetes", "partners"): "caas:partners",  # partners reach ICM 7.10 hosts too, not only the cluster
}


def _describe(error: Mapping[str, Any]) -> tuple[tuple[Any, ...], str]:
    loc, kind, msg = tuple(error["loc"]), error["type"], error["msg"]
    if kind == "extra_forbidden" and loc in MOVED:
        return loc, f"moved to {MOVED[loc]}"
    if kind == "extra_forbidden":
        return loc, f"unknown key; allowed here: {_allowed(_model_at(loc[:-1]))}"
    if kind == "missing":
        field = _field_at(loc)
        hint = f" ({field.description})" if field is not None and field.description else ""
        return loc, f"required{hint}"
    if kind == "string_pattern_mismatch":
        field = _field_at(loc)
        pattern = error["ctx"]["pattern"]
        what = field.description if field is not None and field.description else None
        return loc, f"invalid value; must be {what or PATTERN_NAMES.get(pattern) or f'pattern {pattern}'}"
    if kind == "model_type":
        return loc, f"must be an object with the keys {_allowed(_model_at(loc))}"
    return loc, msg[0].lower() + msg[1:]


def _errors(exc: ValidationError) -> list[Mapping[str, Any]]:
    """pydantic's errors minus the echoes: a list reported too short only because its items failed."""
    errors = exc.errors()
    failed_inside = {tuple(e["loc"][:i]) for e in errors for i in range(1, len(e["loc"]))}
    return [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in failed_inside)]


def _field_at(loc: tuple[Any, ...]):
    names = [p for p in loc if not isinstance(p, int)]
    if not names:
        return None
    model = _model_at(tuple(names[:-1]))
    if model is None:
        return None
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == names[-1]), None)


def parse(raw: Mapping[str, Any], secret_keys: set[str], source: str, project: str | None = None) -> EstateConfig:
    """Validate the ``caas:`` config of one stack; raise ConfigError listing every problem.

    ``raw`` maps full keys (``caas:network``) to values as Pulumi stores them: JSON strings for objects.
    ``source`` is the stack file named in messages, e.g. ``Pulumi.prd.yaml``; ``project`` (the Pulumi.yaml
    name), when known, is part of the stack name ``caas:sharedStack`` must spell.
    """
    data: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE:
            data[name] = _decode(value)

    try:
        cfg = EstateConfig.model_validate(data)
    except ValidationError as exc:
        lines = sorted({f"{source}: {_key(loc)}: {msg}" for loc, msg in map(_describe, _errors(exc))})
        raise ConfigError(lines) from None

    problems = semantic_problems(cfg, secret_keys) + shared_stack_problems(cfg, project)
    if problems:
        raise ConfigError([f"{source}: {key}: {msg}" for key, msg in problems])
    return cfg


def _decode(value: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay strings for pydantic to coerce."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _check_policy(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """A relaxation names a rule of the pack that may be relaxed."""
    rules = {rule.name: rule for rule in RULES}
    for name in cfg.policy.relax:
        rule = rules.get(name)
        if rule is None:
            p.append((f"caas:policy.relax.{name}", f"no such rule; relaxable rules: {_relaxable(RULES)}"))
        elif not rule.relaxable:
            p.append((f"caas:policy.relax.{name}", "this rule is mandatory on every stack and cannot be relaxed"))


def _relaxable(rules: Iterable[Rule]) -> str:
    return ", ".join(sorted(rule.name for rule in rules if rule.relaxable)) or "none"


def semantic_problems(cfg: EstateConfig, secret_keys: set[str]) -> list[tuple[str, str]]:
    """Cross-field rules pydantic's field types cannot express. Pure: no Azure calls."""
    p: list[tuple[str, str]] = []
    env = cfg.environment
    _check_layout(cfg, p)
    _check_regions(cfg, p)
    _check_profile(cfg, p)
    _check_network(cfg, p)
    _check_names(cfg, p)
    _check_policy(cfg, p)
    # Area checks, each a function (cfg) -> list[(key, message)] in its section module.
    # -- compute --
    p += compute.problems(cfg)
    # -- data --
    p += data.problems(cfg, secret_keys)

    # -- connectivity --
    p += connectivity.problems(cfg)
    # -- kubernetes --
    p += kubernetes.problems(cfg)
    # -- partners' access --
    p += access.problems(cfg)
    # -- observability --
    p += telemetry.problems(cfg)

    # -- public DNS and certificates --
    p += dns.problems(cfg)

    hostnames = network.hostnames(cfg)
    if hostnames:
        seen: dict[str, str] = {}
        for role, host in hostnames.items():
            if host in seen:
                p.append(("caas:dns.hostnames", f"'{host}' is used for both {seen[host]} and {role}; must be unique"))
            seen[host] = role
    for message in naming.validate_tags(cfg.tags):
        p.append(("caas:tags", message))
    if "caas:secrets" in _present_keys(cfg) and "caas:secrets" not in secret_keys:
        p.append(
            (
                "caas:secrets",
                "plain text found; set each value with `pulumi config set --secret --path caas:secrets.<name>`",
            )
        )
    if env != "prd" and cfg.network.dr_address_space is not None and not cfg.profile.disaster_recovery:
        p.append(("caas:network.drAddressSpace", "set, but disaster recovery is off for this environment; remove it"))
    _check_activation(cfg, p)
    return p


def _check_activation(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """``caas:disasterRecovery.activate``: where the profile allows it, with the ranges the DR tier needs."""
    if not cfg.disaster_recovery.activate:
        return
    key = "caas:disasterRecovery.activate"
    if cfg.is_shared:
        p.append(
            (key, "only for environment stacks; the shared stack's DR hub exists with caas:network.drAddressSpace")
        )
    elif not may_activate_disaster_recovery(cfg.profile):
        p.append((key, f"{cfg.environment} has no disaster recovery (caas:profile.disasterRecovery is off); remove it"))
    elif cfg.network.dr_app_address_space is None:
        p.append(
            (
                "caas:network.drAppAddressSpace",
                f"required while {key} is on: the DR VNet's range for AKS, gateway and hosts",
            )
        )


def _present_keys(cfg: EstateConfig) -> set[str]:
    return {f"{NAMESPACE}:{type(cfg).model_fields[name].alias or to_camel(name)}" for name in cfg.model_fields_set}


def _check_layout(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """Which sections a stack of each kind must and must not have."""
    shared_only: dict[str, object] = {"registry": cfg.registry, "devops": cfg.devops, "buildAgents": cfg.build_agents}
    env_only: dict[str, object] = {"sharedStack": cfg.shared_stack, "apps": cfg.apps, "dns": cfg.dns, "vpn": cfg.vpn}
    if cfg.is_shared:
        required, forbidden = shared_only, env_only
        if cfg.network.hub_address_space is not None:
            p.append(("caas:network.hubAddressSpace", "only for environment stacks; the shared stack is the hub"))
    else:
        required = {k: v for k, v in env_only.items() if k != "vpn"}
        forbidden = shared_only
        if cfg.network.hub_address_space is None:
            p.append(
                (
                    "caas:network.hubAddressSpace",
                    "required: the shared hub's address space (caas:network.addressSpace of the shared stack)",
                )
            )
        if cfg.apps is not None and not (cfg.apps.icm710 or cfg.apps.icm11):
            p.append(("caas:apps", "no ICM: set icm710 (VMs) and/or icm11 (AKS) to true"))
    for key, value in required.items():
        if value is None:
            p.append((f"caas:{key}", f"required in the {cfg.environment} stack"))
    for key, value in forbidden.items():
        if value is not None:
            where = "environment stacks (int, uat, prd)" if cfg.is_shared else "the shared stack"
            p.append((f"caas:{key}", f"not allowed here; it belongs to {where}"))


def _check_regions(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    loc = cfg.location
    for key, region in (("primary", loc.primary), ("dr", loc.dr)):
        if region not in REGION_CODES:
            p.append((f"caas:location.{key}", f"unknown region '{region}'; known: {', '.join(sorted(REGION_CODES))}"))
        elif region not in EU_REGIONS and not loc.allow_outside_eu:
            p.append(
                (
                    f"caas:location.{key}",
                    f"'{region}' is outside the EU (GDPR); allowed: {', '.join(sorted(EU_REGIONS))}, "
                    "or set allowOutsideEu with a waiverReason",
                )
            )
    if loc.primary == loc.dr:
        p.append(("caas:location.dr", "must differ from the primary region"))
    if loc.allow_outside_eu and not loc.waiver_reason:
        p.append(("caas:location.waiverReason", "required when allowOutsideEu is true: record why"))


def _check_profile(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    declared = cfg.profile_overrides.declared()
    if cfg.environment in ("prd", "shared"):
        base = PROFILES[cfg.environment]
        for field in NON_NEGOTIABLE:
            if field in declared and declared[field] != getattr(base, field):
                p.append(
                    (
                        f"caas:profile.{to_camel(field)}",
                        f"{cfg.environment} cannot weaken this (default {getattr(base, field)!r}); remove the override",
                    )
                )
        if cfg.profile.log_retention_days < PRD_MIN_LOG_RETENTION_DAYS:
            p.append(
                (
                    "caas:profile.logRetentionDays",
                    f"{cfg.environment} keeps logs at least {PRD_MIN_LOG_RETENTION_DAYS} days",
                )
            )
    if cfg.profile.zones and cfg.location.primary in REGION_CODES and cfg.location.primary not in ZONAL_REGIONS:
        p.append(
            (
                "caas:profile.zones",
                f"region '{cfg.location.primary}' has no availability zones; choose a zonal region"
                + ("" if cfg.environment in ("prd", "shared") else " or set zones: []"),
            )
        )


def _check_network(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    net = cfg.network
    specs = addressing.HUB_SUBNETS if cfg.is_shared else addressing.ENVIRONMENT_SUBNETS
    minimum = addressing.minimum_prefix(specs)
    if net.address_space.prefixlen > minimum:
        p.append(("caas:network.addressSpace", f"{net.address_space} is too small; needs /{minimum} or larger"))
        return
    if _check_subnets(net, {s.role: s for s in specs}, p):
        try:
            network.subnets(cfg)  # computing the plan is the check
        except ValueError as exc:
            p.append(("caas:network.subnets", str(exc)))
    _check_ranges(cfg, p)


def _check_subnets(net: Network, by_role: dict[str, addressing.SubnetSpec], p: list[tuple[str, str]]) -> bool:
    """Each configured subnet: a known role, inside the address space, large enough, no overlaps. True: all fine."""
    found = len(p)
    for role, subnet in net.subnets.items():
        key = f"caas:network.subnets.{role}"
        if role not in by_role:
            p.append((key, f"unknown subnet role; allowed: {', '.join(sorted(by_role))}"))
        elif not subnet.subnet_of(net.address_space):
            p.append((key, f"{subnet} is outside caas:network.addressSpace {net.address_space}"))
        elif subnet.prefixlen > by_role[role].max_prefix:
            p.append((key, f"{subnet} is too small; {role} needs /{by_role[role].max_prefix} or larger"))
    for a, b in addressing.overlaps({r: n for r, n in net.subnets.items() if r in by_role}):
        p.append((f"caas:network.subnets.{b}", f"overlaps caas:network.subnets.{a}"))
    return len(p) == found


def _check_ranges(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """The environment, hub and DR ranges are disjoint; the DR range is big enough and present where required."""
    net = cfg.network
    ranges = {"caas:network.addressSpace": net.address_space}
    if net.hub_address_space is not None:
        ranges["caas:network.hubAddressSpace"] = net.hub_address_space
    dr_ranges = {
        "caas:network.drAddressSpace": (
            net.dr_address_space,
            addressing.DR_HUB_SUBNETS if cfg.is_shared else addressing.DR_SUBNETS,
        ),
        "caas:network.drAppAddressSpace": (net.dr_app_address_space, addressing.DR_APP_SUBNETS),
    }
    for key, (space, roles) in dr_ranges.items():
        if space is None:
            continue
        ranges[key] = space
        dr_min = addressing.minimum_prefix(roles)
        if space.prefixlen > dr_min:
            p.append((key, f"{space} is too small; needs /{dr_min} or larger"))
    if net.dr_address_space is None and cfg.environment == "prd" and cfg.profile.disaster_recovery:
        p.append(("caas:network.drAddressSpace", "required in prd: the VNet range in the DR region"))
    if net.dr_app_address_space is not None and (cfg.is_shared or net.dr_address_space is None):
        p.append(("caas:network.drAppAddressSpace", "only with caas:network.drAddressSpace in an environment stack"))
    for a, b in addressing.overlaps(ranges):
        p.append((b, f"overlaps {a}"))


def _check_names(cfg: EstateConfig, p: list[tuple[str, str]]) -> None:
    """Every physical name the stack will use must satisfy Azure's limits."""
    try:
        for kind in ("resource_group", "vnet", "log_analytics", "key_vault", "nat_gateway"):
            site.names(cfg).resource(kind)
        if cfg.is_shared:
            site.names(cfg).compact("registry")
        else:
            site.names(cfg).compact("storage", "nfs")
    except (ValueError, KeyError) as exc:
        p.append(("caas:customer.code", f"{exc}; choose a shorter customer code"))


def shared_stack_problems(cfg: EstateConfig, project: str | None) -> list[tuple[str, str]]:
    """``caas:sharedStack`` must be the fully qualified name of this project's shared stack in the DIY backend:
    ``organization/<project>/shared``; any other organisation makes the StackReference fail ("stack not found")."""
    if cfg.shared_stack is None:
        return []
    parts = cfg.shared_stack.split("/")
    if (
        len(parts) == 3
        and parts[0] == DIY_ORGANIZATION
        and parts[2] == "shared"
        and (project is None or parts[1] == project)
    ):
        return []
    expected = f"{DIY_ORGANIZATION}/{project or '<project>'}/shared"
    return [
        (
            "caas:sharedStack",
            f"'{cfg.shared_stack}' is not this project's shared stack; must be {expected} (with the DIY state "
            f"backend the organisation part is always '{DIY_ORGANIZATION}')",
        )
    ]


def cross_stack_problems(env: EstateConfig, shared: EstateConfig, project: str) -> list[tuple[str, str]]:
    """Rules between an environment stack and the shared stack of the same customer folder.

    Only checkable where both stack files are at hand (the offline plan, tests, CI); under `pulumi up` the
    StackReference's outputs are the truth.
    """
    p: list[tuple[str, str]] = []
    if env.network.hub_address_space != shared.network.address_space:
        p.append(
            (
                "caas:network.hubAddressSpace",
                f"{env.network.hub_address_space} differs from the shared stack's caas:network.addressSpace "
                f"{shared.network.address_space}",
            )
        )
    if env.customer.code != shared.customer.code:
        p.append(
            ("caas:customer.code", f"'{env.customer.code}' differs from the shared stack's '{shared.customer.code}'")
        )
    if env.location.primary != shared.location.primary:
        p.append(
            (
                "caas:location.primary",
                f"the shared stack runs in '{shared.location.primary}'; environments use the same region",
            )
        )
    hub_dr = shared.network.dr_address_space
    for key, space in (
        ("caas:network.drAddressSpace", env.network.dr_address_space),
        ("caas:network.drAppAddressSpace", env.network.dr_app_address_space),
    ):
        if space is not None and hub_dr is not None and space.overlaps(hub_dr):
            p.append((key, f"{space} overlaps the shared stack's DR hub (caas:network.drAddressSpace {hub_dr})"))
    if env.disaster_recovery.activate and hub_dr is None:
        p.append(
            (
                "caas:disasterRecovery.activate",
                "the shared stack has no DR hub (its caas:network.drAddressSpace): no agents could run the activation",
            )
        )
    p += shared_stack_problems(env, project)
    p += connectivity.cross_stack_problems(env, shared)
    return p


# --------------------------------------------------------------------------------------------------------
# Sources of raw config


def runtime_config() -> tuple[dict[str, Any], set[str]]:
    """The ``caas:`` keys and secret keys as the Pulumi runtime (engine or mocks) provides them."""
    from pulumi.runtime import get_config_secret_keys_env, is_config_secret

    from caas.sdk_internals import all_config

    raw = {k: v for k, v in all_config().items() if k.startswith(f"{NAMESPACE}:")}
    return raw, {k for k in raw if is_config_secret(k)} | set(get_config_secret_keys_env())


def load() -> EstateConfig:
    """Inside a Pulumi program: the current stack's model."""
    import pulumi

    raw, secret_keys = runtime_config()
    return parse(raw, secret_keys, f"Pulumi.{pulumi.get_stack()}.yaml", pulumi.get_project())


SECRET_PLACEHOLDER = "offline-plan-placeholder"


def stack_file_config(path: str) -> tuple[dict[str, str], set[str]]:
    """Read a ``Pulumi.<stack>.yaml`` as the engine would hand it to the program.

    ``secure:`` values cannot be decrypted offline; they become a placeholder and are marked secret, so the
    plan shows ``[secret]`` where a real run would use the decrypted value.
    """
    import yaml

    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([f"{path}: config: must be a mapping of keys to values"])
    raw: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        key = str(key)
        value, secret = _strip_secure(value)
        if secret:
            secret_keys.add(key)
        raw[key] = _as_config_string(value)
    return raw, secret_keys


def _as_config_string(value: Any) -> str:
    """Pulumi's wire form: objects and lists as JSON, booleans lower-case, everything else as text."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _strip_secure(value: Any) -> tuple[Any, bool]:
    """Replace every ``{secure: ...}`` with the placeholder; report whether any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        stripped = {k: _strip_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in stripped.items()}, any(s for _, s in stripped.values())
    if isinstance(value, list):
        items = [_strip_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml$")
