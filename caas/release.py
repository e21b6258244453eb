"""Application releases as config changes: ``python -m caas release`` and ``python -m caas images``.

Only the estate's deploy pipeline runs ``pulumi up`` (docs/release.md). A release therefore edits one key,
``caas:kubernetes.images.<role>`` in ``Pulumi.<stack>.yaml``, with the tag AND the digest the build pushed; the
estate pipeline deploys the change once it is merged. ``promote`` copies uat's exact digest to prd.

The edit is textual and touches the lines of that one entry only, so the stack file keeps its comments, order
and layout (no round-trip YAML library needed); the result is re-read and validated with the model before it
replaces the file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from typing import get_args

import yaml

from caas import config as model
from caas import secret_names
from caas.plan import Project
from caas.sections import kubernetes as layer
from caas.specs import derive
from caas.specs import kubernetes as kspec

# Where the chart defaults are mirrored from: the repository's first segment names a registry other than Docker
# Hub when it is one of these; everything else is a Docker Hub repository (intershophub/... are Intershop's).
UPSTREAM_REGISTRIES = {"k8s": "registry.k8s.io"}
DOCKER_HUB = "docker.io"
# Intershop's repositories on Docker Hub: private, pulled with the credentials of the import job.
INTERSHOP_NAMESPACE = "intershophub"
# The Docker Hub credentials of those repositories: Key Vault secrets (set by the operator, never in a file) that
# pipelines/release/base-images.yml reads through this variable group, which `caas init` links to the vault.
DOCKERHUB_VARIABLE_GROUP = "caas-intershop-dockerhub"
DOCKERHUB_SECRETS = {"user": secret_names.DOCKERHUB_USER, "token": secret_names.DOCKERHUB_TOKEN}


def _fail(project: Project, stack: str, key: str, message: str) -> model.ConfigError:
    return model.ConfigError([f"{project.label(stack)}: {key}: {message}"])


# ---------------------------------------------------------------------------------------------------------
# Which images a stack needs


@dataclass(frozen=True)
class NeededImage:
    role: str
    image: layer.Image
    source: str | None  # the upstream reference `az acr import` copies; None: built by a release pipeline

    @property
    def target(self) -> str:
        """``<repository>:<tag>`` in the shared registry (the name the charts pull)."""
        return f"{self.image.repository}:{self.image.tag}"


def upstream(image: layer.Image) -> str:
    """The public reference a mirrored image comes from (by digest when the stack pins one)."""
    first, _, rest = image.repository.partition("/")
    registry = UPSTREAM_REGISTRIES.get(first)
    path = f"{registry}/{rest}" if registry else f"{DOCKER_HUB}/{image.repository}"
    return f"{path}@{image.digest}" if image.digest else f"{path}:{image.tag}"


def needed_images(cfg: model.EstateConfig) -> list[NeededImage]:
    """Every image the stack's releases and manifests run, from the model: the roles each enabled app's charts
    take (``layer.APP_IMAGE_ROLES``), with the stack's image or the default. Release images the stack has not
    declared yet (the layer is still off) are left out: nothing can be mirrored for them."""
    found = []
    for role in kspec.image_roles(derive(cfg).kubernetes):
        declared = cfg.kubernetes.images.get(role)  # type: ignore[call-overload]
        image = declared or layer.IMAGE_DEFAULTS.get(role)
        if image is None:
            continue
        found.append(NeededImage(role, image, None if role in layer.RELEASE_IMAGES else upstream(image)))
    return found


def images_text(needed: list[NeededImage]) -> str:
    """One line per image, tab-separated: role, target in the shared registry, upstream source (- when built)."""
    return "".join(f"{n.role}\t{n.target}\t{n.source or '-'}\n" for n in needed)


# ---------------------------------------------------------------------------------------------------------
# The one-key edit


_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_:.-]+):(?P<rest>.*)$")


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the last line belonging to the mapping entry at ``start`` (deeper lines, blanks, comments).

    Trailing blank and comment-only lines stay outside: they introduce whatever follows."""
    end = start + 1
    last = start + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if len(line) - len(line.lstrip(" ")) <= indent:
                break
            last = end + 1
        end += 1
    return last


def _child(lines: list[str], start: int, end: int, name: str) -> tuple[int, int] | None:
    """(line index, indent) of the mapping key ``name`` directly inside lines[start:end], if present."""
    depth = None
    for i in range(start, end):
        m = _KEY.match(lines[i])
        if lines[i].strip().startswith("#") or not lines[i].strip():
            continue
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        depth = indent if depth is None else depth
        if m and indent == depth and m["key"] == name:
            return i, indent
    return None


def _scalar(value: str) -> str:
    """A YAML flow scalar that reads back as exactly this string (quoted when YAML would read it otherwise)."""
    plain = bool(re.fullmatch(r"[A-Za-z0-9_./:@-]+", value)) and ": " not in value
    if plain:
        try:
            plain = yaml.safe_load(f"{{v: {value}}}") == {"v": value}
        except yaml.YAMLError:
            plain = False
    return value if plain else json.dumps(value)


def _entry(image: layer.Image) -> str:
    fields = [("repository", image.repository), ("tag", image.tag)]
    if image.digest:
        fields.append(("digest", image.digest))
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in fields) + "}"


def _comment(rest: str) -> str:
    """The trailing comment of a one-line flow entry (`` {..}  # why``), kept across edits."""
    if rest.strip().startswith("{"):
        close = rest.find("}")
        tail = rest[close + 1 :] if close >= 0 else ""
        if tail.strip().startswith("#"):
            return tail.rstrip()
    return ""


def edit_image(text: str, role: str, image: layer.Image) -> str:
    """The stack file's text with ``caas:kubernetes.images.<role>`` set to ``image`` and every other line as it was.

    Replaces the role's entry (a flow ``{...}`` line or a block mapping) by one flow line, or adds it as the last
    entry of ``images:`` (adding ``images:`` at the end of ``caas:kubernetes`` when absent). Raises ValueError
    when the file's layout is not one this edit can change safely (e.g. a flow-style ``caas:kubernetes``)."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    config = _child(lines, 0, len(lines), "config")
    if config is None:
        raise ValueError("no config: mapping")
    top = _child(lines, config[0] + 1, _block_end(lines, config[0], config[1]), "caas:kubernetes")
    if top is None:
        raise ValueError("no caas:kubernetes mapping; add it (enabled, images) first")
    k8s_line, k8s_indent = top
    if _KEY.match(lines[k8s_line])["rest"].split("#")[0].strip():  # type: ignore[index]
        raise ValueError("caas:kubernetes is written inline; write it as a block mapping to edit it")
    k8s_end = _block_end(lines, k8s_line, k8s_indent)
    images = _child(lines, k8s_line + 1, k8s_end, "images")
    if images is None:
        inner = _first_indent(lines, k8s_line + 1, k8s_end, k8s_indent + 2)
        added = [f"{' ' * inner}images:{newline}", f"{' ' * (inner + 2)}{role}: {_entry(image)}{newline}"]
        return "".join(lines[:k8s_end] + added + lines[k8s_end:])
    img_line, img_indent = images
    if _KEY.match(lines[img_line])["rest"].split("#")[0].strip():  # type: ignore[index]
        raise ValueError("caas:kubernetes.images is written inline; write one role per line to edit it")
    img_end = _block_end(lines, img_line, img_indent)
    entry = _child(lines, img_line + 1, img_end, role)
    if entry is None:
        inner = _first_indent(lines, img_line + 1, img_end, img_indent + 2)
        added = [f"{' ' * inner}{role}: {_entry(image)}{newline}"]
        return "".join(lines[:img_end] + added + lines[img_end:])
    line, indent = entry
    end = _block_end(lines, line, indent)
    comment = _comment(_KEY.match(lines[line])["rest"])  # type: ignore[index]
    replaced = f"{' ' * indent}{role}: {_entry(image)}{comment}{newline}"
    return "".join([*lines[:line], replaced, *lines[end:]])


def _first_indent(lines: list[str], start: int, end: int, default: int) -> int:
    for i in range(start, end):
        if lines[i].strip() and not lines[i].strip().startswith("#"):
            return len(lines[i]) - len(lines[i].lstrip(" "))
    return default


@dataclass(frozen=True)
class Change:
    stack_file: str
    role: str
    before: dict[str, str] | None  # as the file had it (it may not have been valid)
    after: layer.Image

    def __str__(self) -> str:
        old = "(none)" if not self.before else layer.Image.model_construct(_fields_set=None, **self.before).pinned_tag
        old = f"{self.before.get('repository')}:{old}" if self.before else old
        new = f"{self.after.repository}:{self.after.pinned_tag}"
        return f"{self.stack_file}: caas:kubernetes.images.{self.role}: {old} -> {new}"


def set_image(project: Project, stack: str, role: str, repository: str, tag: str, digest: str | None) -> Change:
    """Write ``caas:kubernetes.images.<role>`` of one stack, validated by the model; the file changes only if the
    whole stack is accepted afterwards."""
    key = f"caas:kubernetes.images.{role}"
    if role not in get_args(layer.ImageRole):
        raise _fail(project, stack, key, f"no such image role; roles: {', '.join(get_args(layer.ImageRole))}")
    path = project.stack_file(stack)
    if not path.exists():
        project.load(stack)  # the usual message naming the stacks there are
    text = path.read_text(encoding="utf-8")
    before = ((yaml.safe_load(text).get("config") or {}).get("caas:kubernetes") or {}).get("images", {}).get(role)
    raw_image = {"repository": repository, "tag": tag, **({"digest": digest} if digest else {})}
    try:
        # model_construct: the values are validated below, with the whole stack and the usual messages.
        text_after = edit_image(text, role, layer.Image.model_construct(**raw_image))  # type: ignore[arg-type]
    except ValueError as error:
        raise _fail(project, stack, key, str(error)) from None
    written = yaml.safe_load(text_after)["config"]["caas:kubernetes"]["images"][role]
    if written != raw_image:  # the edit must read back as exactly what was asked
        raise _fail(project, stack, key, f"the edit would read back as {written!r}; edit the file by hand")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text_after)
        raw, secret_keys = model.stack_file_config(temp)
        cfg = model.parse(raw, secret_keys, project.label(stack), project.name)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return Change(project.label(stack), role, before, cfg.kubernetes.images[role])  # type: ignore[index]


def promote(project: Project, source: str, target: str, role: str, expect_digest: str | None = None) -> Change:
    """Copy the exact image (repository, tag, digest) of a role from one stack to another; with ``expect_digest``
    (the pipeline's own build), refuse unless that is what the source stack runs."""
    cfg = project.load(source)[0]
    image = cfg.kubernetes.images.get(role)  # type: ignore[call-overload]
    key = f"caas:kubernetes.images.{role}"
    if image is None:
        raise _fail(project, source, key, "not set; nothing to promote")
    if image.digest is None:
        raise _fail(
            project,
            source,
            f"{key}.digest",
            f"not set; promotion copies the exact digest: release to {source} with "
            "`python -m caas release set-image ... --digest sha256:...` first",
        )
    if expect_digest is not None and image.digest != expect_digest:
        raise _fail(
            project,
            source,
            f"{key}.digest",
            f"is {image.digest}, not this release's {expect_digest}; release it to {source} first",
        )
    return set_image(project, target, role, image.repository, image.tag, image.digest)
