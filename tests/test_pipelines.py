"""Azure DevOps pipelines: every file under pipelines/ validates against the Azure Pipelines schema and every
`template:` resolves with its parameters; the estate pipelines deploy shared -> int -> uat -> prd through the
customer's environments, pool and service connection, and cover every stack of every customer folder."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from caas import delivery, pipeline_vars
from caas.cli import main
from caas.plan import Project
from tests.conftest import ROOT, parse, set_key, stack_data

PIPELINES = ROOT / "pipelines"
SCHEMA = Path("shared") / "schemas" / "azure-pipelines" / "service-schema.json"
FOLDERS = [ROOT, *sorted(p.parent for p in (ROOT / "examples").glob("*/Pulumi.yaml"))]
TEMPLATE_KINDS = ("stages", "jobs", "steps", "variables")
WHOLE_PARAMETER = re.compile(r"^\$\{\{\s*parameters\.(\w+)\s*\}\}$")
PARAMETER = re.compile(r"\$\{\{\s*parameters\.(\w+)\s*\}\}")
VARIABLE = re.compile(r"\$\{\{\s*variables\.(\w+)\s*\}\}")
BOOLEAN_WORDS = {"true", "false", "y", "yes", "n", "no", "on", "off"}


def _scalar_is(kind: str, python_type: type):
    """Azure DevOps reads every YAML scalar as a string and converts it where a task input wants another type."""

    def check(_checker, instance) -> bool:
        if isinstance(instance, str):
            if kind == "boolean":
                return instance.lower() in BOOLEAN_WORDS
            return re.fullmatch(r"-?\d+(\.\d+)?" if kind == "number" else r"-?\d+", instance) is not None
        return isinstance(instance, python_type) and not isinstance(instance, bool)

    return check


@functools.cache
def validators() -> dict[str, Any]:
    """The schema, loaded once per session, with a validator per kind of file (pipeline or template)."""
    path = next((base / SCHEMA for base in (ROOT.parent, ROOT.parent.parent) if (base / SCHEMA).exists()), None)
    if path is None:
        pytest.skip(f"no ../{SCHEMA} next to the repository")
    schema = json.loads(path.read_text(encoding="utf-8"))
    checker = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
        {
            "boolean": _scalar_is("boolean", bool),
            "number": _scalar_is("number", float),
            "integer": _scalar_is("integer", int),
        }
    )
    cls = jsonschema.validators.extend(jsonschema.Draft7Validator, type_checker=checker)
    kinds = {kind: {**schema, "oneOf": [{"$ref": f"#/definitions/{kind}Template"}]} for kind in TEMPLATE_KINDS}
    return {"pipeline": cls(schema), **{kind: cls(s) for kind, s in kinds.items()}}


def load(path: Path) -> Any:
    """A pipeline file as Azure DevOps reads it: every scalar a string."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def kind(document: dict) -> str:
    """A template holds one list (plus its parameters); anything else is a pipeline."""
    keys = set(document) - {"parameters"}
    return keys.pop() if len(keys) == 1 and keys <= set(TEMPLATE_KINDS) else "pipeline"


def pipeline_files() -> list[Path]:
    return sorted(PIPELINES.rglob("*.yml"))


def references(node: Any):
    """Every ``template:`` reference in a document, with the parameters passed."""
    if isinstance(node, dict):
        if isinstance(node.get("template"), str):
            yield node["template"], node.get("parameters") or {}
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resolve(reference: str, including: Path) -> Path:
    """Azure DevOps resolves a leading slash from the repository root, anything else from the including file."""
    if reference.startswith("/"):
        return ROOT / reference.lstrip("/")
    return (including.parent / reference).resolve()


def declared(template: dict) -> dict[str, dict]:
    return {p["name"]: p for p in template.get("parameters") or []}


def substitute(node: Any, params: dict[str, Any]) -> Any:
    """Template expressions ``${{ parameters.x }}`` replaced by their values (whole values keep their type)."""
    if isinstance(node, str):
        whole = WHOLE_PARAMETER.match(node)
        if whole:
            return params[whole[1]]
        return PARAMETER.sub(lambda m: str(params[m[1]]), node)
    if isinstance(node, dict):
        return {substitute(k, params): substitute(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(item, params) for item in node]
    return node


def expand(node: Any, including: Path) -> Any:
    """A document with every template reference in a list replaced by the template's expanded content."""
    if isinstance(node, dict):
        return {k: expand(v, including) for k, v in node.items()}
    if not isinstance(node, list):
        return node
    out: list = []
    for item in node:
        if isinstance(item, dict) and set(item) <= {"template", "parameters"} and "template" in item:
            path = resolve(item["template"], including)
            template = load(path)
            params = {n: p.get("default") for n, p in declared(template).items()} | (item.get("parameters") or {})
            body = substitute({k: v for k, v in template.items() if k != "parameters"}, params)
            out += expand(body[kind(template)], path)
        else:
            out.append(expand(item, including))
    return out


def estate(name: str) -> dict[Path, dict]:
    """The estate pipelines called ``name`` (validate.yml, deploy.yml) by customer folder, expanded."""
    found = {}
    for path in sorted((PIPELINES / "estate").rglob(name)):
        document = load(path)
        (variables,) = [v["template"] for v in document["variables"] if "template" in v]
        found[resolve(variables, path).parent] = expand(document, path)
    return found


def jobs(document: dict) -> list[dict]:
    stages = document.get("stages") or [{"jobs": document.get("jobs") or []}]
    return [job for stage in stages for job in stage["jobs"]]


def steps(job: dict) -> list[dict]:
    if "deployment" in job:
        return job["strategy"]["runOnce"]["deploy"]["steps"]
    return job["steps"]


def matrix_values(job: dict, name: str) -> list[str]:
    return [leg[name] for leg in job["strategy"]["matrix"].values()]


# -- every file ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", pipeline_files() + [f / pipeline_vars.FILE for f in FOLDERS], ids=str)
def test_pipeline_file_validates_against_the_azure_pipelines_schema(path: Path) -> None:
    """Every pipeline and template file (and every generated variables template) is valid Azure Pipelines YAML."""
    document = load(path)
    errors = sorted(validators()[kind(document)].iter_errors(document), key=lambda e: list(e.absolute_path))
    best = jsonschema.exceptions.best_match(errors)
    assert best is None, f"{path.relative_to(ROOT)}: {list(best.absolute_path)}: {best.message[:300]}"


@pytest.mark.parametrize("path", pipeline_files(), ids=str)
def test_every_template_resolves_and_gets_the_parameters_it_declares(path: Path) -> None:
    """A referenced template exists; every parameter passed is declared, every one without default is passed, and
    a literal value is one the parameter allows."""
    for reference, passed in references(load(path)):
        target = resolve(reference, path)
        assert target.is_file(), f"{path.relative_to(ROOT)}: template {reference} does not exist"
        params = declared(load(target))
        assert set(passed) <= set(params), f"{reference}: undeclared {sorted(set(passed) - set(params))}"
        missing = {n for n, p in params.items() if "default" not in p} - set(passed)
        assert not missing, f"{path.relative_to(ROOT)}: {reference} needs {sorted(missing)}"
        for name, value in passed.items():
            allowed = params[name].get("values")
            if allowed and isinstance(value, str) and "$" not in value:
                assert value in allowed, f"{reference}: {name}={value} not in {allowed}"


def test_compile_time_variables_are_the_generated_ones() -> None:
    """Every ``${{ variables.x }}`` in a pipeline names a variable of delivery.yml (a typo would compile empty)."""
    generated = {v["name"] for v in load(ROOT / pipeline_vars.FILE)["variables"]}
    used = {m for path in pipeline_files() for m in VARIABLE.findall(path.read_text(encoding="utf-8"))}
    assert used
    assert used <= generated, sorted(used - generated)


@pytest.mark.parametrize("path", pipeline_files(), ids=str)
def test_azure_sign_in_uses_the_connection_of_its_purpose(path: Path) -> None:
    """Every AzureCLI task signs in through a workload-identity connection of delivery.yml chosen by purpose: the
    deployer's in the estate files, the least-privileged data connection in the data jobs, the registry connection
    (the shared stack's AcrPush identity) in the release Build stages, the deployer's in the other release steps."""
    tasks = list(_azure_cli_tasks(load(path)))
    if path.is_relative_to(PIPELINES / "data"):
        expected = lambda _stage: "dataServiceConnection"  # noqa: E731
    elif path.is_relative_to(PIPELINES / "release"):
        expected = lambda stage: "registryServiceConnection" if stage == "Build" else "serviceConnection"  # noqa: E731
    else:
        expected = lambda _stage: "serviceConnection"  # noqa: E731
    for stage, task in tasks:
        assert task["inputs"]["azureSubscription"] == "${{ variables." + expected(stage) + " }}", (path, stage)


def test_release_builds_push_with_the_registry_connection() -> None:
    """Both pushes (application images and the ICM 7.10 artifact) sit in a Build stage, so the rule above holds
    them to the registry connection; delivery.yml names it after the subject the shared stack's identity trusts."""
    builds = [
        task
        for path in (PIPELINES / "release" / "templates" / "build.yml", PIPELINES / "release" / "icm710.yml")
        for stage, task in _azure_cli_tasks(load(path))
        if stage == "Build"
    ]
    assert len(builds) == 2
    shared = Project.at(ROOT).load("shared")[0]
    values = {v["name"]: v["value"] for v in load(ROOT / pipeline_vars.FILE)["variables"]}
    assert shared.devops.service_connection_subject.endswith("/" + values["registryServiceConnection"])


def _azure_cli_tasks(node: Any, stage: str | None = None):
    """(enclosing stage name, task) of every AzureCLI task in a document."""
    if isinstance(node, dict):
        stage = node.get("stage", stage) if isinstance(node.get("stage"), str) else stage
        if str(node.get("task", "")).startswith("AzureCLI@"):
            yield stage, node
        for value in node.values():
            yield from _azure_cli_tasks(value, stage)
    elif isinstance(node, list):
        for item in node:
            yield from _azure_cli_tasks(item, stage)


def _nodes(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


# -- the estate pipelines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_delivery_variables_template_is_current(folder: Path) -> None:
    """delivery.yml equals what `python -m caas delivery --update` writes from the model."""
    assert (folder / pipeline_vars.FILE).read_text(encoding="utf-8") == pipeline_vars.render(Project.at(folder))


def test_delivery_variables_carry_the_delivery_facts() -> None:
    """The gated environments of the model are the ones the variables name, and the folder is repository-relative."""
    facts = delivery.for_project(Project.at(FOLDERS[1]))
    values = pipeline_vars.variables(facts, pipeline_vars.folder_of(Project.at(FOLDERS[1])))
    assert values["caasFolder"] == FOLDERS[1].relative_to(ROOT).as_posix()
    assert values["environmentPrd"] == facts.environment("prd").name
    assert facts.environment("prd").gated
    assert values["agentPool"] == facts.agent_pool
    assert values["stackPrefix"] == f"organization/{facts.project}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_deploy_runs_shared_int_uat_prd_in_order_in_their_environments(folder: Path) -> None:
    """One stage per stack, each waiting for the previous; each deployment job targets its stack's environment,
    so prd (and shared) deploy only through the gated environments `caas init` puts the approval on."""
    document = estate("deploy.yml")[folder]
    stages = document["stages"]
    assert [s["stage"] for s in stages] == list(delivery.STACK_ORDER)
    assert [s.get("dependsOn") or [] for s in stages] == [[], *([s] for s in delivery.STACK_ORDER[:-1])]
    facts = delivery.for_project(Project.at(folder))
    for stage in stages:
        (job,) = stage["jobs"]
        assert job["environment"] == f"${{{{ variables.environment{stage['stage'].capitalize()} }}}}"
        assert facts.environment(stage["stage"]).gated == (stage["stage"] in ("shared", "prd"))


@pytest.mark.parametrize("name", ["validate.yml", "deploy.yml", "fleet.yml"])
def test_every_estate_job_runs_on_the_hub_pool(name: str) -> None:
    """The estate is private: every job runs on the Managed DevOps Pool of the shared stack."""
    documents = [expand(load(p), p) for p in sorted((PIPELINES / "estate").rglob(name))]
    assert documents
    for job in (j for d in documents for j in jobs(d)):
        assert job["pool"] == {"name": "${{ variables.agentPool }}"}, job.get("job") or job.get("deployment")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_stack_is_previewed_and_deployed(folder: Path) -> None:
    """Each customer folder's validation previews, and its deploy runs `up` on, every stack it has."""
    stacks = set(Project.at(folder).stacks())
    validate = estate("validate.yml")[folder]
    (preview,) = [j for j in jobs(validate) if j.get("job") == "preview"]
    commands = [s["inputs"]["arguments"] for s in steps(preview) if s.get("task") == "AzureCLI@2"]
    assert commands == ["preflight $(stack)", "preview $(stack)"]
    assert set(matrix_values(preview, "stack")) == stacks
    deploy = jobs(estate("deploy.yml")[folder])
    deployed = {s["inputs"]["arguments"] for j in deploy for s in steps(j) if s.get("task") == "AzureCLI@2"}
    assert {f"up {s}" for s in stacks} <= deployed


def test_fleet_plans_every_stack_of_every_customer_folder() -> None:
    """One matrix leg per customer folder through the folder template, which plans every stack file it finds."""
    path = PIPELINES / "estate" / "fleet.yml"
    (job,) = load(path)["jobs"]
    assert {(ROOT / f).resolve() for f in matrix_values(job, "folder")} == set(FOLDERS)
    (plan,) = [s for s in job["steps"] if s.get("template", "").endswith("plan-folder.yml")]
    assert plan["parameters"]["folder"] == "$(folder)"
    default = declared(load(resolve(plan["template"], path)))["stacks"]["default"]
    assert {s for f in FOLDERS for s in Project.at(f).stacks()} <= set(default)


def test_agents_sign_in_to_kubernetes_the_way_the_program_writes_the_kubeconfig() -> None:
    """Pulumi runs inside AzureCLI@2, so kubelogin must take the az session: every stack with the in-cluster
    layer uses the azurecli login."""
    for folder in FOLDERS:
        project = Project.at(folder)
        for stack in project.stacks():
            cfg = project.load(stack)[0]
            assert not cfg.kubernetes.enabled or cfg.kubernetes.kubelogin == "azurecli", (folder, stack)


# -- the two Kubernetes phases -------------------------------------------------------------------------------


def _state(resources) -> dict:
    return {"version": 3, "deployment": {"resources": [{"urn": r.urn, "type": r.type} for r in resources]}}


def test_first_phase_only_while_the_state_has_no_in_cluster_layer(plans) -> None:
    """A first deploy (state without the in-cluster layer) runs the phase without it; once the layer is in the
    state, never again (switching it off would delete it); a stack without the layer never."""
    int_cfg = Project.at(ROOT).load("int")[0]
    full = plans["int"].resources
    azure_only = [r for r in full if not r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))]
    assert len(azure_only) < len(full)
    assert pipeline_vars.needs_phase_without_cluster(int_cfg, _state(azure_only))
    assert pipeline_vars.needs_phase_without_cluster(int_cfg, {"deployment": {}})
    assert not pipeline_vars.needs_phase_without_cluster(int_cfg, _state(full))
    shared_cfg = Project.at(ROOT).load("shared")[0]
    assert not pipeline_vars.needs_phase_without_cluster(shared_cfg, {"deployment": {}})


@pytest.mark.parametrize("value", [False, "false"])
def test_first_phase_config_copy_switches_the_layer_off(value) -> None:
    """What `pulumi config set --path caas:kubernetes.enabled false` writes into the phase-1 copy (typed or as
    text) is accepted and switches the in-cluster layer off."""
    data = stack_data("int")
    set_key("kubernetes.enabled", value)(data)
    assert parse(data, "int").kubernetes.enabled is False


def test_deploy_script_never_changes_the_committed_stack_file() -> None:
    """estate.sh is valid bash; config is only ever set in the throw-away copy (`--config-file`), `up` never gets
    `--config` (which would save into the stack file), and the run fails if the committed file changed."""
    script = PIPELINES / "scripts" / "estate.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    lines = [line.strip() for line in script.read_text(encoding="utf-8").splitlines()]
    config_sets = [line for line in lines if line.startswith("pulumi config set")]
    assert config_sets
    assert all("--config-file" in line for line in config_sets)
    ups = [line for line in lines if line.startswith("pulumi up")]
    assert len(ups) == 2
    assert not any(re.search(r"\s(-c|--config)\s", line) for line in ups)
    assert 'git diff --exit-code -- "Pulumi.$stack.yaml"' in lines


def test_every_preview_and_up_runs_the_policy_pack() -> None:
    """The pack is enforced where the estate is deployed: each `pulumi preview`/`up` names it, and the offline
    check runs with the preflight, before any sign-in to Azure matters."""
    script = (PIPELINES / "scripts" / "estate.sh").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines()]
    assert 'policy=(--policy-pack "$REPO_ROOT/policy")' in lines
    runs = [line for line in lines if line.startswith(("pulumi up", "pulumi preview"))]
    assert len(runs) == 3
    assert all('"${policy[@]}"' in line for line in runs)
    assert 'caas check --stack "$stack"' in lines
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def test_cli_answers_the_first_phase_question(tmp_path, capsys) -> None:
    """`caas delivery --needs-first-phase` reads a `pulumi stack export` file and prints true or false."""
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"deployment": {"resources": [{"type": "pulumi:providers:kubernetes"}]}}))
    assert main(["delivery", "--dir", str(ROOT), "--stack", "int", "--needs-first-phase", str(state)]) == 0
    state.write_text(json.dumps({"deployment": {"resources": []}}))
    assert main(["delivery", "--dir", str(ROOT), "--stack", "int", "--needs-first-phase", str(state)]) == 0
    assert capsys.readouterr().out.split() == ["false", "true"]


# -- sign-in for long deploys, and the customer folder --------------------------------------------------------


def test_pulumi_signs_in_through_the_kept_alive_az_session() -> None:
    """No one-shot federated token reaches Pulumi (it expires during a multi-hour SQL MI create): the task keeps
    its az session alive, hands no token to the script, and azure-native uses the SDK's Azure CLI credential."""
    (task,) = [t for _, t in _azure_cli_tasks(load(PIPELINES / "templates" / "pulumi.yml"))]
    assert task["inputs"]["keepAzSessionActive"] == "true"
    assert "addSpnToEnvironment" not in task["inputs"]
    script = (PIPELINES / "scripts" / "estate.sh").read_text(encoding="utf-8")
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    assert "ARM_OIDC_TOKEN" not in code
    assert "idToken" not in code
    assert "ARM_USE_OIDC" not in code
    assert "ARM_USE_DEFAULT_AZURE_CREDENTIAL=true" in code
    assert "AZURE_TOKEN_CREDENTIALS=AzureCLICredential" in code
    assert "ARM_SUBSCRIPTION_ID=$(az account show --query id --output tsv)" in code


def test_caas_commands_run_from_the_root_and_get_the_folder() -> None:
    """No PYTHONPATH tricks: every `python -m caas` in a pipeline passes --dir; estate.sh's wrapper runs from the
    repository root and appends the folder the template hands it."""
    calls = []
    for path in [*pipeline_files(), PIPELINES / "scripts" / "estate.sh"]:
        text = path.read_text(encoding="utf-8")
        assert "PYTHONPATH" not in text, path
        calls += [
            (path, line) for line in text.splitlines() if "-m caas " in line and not line.lstrip().startswith("#")
        ]
    assert len(calls) >= 7
    for path, line in calls:
        assert "--dir" in line, (path, line)
    (task,) = [t for _, t in _azure_cli_tasks(load(PIPELINES / "templates" / "pulumi.yml"))]
    assert task["env"]["FOLDER"] == "${{ parameters.folder }}"
    assert 'cd "$REPO_ROOT"' in (PIPELINES / "scripts" / "estate.sh").read_text(encoding="utf-8")


def test_preflight_and_first_phase_answer_from_a_customer_folder(capsys, tmp_path, monkeypatch) -> None:
    """What estate.sh runs for globex, from the repository root with --dir: the first-phase question answers."""
    monkeypatch.chdir(ROOT)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"deployment": {"resources": []}}))
    folder = str(FOLDERS[1].relative_to(ROOT))
    assert main(["delivery", "--stack", "int", "--needs-first-phase", str(state), "--dir", folder]) == 0
    assert capsys.readouterr().out.split() == ["true"]


def test_deploy_guide_quotes_the_timelines(plans, example_plans) -> None:
    """docs/deploy.md's duration table equals `caas plan --format timeline` of every stack of both customers."""
    from caas.timeline import _clock, schedule

    rows = {}
    for line in (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("acme", "globex"):
            rows[(cells[0], cells[1])] = (int(cells[2]), cells[3])
    for customer, rendered in (("acme", plans), ("globex", example_plans)):
        for stack, plan in rendered.items():
            timeline = schedule(plan.resources)
            assert rows[(customer, stack)] == (len(timeline.steps), _clock(timeline.total)), (customer, stack)
