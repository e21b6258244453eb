"""caas init: the bootstrap's steps, least privilege, the dry run and the show-or-create apply."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Sequence

import pytest

from caas import datajobs, init, pipeline_vars
from caas.cli import main
from caas.delivery import for_project
from caas.plan import Project
from caas.release import DOCKERHUB_SECRETS, DOCKERHUB_VARIABLE_GROUP
from caas.specs import derive
from tests.conftest import EXAMPLE, ROOT

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def steps(directory=ROOT):
    project = Project.at(directory)
    d = for_project(project)
    pipelines = pipeline_vars.pipeline_definitions(project, d.customer)
    return d, *init.plan(d, project.load("shared")[0].devops.approvers, pipelines)


def body(step: init.Step) -> dict:
    """A step's JSON body, with the one variable that is a bare JSON number (a pipeline id) given a value."""
    return json.loads(arg(step, "--body").replace("${VALIDATE_PIPELINE_ID}", "17"))


def arg(step: init.Step, flag: str) -> str:
    return step.command[step.command.index(flag) + 1]


def test_role_condition_lists_exactly_the_roles_the_stacks_assign(plans, example_plans) -> None:
    """Each customer's deployer may grant exactly the roles found in the plans of its stacks: the built-in ones
    (across both customers) plus its own command-invoke role, which init defines (its GUID in the PUT)."""
    builtin: set[str] = set()
    for directory, rendered in ((ROOT, plans), (EXAMPLE, example_plans)):
        _, plan_steps, _ = steps(directory)
        assigned = {
            r.inputs["roleDefinitionId"].rsplit("/", 1)[1]
            for plan in rendered.values()
            for r in plan.find("azure-native:authorization:RoleAssignment")
        }
        (defined,) = [s for s in plan_steps if "/roleDefinitions/" in " ".join(s.command)]
        custom = arg(defined, "--url").split("/roleDefinitions/")[1].split("?")[0]
        assert custom in assigned
        conditional = [s for s in plan_steps if "--condition" in s.command]
        assert len(conditional) == 1
        assert init.RBAC_ADMINISTRATOR in conditional[0].command
        condition = arg(conditional[0], "--condition")
        for role in assigned:
            assert condition.count(role) == 2  # write and delete are both constrained
        assert set(re.findall(GUID, condition)) == builtin_ids() | {custom}
        builtin |= assigned - {custom}
    assert builtin_ids() == builtin


def builtin_ids() -> set[str]:
    return set(init.stack_role_ids())


def test_the_deployer_writes_no_role_definitions() -> None:
    """The deployer cannot widen the command-invoke role: init (run by the operator) defines the one custom
    role with an idempotent PUT, and grants the deployer nothing that writes role definitions (its roles:
    test_deployer_roles_are_scoped_and_explained; no stack defines a role: tests/test_access.py)."""
    _, plan_steps, _ = steps()
    writes = [s for s in plan_steps if "/roleDefinitions/" in " ".join(s.command) or "definition" in s.command]
    assert len(writes) == 1
    assert writes[0].command[:4] == ("az", "rest", "--method", "PUT")
    assert writes[0].check is None  # re-runs put the same definition back


def test_deployer_roles_are_scoped_and_explained() -> None:
    d, plan_steps, _ = steps()
    grants = {
        (s.command[s.command.index("--role") + 1], s.command[s.command.index("--scope") + 1]): s
        for s in plan_steps
        if s.command[:4] == ("az", "role", "assignment", "create") and "${DEPLOYER_PRINCIPAL_ID}" in s.command
    }
    sub = "/subscriptions/${SUBSCRIPTION_ID}"
    state = f"{sub}/resourceGroups/{d.state.resource_group}/providers"
    assert set(grants) == {
        (init.CONTRIBUTOR, sub),
        (init.RBAC_ADMINISTRATOR, sub),
        (
            init.STORAGE_BLOB_DATA_CONTRIBUTOR,
            f"{state}/Microsoft.Storage/storageAccounts/{d.state.storage_account}"
            f"/blobServices/default/containers/{d.state.container}",
        ),
        (init.KEY_VAULT_CRYPTO_USER, f"{state}/Microsoft.KeyVault/vaults/{d.state.key_vault}/keys/{d.state.key}"),
        # the Docker Hub variable group reads through the deployer's connection; the vault holds no other secret
        (init.KEY_VAULT_SECRETS_USER, f"{state}/Microsoft.KeyVault/vaults/{d.state.key_vault}"),
    }
    assert all(s.why and s.command[s.command.index("--description") + 1] == s.why for s in grants.values())


def test_state_backend_and_federation_follow_delivery() -> None:
    d, plan_steps, _ = steps(EXAMPLE)
    by_verb = {" ".join(s.command[:4]): s.command for s in plan_steps}
    account = by_verb["az storage account create"]
    for flag, value in (
        ("--sku", "Standard_RAGZRS"),
        ("--min-tls-version", "TLS1_2"),
        ("--allow-blob-public-access", "false"),
        ("--allow-shared-key-access", "false"),
    ):
        assert account[account.index(flag) + 1] == value
    assert account[account.index("-n") + 1] == d.state.storage_account
    versioning = by_verb["az storage account blob-service-properties"]
    assert versioning[versioning.index("--enable-versioning") + 1] == "true"
    vault = by_verb["az keyvault create -n"]
    assert vault[vault.index("--enable-purge-protection") + 1] == "true"
    (credential,) = [
        s.command
        for s in plan_steps
        if s.command[:4] == ("az", "identity", "federated-credential", "create")
        and arg(s, "--identity-name") == d.deployer_identity
    ]
    assert credential[credential.index("--issuer") + 1] == d.issuer
    assert credential[credential.index("--subject") + 1] == d.deployer_subject
    assert credential[credential.index("--audiences") + 1] == "api://AzureADTokenExchange"


def test_devops_connection_environments_and_approvals() -> None:
    """One azurerm WIF connection to the deployer; an environment per stack; approvals only on gated ones."""
    d, plan_steps, lookups = steps()
    posts = [body(s) for s in plan_steps if "--body" in s.command]
    connection = next(p for p in posts if p.get("type") == "azurerm")
    assert connection["name"] == d.service_connection
    assert connection["authorization"]["scheme"] == "WorkloadIdentityFederation"
    assert connection["authorization"]["parameters"]["serviceprincipalid"] == "${DEPLOYER_CLIENT_ID}"
    environments = [p["name"] for p in posts if set(p) == {"name", "description"}]
    assert environments == [e.name for e in d.environments]
    approvals = [p for p in posts if isinstance(p.get("type"), dict) and p["type"].get("name") == "Approval"]
    assert [a["resource"]["name"] for a in approvals] == [e.name for e in d.environments if e.gated]
    assert {e.stack for e in d.environments if e.gated} == {"shared", "prd"}
    shared = Project.at(ROOT).load("shared")[0]
    for approval in approvals:
        assert approval["type"]["id"] == init.APPROVAL_CHECK_TYPE
        assert [a["id"] for a in approval["settings"]["approvers"]] == list(shared.devops.approvers)
        assert approval["resource"]["id"].strip("${}") in lookups


def test_dry_run_prints_every_command_and_creates_nothing(capsys, monkeypatch) -> None:
    def forbidden(*_args, **_kwargs):
        raise AssertionError("init ran a command without --apply")

    monkeypatch.setattr(subprocess, "run", forbidden)
    assert main(["init", "--stack", "shared", "--dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    d, plan_steps, _ = steps()
    assert out.count("#    why: ") == len(plan_steps)
    assert out.index("SUBSCRIPTION_ID=$(az account show") < out.index('--scope "/subscriptions/${SUBSCRIPTION_ID}')
    assert f"pulumi stack init {d.stack_name('shared')}" in out
    for stack in ("int", "uat", "prd"):
        assert f"pulumi config set --stack {d.stack_name(stack)} caas:aks.deployerPrincipalId" in out


def test_init_refuses_an_environment_stack_before_its_deploy(capsys) -> None:
    """An environment stack has nothing to bootstrap; its part (--after-up) needs it deployed."""
    assert main(["init", "--stack", "prd", "--dir", str(ROOT)]) == 2
    out = capsys.readouterr().out
    assert "Pulumi.prd.yaml: init bootstraps the customer from the shared stack" in out
    assert "--after-up" in out


class FakeAz:
    """Existing things answer their check; one command fails."""

    def __init__(self, existing: Sequence[str], failing: str = ""):
        self.existing, self.failing, self.ran = existing, failing, []

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        text = " ".join(command)
        self.ran.append(text)
        if text.startswith(("az account show", "az ad signed-in-user", "az identity show")) or "--query id" in text:
            return subprocess.CompletedProcess(command, 0, "value\n" if "--query" in text else "", "")
        if self.failing and self.failing in text:
            return subprocess.CompletedProcess(command, 1, "", "ERROR: AuthorizationFailed")
        found = any(marker in text for marker in self.existing) and (
            " show " in text or " list " in text or "get" in text
        )
        return subprocess.CompletedProcess(command, 0, "x\n" if found else "", "")


def test_apply_skips_what_exists_and_stops_at_the_first_failure() -> None:
    _, plan_steps, lookups = steps()
    az = FakeAz(existing=["group show"], failing="keyvault key create")
    out = io.StringIO()
    assert init.apply(plan_steps, lookups, run=az, out=out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ok    1. resource group")
    assert lines[0].endswith("exists")
    assert not any(t.startswith("az group create") for t in az.ran)
    assert "FAIL  8. secrets key pulumi-secrets: az keyvault key create" in out.getvalue()
    assert "ERROR: AuthorizationFailed" in out.getvalue()
    assert not any("federated-credential create" in t for t in az.ran)


# -- what the pipelines reference -------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [ROOT, EXAMPLE], ids=["acme", "globex"])
def test_data_identity_and_its_connection_follow_delivery(directory) -> None:
    """The data identity gets its own federated credential (the data connection's subject) and its own connection;
    the bootstrap grants it no role (those come per environment, after its deploy)."""
    d, plan_steps, lookups = steps(directory)
    credentials = [s for s in plan_steps if s.command[:4] == ("az", "identity", "federated-credential", "create")]
    data = next(c for c in credentials if arg(c, "--identity-name") == d.data_identity)
    assert (arg(data, "--name"), arg(data, "--subject")) == (d.data_service_connection, d.data_subject)
    connections = {
        body(s)["name"]: body(s) for s in plan_steps if "--body" in s.command and '"azurerm"' in arg(s, "--body")
    }
    assert set(connections) == {d.service_connection, d.data_service_connection}
    assert (
        connections[d.data_service_connection]["authorization"]["parameters"]["serviceprincipalid"]
        == "${DATA_CLIENT_ID}"
    )
    assert d.data_identity in lookups["DATA_CLIENT_ID"]
    assert not any("${DATA_PRINCIPAL_ID}" in s.command for s in plan_steps)


def test_dockerhub_variable_group_links_the_state_vault_without_a_secret_value(capsys) -> None:
    """The variable group names the two secrets base-images.yml maps, links the state vault through the deployer's
    connection, and no value is in it; the operator sets them with placeholders only."""
    d, plan_steps, lookups = steps()
    (group,) = [body(s) for s in plan_steps if "--body" in s.command and DOCKERHUB_VARIABLE_GROUP in arg(s, "--body")]
    assert group["type"] == "AzureKeyVault"
    assert group["providerData"] == {"serviceEndpointId": "${DEPLOYER_CONNECTION_ID}", "vault": d.state.key_vault}
    assert d.service_connection in " ".join(lookups["DEPLOYER_CONNECTION_ID"])
    assert set(group["variables"]) == set(DOCKERHUB_SECRETS.values())
    assert all("value" not in v and v["isSecret"] for v in group["variables"].values())
    base_images = (ROOT / "pipelines" / "release" / "base-images.yml").read_text(encoding="utf-8")
    assert f"group: {DOCKERHUB_VARIABLE_GROUP}" in base_images
    assert all(f"$({name})" in base_images for name in DOCKERHUB_SECRETS.values())
    assert main(["init", "--stack", "shared", "--dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    sets = [line for line in out.splitlines() if "keyvault secret set" in line]
    assert len(sets) == 2
    assert all(line.endswith(">'") and "--value '<" in line for line in sets)
    assert out.count("--value") == 2


@pytest.mark.parametrize("directory", [ROOT, EXAMPLE], ids=["acme", "globex"])
def test_pipelines_build_policy_and_repository_rights(directory) -> None:
    """A definition per pipeline file of the folder; main's blocking build policy runs the folder's validate
    pipeline (numeric id); the Build Service gets Contribute | Create branch | Contribute to pull requests."""
    d, plan_steps, lookups = steps(directory)
    expected = pipeline_vars.pipeline_definitions(Project.at(directory), d.customer)
    created = [
        (arg(s, "--name"), arg(s, "--yaml-path")) for s in plan_steps if s.command[:3] == ("az", "pipelines", "create")
    ]
    assert created == [(p.name, p.path) for p in expected]
    assert all("--skip-first-run" in s.command for s in plan_steps if s.command[:3] == ("az", "pipelines", "create"))
    (policy_step,) = [s for s in plan_steps if "--body" in s.command and init.BUILD_POLICY_TYPE in arg(s, "--body")]
    text = arg(policy_step, "--body")
    assert '"buildDefinitionId":${VALIDATE_PIPELINE_ID},' in text  # a number once substituted
    policy = body(policy_step)
    assert policy["isBlocking"]
    assert policy["settings"]["buildDefinitionId"] == 17
    assert policy["settings"]["scope"] == [
        {"repositoryId": "${REPOSITORY_ID}", "refName": "refs/heads/main", "matchKind": "exact"}
    ]
    validate = next(p for p in expected if p.path.endswith("estate/validate.yml") or p.path.endswith("/validate.yml"))
    assert validate.name in lookups["VALIDATE_PIPELINE_ID"]
    assert plan_steps.index(policy_step) > max(
        i for i, s in enumerate(plan_steps) if s.command[:3] == ("az", "pipelines", "create")
    )
    (rights,) = [s for s in plan_steps if s.command[:5] == ("az", "devops", "security", "permission", "update")]
    assert arg(rights, "--namespace-id") == init.GIT_NAMESPACE
    assert int(arg(rights, "--allow-bit")) == 4 | 16 | 16384
    assert arg(rights, "--token") == "repoV2/${DEVOPS_PROJECT_ID}/${REPOSITORY_ID}"
    assert "Build%20Service" in " ".join(lookups["BUILD_SERVICE"])


def test_every_pipeline_file_gets_a_definition() -> None:
    """Every pipeline (not template) under pipelines/ belongs to exactly one customer folder, so init creates it."""
    owned = [p.path for f in (ROOT, EXAMPLE) for p in pipeline_vars.pipeline_definitions(Project.at(f), "x")]
    import yaml

    pipelines = []
    for path in sorted((ROOT / "pipelines").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if {"trigger", "pr", "schedules"} & set(document):  # pipelines declare their triggers; templates cannot
            pipelines.append(path.relative_to(ROOT).as_posix())
    assert sorted(owned) == pipelines


def test_registry_connection_federates_the_shared_stacks_pipeline_identity() -> None:
    """After the shared stack's first `up`: one connection named as the subject the shared stack's federated
    credential trusts, pointing at the client id the stack exports."""
    d = for_project(Project.at(ROOT))
    shared = Project.at(ROOT).load("shared")[0]
    (step,), lookups = init.registry_plan(d)
    connection = body(step)
    assert connection["name"] == d.registry_service_connection
    assert f"sc://acme-commerce/{d.devops_project}/{connection['name']}" == shared.devops.service_connection_subject
    assert connection["authorization"]["parameters"]["serviceprincipalid"] == "${PIPELINE_CLIENT_ID}"
    output = lookups["PIPELINE_CLIENT_ID"]
    assert output[output.index("pulumi") :] == (
        "pulumi",
        "stack",
        "output",
        "pipelineIdentityClientId",
        "--stack",
        d.stack_name("shared"),
    )


@pytest.mark.parametrize("directory", [ROOT, EXAMPLE], ids=["acme", "globex"])
def test_environment_part_creates_restore_resources_then_exactly_the_data_grants(directory) -> None:
    """Per environment: the restore group before any grant on it, the staging account only with backed-up VMs,
    then exactly caas.datajobs' grants of that stack for the data identity, on the real subscription."""
    project = Project.at(directory)
    d = for_project(project)
    models = {stack: project.load(stack)[0] for stack in project.stacks()}
    grants = datajobs.role_grants(models)
    for stack in ("int", "uat", "prd"):
        plan_steps, lookups = init.environment_plan(d, models, stack)
        roles = [s for s in plan_steps if s.command[:4] == ("az", "role", "assignment", "create")]
        expected = [
            (g.role_id, g.scope.replace("{subscriptionId}", "${SUBSCRIPTION_ID}")) for g in grants if g.stack == stack
        ]
        assert [(arg(s, "--role"), arg(s, "--scope")) for s in roles] == expected
        assert expected
        assert all(arg(s, "--assignee-object-id") == "${DATA_PRINCIPAL_ID}" for s in roles)
        assert d.data_identity in lookups["DATA_PRINCIPAL_ID"]
        group, staging = datajobs.restore_resources(models[stack])
        groups = [s for s in plan_steps if s.command[:3] == ("az", "group", "create")]
        assert [arg(s, "-n") for s in groups] == ([group] if group else [])
        if group:
            first_grant = next(
                i for i, s in enumerate(plan_steps) if "--scope" in s.command and group in arg(s, "--scope")
            )
            assert plan_steps.index(groups[0]) < first_grant
        accounts = [arg(s, "-n") for s in plan_steps if s.command[:4] == ("az", "storage", "account", "create")]
        assert accounts == ([staging] if staging else [])
        spec = derive(models[stack])
        assert bool(staging) == bool(spec.icm710_hosts and spec.data_model and spec.data_model.vault)


def test_apply_stops_at_a_failing_pipeline_before_policy_and_rights() -> None:
    """--apply runs the Azure DevOps part in order and stops at its first failure."""
    _, plan_steps, lookups = steps()
    first = next(s for s in plan_steps if s.command[:3] == ("az", "pipelines", "create"))
    failing = f"az pipelines create --name {arg(first, '--name')}"
    ran: list[str] = []
    answers = {" ".join(c) for c in lookups.values()}

    def az(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Every lookup answers, nothing exists yet, every create succeeds except the first pipeline."""
        text = " ".join(command)
        ran.append(text)
        code = 1 if text.startswith(failing) else 0
        return subprocess.CompletedProcess(command, code, "value\n" if text in answers else "", "ERROR: denied")

    out = io.StringIO()
    assert init.apply(plan_steps, lookups, run=az, out=out) == 1
    assert f"FAIL  {plan_steps.index(first) + 1}. pipeline {arg(first, '--name')}" in out.getvalue()
    assert sum(t.startswith("az pipelines create") for t in ran) == 1
    assert not any("policy/configurations?api" in t and "post" in t for t in ran)
    assert not any(t.startswith("az devops security") for t in ran)


def test_next_steps_in_order(capsys) -> None:
    """Secrets, then the shared stack's first `up`, then the registry connection (it reads that stack's output),
    then each environment's part after its deploy; a customer folder is passed with --dir."""
    assert main(["init", "--stack", "shared", "--dir", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    after = out[out.index("# Next, in this order.") :]
    order = [
        "az keyvault secret set",
        "pulumi up --stack",
        "caas init --stack shared --after-up",
        "init --stack prd --after-up",
    ]
    assert [after.index(o) for o in order] == sorted(after.index(o) for o in order)
    assert "python -m caas init --stack shared --after-up --dir examples/globex --apply" in after
