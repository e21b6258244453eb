"""caas init: the bootstrap's steps, least privilege, the dry run and the show-or-create apply."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Sequence

from caas import init
from caas.cli import main
from caas.delivery import for_project
from caas.plan import Project
from tests.conftest import EXAMPLE, ROOT

ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"


def steps(directory=ROOT):
    project = Project.at(directory)
    d = for_project(project)
    return d, *init.plan(d, project.load("shared")[0].devops.approvers)


def test_role_condition_lists_exactly_the_roles_the_stacks_assign(plans, example_plans) -> None:
    """Each customer's deployer may grant exactly the roles found in the plans of its stacks: the built-in ones
    (across both customers) plus its own environments' command-invoke roles."""
    builtin: set[str] = set()
    for directory, rendered in ((ROOT, plans), (EXAMPLE, example_plans)):
        d, plan_steps, _ = steps(directory)
        assigned = {
            r.inputs["roleDefinitionId"].rsplit("/", 1)[1]
            for plan in rendered.values()
            for r in plan.find("azure-native:authorization:RoleAssignment")
        }
        custom = {r.inputs["roleDefinitionId"] for plan in rendered.values() for r in plan.find(ROLE_DEFINITION)}
        assert custom and custom <= assigned
        assert assigned <= set(init.stack_role_ids(d))
        builtin |= assigned - custom
        conditional = [s for s in plan_steps if "--condition" in s.command]
        assert len(conditional) == 1 and init.RBAC_ADMINISTRATOR in conditional[0].command
        condition = conditional[0].command[conditional[0].command.index("--condition") + 1]
        for role in assigned:
            assert condition.count(role) == 2  # write and delete are both constrained
    assert set(init.stack_role_ids()) == builtin


def test_deployer_may_write_the_stacks_custom_roles() -> None:
    """The command-invoke role definitions need roleDefinitions/write, which Contributor lacks: init creates a
    role with exactly that and grants it to the deployer on the subscription."""
    _, plan_steps, _ = steps()
    created = next(s for s in plan_steps if s.command[:4] == ("az", "role", "definition", "create"))
    definition = json.loads(created.command[created.command.index("--role-definition") + 1])
    assert definition["Actions"] == [
        f"Microsoft.Authorization/roleDefinitions/{a}" for a in ("read", "write", "delete")
    ]
    grant = next(
        s
        for s in plan_steps
        if s.command[:4] == ("az", "role", "assignment", "create") and definition["Name"] in s.command
    )
    assert "${DEPLOYER_PRINCIPAL_ID}" in grant.command
    assert plan_steps.index(created) < plan_steps.index(grant)


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
        (init.role_author(d), sub),
        (
            init.STORAGE_BLOB_DATA_CONTRIBUTOR,
            f"{state}/Microsoft.Storage/storageAccounts/{d.state.storage_account}"
            f"/blobServices/default/containers/{d.state.container}",
        ),
        (init.KEY_VAULT_CRYPTO_USER, f"{state}/Microsoft.KeyVault/vaults/{d.state.key_vault}/keys/{d.state.key}"),
    }
    assert all(s.why and s.command[s.command.index("--description") + 1] == s.why for s in grants.values())


def test_state_backend_and_federation_follow_delivery() -> None:
    d, plan_steps, _ = steps(EXAMPLE)
    by_verb = {" ".join(s.command[:4]): s.command for s in plan_steps}
    account = by_verb["az storage account create"]
    for flag, value in (
        ("--sku", "Standard_ZRS"),
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
    credential = by_verb["az identity federated-credential create"]
    assert credential[credential.index("--issuer") + 1] == d.issuer
    assert credential[credential.index("--subject") + 1] == d.deployer_subject
    assert credential[credential.index("--audiences") + 1] == "api://AzureADTokenExchange"


def test_devops_connection_environments_and_approvals() -> None:
    """One azurerm WIF connection to the deployer; an environment per stack; approvals only on gated ones."""
    d, plan_steps, lookups = steps()
    posts = [json.loads(s.command[s.command.index("--body") + 1]) for s in plan_steps if "--body" in s.command]
    connection = next(p for p in posts if p.get("type") == "azurerm")
    assert connection["name"] == d.service_connection
    assert connection["authorization"]["scheme"] == "WorkloadIdentityFederation"
    assert connection["authorization"]["parameters"]["serviceprincipalid"] == "${DEPLOYER_CLIENT_ID}"
    environments = [p["name"] for p in posts if set(p) == {"name", "description"}]
    assert environments == [e.name for e in d.environments]
    approvals = [p for p in posts if isinstance(p.get("type"), dict) and p["type"]["name"] == "Approval"]
    assert [a["resource"]["name"] for a in approvals] == [e.name for e in d.environments if e.gated]
    assert {e.stack for e in d.environments if e.gated} == {"shared", "prd"}
    shared = Project.at(ROOT).load("shared")[0]
    for approval in approvals:
        assert approval["type"]["id"] == init.APPROVAL_CHECK_TYPE
        assert [a["id"] for a in approval["settings"]["approvers"]] == list(shared.devops.approvers)
        assert approval["resource"]["id"].strip("${}") in lookups


def test_dry_run_prints_every_command_and_creates_nothing(capsys, monkeypatch) -> None:
    def forbidden(*args, **kwargs):
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


def test_init_refuses_an_environment_stack(capsys) -> None:
    assert main(["init", "--stack", "prd", "--dir", str(ROOT)]) == 2
    assert "Pulumi.prd.yaml: init bootstraps the customer from the shared stack" in capsys.readouterr().out


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
    assert lines[0].startswith("ok    1. resource group") and lines[0].endswith("exists")
    assert not any(t.startswith("az group create") for t in az.ran)
    assert "FAIL  7. secrets key pulumi-secrets: az keyvault key create" in out.getvalue()
    assert "ERROR: AuthorizationFailed" in out.getvalue()
    assert not any("federated-credential create" in t for t in az.ran)
