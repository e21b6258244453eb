"""The partner runbooks: generated from the model, complete, current, free of placeholders and secrets."""

from __future__ import annotations

import base64
import dataclasses
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from caas import cli, datajobs
from caas import config as model
from caas.config import EstateConfig
from caas.pipeline_vars import pipeline_definitions
from caas.plan import Plan, Project
from caas.runbooks import context, generate
from caas.runbooks.exchange import fingerprint
from caas.runbooks.markdown import Outcome, Shell, Step, Ui
from caas.runbooks.sections import anchor
from caas.specs import derive
from components.roles import ROLES
from tests.conftest import EXAMPLE, ROOT, STACKS, parse, stack_data

ENVIRONMENTS = ("int", "uat", "prd")


@pytest.fixture(scope="session")
def runbooks(project: Project) -> dict[str, dict[str, str]]:
    """stack -> file name -> Markdown, freshly generated."""
    return {stack: generate(context(project, stack)) for stack in STACKS}


def text_of(files: dict[str, str]) -> str:
    return "\n".join(files.values())


@pytest.mark.parametrize("stack", STACKS)
def test_committed_runbooks_equal_fresh_ones(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """runbooks/<stack>/ holds exactly what the generator writes now (regenerate and commit after a change)."""
    folder = ROOT / "runbooks" / stack
    committed = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}
    hint = f"run `python -m caas runbook --stack {stack}` and commit"
    assert sorted(committed) == sorted(runbooks[stack]), hint
    for name, text in runbooks[stack].items():
        assert committed[name] == text, f"{name}: {hint}"


def test_generation_is_deterministic(project: Project, runbooks: dict[str, dict[str, str]]) -> None:
    """Generating again gives byte-identical files."""
    assert generate(context(project, "prd")) == runbooks["prd"]


def partner_facts(stack: str) -> list[str]:
    """What a partner must find in a stack's runbooks, read from the model independently of the generator."""
    cfg = parse(stack_data(stack), stack)
    shared = parse(stack_data("shared"), "shared")
    return [
        *_platform_facts(cfg, shared, stack),
        *_compute_facts(cfg),
        *_data_facts(cfg),
        *connectivity_facts(cfg, shared),
        *_kubernetes_facts(cfg),
    ]


def _platform_facts(cfg, shared, stack: str) -> list[str]:
    facts = [
        cfg.customer.name,
        cfg.location.primary,
        f"organization/caas-acme/{stack}",
        derive(cfg).names.resource("resource_group"),
    ]
    facts += [str(cfg.network.address_space), *derive(cfg).hostnames.values()]
    assert shared.registry
    assert shared.devops
    assert shared.build_agents
    facts += [derive(shared).names.compact("registry"), shared.devops.organization_url, *shared.devops.projects]
    facts += [shared.devops.service_connection_issuer, shared.devops.service_connection_subject]
    facts += [derive(shared).names.resource("devops_pool"), f"{derive(shared).names.compact('registry')}.azurecr.io"]
    if cfg.profile.disaster_recovery:
        facts.append(cfg.location.dr)
    for p in cfg.partners:
        facts += [p.name, p.group_object_id]
    return facts


def _compute_facts(cfg) -> list[str]:
    facts: list[str] = []
    if derive(cfg).aks_pools:
        facts += [derive(cfg).names.resource("aks"), cfg.aks.kubernetes_version, cfg.aks.maintenance_window.start_time]
        facts += [pool.vm_size for pool in derive(cfg).aks_pools.values()]
    for route in derive(cfg).public_routes:
        facts += [route.hostname, route.certificate, *map(str, cfg.public_entry.restricted_sources)]
    for system, roles in derive(cfg).icm710_hosts.items():
        for role, spec in roles.items():
            short = {"webAdapter": "wa", "appServer": "as", "solr": "solr"}[role]
            facts += [derive(cfg).names.resource("vm", f"icm710-{system}-{short}{i}") for i in range(1, spec.count + 1)]
    if cfg.icm710 is not None:
        facts.append(cfg.icm710.share_path)
    return facts


def _data_facts(cfg) -> list[str]:
    data = derive(cfg).data_model
    if data is None or cfg.monitoring is None:
        return []
    mi = data.sql_mi
    facts = [mi.name, *mi.databases.values(), f"{mi.retention_days} days", *cfg.monitoring.emails]
    facts += [data.action_group_name, *data.secrets, *derive(cfg).data_regions.values()]
    facts += [o.rpo for scenarios in data.objectives.values() for o in scenarios.values() if o.rpo]
    facts += [str(derive(cfg).data_rule["holds"]), str(derive(cfg).data_rule["copyCondition"])]
    if data.postgres is not None:
        facts.append(data.postgres.name)
    if mi.failover is not None:
        facts += [mi.failover.group_name, mi.failover.region]
    return facts


def _kubernetes_facts(cfg) -> list[str]:
    facts: list[str] = []
    for w in derive(cfg).workloads:
        facts += [w.namespace, *([w.release] if w.release else [])]
    if derive(cfg).workloads:
        facts += [f"{i.repository}:{i.tag}" for i in cfg.kubernetes.images.values()]
        facts += [cfg.kubernetes.charts.iom, cfg.kubernetes.charts.pwa_main, cfg.kubernetes.charts.ingress]
    return facts


def connectivity_facts(cfg: EstateConfig, shared: EstateConfig) -> list[str]:
    facts: list[str] = []
    service = derive(shared).sftp_service
    assert service is not None
    envs = list(service.endpoints) if cfg.is_shared else [cfg.environment] if derive(cfg).sftp_endpoint else []
    for env in envs:
        endpoint = service.endpoints[env]
        facts += [service.host, endpoint.user, endpoint.login(service.account), endpoint.container]
        facts += [str(service.housekeeping.import_days), str(service.housekeeping.export_days)]
        facts += [*map(str, service.allowed_source_ranges), *(k.comment for k in service.keys[env])]
    plan = derive(cfg).vpn_plan
    if plan is not None:
        facts += [plan.sku, *map(str, plan.azure_address_ranges), *map(str, plan.ipsec.describe().values())]
        for site in plan.sites:
            facts += [site.name, str(site.gateway_ip or site.gateway_fqdn), *map(str, site.address_prefixes)]
            facts.append(plan.key_secret_name(site.name))
    return facts


def test_sftp_key_fingerprints_are_what_ssh_keygen_prints() -> None:
    """The fingerprint a runbook lists for a key equals `ssh-keygen -lf` on it (value taken from ssh-keygen)."""
    service = derive(parse(stack_data("shared"), "shared")).sftp_service
    assert service is not None
    (key,) = service.keys["uat"]
    assert fingerprint(key) == "SHA256:8++xuXExK3M/eYix5oiicNLO/1sICOfAcgvE/zfyDQI"


@pytest.mark.parametrize("stack", STACKS)
def test_every_partner_fact_is_named(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """Each hostname, the registry, the service connection's issuer and subject, the pool... appear."""
    text = text_of(runbooks[stack])
    missing = [fact for fact in partner_facts(stack) if fact not in text]
    assert not missing, missing


PLACEHOLDERS = re.compile(
    r"<[A-Za-z][\w .-]*>"  # <org>, <your value>
    r"|\{[a-z_]+\}"  # an f-string field left unformatted
    r"|\bNone\b|\bTODO\b|\bTBD\b|\bFIXME\b|\[unknown\]|\bxxx\b|\.\.\.",
)


@pytest.mark.parametrize("stack", STACKS)
def test_no_unfilled_placeholder(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """No template field, Python None, TODO or ellipsis is left for the reader to fill in."""
    for name, text in runbooks[stack].items():
        assert not PLACEHOLDERS.findall(text), (name, PLACEHOLDERS.findall(text))


@pytest.mark.parametrize("stack", STACKS)
def test_commands_are_valid_shell(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """Every bash block of a stack's runbooks parses (`bash -n`): quoting and line continuations are right."""
    blocks = re.findall(r"```bash\n(.*?)```", text_of(runbooks[stack]), flags=re.S)
    assert blocks
    script = "\n".join(f"{{\n{block}}}" for block in blocks)
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_example_customer_runbooks_are_complete(stack: str) -> None:
    """The ICM 11 customer (AKS only, no ICM 7.10 hosts, no SFTP or VPN) gets runbooks without placeholders."""
    files = generate(context(Project.at(EXAMPLE), stack))
    cfg = parse_example(stack)
    assert not PLACEHOLDERS.findall(text_of(files))
    assert all(host in text_of(files) for host in derive(cfg).hostnames.values())
    assert "ICM 7.10 hosts" not in text_of(files)
    assert "data-exchange.md" not in files


def parse_example(stack: str) -> EstateConfig:
    raw, secret_keys = model.stack_file_config(str(EXAMPLE / f"Pulumi.{stack}.yaml"))
    return model.parse(raw, secret_keys, f"Pulumi.{stack}.yaml")


def test_runbooks_never_print_a_secret(project: Project) -> None:
    """Secrets in the model (SecretStr) never reach a runbook, not even masked by a different mask."""
    data = stack_data("prd")
    data["caas:secrets"] = {"vpnSharedKey": "psk-Very-Secret-42", "smtpPassword": "smtp-Very-Secret-43"}
    cfg = parse(data, "prd", secret_keys={"caas:secrets"})
    assert cfg.secrets.vpn_shared_key is not None
    files = generate(dataclasses.replace(context(project, "prd"), cfg=cfg))
    assert "Very-Secret" not in text_of(files)


OUTPUT_COMMAND = re.compile(r"pulumi stack output (\w+) --stack ([\w./-]+)")


@pytest.mark.parametrize("stack", STACKS)
def test_stack_output_commands_name_real_outputs(
    runbooks: dict[str, dict[str, str]], plans: dict[str, Plan], stack: str
) -> None:
    """Every `pulumi stack output X --stack org/project/s` names an output stack s really exports."""
    found = OUTPUT_COMMAND.findall(text_of(runbooks[stack]))
    assert found
    for output, qualified in found:
        org, project, name = qualified.split("/")
        assert (org, project) == ("organization", "caas-acme")
        assert output in plans[name].outputs, (output, name)


NAME = re.compile(r"`([a-z]+-acme-(?:shared|int|uat|prd)-[a-z]{3}[\w-]*|[a-z]+acme(?:shared|int|uat|prd)[a-z0-9]+)`")


@pytest.mark.parametrize("stack", STACKS)
def test_physical_names_exist_in_the_plan(
    runbooks: dict[str, dict[str, str]], plans: dict[str, Plan], stack: str
) -> None:
    """Every Azure resource name a runbook states is registered by one of the stacks (the uat refresh names
    prd's), or is a copy a step makes of one (``-refresh``, ``-restored``)."""
    names = set(NAME.findall(text_of(runbooks[stack])))
    assert names
    registered = "".join(plan.to_json() for plan in plans.values())
    # What `caas init` creates next to the stacks: each environment's restore group (caas.datajobs).
    registered += "".join(f'"{datajobs.restore_group(parse(stack_data(s), s))}"' for s in ENVIRONMENTS)
    originals = {re.sub(r"-(refresh|restored)$", "", n) for n in names}
    assert not [n for n in originals if f'"{n}"' not in registered]


@pytest.mark.parametrize("stack", STACKS)
def test_checklist_links_resolve(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """Each checklist item links to a step heading that exists, and each step is in the checklist."""
    files = runbooks[stack]
    links = re.findall(r"\]\(([\w-]+\.md)#([\w-]+)\)", files["README.md"])
    steps = [
        (name, anchor(h)) for name, text in files.items() for h in re.findall(r"^### (.+)$", text, flags=re.MULTILINE)
    ]
    assert links
    assert sorted(links) == sorted(steps)


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_icm710_host_check_matches_what_cloud_init_writes(
    runbooks: dict[str, dict[str, str]], plans: dict[str, Plan], stack: str
) -> None:
    """The expected output of `cat /etc/intershop/environment` is what the host's cloud-init writes there."""
    expected = re.search(
        r"cat /etc/intershop/environment\n```\n\n\*\*Expected output:\*\*\n\n```text\n(.*?)```",
        runbooks[stack]["access.md"],
        re.S,
    )
    assert expected is not None
    host = re.search(r"virtualMachines/(vm-\S+) --auth-type AAD", runbooks[stack]["access.md"])
    assert host is not None
    vm = next(r for r in plans[stack].find("azure-native:compute:VirtualMachine") if r.inputs["vmName"] == host[1])
    document = yaml.safe_load(base64.b64decode(vm.inputs["osProfile"]["customData"]))
    files = {f["path"]: f["content"] for f in document["write_files"]}
    assert files["/etc/intershop/environment"] == expected[1]


def test_refresh_runs_in_the_receiving_environment_only(runbooks: dict[str, dict[str, str]]) -> None:
    """The uat refresh is run from uat's runbook through the refresh pipeline; prd and int have none."""
    assert "Pipelines → caas-acme-refresh-uat → Run pipeline" in runbooks["uat"]["data-and-recovery.md"]
    assert "refresh-uat" not in runbooks["prd"]["data-and-recovery.md"]
    assert "refresh-uat" not in runbooks["int"]["data-and-recovery.md"]


def test_sections_follow_the_model(runbooks: dict[str, dict[str, str]]) -> None:
    """A section is written exactly when the model holds its area: no VPN in int, no cluster in shared."""
    for stack, files in runbooks.items():
        cfg = parse(stack_data(stack), stack)
        assert ("## Systems and hostnames" in files["README.md"]) == bool(derive(cfg).hostnames)
        assert ("network.md" in files) == (derive(cfg).vpn_plan is not None)
        assert ("access.md" in files) == bool(derive(cfg).aks_pools or derive(cfg).icm710_hosts)
        assert ("data-and-recovery.md" in files) == (derive(cfg).data_model is not None)
        assert ("dns-and-certificates.md" in files) == bool(derive(cfg).public_routes)
        assert "build-and-release.md" in files
        assert "data-exchange.md" in files
        shared_only = {"build-agents.md", "bastion.md", "pipelines.md"}
        assert (shared_only <= set(files)) == cfg.is_shared
        assert (not cfg.is_shared) == (not shared_only & set(files))
    assert "network.md" not in runbooks["int"]
    assert "network.md" in runbooks["prd"]


def test_cli_writes_the_runbooks_and_removes_stale_files(
    tmp_path: Path, runbooks: dict[str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`runbook --out DIR` writes every file and deletes a section file the model no longer holds."""
    (tmp_path / "network.md").write_text("stale")
    assert cli.main(["runbook", "--stack", "uat", "--dir", str(ROOT), "--out", str(tmp_path)]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.md")}
    assert written == runbooks["uat"]
    assert sorted(capsys.readouterr().out.split()) == sorted(str(tmp_path / n) for n in runbooks["uat"])


def test_cli_reports_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken stack file: exit 2 with the file and key named, nothing written."""
    (tmp_path / "Pulumi.yaml").write_text(f"name: caas-acme\nruntime: python\nmain: {ROOT}\n")
    for stack in ("shared", "uat"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text((ROOT / f"Pulumi.{stack}.yaml").read_text())
    broken = (tmp_path / "Pulumi.uat.yaml").read_text().replace("domain: acme-shop.com", "domain: Not A Domain")
    (tmp_path / "Pulumi.uat.yaml").write_text(broken)
    assert cli.main(["runbook", "--stack", "uat", "--dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "Pulumi.uat.yaml: caas:dns.domain: " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- the step model ------------------------------------------------------------------------------------------


def test_a_step_cannot_leave_a_field_out() -> None:
    """Every field is required (no defaults), non-empty, and `who` is one of the named roles."""
    fields = dict(
        title="t",
        who="partner engineer",
        where="w",
        why="y",
        command=Shell("true"),
        expected=Outcome("ok"),
        rollback="r",
    )
    Step(**fields)  # type: ignore[arg-type]
    for missing in fields:
        with pytest.raises(TypeError, match=missing):
            Step(**{k: v for k, v in fields.items() if k != missing})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rollback is empty"):
        Step(**{**fields, "rollback": " "})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="command is empty"):
        Step(**{**fields, "command": Ui("")})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown role"):
        Step(**{**fields, "who": "somebody"})  # type: ignore[arg-type]


STEP = re.compile(r"^### \d+\. .+?(?=^### |\Z)", flags=re.S | re.M)


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_step_names_who_where_command_result_and_rollback(
    runbooks: dict[str, dict[str, str]], stack: str
) -> None:
    """Each step block of each file carries its who, where, a command (shell or UI path), its expected output or
    result, and a rollback."""
    blocks = [b for name, text in runbooks[stack].items() if name != "README.md" for b in STEP.findall(text)]
    assert blocks
    for block in blocks:
        assert re.search(r"^\*\*Who:\*\* [a-zA-Z ]+\. \*\*Where:\*\* .+\.$", block, re.M), block[:80]
        assert "```bash\n" in block or "**In the UI:** " in block, block[:80]
        assert "**Expected output:**" in block or "**Expected result:** " in block, block[:80]
        assert "**Rollback:** " in block, block[:80]


@pytest.mark.parametrize("stack", STACKS)
def test_every_file_path_a_runbook_names_exists(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """Pipeline files, scripts and docs a step points to are in the repository."""
    text = text_of(runbooks[stack])
    paths = set(re.findall(r"\b((?:pipelines|scripts|docs|caas)/[\w./-]+\.(?:yml|sh|md|py))", text))
    assert any(p.startswith("pipelines/") for p in paths)
    assert not [p for p in paths if not (ROOT / p).is_file()]


GUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


@pytest.mark.parametrize("stack", STACKS)
def test_every_role_id_and_object_id_comes_from_the_model(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """A GUID in a runbook is a built-in role id the components assign or a principal the stack files declare."""
    known = set(ROLES.values()) | set(datajobs.BUILT_IN_ROLES.values())
    declared = "".join((ROOT / f"Pulumi.{s}.yaml").read_text(encoding="utf-8") for s in STACKS)
    found = set(GUID.findall(text_of(runbooks[stack])))
    assert not [g for g in found if g not in known and g not in declared]


CIDR = re.compile(r"`(\d+\.\d+\.\d+\.\d+/\d+)`")
HOST = re.compile(r"`((?:[a-z0-9-]+\.)+acme-shop\.com)`")


@pytest.mark.parametrize("stack", STACKS)
def test_every_address_range_and_hostname_is_in_the_plans(
    runbooks: dict[str, dict[str, str]], plans: dict[str, Plan], stack: str
) -> None:
    """IP ranges (VNets, subnets, partner and egress ranges) and public hostnames a runbook states are what the
    stacks deploy, or (a gateway not switched on yet) what the model holds for them."""
    text = text_of(runbooks[stack])
    registered = "".join(plan.to_json() for plan in plans.values())
    modelled = {str(r) for s in STACKS for r in parse(stack_data(s), s).public_entry.restricted_sources}
    ranges, hosts = set(CIDR.findall(text)), set(HOST.findall(text))
    assert ranges
    assert not [r for r in ranges if f'"{r}"' not in registered and r not in modelled]
    assert not [h for h in hosts if h not in registered]


@pytest.mark.parametrize("stack", STACKS)
def test_pipelines_named_are_the_folders_definitions(runbooks: dict[str, dict[str, str]], stack: str) -> None:
    """`caas-acme-<x>` pipelines a runbook names are the ones `caas init` creates, each with the file it runs."""
    definitions = {p.name: p.path for p in pipeline_definitions(Project.at(ROOT), "acme")}
    text = text_of(runbooks[stack])
    named = set(
        re.findall(
            r"\b(caas-acme-(?:deploy|validate|fleet|certificates|base-images|icm710|icm|iom|pwa|"
            r"microservices|refresh-uat|restore))\b",
            text,
        )
    )
    assert named
    assert named <= set(definitions)
    if stack == "shared":
        assert all(f"`{name}` | `{path}`" in runbooks[stack]["pipelines.md"] for name, path in definitions.items())


def test_shared_pipeline_table_states_the_gated_environments(runbooks: dict[str, dict[str, str]]) -> None:
    """The deploy pipeline's row names exactly the environments whose profile requires a deploy approval."""
    row = next(line for line in runbooks["shared"]["pipelines.md"].splitlines() if "`caas-acme-deploy`" in line)
    gated = [s for s in STACKS if parse(stack_data(s), s).profile.deploy_approval]
    assert row.rsplit("|", 2)[1].strip() == ", ".join(f"`caas-acme-{s}`" for s in gated)
