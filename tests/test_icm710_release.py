"""ICM 7.10 on VMs: host preparation (cloud-init), the host list the release pipeline reads, deploy.sh and
rollout.sh on fake hosts, and the release pipeline's shape."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from caas import cloud_init as ci
from caas import icm710
from caas.config import ENVIRONMENTS
from caas.plan import Plan, Project
from caas.sections.base import SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "scripts" / "icm710" / "deploy.sh"
ROLLOUT = ROOT / "scripts" / "icm710" / "rollout.sh"
PIPELINE = ROOT / "pipelines" / "release" / "icm710.yml"
SCHEMA = ROOT.parent / "shared" / "schemas" / "azure-pipelines" / "service-schema.json"
SHARE = "acc.file.core.windows.net:/acc/icm710-live"


def document(role: str, share: str | None = SHARE) -> dict[str, Any]:
    text = ci.cloud_init(
        environment="prd", system="live", role=role, share_source=share, share_path="/s", solr_disk=role == "solr"
    )
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def files(doc: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["content"] for f in doc["write_files"]}


def unit(text: str) -> dict[str, list[str]]:
    """A systemd unit as key -> values (keys repeat)."""
    result: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("["):
            key, value = line.split("=", 1)
            result.setdefault(key, []).append(value)
    return result


def commands(doc: dict[str, Any]) -> list[str]:
    return [c if isinstance(c, str) else " ".join(c) for c in doc["runcmd"]]


# ---------------------------------------------------------------------------------------------------------
# Host preparation


@pytest.mark.parametrize(
    ("role", "wanted", "unwanted"),
    [
        ("webAdapter", {"apache2", "nfs-common"}, {ci.JAVA_PACKAGE}),
        ("appServer", {ci.JAVA_PACKAGE, "nfs-common"}, {"apache2"}),
        ("solr", {ci.JAVA_PACKAGE}, {"apache2", "nfs-common"}),
    ],
)
def test_each_role_gets_its_runtime_and_every_host_time_sync_and_pull_tools(
    role: str, wanted: set[str], unwanted: set[str]
) -> None:
    """Java only where a JVM runs, httpd only on web adapters, NFS client only with a share; chrony, curl and
    jq (the registry token exchange) everywhere."""
    share = None if role == "solr" else SHARE
    packages = set(document(role, share)["packages"])
    assert wanted | {"chrony", "curl", "jq"} <= packages
    assert not unwanted & packages


@pytest.mark.parametrize("role", ["webAdapter", "appServer", "solr"])
def test_the_service_account_exists_before_anything_is_chowned_to_it(role: str) -> None:
    """Group and user get the fixed id (NFS matches numeric ids across hosts) before the directories are
    created and handed to them; the admin user is left alone (no `users:` key)."""
    doc = document(role, None if role == "solr" else SHARE)
    cmds = commands(doc)
    group = next(i for i, c in enumerate(cmds) if "groupadd" in c)
    user = next(i for i, c in enumerate(cmds) if "useradd" in c)
    chown = next(i for i, c in enumerate(cmds) if c.startswith("chown "))
    assert group < user < chown
    assert f"--gid {ci.SERVICE_ID} intershop" in cmds[group]
    assert f"--uid {ci.SERVICE_ID}" in cmds[user]
    assert "users" not in doc
    owned = doc["runcmd"][chown]
    assert owned[1] == "intershop:intershop"
    assert ci.RELEASES in owned
    assert ci.LOG_DIR in owned
    assert (f"{ci.SOLR_HOME}/data" in owned) == (role == "solr")


def test_the_share_mount_is_unchanged_and_mounted_before_directories_are_made() -> None:
    """The NFS export is still mounted at IS_SHARE with Microsoft's options, re-mounted after nfs-common."""
    doc = document("appServer")
    assert doc["mounts"] == [[SHARE, "/s", "nfs", ci.NFS_OPTIONS, "0", "0"]]
    cmds = commands(doc)
    assert cmds.index("mount -a") < next(i for i, c in enumerate(cmds) if c.startswith("chown "))
    assert "IS_SHARE=/s\n" in files(doc)[ci.ENVIRONMENT_FILE]


def test_limits_and_chrony_follow_the_documented_values() -> None:
    """pam limits for the service user (>= Solr's 65000), chrony on the Hyper-V PTP clock, and chrony restarted."""
    doc = document("webAdapter")
    written = files(doc)
    limits = {tuple(line.split()[:3]): int(line.split()[3]) for line in written[ci.LIMITS_FILE].splitlines()}
    for item in ("nofile", "nproc"):
        assert limits[("intershop", "soft", item)] == limits[("intershop", "hard", item)] >= 65000
    assert re.search(r"^refclock PHC /dev/ptp_hyperv\b", written[ci.CHRONY_FILE], re.M)
    assert "systemctl restart chrony" in commands(doc)


@pytest.mark.parametrize(
    ("role", "name", "user", "mount"),
    [
        ("webAdapter", "icm-wa.service", None, "/s"),  # httpd drops to the service user itself
        ("appServer", "icm-as@.service", "intershop", "/s"),
        ("solr", "icm-solr.service", "intershop", ci.SOLR_HOME),
    ],
)
def test_units_start_from_current_with_the_limits_and_are_enabled(
    role: str, name: str, user: str | None, mount: str
) -> None:
    """Each role's unit runs from the `current` release, only once one exists, after its mount, with the same
    limits as the login sessions; cloud-init enables the instance deploy.sh restarts."""
    doc = document(role, None if role == "solr" else SHARE)
    spec = unit(files(doc)[f"/etc/systemd/system/{name}"])
    assert spec["ConditionPathExists"] == [ci.CURRENT]
    assert spec["ExecStart"][0].split()[0].startswith((ci.CURRENT, "/usr/sbin/apache2"))
    assert ci.CURRENT in spec["ExecStart"][0]
    assert spec["RequiresMountsFor"] == [mount]
    assert spec.get("User") == ([user] if user else None)
    assert spec["LimitNOFILE"] == [str(ci.NOFILE)]
    assert spec["EnvironmentFile"] == [ci.ENVIRONMENT_FILE]
    enable = next(c for c in doc["runcmd"] if c[:2] == ["systemctl", "enable"])
    assert enable[2:] == ci.ROLE_UNITS[role]
    # deploy.sh restarts and checks exactly these units.
    out = _bash(f'source "{DEPLOY}"; units_of {role}')
    assert out.split() == ci.ROLE_UNITS[role]


def test_web_adapters_free_port_80_from_the_distribution_site() -> None:
    """Ubuntu's apache2.service would hold port 80: it is disabled where the web adapter runs, nowhere else."""
    assert "systemctl disable --now apache2.service" in commands(document("webAdapter"))
    assert not any("apache2" in c for c in commands(document("appServer")))


def test_oras_is_verified_before_it_is_unpacked() -> None:
    """The pinned ORAS tarball's sha256 is checked, and extraction only follows a passing check."""
    line = next(c for c in commands(document("appServer")) if "oras" in c)
    assert f"/v{ci.ORAS_VERSION}/oras_{ci.ORAS_VERSION}_linux_amd64.tar.gz" in line
    assert re.fullmatch(r"[0-9a-f]{64}", ci.ORAS_SHA256)
    assert line.index("sha256sum -c") < line.index("tar -xzf")
    assert "&& tar" in line


def test_rendered_hosts_carry_the_preparation(plans: dict[str, Plan]) -> None:
    """The component passes each VM its role, so a rendered app server gets Java and its unit."""
    vm = plans["uat"].one("azure-native:compute:VirtualMachine", "icm710-edit-as1").inputs
    doc = yaml.safe_load(base64.b64decode(vm["osProfile"]["customData"]))
    assert ci.JAVA_PACKAGE in doc["packages"]
    assert "/etc/systemd/system/icm-as@.service" in files(doc)


# ---------------------------------------------------------------------------------------------------------
# python -m caas hosts


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_hosts_are_the_vms_and_nics_the_plan_registers(plans: dict[str, Plan], stack: str) -> None:
    """Every host the command lists is a rendered VM of that system and role with that NIC; web adapters (and
    only they) sit in their system's load balancer pool under the listed IP configuration."""
    plan = plans[stack]
    cfg = Project.at(ROOT).load(stack)[0]
    listed = icm710.hosts(cfg)
    vms = {
        r.inputs["vmName"]: (r.inputs["tags"]["icm-system"], r.inputs["tags"]["icm-role"])
        for r in plan.find("azure-native:compute:VirtualMachine")
        if "icm-role" in r.inputs.get("tags", {})
    }
    assert {h.vm: (h.system, h.role) for h in listed} == vms
    nics = {r.inputs["networkInterfaceName"]: r.inputs["ipConfigurations"][0] for r in plan.find(NIC)}
    lbs = {r.inputs["loadBalancerName"] for r in plan.find("azure-native:network:LoadBalancer")}
    for host in listed:
        config = nics[host.nic]
        assert config["name"] == host.ip_config
        pools = [p["id"] for p in config.get("loadBalancerBackendAddressPools") or []]
        if host.backend_pool is None:
            assert pools == []
        else:
            assert host.load_balancer in lbs
            assert pools[0].endswith(f"/loadBalancers/{host.load_balancer}/backendAddressPools/{host.backend_pool}")
    assert {h.resource_group for h in listed} == {plan.outputs["resourceGroupName"]}
    assert [h.system for h in icm710.hosts(cfg, "edit")] == ["edit"] * sum(h.system == "edit" for h in listed)


NIC = "azure-native:network:NetworkInterface"


def test_hosts_command_formats_and_refuses_a_stack_without_icm710() -> None:
    """JSON for people and tools, TSV in the column order rollout.sh reads; exit 2 where there are no hosts."""
    from caas.cli import main

    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "caas", "hosts", "--stack", "int", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    listed = json.loads(run.stdout)
    assert {h["system"] for h in listed} == set(SYSTEMS)
    assert main(["hosts", "--stack", "int", "--dir", str(ROOT / "examples" / "globex")]) == 2
    tsv = icm710.as_tsv(icm710.hosts(Project.at(ROOT).load("int")[0], "live"))
    read = re.search(r"read -r ([a-z_ ]+) <&3", ROLLOUT.read_text())
    assert read is not None
    assert {len(line.split("\t")) for line in tsv.splitlines()} == {len(read[1].split())} == {len(icm710.COLUMNS)}


# ---------------------------------------------------------------------------------------------------------
# deploy.sh on a fake host


def _bash(script: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Any]:
    """A fake Solr host: two releases, `current` on the newer, stubbed systemctl/curl that log their calls."""
    home = tmp_path / "opt" / "intershop" / "icm"
    for version in ("1.0", "2.0"):
        (home / "releases" / version).mkdir(parents=True)
    (tmp_path / "etc" / "intershop").mkdir(parents=True)
    (tmp_path / "etc" / "intershop" / "environment").write_text("ICM_ROLE=solr\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    _stub(bin_dir, "systemctl", f'echo "systemctl $*" >> "{calls}"')
    _stub(bin_dir, "curl", f'echo "curl $*" >> "{calls}"; exit "${{CURL_EXIT:-0}}"')
    env = {"ICM_ROOT": str(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}", "HEALTH_INTERVAL": "0"}
    return {"home": home, "env": env, "calls": calls}


def _deploy(host: dict[str, Any], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY), *args], capture_output=True, text=True, env={**os.environ, **host["env"], **env}
    )


def test_scripts_are_valid_bash() -> None:
    """Both scripts parse, and both run under errexit/nounset/pipefail."""
    for script in (DEPLOY, ROLLOUT):
        subprocess.run(["bash", "-n", str(script)], check=True)
        assert "set -euo pipefail" in script.read_text()


def test_activate_keeps_the_replaced_release_as_previous_and_rollback_returns_to_it(host: dict[str, Any]) -> None:
    """Switching to 2.0 from 1.0 leaves `previous` -> 1.0; rollback points `current` at 1.0, restarts and
    health-checks Solr, and reports ok on its last line."""
    home = host["home"]
    _bash(f'source "{DEPLOY}"; activate 1.0; activate 2.0', host["env"])
    assert os.readlink(home / "current").endswith("releases/2.0")
    assert os.readlink(home / "previous").endswith("releases/1.0")
    result = _deploy(host, "rollback")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "ICM710-RESULT: ok"
    assert os.readlink(home / "current").endswith("releases/1.0")
    assert not (home / "previous").exists()
    calls = host["calls"].read_text()
    assert "systemctl restart icm-solr.service" in calls
    assert "/solr/admin/info/system" in calls


def test_a_second_rollback_and_an_unhealthy_one_report_failure(host: dict[str, Any]) -> None:
    """Without a previous release there is nothing to roll back to; a failing probe fails the rollback. Both
    end with the failure marker the pipeline reads (Run Command hides exit codes)."""
    assert _deploy(host, "rollback").stdout.splitlines()[-1] == "ICM710-RESULT: failed"
    _bash(f'source "{DEPLOY}"; activate 1.0; activate 2.0', host["env"])
    failed = _deploy(host, "rollback", CURL_EXIT="7", HEALTH_TIMEOUT="1", HEALTH_INTERVAL="1")
    assert failed.returncode != 0
    assert failed.stdout.splitlines()[-1] == "ICM710-RESULT: failed"


def test_deploy_refuses_bad_input_before_touching_the_host(host: dict[str, Any]) -> None:
    """A version that is not a single directory name, a tag instead of a digest, or a missing argument stop
    the script before anything is pulled or switched."""
    digest = "sha256:" + "a" * 64
    for args in (
        ["deploy", "cr.example", "acme/icm710", "../x", digest],
        ["deploy", "cr.example", "acme/icm710", "3.0", "latest"],
        ["deploy", "cr.example", "acme/icm710", "3.0"],
    ):
        result = _deploy(host, *args)
        assert result.returncode != 0
    assert not (host["home"] / "current").exists()
    assert not host["calls"].exists()


def test_prune_keeps_current_and_previous_whatever_their_age(host: dict[str, Any]) -> None:
    """Old releases go, but never the two a rollback needs."""
    home = host["home"]
    for version in ("3.0", "4.0", "5.0"):
        (home / "releases" / version).mkdir()
    _bash(f'source "{DEPLOY}"; activate 1.0; activate 2.0; KEEP_RELEASES=1 prune', host["env"])
    assert sorted(p.name for p in (home / "releases").iterdir()) == sorted(["1.0", "2.0", newest(home)])


def newest(home: Path) -> str:
    return max((home / "releases").iterdir(), key=lambda p: p.stat().st_mtime).name


# ---------------------------------------------------------------------------------------------------------
# rollout.sh with a fake az


def test_rollout_drains_one_host_at_a_time_and_stops_at_the_first_failure(tmp_path: Path) -> None:
    """Web adapter: out of the pool, deployed, back in; then the failing app server is rolled back and the
    rollout stops before the Solr host. Non-pooled hosts never touch the load balancer."""
    cfg = Project.at(ROOT).load("int")[0]
    hosts = tmp_path / "hosts.tsv"
    hosts.write_text(icm710.as_tsv(icm710.hosts(cfg, "edit")))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "az.log"
    # The app server's deploy fails its health check; everything else succeeds.
    _stub(
        bin_dir,
        "az",
        f'echo "$*" >> "{log}"\n'
        'if [[ "$*" == *run-command* ]]; then\n'
        '  if [[ "$*" == *-as1* && "$*" == *" deploy "* ]]; then echo "ICM710-RESULT: failed"; '
        'else echo "ICM710-RESULT: ok"; fi\nfi',
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DRAIN_SECONDS": "0"}
    digest = "sha256:" + "b" * 64
    result = subprocess.run(
        ["bash", str(ROLLOUT), str(hosts), "cr.example", "acme/icm710", "3.0", digest],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    calls = log.read_text().splitlines()
    steps = [
        ("address-pool remove", "nic-acme-int-weu-icm710-edit-wa1"),
        ("run-command", "vm-acme-int-weu-icm710-edit-wa1"),
        ("address-pool add", "nic-acme-int-weu-icm710-edit-wa1"),
        ("run-command", "vm-acme-int-weu-icm710-edit-as1"),
        ("run-command", "vm-acme-int-weu-icm710-edit-as1"),
    ]
    assert len(calls) == len(steps)
    for call, (verb, target) in zip(calls, steps, strict=True):
        assert verb in call
        assert target in call
    assert calls[3].endswith(f"deploy cr.example acme/icm710 3.0 {digest} --query value[0].message --output tsv")
    assert " rollback " in calls[4]
    assert "solr1" not in log.read_text()


# ---------------------------------------------------------------------------------------------------------
# The pipeline


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _templates(doc: Any, base: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every `template:` reference in a document (path resolved, parameters passed)."""
    found = []
    if isinstance(doc, dict):
        if isinstance(doc.get("template"), str) and not doc["template"].startswith("/"):
            found.append((base / doc["template"], doc.get("parameters") or {}))
        for value in doc.values():
            found += _templates(value, base)
    elif isinstance(doc, list):
        for value in doc:
            found += _templates(value, base)
    return found


def test_pipeline_files_validate_and_their_templates_resolve() -> None:
    """Every release/icm710 file passes the Azure Pipelines schema; each local template exists and declares
    every parameter passed to it (the /delivery.yml variables template is the estate engineer's)."""
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    paths = [PIPELINE, *PIPELINE.parent.glob("templates/icm710-*.yml")]
    for path in paths:
        doc = _load(path)
        assert not list(validator.iter_errors(doc)), path
        for target, passed in _templates(doc, path.parent):
            declared = {p["name"] for p in _load(target).get("parameters", [])}
            assert set(passed) <= declared, (path, target)


def _jobs_of(stage: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs a stage gets from its environment template, with the template's parameters substituted."""
    (ref,) = stage["jobs"]
    text = (PIPELINE.parent / ref["template"]).read_text()
    for key, value in ref["parameters"].items():
        text = text.replace("${{ parameters." + key + " }}", str(value))
    return yaml.safe_load(text)["jobs"]


def test_environments_in_order_edit_before_live_and_prd_on_the_gated_environment() -> None:
    """Build, then int -> uat -> prd, each waiting for the previous one; in each, a deployment job for edit and
    one for live that depends on edit, both on the stack's Azure DevOps environment (prd: environmentPrd)."""
    stages = {s["stage"]: s for s in _load(PIPELINE)["stages"]}
    assert list(stages) == ["Build", *ENVIRONMENTS]
    previous = "Build"
    for stack in ENVIRONMENTS:
        stage = stages[stack]
        depends = stage["dependsOn"] if isinstance(stage["dependsOn"], list) else [stage["dependsOn"]]
        assert previous in depends
        assert "Build" in depends
        previous = stack
        jobs = {j["deployment"]: j for j in _jobs_of(stage)}
        assert list(jobs) == ["edit", "live"]
        assert jobs["live"]["dependsOn"] == "edit"
        wanted = "${{ variables.environment" + stack.capitalize() + " }}"
        assert {j["environment"] for j in jobs.values()} == {wanted}
        for system, job in jobs.items():
            (step,) = job["strategy"]["runOnce"]["deploy"]["steps"]
            assert step["parameters"] == {"stack": stack, "system": system, "version": "${{ parameters.version }}"}
    assert "digest" in stages["prd"]["variables"]["digest"]


def test_a_system_rolls_out_through_the_serial_script_with_the_model_host_list() -> None:
    """The rollout steps build the host list with `caas hosts` for that stack and system and hand it to
    rollout.sh (serial by construction) with the digest pushed in Build; nothing runs `pulumi`."""
    steps = _load(PIPELINE.parent / "templates" / "icm710-rollout.yml")["steps"]
    listing = next(s for s in steps if "script" in s)["script"]
    assert "-m caas hosts --stack ${{ parameters.stack }} --system ${{ parameters.system }} --format tsv" in listing
    rollout = next(s for s in steps if s.get("task") == "AzureCLI@2")["inputs"]
    assert rollout["scriptPath"] == "scripts/icm710/rollout.sh"
    assert '"$(digest)"' in rollout["arguments"]
    for path in [PIPELINE, *PIPELINE.parent.glob("templates/icm710-*.yml"), DEPLOY, ROLLOUT]:
        assert "pulumi" not in path.read_text().lower().replace("no `pulumi up` here", "")


def test_the_agent_pins_the_same_oras_as_the_hosts() -> None:
    """One ORAS version and checksum on agents and hosts."""
    text = (PIPELINE.parent / "templates" / "icm710-oras.yml").read_text()
    assert ci.ORAS_URL in text
    assert ci.ORAS_SHA256 in text
