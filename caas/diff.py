"""``python -m caas diff A B``: where two environments differ, and which declaration explains each difference.

A plain comparison of what the two stacks derive and build: their validated models, their specs
(``caas.specs.derive``) and their offline plans, each rendered once. See docs/runbooks.md.

- Values that differ only because the environments differ (physical names with the environment code, address
  ranges, hostnames, generated ids) become tokens derived from each stack's own model before comparing.
- *Declarations* are the inputs allowed to differ: every effective ``Profile`` field (``profile.<field>``) and
  every ``EnvironmentRules`` field (``rules.<field>``) whose values differ, and every stack config leaf whose
  value differs (``caas:aks.maintenanceWindow.dayOfWeek``).
- A *spec difference* is declared by a declaration when deriving A's specs with that one input taken from B
  changes it, or when deriving them with all of B's inputs but that one brings it back. What still differs with
  all of B's inputs, the model derives from the environment by itself: undeclared.
- A *plan difference* is explained by the spec differences of the component it belongs to
  (``caas.estate.SLICES``): those that carry its values when there are any, else all of the component's own. A
  plan difference no spec difference explains comes from code reacting to something no declaration shows.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from enum import Enum
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, ip_network
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, ValidationError

from caas import config as model
from caas.config import EstateConfig
from caas.estate import OUTPUT_SLICES, SLICES
from caas.mocks import SECRET
from caas.plan import Plan, Project, render
from caas.specs import derive
from components.roles import ROLES

STACK_TYPE = "pulumi:pulumi:Stack"
OUTPUTS_KEY = (STACK_TYPE, "outputs")
SPEC_TYPE = "caas:spec"  # a Change in the derived specs, not in the plan
IDENTITY_KEYS = frozenset({f"{model.NAMESPACE}:environment"})
PROFILE_KEY = f"{model.NAMESPACE}:profile"

_URN_PREFIX = re.compile(r"urn:pulumi:[^:]*::[^:]*::")
_ADDRESS = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(/\d{1,2})?(?![\d])")
# Values Azure generates (and the mocks imitate): GUIDs of identities and role assignments, and public IP
# addresses, which caas.mocks answers from TEST-NET-3.
GENERATED_ADDRESSES = IPv4Network("203.0.113.0/24")
_GENERATED = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    rf"|(?<![\d.]){re.escape(str(GENERATED_ADDRESSES.network_address).rsplit('.', 1)[0])}\.\d{{1,3}}(?![\d.])"
)
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4}){6,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
# Ids written in the program (built-in role ids) are constants, never generated: choosing another role stays a
# difference.
CODE_IDS = frozenset(role.lower() for role in ROLES.values())

Kind = Literal["added", "missing", "changed"]
# Why a difference exists: a profile field or the stack config declares it; an environment rule (a default the
# model keeps per environment, caas.profiles.RULES) does; several declarations together do; nothing does.
Source = Literal["profile/config", "model default", "declared", "undeclared"]
Key = tuple[str, str, str]  # (type, logical name, setting); setting "" is the resource itself

# --------------------------------------------------------------------------------------------------------
# Normalisation: environment-specific values become tokens derived from the stack's own model


@dataclass(frozen=True)
class Normaliser:
    """Replaces one stack's environment-specific values with tokens that mean the same in every stack."""

    words: tuple[str, ...]  # the environment code and the stack name(s) the plan was rendered as
    customer: str
    hostnames: Mapping[str, str]  # hostname (or a form of it) -> token
    ranges: tuple[tuple[str, IPv4Network], ...]  # most specific first

    @classmethod
    def of(cls, cfg: EstateConfig, *also: str) -> Normaliser:
        """Tokens from ``cfg``; ``also`` adds environment codes or stack names that stand for the same stack."""
        ranges: dict[str, IPv4Network] = {"addressSpace": cfg.network.address_space}
        if cfg.network.dr_address_space is not None:
            ranges["drAddressSpace"] = cfg.network.dr_address_space
        if cfg.network.dr_app_address_space is not None:
            ranges["drAppAddressSpace"] = cfg.network.dr_app_address_space
        ranges.update({f"subnet.{role}": net for role, net in derive(cfg).subnets.items()})
        ranges.update({f"drSubnet.{role}": net for role, net in derive(cfg).dr_subnets.items()})
        ordered = sorted(ranges.items(), key=lambda item: (-item[1].prefixlen, item[0]))
        # Hostnames, and the same with dots as hyphens (certificate and listener names derive from them).
        hosts = {host: f"host:{role}" for role, host in derive(cfg).hostnames.items()}
        hosts |= {host.replace(".", "-"): f"host-dashed:{role}" for role, host in derive(cfg).hostnames.items()}
        words = tuple(sorted({cfg.environment, *also}, key=lambda w: (-len(w), w)))
        return cls(words, cfg.customer.code, hosts, tuple(ordered))

    @cached_property
    def _hosts_longest_first(self) -> tuple[tuple[str, str], ...]:
        return tuple((host, f"<{self.hostnames[host]}>") for host in sorted(self.hostnames, key=len, reverse=True))

    @cached_property
    def _word_patterns(self) -> tuple[tuple[re.Pattern[str], str], ...]:
        """The environment code as a word of a name (kv-acme-uat-weu, tags, URNs) and glued to the customer
        code in names that allow no hyphen (stacmeuatweunfs); compiled once, the diff normalises every value."""
        customer = re.escape(self.customer)
        patterns: list[tuple[re.Pattern[str], str]] = []
        for word in map(re.escape, self.words):
            patterns.append((re.compile(rf"(?<![A-Za-z0-9]){word}(?![A-Za-z0-9])", re.IGNORECASE), "<env>"))
            patterns.append((re.compile(rf"{customer}{word}", re.IGNORECASE), f"{self.customer}<env>"))
        return tuple(patterns)

    def text(self, value: str) -> str:
        value = _URN_PREFIX.sub("urn:", value)
        decoded = _base64_text(value)
        if decoded is not None:
            return f"base64({self.text(decoded)})"
        for host, token in self._hosts_longest_first:
            value = value.replace(host, token)
        value = _ADDRESS.sub(self._address, value)
        for pattern, replacement in self._word_patterns:
            value = pattern.sub(replacement, value)
        return value

    def _address(self, match: re.Match[str]) -> str:
        try:
            net = ip_network(match.group(0), strict=False)
            address = IPv4Address(match.group(1))
        except ValueError:
            return match.group(0)
        for name, known in self.ranges:
            if address in known and net.prefixlen >= known.prefixlen:
                if net == known:
                    return f"<{name}>/{known.prefixlen}"
                offset = int(address) - int(known.network_address)
                suffix = match.group(2) or ""
                return f"<{name}>+{offset}{suffix}"
        return match.group(0)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _base64_text(value: str) -> str | None:
    """The text inside a base64 value (cloud-init, kubeconfig), or None when it is not base64 text."""
    if len(value) % 4 or not _BASE64.match(value):
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return text if text.isprintable() or all(c.isprintable() or c in "\n\r\t" for c in text) else None


# --------------------------------------------------------------------------------------------------------
# Flattening a plan into settings


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    """Leaves by path; list items that are objects with a ``name`` are addressed by it, not by position."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            _flatten(value[key], f"{path}.{key}" if path else key, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        named = all(isinstance(v.get("name"), str) for v in value) and len({v["name"] for v in value}) == len(value)
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{item['name'] if named else i}]", out)
    elif path:
        out[path] = value


def settings(plan: Plan, norm: Normaliser) -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource of a plan (and its outputs) as normalised settings, keyed by (type, logical name)."""
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for r in plan.resources:
        flat: dict[str, Any] = {}
        _flatten(norm.value(r.inputs), "", flat)
        flat["opts.protect"] = r.protect
        flat["opts.parent"] = norm.text(r.parent)
        flat["opts.provider"] = norm.text(r.provider)
        flat["opts.dependencies"] = sorted(norm.text(d) for d in r.dependencies)
        result[(r.type, r.name)] = flat
    outputs: dict[str, Any] = {}
    _flatten(norm.value(plan.outputs), "", outputs)
    result[OUTPUTS_KEY] = outputs
    return result


def _opaque_ids(
    a: dict[tuple[str, str], dict[str, Any]], b: dict[tuple[str, str], dict[str, Any]], keep: frozenset[str]
) -> None:
    """Generated values (GUIDs, public addresses) differ per stack by construction.

    One found in only one of the plans, in neither stack file and not in the program's code (``keep``),
    becomes a token naming the first place it occurs, so the same generated value used in the same places
    compares equal; a built-in role id chosen differently stays a difference.
    """

    def occurrences(plan: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
        first: dict[str, str] = {}
        for (typ, name), flat in sorted(plan.items()):
            for path in sorted(flat):
                for found in _GENERATED.findall(json.dumps(flat[path])):
                    first.setdefault(found.lower(), f"{typ}::{name}:{path}")
        return first

    in_a, in_b = occurrences(a), occurrences(b)
    for plan, found in ((a, in_a), (b, in_b)):
        tokens = {u: f"<id@{where}>" for u, where in found.items() if u not in keep and not (u in in_a and u in in_b)}
        if tokens:
            for flat in plan.values():
                for path in flat:
                    flat[path] = _swap_ids(flat[path], tokens)


def _swap_ids(value: Any, tokens: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _GENERATED.sub(lambda m: tokens.get(m.group(0).lower(), m.group(0)), value)
    if isinstance(value, list):
        return [_swap_ids(v, tokens) for v in value]
    if isinstance(value, dict):
        return {k: _swap_ids(v, tokens) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------------------------------
# Comparing


@dataclass(frozen=True)
class Change:
    """One setting (or a whole resource, setting "") present or valued differently in B than in A."""

    kind: Kind  # added: only in B; missing: only in A; changed: in both with different values
    type: str
    name: str
    setting: str
    a: Any
    b: Any
    source: Source = "declared"
    declared_by: tuple[str, ...] = ()  # with --explain: the declarations whose absence brings it back
    note: str = ""

    @property
    def key(self) -> Key:
        return (self.type, self.name, self.setting)

    @property
    def declared(self) -> bool:
        return self.source != "undeclared"


def compare(
    a: Plan, norm_a: Normaliser, b: Plan, norm_b: Normaliser, keep: frozenset[str] = frozenset()
) -> dict[Key, Change]:
    """The normalised differences between two plans, resource by resource and setting by setting."""
    sa, sb = settings(a, norm_a), settings(b, norm_b)
    _opaque_ids(sa, sb, keep)
    changes: dict[Key, Change] = {}
    for typ, name in sorted(set(sa) | set(sb)):
        ra, rb = sa.get((typ, name)), sb.get((typ, name))
        if ra is None or rb is None:
            kind: Kind = "added" if ra is None else "missing"
            present = (None, "present") if ra is None else ("present", None)
            changes[(typ, name, "")] = Change(kind, typ, name, "", *present)
            continue
        for path in sorted(set(ra) | set(rb)):
            if path in ra and path in rb and ra[path] == rb[path]:
                continue
            kind = "added" if path not in ra else "missing" if path not in rb else "changed"
            changes[(typ, name, path)] = Change(kind, typ, name, path, ra.get(path), rb.get(path))
    return changes


# --------------------------------------------------------------------------------------------------------
# The specs as settings


def _plain(value: Any) -> Any:
    """A spec as JSON-like data: dataclasses by field, config models by alias, secrets hidden, addresses as text."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(by_alias=True))
    if isinstance(value, SecretStr):
        return SECRET
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=json.dumps)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def spec_settings(cfg: EstateConfig, norm: Normaliser) -> dict[str, Any]:
    """Every leaf of the stack's derived specs, normalised, by path (``compute.aks.pools.user.max_count``)."""
    flat: dict[str, Any] = {}
    _flatten(norm.value(_plain(derive(cfg))), "", flat)
    return flat


def _differ(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    return {p for p in set(a) | set(b) if p not in a or p not in b or a[p] != b[p]}


# --------------------------------------------------------------------------------------------------------
# Declarations: the inputs allowed to differ


@dataclass(frozen=True)
class Declaration:
    """A reason for the environments to differ: a profile field, an environment rule or a stack config leaf."""

    key: str  # profile.<field>, rules.<field> or the config leaf, e.g. caas:aks.maintenanceWindow.dayOfWeek
    a: Any
    b: Any


_ABSENT = object()
ConfigPath = tuple[str, ...]  # ("caas:aks", "maintenanceWindow", "dayOfWeek")


def _leaves(value: Any, path: ConfigPath, out: dict[ConfigPath, Any]) -> None:
    """Config leaves by key path; a list is one leaf (the table shows its items)."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            _leaves(value[key], (*path, key), out)
    else:
        out[path] = value


def _put(node: Any, path: ConfigPath, value: Any) -> Any:
    """``node`` with one config leaf set; with ``_ABSENT``, removed along with the objects that leaves empty."""
    if not path:
        return value
    obj = dict(node) if isinstance(node, dict) else {}
    child = _put(obj.get(path[0], _ABSENT), path[1:], value)
    if child is _ABSENT:
        obj.pop(path[0], None)
    else:
        obj[path[0]] = child
    return _ABSENT if value is _ABSENT and not obj else obj


@dataclass(frozen=True)
class Stack:
    """One stack as loaded from its file: the model and the raw config the engine would pass."""

    name: str
    cfg: EstateConfig
    raw: Mapping[str, str]
    secret_keys: frozenset[str]

    @classmethod
    def load(cls, project: Project, name: str) -> Stack:
        cfg, raw, secret_keys = project.load(name)
        return cls(name, cfg, raw, frozenset(secret_keys))

    def data(self) -> dict[str, Any]:
        """The ``caas:`` config as objects, by full key."""
        return {k: model._decode(v) for k, v in self.raw.items() if k.startswith(f"{model.NAMESPACE}:")}

    def leaves(self) -> dict[ConfigPath, Any]:
        """Config leaves other than the environment and the profile (the profile counts field by field)."""
        out: dict[ConfigPath, Any] = {}
        for key, value in self.data().items():
            if key in IDENTITY_KEYS or key == PROFILE_KEY:
                continue
            if key in self.secret_keys:
                out[(key,)] = SECRET  # a report may never show it; offline it is a placeholder anyway
            else:
                _leaves(value, (key,), out)
        return out


def _profile(stack: Stack) -> dict[str, Any]:
    return stack.cfg.profile.model_dump(by_alias=True, mode="json")


def _rules(stack: Stack) -> dict[str, Any]:
    return {f.name: _plain(getattr(stack.cfg.rules, f.name)) for f in fields(stack.cfg.rules)}


@dataclass(frozen=True)
class Inputs:
    """What may differ between two stacks, and how to derive A's specs with some of it taken from B."""

    a: Stack
    b: Stack

    def declarations(self) -> list[Declaration]:
        """Differing profile fields (in the Profile's order), rules (in their order), then config leaves (sorted)."""
        found = []
        for prefix, (va, vb) in (
            ("profile", (_profile(self.a), _profile(self.b))),
            ("rules", (_rules(self.a), _rules(self.b))),
        ):
            found += [Declaration(f"{prefix}.{name}", va[name], vb[name]) for name in va if va[name] != vb[name]]
        la, lb = self.a.leaves(), self.b.leaves()
        for path in sorted(set(la) | set(lb), key=".".join):
            if la.get(path, _ABSENT) != lb.get(path, _ABSENT):
                found.append(Declaration(".".join(path), la.get(path), lb.get(path)))
        return found

    def normaliser(self, cfg: EstateConfig) -> Normaliser:
        """Both environments' codes and stack names count as names: a rule of B's that names an environment
        (prd's data "may be copied to uat") reads the same in B and in A's specs taking that rule."""
        return Normaliser.of(cfg, self.a.cfg.environment, self.b.cfg.environment, self.a.name, self.b.name)

    def variant(self, taken: Iterable[str]) -> EstateConfig | None:
        """A's model with B's value of each declaration in ``taken``; A's environment stays. None when the model
        rejects the mix (then those declarations cannot be told apart)."""
        taken = set(taken)
        data = self.a.data()
        profile, other = _profile(self.a), _profile(self.b)
        profile.update({name: other[name] for name in profile if f"profile.{name}" in taken})
        data[PROFILE_KEY] = profile
        lb, whole = self.b.leaves(), self.b.data()
        for path in self.a.leaves().keys() | lb.keys():
            if ".".join(path) in taken:  # a secret (or scalar) key is one leaf: B's value as stored
                value = whole.get(path[0], _ABSENT) if len(path) == 1 else lb.get(path, _ABSENT)
                data = _put(data, path, value)
        b_rules = self.b.cfg.rules
        rules = replace(
            self.a.cfg.rules,
            **{f.name: getattr(b_rules, f.name) for f in fields(b_rules) if f"rules.{f.name}" in taken},
        )
        try:
            cfg = EstateConfig.model_validate({k.partition(":")[2]: v for k, v in data.items()})
        except ValidationError:
            return None
        return cfg.under_rules(rules) if rules != cfg.rules else cfg

    def spec_settings(self, taken: Iterable[str]) -> dict[str, Any] | None:
        cfg = self.variant(taken)
        if cfg is None:
            return None
        try:
            return spec_settings(cfg, self.normaliser(cfg))
        except Exception:
            return None


@dataclass
class Attribution:
    """Which declarations explain which spec differences."""

    declared_by: dict[str, tuple[str, ...]]  # spec path -> declarations (empty: only all of them together)
    undeclared: set[str]  # spec paths that differ even with all of B's declarations
    unexplained: list[str]  # declarations the model cannot take one at a time


def attribute(
    base: Mapping[str, Any],
    target: Mapping[str, Any],
    keys: list[str],
    settings_with: Callable[[frozenset[str]], Mapping[str, Any] | None],
) -> Attribution:
    """Attribute the differences between ``base`` (A's spec settings) and ``target`` (B's).

    ``settings_with(keys)`` derives A's spec settings with B's value of those declarations. A declaration explains a
    difference when taking it alone changes it, or when leaving it out of all of them brings it back.
    """
    differences = _differ(base, target)
    everything = settings_with(frozenset(keys))
    undeclared = differences if everything is None else differences & _differ(everything, target)
    by: dict[str, list[str]] = {p: [] for p in differences - undeclared}
    unexplained = []
    for key in keys:
        alone, without = settings_with(frozenset({key})), settings_with(frozenset(keys) - {key})
        if alone is None or without is None or everything is None:
            unexplained.append(key)
        moved = (_differ(alone, base) if alone is not None else set()) | (
            _differ(without, everything) if without is not None and everything is not None else set()
        )
        for path in moved & by.keys():
            by[path].append(key)
    return Attribution({p: tuple(k) for p, k in by.items()}, undeclared, unexplained)


# --------------------------------------------------------------------------------------------------------
# Plan differences, explained by the spec differences of their component


def _slice(change: Change, plan: Plan) -> tuple[str, tuple[str, ...]]:
    """The component a plan difference belongs to and the spec paths it is built from (() when unknown)."""
    if (change.type, change.name) == OUTPUTS_KEY:
        output = re.split(r"[.\[]", change.setting, maxsplit=1)[0]
        return f"output {output}", OUTPUT_SLICES.get(output, ())
    by_urn = {r.urn: r for r in plan.resources}
    resource = next(r for r in plan.resources if (r.type, r.name) == (change.type, change.name))
    while resource.parent in by_urn:  # up to the component the stack itself parents
        resource = by_urn[resource.parent]
    return f"{resource.type} {resource.name}", SLICES.get(resource.type, ())


def _within(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in prefixes)


def _forms(value: Any) -> list[str]:
    """How a spec value may appear inside a plan value: as text, a role's name as its built-in id."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return [text, *([ROLES[value]] if isinstance(value, str) and value in ROLES else [])]


def _holds(value: Any, spec_value: Any) -> bool:
    if value is None or spec_value is None:
        return value is None and spec_value is None
    if value == spec_value:
        return True
    text = value if isinstance(value, str) else json.dumps(value)
    return any(form == text or (len(form) >= 4 and form in text) for form in _forms(spec_value))


def _carries(change: Change, a: Mapping[str, Any], b: Mapping[str, Any], path: str) -> bool:
    """The plan difference shows the spec difference's values on both sides."""
    return _holds(change.a, a.get(path)) and _holds(change.b, b.get(path))


# --------------------------------------------------------------------------------------------------------
# The report


@dataclass
class Report:
    a: str
    b: str
    declarations: list[Declaration]
    changes: list[Change]
    unseparated: list[str] = field(default_factory=list)  # kept for the JSON form; nothing is left unseparated
    unexplained: list[str] = field(default_factory=list)  # declarations the model cannot take one at a time
    explain: bool = False  # the table names the declarations behind each difference

    @property
    def undeclared(self) -> list[Change]:
        return [c for c in self.changes if not c.declared]

    @property
    def exit_code(self) -> int:
        return 1 if self.undeclared else 0


class DiffError(model.ConfigError):
    """The two stacks cannot be compared (a shared stack)."""


def _source(declared_by: Iterable[str]) -> Source:
    keys = list(declared_by)
    if not keys:
        return "declared"
    return "model default" if all(k.startswith("rules.") for k in keys) else "profile/config"


def classify(
    changes: Iterable[Change],
    plans: tuple[Plan, Plan],
    specs: tuple[Mapping[str, Any], Mapping[str, Any]],
    attribution: Attribution,
) -> list[Change]:
    """Each plan difference with the declarations of the spec differences that explain it."""
    spec_a, spec_b = specs
    differences = _differ(spec_a, spec_b)
    site = [p for p in differences if _within(p, ("site",))]
    result = []
    for change in changes:
        component, slice_ = _slice(change, plans[1] if change.kind == "added" else plans[0])
        own = sorted(p for p in differences if _within(p, slice_))
        # Resource options (protect) come from the Site, inputs from the component's own specs.
        first, then = (site, own) if change.setting.startswith("opts.") else (own, site)
        carried = [p for p in first if _carries(change, spec_a, spec_b, p)]
        carried = carried or [p for p in then if _carries(change, spec_a, spec_b, p)]
        explaining = carried or own
        declared = [p for p in explaining if p not in attribution.undeclared]
        if not declared:
            note = f"no declared difference in the specs {component} is built from"
            result.append(replace(change, source="undeclared", note=note))
            continue
        by = sorted({k for p in declared for k in attribution.declared_by[p]})
        result.append(replace(change, source=_source(by), declared_by=tuple(by)))
    return result


def _spec_changes(specs: tuple[Mapping[str, Any], Mapping[str, Any]], paths: Iterable[str]) -> list[Change]:
    """Spec differences the model derives from the environment by itself, as changes of their own."""
    a, b = specs
    found = []
    for path in sorted(paths):
        kind: Kind = "added" if path not in a else "missing" if path not in b else "changed"
        head, _, rest = path.partition(".")
        note = "derived from the environment itself"
        found.append(Change(kind, SPEC_TYPE, head, rest, a.get(path), b.get(path), "undeclared", note=note))
    return found


def diff(
    project: Project,
    stack_a: str,
    stack_b: str,
    *,
    plans: Mapping[str, Plan] | None = None,
    explain: bool = False,
) -> Report:
    """Compare two environment stacks and classify every difference.

    ``plans`` may carry the stacks' plans already rendered (a stack missing there is rendered). ``explain`` makes
    the table name the declarations behind each difference (the JSON form always does).
    """
    a, b = Stack.load(project, stack_a), Stack.load(project, stack_b)
    for stack in (a, b):
        if stack.cfg.is_shared:
            raise DiffError([f"{project.label(stack.name)}: caas:environment: diff compares environment stacks"])
    plan_a, plan_b = ((plans or {}).get(s) or render(project, s) for s in (stack_a, stack_b))
    inputs = Inputs(a, b)
    norm_a, norm_b = inputs.normaliser(a.cfg), inputs.normaliser(b.cfg)
    configured = frozenset(_GENERATED.findall(" ".join([*a.raw.values(), *b.raw.values()]).lower()))
    actual = compare(plan_a, norm_a, plan_b, norm_b, configured | CODE_IDS)

    decls = inputs.declarations()
    specs = (spec_settings(a.cfg, norm_a), spec_settings(b.cfg, norm_b))
    attribution = attribute(*specs, [d.key for d in decls], inputs.spec_settings)
    changes = classify(actual.values(), (plan_a, plan_b), specs, attribution)
    changes += _spec_changes(specs, attribution.undeclared)
    return Report(stack_a, stack_b, decls, changes, unexplained=attribution.unexplained, explain=explain)


# --------------------------------------------------------------------------------------------------------
# Presentation


def _show(value: Any, width: int = 48) -> str:
    text = "-" if value is None else json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


def _leaves_that_differ(a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    """A config object's changed leaves (``addressSpace``, ``sites[0].name``); a scalar is its own leaf."""
    if not (isinstance(a, dict | list) or isinstance(b, dict | list)):
        return [("", a, b)]
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flatten(a, "", fa)
    _flatten(b, "", fb)
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def _ordered(changes: Iterable[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (c.declared, c.type, c.name, c.setting))


def _status(change: Change, explain: bool) -> str:
    if not change.declared:
        return "UNDECLARED" + (f" [{change.note}]" if change.note else "")
    return f"declared ({(explain and ', '.join(change.declared_by)) or change.source})"


def as_table(report: Report) -> str:
    lines = [
        f"caas diff {report.a} {report.b}: {len(report.changes)} differences, {len(report.undeclared)} undeclared",
        "",
    ]
    if report.declarations:
        lines.append(f"Declarations ({report.b} differs from {report.a} on purpose):")
        width = max(len(d.key) for d in report.declarations)
        for d in report.declarations:
            for i, (where, va, vb) in enumerate(_leaves_that_differ(d.a, d.b)):
                key = (d.key if i == 0 else "").ljust(width)
                lines.append(f"  {key}  {where}{': ' if where else ''}{_show(va, 40)}  ->  {_show(vb, 40)}")
        lines.append("")
    if report.unseparated:
        lines += ["Profile/config and model defaults not told apart:"]
        lines += [f"  {p}" for p in report.unseparated] + [""]
    if report.unexplained:
        lines += [f"Not separable by --explain (the model needs them together): {', '.join(report.unexplained)}", ""]
    if not report.changes:
        return "\n".join([*lines, "No differences."]) + "\n"
    rows = [("status", "kind", "resource", "setting", report.a, report.b)]
    for c in _ordered(report.changes):
        rows.append(
            (
                _status(c, report.explain),
                c.kind,
                f"{c.type} {c.name}",
                c.setting or "(resource)",
                _show(c.a),
                _show(c.b),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    document = {
        "a": report.a,
        "b": report.b,
        "undeclared": len(report.undeclared),
        "declarations": [asdict(d) for d in report.declarations],
        "unseparated": report.unseparated,
        "unexplained": report.unexplained,
        "changes": [
            {**asdict(c), "declared": c.declared, "declared_by": list(c.declared_by)} for c in _ordered(report.changes)
        ],
    }
    return json.dumps(document, indent=2) + "\n"


FORMATS: dict[str, Callable[[Report], str]] = {"table": as_table, "json": as_json}
