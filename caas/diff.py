"""``python -m caas diff A B``: where two environments differ, and whether each difference was declared.

Both stacks are rendered offline and compared resource by resource, matched by type and logical name
(logical names carry the role, never the environment). Values that differ only because the environments
differ (physical names with the environment code, address ranges, hostnames, generated ids) are replaced by
tokens derived from each stack's own model before comparing.

Every remaining difference is classified with two counterfactual renders (see docs/runbooks.md):

- *undeclared*: B's model rendered as stack A, i.e. everything the model derives is B's and only code
  outside the model (components, wiring) still sees A's environment. Whatever differs between that render
  and B comes from code reacting to the environment by itself: nothing declares it.
- declared by *the profile or the stack config*, or by *a default the model derives for the environment*:
  A rendered with B's effective profile and B's value of every config key that differs (environment kept).
  What that removes was declared by the profile or the config; what it leaves is a per-environment default
  of the model (e.g. a retention table keyed by environment). If the model rejects that config (prd refuses
  uat's weaker profile), B is rendered with A's declarations and compared with A instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from caas import config as model
from caas.config import EstateConfig
from caas.mocks import SECRET
from caas.plan import Plan, Project, render
from caas.profiles import Environment
from caas.specs import derive

# Settings of a resource besides its inputs; inputs appear under their own (camelCase) paths.
OPTION_SETTINGS = ("opts.protect", "opts.parent", "opts.provider", "opts.dependencies")
OUTPUTS_KEY = ("pulumi:pulumi:Stack", "outputs")
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

Kind = Literal["added", "missing", "changed"]
# Why a difference exists: the profile or stack config says so; a default the model derives for the environment;
# one of those two (when no counterfactual could separate them); nothing declares it.
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
        ranges.update({f"subnet.{role}": net for role, net in derive(cfg).subnets.items()})
        ranges.update({f"drSubnet.{role}": net for role, net in derive(cfg).dr_subnets.items()})
        ordered = sorted(ranges.items(), key=lambda item: (-item[1].prefixlen, item[0]))
        # Hostnames, and the same with dots as hyphens (certificate and listener names derive from them).
        hosts = {host: f"host:{role}" for role, host in derive(cfg).hostnames.items()}
        hosts |= {host.replace(".", "-"): f"host-dashed:{role}" for role, host in derive(cfg).hostnames.items()}
        words = tuple(sorted({cfg.environment, *also}, key=lambda w: (-len(w), w)))
        return cls(words, cfg.customer.code, hosts, tuple(ordered))

    def text(self, value: str) -> str:
        value = _URN_PREFIX.sub("urn:", value)
        decoded = _base64_text(value)
        if decoded is not None:
            return f"base64({self.text(decoded)})"
        for host in sorted(self.hostnames, key=len, reverse=True):
            value = value.replace(host, f"<{self.hostnames[host]}>")
        value = _ADDRESS.sub(self._address, value)
        # The environment code as a word of a name (kv-acme-uat-weu, tags, URNs) and glued to the customer
        # code in names that allow no hyphen (stacmeuatweunfs).
        for word in map(re.escape, self.words):
            value = re.sub(rf"(?<![A-Za-z0-9]){word}(?![A-Za-z0-9])", "<env>", value, flags=re.IGNORECASE)
            value = re.sub(rf"{re.escape(self.customer)}{word}", f"{self.customer}<env>", value, flags=re.IGNORECASE)
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


@cache
def _constants() -> frozenset[str]:
    """GUIDs and addresses written in the program's code (built-in role ids...): constants, never generated."""
    import components

    found: set[str] = set()
    for package in (Path(model.__file__).parent, Path(components.__file__).parent):
        for source in sorted(package.rglob("*.py")):
            found.update(m.lower() for m in _GENERATED.findall(source.read_text(encoding="utf-8")))
    return frozenset(found)


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
# Declarations and the counterfactual


@dataclass(frozen=True)
class Declaration:
    """A reason for the environments to differ: a profile field or a stack config key."""

    key: str  # profile.<field> or the config key, e.g. caas:network
    a: Any
    b: Any

    @property
    def is_profile(self) -> bool:
        return self.key.startswith("profile.")


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

    def decoded(self, key: str) -> Any:
        return model._decode(self.raw[key]) if key in self.raw else None


def declarations(a: Stack, b: Stack) -> list[Declaration]:
    """Every profile field whose effective value differs, then every differing config key (sorted)."""
    found = []
    pa, pb = a.cfg.profile.model_dump(by_alias=True, mode="json"), b.cfg.profile.model_dump(by_alias=True, mode="json")
    for name in pa:
        if pa[name] != pb[name]:
            found.append(Declaration(f"profile.{name}", pa[name], pb[name]))
    for key in sorted((set(a.raw) | set(b.raw)) - IDENTITY_KEYS - {PROFILE_KEY}):
        if a.decoded(key) != b.decoded(key):
            found.append(Declaration(key, _shown(a, key), _shown(b, key)))
    return found


def _shown(stack: Stack, key: str) -> Any:
    """A config value as a report may show it: secrets never."""
    return SECRET if key in stack.secret_keys else stack.decoded(key)


def morph(base: Stack, target: Stack, decls: Iterable[Declaration], skip: frozenset[str] = frozenset()) -> Stack:
    """``base`` with ``target``'s value for every declaration not in ``skip``; the environment stays base's."""
    raw = dict(base.raw)
    secret_keys = set(base.secret_keys)
    profile = base.cfg.profile.model_dump(by_alias=True, mode="json")
    target_profile = target.cfg.profile.model_dump(by_alias=True, mode="json")
    for decl in decls:
        if decl.key in skip:
            continue
        if decl.is_profile:
            field_name = decl.key.removeprefix("profile.")
            profile[field_name] = target_profile[field_name]
        elif decl.key in target.raw:
            raw[decl.key] = target.raw[decl.key]
            secret_keys.discard(decl.key)
            if decl.key in target.secret_keys:
                secret_keys.add(decl.key)
        else:
            raw.pop(decl.key, None)
            secret_keys.discard(decl.key)
    raw[PROFILE_KEY] = json.dumps(profile)
    return Stack(base.name, base.cfg, raw, frozenset(secret_keys))


class Renderer:
    """Renders the stacks of one project and counterfactual configs in a scratch folder.

    Renders are remembered by stack and config: reuse one Renderer across diffs only while the program's code
    stays the same.
    """

    def __init__(self, project: Project, rendered: Mapping[str, Plan] | None = None):
        self.project = project
        self.rendered = dict(rendered or {})
        self._counterfactuals: dict[tuple[Any, ...], tuple[Plan, EstateConfig]] = {}

    def plan(self, stack: str) -> Plan:
        if stack not in self.rendered:
            self.rendered[stack] = render(self.project, stack)
        return self.rendered[stack]

    def counterfactual(self, stack: Stack, disguise: str | None = None) -> tuple[Plan, EstateConfig]:
        """Render ``stack.raw`` as stack ``stack.name``: config that exists in no file.

        With ``disguise``, the program gets the model of that config with everything it derives computed
        first, and then reports ``disguise`` as its environment: only code outside the model sees it.
        Raises ConfigError when the model rejects the config.
        """
        key = (stack.name, tuple(sorted(stack.raw.items())), stack.secret_keys, disguise)
        if key not in self._counterfactuals:
            self._counterfactuals[key] = self._render_counterfactual(stack, disguise)
        return self._counterfactuals[key]

    def _render_counterfactual(self, stack: Stack, disguise: str | None) -> tuple[Plan, EstateConfig]:
        with tempfile.TemporaryDirectory(prefix="caas-diff-") as scratch:
            # The other stack files come along: rendering an environment checks it against the shared stack.
            for name in self.project.stacks():
                if name != stack.name:
                    shutil.copyfile(self.project.stack_file(name), Path(scratch) / f"Pulumi.{name}.yaml")
            path = Path(scratch) / f"Pulumi.{stack.name}.yaml"
            config = {k: {"secure": v} if k in stack.secret_keys else model._decode(v) for k, v in stack.raw.items()}
            path.write_text(yaml.safe_dump({"config": config}, sort_keys=True), encoding="utf-8")
            ghost = Project(Path(scratch), self.project.name, self.project.program)
            try:
                cfg, _, _ = ghost.load(stack.name)
                if disguise is None:
                    return render(ghost, stack.name), cfg
                with _program_model(_disguised(cfg, disguise)), _environment_tables(cfg.environment, disguise):
                    return render(ghost, stack.name), cfg
            except model.ConfigError as error:
                where = f"Pulumi.{stack.name}.yaml (counterfactual)"
                raise model.ConfigError([p.replace(ghost.label(stack.name), where) for p in error.problems]) from None


def _disguised(cfg: EstateConfig, environment: str) -> EstateConfig:
    """``cfg`` reporting ``environment`` as its environment field, whose specs (``caas.specs.derive``: names,
    tags, data, defaults keyed by environment ...) are those derived for its own environment; only the
    environment labels the components read (``Site.environment``, the Kubernetes layer's) say ``environment``."""
    spec = derive(cfg)
    cfg.profile  # noqa: B018 - computed now, so the copy keeps the own environment's profile
    copy = cfg.model_copy(update={"environment": environment})
    seen = cast(Environment, environment)  # the disguise is one of the environments
    layer = replace(spec.kubernetes, environment=seen) if spec.kubernetes is not None else None
    derive.seed(copy, replace(spec, site=replace(spec.site, environment=environment), kubernetes=layer))  # type: ignore[attr-defined]
    return copy


@contextmanager
def _program_model(cfg: EstateConfig) -> Iterator[None]:
    """The program (``__main__.py``) loads its model with ``caas.config.load()``; hand it ``cfg`` instead."""
    original = model.load
    model.load = lambda: cfg
    try:
        yield
    finally:
        model.load = original


# The model: the stack config and what is derived from it. Tables keyed by environment in these modules are
# per-environment defaults the model declares (e.g. retention or a partner's role per environment).
MODEL_MODULES = ("caas.config", "caas.model", "caas.profiles", "caas.sections", "caas.specs")
ENVIRONMENT_KEYS = frozenset({"shared", *model.ENVIRONMENTS})


@contextmanager
def _environment_tables(own: str, seen_as: str) -> Iterator[None]:
    """While the program renders ``own``'s model as ``seen_as``, every model table keyed by environment answers
    ``seen_as`` with ``own``'s row, so code that looks up such a table with the environment it sees still gets
    the declared value. Tables are patched in place (every importer sees it) and restored afterwards."""
    patched: list[tuple[dict[str, Any], Any]] = []
    inside = tuple(f"{name}." for name in MODEL_MODULES)
    modules = [m for n, m in sorted(sys.modules.items()) if n in MODEL_MODULES or n.startswith(inside)]
    try:
        for module in modules:
            for table in vars(module).values():
                is_table = isinstance(table, dict) and table and set(table) <= ENVIRONMENT_KEYS
                if is_table and own in table and seen_as in table and all(t is not table for t, _ in patched):
                    patched.append((table, table[seen_as]))
                    table[seen_as] = table[own]
        yield
    finally:
        for table, value in patched:
            table[seen_as] = value


# --------------------------------------------------------------------------------------------------------
# The report


@dataclass
class Report:
    a: str
    b: str
    declarations: list[Declaration]
    changes: list[Change]
    unseparated: list[str] = field(default_factory=list)  # why profile/config and model defaults are not told apart
    unexplained: list[str] = field(default_factory=list)  # declarations --explain could not isolate

    @property
    def undeclared(self) -> list[Change]:
        return [c for c in self.changes if not c.declared]

    @property
    def exit_code(self) -> int:
        return 1 if self.undeclared else 0


class DiffError(model.ConfigError):
    """The two stacks cannot be compared (a shared stack)."""


@dataclass(frozen=True)
class _Counterfactual:
    """Rendering "this environment with the other's declarations" and comparing it with the other side."""

    renderer: Renderer
    base: Stack  # rendered with the other stack's declarations; its environment stays
    target: Stack
    decls: tuple[Declaration, ...]
    against: Callable[[Plan, Normaliser], dict[Key, Change]]  # compares a counterfactual plan with the other side

    @property
    def basis(self) -> str:
        return f"{self.base.name} rendered with {self.target.name}'s declarations"

    def residue(self, skip: frozenset[str] = frozenset()) -> dict[Key, Change]:
        """What still differs with every declaration applied except those in ``skip``."""
        plan, cfg = self.renderer.counterfactual(morph(self.base, self.target, self.decls, skip))
        return self.against(plan, Normaliser.of(cfg, self.base.name))


def counterfactuals(project: Project, stack_a: str, stack_b: str) -> list[tuple[Stack, str | None]]:
    """The counterfactual renders ``diff(a, b)`` asks its renderer for first: the undeclared check (B's model as
    A) and A with B's declarations. Callers may render them ahead, e.g. in parallel, into the renderer's cache."""
    a, b = Stack.load(project, stack_a), Stack.load(project, stack_b)
    return [(Stack(a.name, b.cfg, b.raw, b.secret_keys), a.cfg.environment), (morph(a, b, declarations(a, b)), None)]


def diff(
    project: Project,
    stack_a: str,
    stack_b: str,
    *,
    renderer: Renderer | None = None,
    separate: bool = True,
    explain: bool | Iterable[str] = False,
) -> Report:
    """Compare two environment stacks and classify every difference.

    ``renderer`` may carry plans already rendered. ``separate=False`` skips the render that tells profile/config
    from model defaults (declared differences are then just "declared"; the exit status is the same).
    ``explain`` (all declarations, or a subset of their keys) names the declarations behind each difference
    at one render per declaration.
    """
    a, b = Stack.load(project, stack_a), Stack.load(project, stack_b)
    for stack in (a, b):
        if stack.cfg.is_shared:
            raise DiffError([f"{project.label(stack.name)}: caas:environment: diff compares environment stacks"])
    renderer = renderer or Renderer(project)
    plan_a, plan_b = renderer.plan(stack_a), renderer.plan(stack_b)
    norm_a, norm_b = Normaliser.of(a.cfg, a.name), Normaliser.of(b.cfg, b.name)
    keep = frozenset(_GENERATED.findall(" ".join([*a.raw.values(), *b.raw.values()]).lower())) | _constants()
    actual = compare(plan_a, norm_a, plan_b, norm_b, keep)
    decls = tuple(declarations(a, b))

    # Undeclared: B's whole model, deployed as stack A, with only code outside the model seeing A's environment.
    # Both sides are normalised alike: an environment code in a value is a name either way.
    plan, cfg = renderer.counterfactual(Stack(a.name, b.cfg, b.raw, b.secret_keys), disguise=a.cfg.environment)
    norm = Normaliser.of(cfg, a.cfg.environment, a.name, b.name)
    undeclared = compare(plan, norm, plan_b, norm, keep)

    # Profile/config or model default: A with B's declarations vs B, or else B with A's declarations vs A.
    ways = (
        _Counterfactual(renderer, a, b, decls, lambda plan, norm: compare(plan, norm, plan_b, norm_b, keep)),
        _Counterfactual(renderer, b, a, decls, lambda plan, norm: compare(plan_a, norm_a, plan, norm, keep)),
    )
    unseparated: list[str] = []
    for way in ways if separate or explain else ():
        try:
            remaining = way.residue()
        except model.ConfigError as error:
            unseparated.extend(f"{way.basis}: {p}" for p in error.problems)
            continue
        break
    else:
        way, remaining = None, None

    def source(key: Key) -> Source:
        if key in undeclared:
            return "undeclared"
        if remaining is None:
            return "declared"
        return "model default" if key in remaining else "profile/config"

    changes = [replace(c, source=source(c.key)) for c in actual.values()]
    # An undeclared difference that a declared one happens to cancel out is still reported.
    changes += [
        replace(c, source="undeclared", note=f"only seen as {a.name}") for k, c in undeclared.items() if k not in actual
    ]
    if not (separate or explain):
        unseparated = ["not attempted (--quick)"]
    report = Report(stack_a, stack_b, list(decls), changes, [] if way else unseparated)
    if explain and way is not None and remaining is not None:
        _explain(report, way, remaining, None if explain is True else set(explain))
    return report


def _explain(report: Report, way: _Counterfactual, remaining: dict[Key, Change], only: set[str] | None) -> None:
    """Leave one declaration out at a time: the differences that come back are the ones it explains."""
    by: dict[Key, list[str]] = {}
    for decl in way.decls:
        if only is not None and decl.key not in only:
            continue
        try:
            back = way.residue(frozenset({decl.key}))
        except model.ConfigError:
            report.unexplained.append(decl.key)  # the model rejects the config without it: not separable
            continue
        for key in back.keys() - remaining.keys():
            by.setdefault(key, []).append(decl.key)
    report.changes = [replace(c, declared_by=tuple(by.get(c.key, ()))) for c in report.changes]


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


def _status(change: Change) -> str:
    if not change.declared:
        return "UNDECLARED" + (f" [{change.note}]" if change.note else "")
    return f"declared ({', '.join(change.declared_by) or change.source})"


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
        rows.append((_status(c), c.kind, f"{c.type} {c.name}", c.setting or "(resource)", _show(c.a), _show(c.b)))
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
