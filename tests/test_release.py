"""Application releases: image digests in the model and the charts, the one-key stack edits, the image list, and
the release pipelines' shape (docs/release.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import assert_reported, problems, set_key

from caas import release
from caas.cli import main
from caas.plan import Project
from caas.sections import kubernetes as layer

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = ROOT / "pipelines" / "release"
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


# -- model -------------------------------------------------------------------------------------------------


def test_prd_requires_the_digest_of_release_images() -> None:
    """A prd release image without digest names its digest key; uat (pre-production) accepts a tag alone."""

    def drop(data: dict[str, Any]) -> None:
        del data["caas:kubernetes"]["images"]["iom"]["digest"]

    assert_reported("prd", drop, "caas:kubernetes.images.iom.digest", "required in prd")
    assert problems("uat", drop) == []


def test_digests_are_checked() -> None:
    """A digest is sha256:<64 hex>; roles whose operator reads the tag as a version refuse one."""
    assert_reported(
        "prd",
        set_key("kubernetes.images.iom", {"repository": "acme/iom", "tag": "1", "digest": "sha256:1"}),
        "caas:kubernetes.images.iom.digest",
        "sha256",
    )
    solr = set_key("kubernetes.images.solr", {"repository": "library/solr", "tag": "9.8.1", "digest": DIGEST})
    assert_reported("uat", solr, "caas:kubernetes.images.solr.digest", "pin the tag")


def test_prd_cannot_drop_the_digest_rule() -> None:
    """requireImageDigests is one of prd's non-negotiable profile settings."""
    assert_reported(
        "prd", set_key("profile", {"requireImageDigests": False}), "caas:profile.requireImageDigests", "cannot weaken"
    )


def _releases(plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs["values"] for r in plan.find("kubernetes:helm.sh/v3:Release")}


def test_charts_pull_the_digest(example_plans) -> None:
    """Charts that concatenate repository:tag get `<tag>@<digest>`; IOM's chart puts its tag into a label, so it
    keeps the bare tag (the registry lock holds the digest)."""
    cfg = Project.at(ROOT / "examples" / "globex").load("prd")[0]
    images = cfg.kubernetes.images
    values = _releases(example_plans["prd"])
    as_image = values["icm-live"]["icm-as"]["image"]
    assert as_image["tag"] == f"{images['icmAs'].tag}@{images['icmAs'].digest}"
    pwa = next(v for k, v in values.items() if k.startswith("pwa"))
    assert pwa["image"]["tag"] == f"{images['pwaSsr'].tag}@{images['pwaSsr'].digest}"
    assert pwa["cache"]["image"]["tag"] == f"{images['pwaNginx'].tag}@{images['pwaNginx'].digest}"
    iom = next(v for k, v in values.items() if k.startswith("iom"))
    assert iom["image"]["tag"] == images["iom"].tag


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        if isinstance(node.get("repository"), str) and isinstance(node.get("tag"), str):
            return [f"{node['repository']}:{node['tag']}"]
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize(("folder", "stack"), [(".", "prd"), ("examples/globex", "prd")])
def test_images_are_the_ones_the_plan_runs(folder, stack, plans, example_plans) -> None:
    """`caas images` lists exactly the images the rendered plan's releases and pods pull from the registry."""
    plan = (plans if folder == "." else example_plans)[stack]
    cfg = Project.at(ROOT / folder).load(stack)[0]
    needed = {n.target for n in release.needed_images(cfg)}
    pulled = set()
    for r in plan.resources:
        if r.type.startswith("kubernetes:") and r.type != "kubernetes:core/v1:Secret":
            for s in _strings(r.inputs):
                head, sep, ref = s.partition(".azurecr.io/")
                if sep and "/" not in head:
                    pulled.add(ref.split("@")[0])
    assert pulled == needed


def test_images_name_their_upstream() -> None:
    """Built images have no source; defaults come from Docker Hub, k8s/ ones from the Kubernetes registry."""
    cfg = Project.at(ROOT).load("prd")[0]
    lines = [line.split("\t") for line in release.images_text(release.needed_images(cfg)).splitlines()]
    by_role = {role: (target, source) for role, target, source in lines}
    assert by_role["iom"][1] == "-"
    assert by_role["iomDbaccount"][1] == "docker.io/intershophub/iom-dbaccount:2.0.0"
    assert by_role["pause"] == ("k8s/pause:3.10", "registry.k8s.io/pause:3.10")


# -- the one-key edit -------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.shared.yaml", "Pulumi.uat.yaml", "Pulumi.prd.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _changed(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_set_image_changes_one_line(folder: Path, capsys) -> None:
    """set-image rewrites only the role's line, and the file reads back with the new tag and digest."""
    path = folder / "Pulumi.uat.yaml"
    before = path.read_text()
    code = main(["release", "set-image", "--dir", str(folder), "--stack", "uat", "--role", "pwaSsr",
                 "--repository", "acme/pwa-ssr", "--tag", "5.3.0", "--digest", DIGEST])  # fmt: skip
    assert code == 0
    changed = _changed(before, path.read_text())
    assert [old.split(":")[0].strip() for old, _ in changed] == ["pwaSsr"]
    images = yaml.safe_load(path.read_text())["config"]["caas:kubernetes"]["images"]
    assert images["pwaSsr"] == {"repository": "acme/pwa-ssr", "tag": "5.3.0", "digest": DIGEST}
    assert "-> acme/pwa-ssr:5.3.0@" + DIGEST in capsys.readouterr().out


def test_edit_keeps_comments_and_quotes_what_yaml_would_misread() -> None:
    """A block-style entry becomes one flow line, its siblings and comments stay; '1.10' stays a string."""
    text = (
        "config:\n  caas:kubernetes:  # layer\n    enabled: true\n    images:\n"
        "      iom:\n        repository: acme/iom  # built by CI\n        tag: old\n"
        "      pwaSsr: {repository: acme/pwa-ssr, tag: '1'}  # keep me\n  caas:other: 1\n"
    )
    out = release.edit_image(text, "iom", layer.Image(repository="acme/iom", tag="1.10", digest=DIGEST))
    out = release.edit_image(out, "pwaSsr", layer.Image(repository="acme/pwa-ssr", tag="2"))
    assert yaml.safe_load(out)["config"]["caas:kubernetes"]["images"]["iom"]["tag"] == "1.10"
    assert '      pwaSsr: {repository: acme/pwa-ssr, tag: "2"}  # keep me\n' in out
    assert out.startswith("config:\n  caas:kubernetes:  # layer\n")
    assert out.endswith("  caas:other: 1\n")


def test_set_image_refuses_bad_input(folder: Path, capsys) -> None:
    """A bad digest, an unknown role and a digest-less prd release image are refused; the file is untouched."""
    before = {p.name: p.read_text() for p in folder.glob("Pulumi.*.yaml")}
    base = ["release", "set-image", "--dir", str(folder), "--repository", "acme/iom", "--tag", "5.2.0"]
    assert main([*base, "--stack", "uat", "--role", "iom", "--digest", "sha256:xyz"]) == 2
    assert main([*base, "--stack", "uat", "--role", "nope"]) == 2
    assert main([*base, "--stack", "prd", "--role", "iom"]) == 2
    err = [line[line.index("Pulumi.") :] for line in capsys.readouterr().err.splitlines()]
    assert any(line.startswith("Pulumi.uat.yaml: caas:kubernetes.images.iom.digest: ") for line in err), err
    assert any(line.startswith("Pulumi.uat.yaml: caas:kubernetes.images.nope: no such image role") for line in err)
    assert any(line.startswith("Pulumi.prd.yaml: caas:kubernetes.images.iom.digest: required in prd") for line in err)
    assert {p.name: p.read_text() for p in folder.glob("Pulumi.*.yaml")} == before


def test_promote_copies_the_exact_digest(folder: Path) -> None:
    """promote writes uat's repository, tag and digest into prd's line for that role, nothing else."""
    project = Project.at(folder)
    release.set_image(project, "uat", "iom", "acme/iom", "5.2.0", OTHER)
    before = (folder / "Pulumi.prd.yaml").read_text()
    release.promote(project, "uat", "prd", "iom", expect_digest=OTHER)
    after = (folder / "Pulumi.prd.yaml").read_text()
    assert len(_changed(before, after)) == 1
    assert project.load("prd")[0].kubernetes.images["iom"] == project.load("uat")[0].kubernetes.images["iom"]


def test_promote_refuses_without_the_tested_digest(folder: Path) -> None:
    """No digest in uat, or not this build's digest: promotion refuses and names uat's digest key."""
    project = Project.at(folder)
    with pytest.raises(Exception, match=r"Pulumi.uat.yaml: caas:kubernetes.images.iom.digest: is sha256:"):
        release.promote(project, "uat", "prd", "iom", expect_digest=OTHER)
    release.set_image(project, "uat", "iom", "acme/iom", "5.2.0", None)
    with pytest.raises(Exception, match=r"caas:kubernetes.images.iom.digest: not set; promotion copies"):
        release.promote(project, "uat", "prd", "iom")


# -- pipelines ---------------------------------------------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((PIPELINES / name).read_text())


def _walk(node: Any):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _walk(child)


def test_release_stages_and_the_gated_prd_job() -> None:
    """Build -> int -> uat -> prd; only prd is a deployment job, on the gated prd environment, after Build and uat."""
    stages = _load("templates/app-release.yml")["stages"]
    names = [s.get("template") or s["stage"] for s in stages]
    assert names == ["build.yml", "release-stage.yml", "release-stage.yml", "prd"]
    assert [s["parameters"]["stack"] for s in stages[1:3]] == ["int", "uat"]
    (job,) = stages[3]["jobs"]
    assert job["environment"] == "${{ variables.environmentPrd }}"
    assert set(stages[3]["dependsOn"]) == {"Build", "uat"}
    for name in ("templates/build.yml", "templates/release-stage.yml"):
        assert not any("deployment" in n for n in _walk(_load(name)) if isinstance(n, dict))


def test_pipelines_use_the_delivery_variables_and_never_run_up() -> None:
    """Pools and service connections come from delivery.yml; no release file runs `pulumi up` or pulumi at all."""
    for path in PIPELINES.rglob("*.yml"):
        doc = yaml.safe_load(path.read_text())
        for node in _walk(doc):
            if isinstance(node, dict) and "pool" in node:
                assert node["pool"] == {"name": "${{ variables.agentPool }}"}, path
            if isinstance(node, dict) and "azureSubscription" in node:
                # which connection by purpose: tests/test_pipelines.py (the Build stages push with the registry's)
                assert node["azureSubscription"] in (
                    "${{ variables.serviceConnection }}",
                    "${{ variables.registryServiceConnection }}",
                ), path
        assert "pulumi" not in json.dumps(doc).replace("`pulumi up`", "").lower().replace("pulumi.", ""), path


def test_app_pipelines_release_their_roles() -> None:
    """ICM, IOM and PWA release the model's release roles through the one template; the base image job imports."""
    roles = []
    for name in ("icm.yml", "iom.yml", "pwa.yml"):
        doc = _load(name)
        assert doc["variables"] == [{"template": "/delivery.yml"}]
        (stage,) = doc["stages"]
        assert stage["template"] == "templates/app-release.yml"
        roles += [i["role"] for i in stage["parameters"]["images"]]
    assert sorted(roles) == sorted(layer.RELEASE_IMAGES)
    script = json.dumps(_load("base-images.yml"))
    assert "caas images" in script
    assert "az acr import" in script
    assert "DOCKERHUB_TOKEN" in script
    assert 'echo \\"$DOCKERHUB' not in script
