"""``python -m caas init --stack shared [--apply]``: the once-per-customer bootstrap as code.

Creates what must exist before the shared stack's first `up`: the state backend (storage account, container,
Key Vault key for secrets), the deployer identity with its federated credential, the Azure DevOps service
connection, environments and approval checks, and exactly the deployer's roles, each with its reason.
Without ``--apply`` it prints the steps as a shell script and creates nothing. With it, each step is run in
order as show-or-create (a step whose check finds the thing is skipped), stopping at the first failure with the
command and its stderr. All names come from :mod:`caas.delivery` and the stack model.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from caas.delivery import Delivery
from caas.profiles import ENVIRONMENTS
from caas.specs.access import command_invoke_role
from components.roles import ROLES

# Built-in roles init grants (learn.microsoft.com, "Azure built-in roles"); the stacks' own roles are in
# components.roles.ROLES.
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"  # Role Based Access Control Administrator
STORAGE_BLOB_DATA_CONTRIBUTOR = ROLES["Storage Blob Data Contributor"]
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"

# The roles the stacks assign: the deployer may grant and remove these and no other. tests/test_init.py checks
# this is exactly the set of roleDefinitionIds in the plans of every shipped stack.
STACK_ROLES = (
    "AcrPull",
    "AcrPush",
    "Azure Kubernetes Service Cluster User Role",
    "Azure Kubernetes Service RBAC Reader",
    "Azure Kubernetes Service RBAC Writer",
    "Key Vault Secrets User",
    "Managed Identity Operator",
    "Network Contributor",
    "Reader",
    "Virtual Machine User Login",
)

# Azure DevOps as a resource for `az rest --resource` (learn.microsoft.com, "Manage personal access tokens
# using API": the Azure DevOps application id).
DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
# The Approval check type (learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/check-configurations/add).
APPROVAL_CHECK_TYPE = "8C6F20A7-A545-4486-9777-F762FAFE0D4D"
APPROVAL_TIMEOUT_MINUTES = 4320  # three days, then the run fails and is re-queued
AUDIENCE = "api://AzureADTokenExchange"
STATE_RETENTION_DAYS = 30  # blob and container soft delete: recover an overwritten or deleted state file


def role_condition(role_ids: Sequence[str]) -> str:
    """ABAC condition for Role Based Access Control Administrator: write and delete role assignments only of
    these role definitions (learn.microsoft.com, "Delegate Azure role assignment management to others with
    conditions", "Constrain roles")."""
    ids = ", ".join(sorted(role_ids))
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{ids}}}))"
        " AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{ids}}}))"
    )


def stack_role_ids(d: Delivery | None = None) -> list[str]:
    """The built-in roles the stacks assign and, for a customer, its environments' custom command-invoke roles
    (their GUIDs are fixed per customer and environment: caas.specs.access)."""
    ids = {ROLES[name] for name in STACK_ROLES}
    if d is not None:
        ids |= {command_invoke_role(d.customer, env).guid for env in ENVIRONMENTS}
    return sorted(ids)


# The stacks define one custom role per AKS cluster (partners' `az aks command invoke`); Contributor may not
# write role definitions, so init gives the deployer exactly that (learn.microsoft.com, "Azure custom roles").
ROLE_AUTHOR_ACTIONS = (
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.Authorization/roleDefinitions/write",
    "Microsoft.Authorization/roleDefinitions/delete",
)


def role_author(d: Delivery) -> str:
    return f"{d.customer} CaaS role definition writer"


@dataclass(frozen=True)
class Step:
    what: str
    why: str
    command: tuple[str, ...]
    # Exists when this exits 0 with non-empty output (or exactly ``expect``); None: the command is idempotent.
    check: tuple[str, ...] | None = None
    expect: str | None = None


# Values only Azure knows, read when first needed: NAME -> command printing it.
Lookups = dict[str, tuple[str, ...]]
_VAR = re.compile(r"\$\{([A-Z_]+)\}")


def _devops(method: str, url: str, *rest: str) -> tuple[str, ...]:
    return ("az", "rest", "--resource", DEVOPS_RESOURCE, "--method", method, "--url", url, *rest)


def _role(what: str, why: str, assignee: str, role: str, scope: str, condition: str | None = None) -> Step:
    command = ["az", "role", "assignment", "create", "--assignee-object-id", assignee]
    command += ["--assignee-principal-type", "ServicePrincipal" if assignee.startswith("${DEPLOYER") else "User"]
    command += ["--role", role, "--scope", scope, "--description", why]
    check = ("az", "role", "assignment", "list", "--assignee", assignee, "--role", role, "--scope", scope)
    if condition is None:
        return Step(what, why, tuple(command), (*check, "--query", "[0].id", "-o", "tsv"))
    command += ["--condition", condition, "--condition-version", "2.0"]
    return Step(what, why, tuple(command), (*check, "--query", "[0].condition", "-o", "tsv"), expect=condition)


def plan(d: Delivery, approvers: Sequence[str]) -> tuple[list[Step], Lookups]:
    """The bootstrap of one customer, in order."""
    s = d.state
    rg = ("-g", s.resource_group)
    sub = "/subscriptions/${SUBSCRIPTION_ID}"
    account = f"{sub}/resourceGroups/{s.resource_group}/providers/Microsoft.Storage/storageAccounts/{s.storage_account}"
    container = f"{account}/blobServices/default/containers/{s.container}"
    vault = f"{sub}/resourceGroups/{s.resource_group}/providers/Microsoft.KeyVault/vaults/{s.key_vault}"
    key = f"{vault}/keys/{s.key}"
    org, project = d.organization_url, d.devops_project
    api = f"{org}/{project}/_apis"
    lookups: Lookups = {
        "SUBSCRIPTION_ID": ("az", "account", "show", "--query", "id", "-o", "tsv"),
        "SUBSCRIPTION_NAME": ("az", "account", "show", "--query", "name", "-o", "tsv"),
        "TENANT_ID": ("az", "account", "show", "--query", "tenantId", "-o", "tsv"),
        "OPERATOR_ID": ("az", "ad", "signed-in-user", "show", "--query", "id", "-o", "tsv"),
        "DEPLOYER_PRINCIPAL_ID": (
            "az",
            "identity",
            "show",
            "-n",
            d.deployer_identity,
            *rg,
            "--query",
            "principalId",
            "-o",
            "tsv",
        ),
        "DEPLOYER_CLIENT_ID": (
            "az",
            "identity",
            "show",
            "-n",
            d.deployer_identity,
            *rg,
            "--query",
            "clientId",
            "-o",
            "tsv",
        ),
        "DEVOPS_PROJECT_ID": _devops(
            "get", f"{org}/_apis/projects/{project}?api-version=7.1", "--query", "id", "-o", "tsv"
        ),
    }
    steps = [
        Step(
            f"resource group {s.resource_group}",
            "holds the state backend and the deployer identity, apart from every stack's own groups",
            ("az", "group", "create", "-n", s.resource_group, "-l", s.location),
            ("az", "group", "show", "-n", s.resource_group, "--query", "id", "-o", "tsv"),
        ),
        Step(
            f"state storage account {s.storage_account}",
            "Pulumi state (DIY backend): zone-redundant, TLS 1.2, no public blobs, Entra ID only (shared key off)",
            (
                "az",
                "storage",
                "account",
                "create",
                "-n",
                s.storage_account,
                *rg,
                "-l",
                s.location,
                "--kind",
                "StorageV2",
                "--sku",
                "Standard_ZRS",
                "--min-tls-version",
                "TLS1_2",
                "--https-only",
                "true",
                "--allow-blob-public-access",
                "false",
                "--allow-shared-key-access",
                "false",
            ),
            ("az", "storage", "account", "show", "-n", s.storage_account, *rg, "--query", "id", "-o", "tsv"),
        ),
        Step(
            "state versioning and soft delete",
            f"every state write is a version; deleted blobs and containers recoverable {STATE_RETENTION_DAYS} days",
            (
                "az",
                "storage",
                "account",
                "blob-service-properties",
                "update",
                "--account-name",
                s.storage_account,
                *rg,
                "--enable-versioning",
                "true",
                "--enable-delete-retention",
                "true",
                "--delete-retention-days",
                str(STATE_RETENTION_DAYS),
                "--enable-container-delete-retention",
                "true",
                "--container-delete-retention-days",
                str(STATE_RETENTION_DAYS),
            ),
        ),
        Step(
            f"state container {s.container}",
            "the backend URL azblob://" + s.container + " (created through ARM: no data-plane role needed)",
            ("az", "storage", "container-rm", "create", "--storage-account", s.storage_account, *rg, "-n", s.container),
            (
                "az",
                "storage",
                "container-rm",
                "show",
                "--storage-account",
                s.storage_account,
                *rg,
                "-n",
                s.container,
                "--query",
                "id",
                "-o",
                "tsv",
            ),
        ),
        Step(
            f"key vault {s.key_vault}",
            "holds the key of the stacks' secrets; RBAC only, purge protection (a lost key loses every secret)",
            (
                "az",
                "keyvault",
                "create",
                "-n",
                s.key_vault,
                *rg,
                "-l",
                s.location,
                "--enable-rbac-authorization",
                "true",
                "--enable-purge-protection",
                "true",
                "--retention-days",
                "90",
            ),
            ("az", "keyvault", "show", "-n", s.key_vault, "--query", "id", "-o", "tsv"),
        ),
        _role(
            "operator: Key Vault Crypto Officer on the vault",
            "an RBAC vault grants no data access to Owner: the operator creates the key and runs the first `up`",
            "${OPERATOR_ID}",
            KEY_VAULT_CRYPTO_OFFICER,
            vault,
        ),
        Step(
            f"secrets key {s.key}",
            f"Pulumi secrets provider {d.state.secrets_provider}",
            (
                "az",
                "keyvault",
                "key",
                "create",
                "--vault-name",
                s.key_vault,
                "-n",
                s.key,
                "--kty",
                "RSA",
                "--size",
                "4096",
            ),
            (
                "az",
                "keyvault",
                "key",
                "show",
                "--vault-name",
                s.key_vault,
                "-n",
                s.key,
                "--query",
                "key.kid",
                "-o",
                "tsv",
            ),
        ),
        _role(
            "operator: Storage Blob Data Contributor on the state container",
            "the shared stack's first `up` runs from the operator's machine (the agent pool does not exist yet)",
            "${OPERATOR_ID}",
            STORAGE_BLOB_DATA_CONTRIBUTOR,
            container,
        ),
        Step(
            f"deployer identity {d.deployer_identity}",
            "the pipelines run `pulumi up` as this identity; no secret exists for it",
            ("az", "identity", "create", "-n", d.deployer_identity, *rg, "-l", s.location),
            ("az", "identity", "show", "-n", d.deployer_identity, *rg, "--query", "id", "-o", "tsv"),
        ),
        Step(
            "federated credential for the service connection",
            f"Azure DevOps exchanges its token (issuer {d.issuer}, subject {d.deployer_subject}) for the identity's",
            (
                "az",
                "identity",
                "federated-credential",
                "create",
                "--name",
                d.service_connection,
                "--identity-name",
                d.deployer_identity,
                *rg,
                "--issuer",
                d.issuer,
                "--subject",
                d.deployer_subject,
                "--audiences",
                AUDIENCE,
            ),
            (
                "az",
                "identity",
                "federated-credential",
                "show",
                "--name",
                d.service_connection,
                "--identity-name",
                d.deployer_identity,
                *rg,
                "--query",
                "id",
                "-o",
                "tsv",
            ),
        ),
        _role(
            "deployer: Contributor on the subscription",
            "the stacks create their own resource groups and everything in them",
            "${DEPLOYER_PRINCIPAL_ID}",
            CONTRIBUTOR,
            sub,
        ),
        _role(
            "deployer: Role Based Access Control Administrator on the subscription, constrained",
            "the stacks assign roles; the condition limits it to exactly the roles they assign: "
            + ", ".join(STACK_ROLES),
            "${DEPLOYER_PRINCIPAL_ID}",
            RBAC_ADMINISTRATOR,
            sub,
            role_condition(stack_role_ids(d)),
        ),
        Step(
            f"custom role {role_author(d)}",
            "the environment stacks define their clusters' command-invoke role; Contributor cannot write role "
            "definitions, and the condition above still limits what the deployer may assign",
            (
                "az",
                "role",
                "definition",
                "create",
                "--role-definition",
                json.dumps(
                    {
                        "Name": role_author(d),
                        "Description": "Writes the custom roles of the CaaS stacks (AKS command invoke)",
                        "Actions": list(ROLE_AUTHOR_ACTIONS),
                        "AssignableScopes": [sub],
                    }
                ),
            ),
            ("az", "role", "definition", "list", "--name", role_author(d), "--query", "[0].id", "-o", "tsv"),
        ),
        _role(
            "deployer: the role definition writer on the subscription",
            "the environment stacks define one custom role per AKS cluster",
            "${DEPLOYER_PRINCIPAL_ID}",
            role_author(d),
            sub,
        ),
        _role(
            "deployer: Storage Blob Data Contributor on the state container",
            "reads and writes the stacks' state; nothing else in the account",
            "${DEPLOYER_PRINCIPAL_ID}",
            STORAGE_BLOB_DATA_CONTRIBUTOR,
            container,
        ),
        _role(
            "deployer: Key Vault Crypto User on the secrets key",
            "encrypts and decrypts the stacks' secrets with this one key",
            "${DEPLOYER_PRINCIPAL_ID}",
            KEY_VAULT_CRYPTO_USER,
            key,
        ),
        Step(
            f"service connection {d.service_connection}",
            "azurerm connection with workload identity federation to the deployer identity: no secret to rotate",
            _devops(
                "post",
                f"{org}/_apis/serviceendpoint/endpoints?api-version=7.1",
                "--body",
                json.dumps(
                    {
                        "name": d.service_connection,
                        "type": "azurerm",
                        "url": "https://management.azure.com/",
                        "authorization": {
                            "scheme": "WorkloadIdentityFederation",
                            "parameters": {"tenantid": "${TENANT_ID}", "serviceprincipalid": "${DEPLOYER_CLIENT_ID}"},
                        },
                        "data": {
                            "environment": "AzureCloud",
                            "scopeLevel": "Subscription",
                            "subscriptionId": "${SUBSCRIPTION_ID}",
                            "subscriptionName": "${SUBSCRIPTION_NAME}",
                            "creationMode": "Manual",
                        },
                        "serviceEndpointProjectReferences": [
                            {
                                "projectReference": {"id": "${DEVOPS_PROJECT_ID}", "name": project},
                                "name": d.service_connection,
                            }
                        ],
                    },
                    separators=(",", ":"),
                ),
            ),
            _devops(
                "get",
                f"{api}/serviceendpoint/endpoints?endpointNames={d.service_connection}&api-version=7.1",
                "--query",
                "value[0].id",
                "-o",
                "tsv",
            ),
        ),
    ]
    for env in d.environments:
        steps.append(
            Step(
                f"Azure DevOps environment {env.name}",
                f"deploy stages of the {env.stack} stack target it" + (" (gated by an approval)" if env.gated else ""),
                _devops(
                    "post",
                    f"{api}/distributedtask/environments?api-version=7.1",
                    "--body",
                    json.dumps({"name": env.name, "description": f"{d.stack_name(env.stack)}"}, separators=(",", ":")),
                ),
                _devops(
                    "get",
                    f"{api}/distributedtask/environments?name={env.name}&api-version=7.1",
                    "--query",
                    "value[0].id",
                    "-o",
                    "tsv",
                ),
            )
        )
        if not env.gated:
            continue
        variable = f"ENVIRONMENT_ID_{env.stack.upper()}"
        lookups[variable] = _devops(
            "get",
            f"{api}/distributedtask/environments?name={env.name}&api-version=7.1",
            "--query",
            "value[0].id",
            "-o",
            "tsv",
        )
        body = {
            "type": {"id": APPROVAL_CHECK_TYPE, "name": "Approval"},
            "settings": {
                "approvers": [{"id": approver} for approver in approvers],
                "executionOrder": "anyOrder",
                "minRequiredApprovers": 1,
                "requesterCannotBeApprover": True,
                "instructions": f"Approve `pulumi up` of {d.stack_name(env.stack)} after reading its preview.",
                "blockedApprovers": [],
            },
            "resource": {"type": "environment", "id": "${" + variable + "}", "name": env.name},
            "timeout": APPROVAL_TIMEOUT_MINUTES,
        }
        steps.append(
            Step(
                f"approval check on {env.name}",
                "a production deploy waits for an approver who did not start it",
                _devops(
                    "post",
                    f"{api}/pipelines/checks/configurations?api-version=7.1-preview.1",
                    "--body",
                    json.dumps(body, separators=(",", ":")),
                ),
                _devops(
                    "get",
                    f"{api}/pipelines/checks/configurations?resourceType=environment&resourceId=${{{variable}}}"
                    "&api-version=7.1-preview.1",
                    "--query",
                    "value[?type.name=='Approval'] | [0].id",
                    "-o",
                    "tsv",
                ),
            )
        )
    return steps, lookups


def _shell_word(word: str) -> str:
    """A word for a POSIX shell: variables stay expandable inside double quotes."""
    if not _VAR.search(word):
        return shlex.quote(word)
    return '"' + re.sub(r'(["\\`])', r"\\\1", word) + '"'


def script(d: Delivery, steps: Sequence[Step], lookups: Lookups) -> str:
    """The dry run: every step as shell, each value Azure knows read just before its first use."""
    lines = ["#!/bin/sh", f"# caas init for {d.customer}: run with --apply, or review and run this script.", "set -e"]
    defined: set[str] = set()
    for number, step in enumerate(steps, 1):
        lines += ["", f"# {number}. {step.what}", f"#    why: {step.why}"]
        for name in _VAR.findall(" ".join(step.command)):
            if name not in defined:
                lines.append(f"{name}=$({' '.join(_shell_word(w) for w in lookups[name])})")
                defined.add(name)
        lines.append(" ".join(_shell_word(w) for w in step.command))
    return "\n".join(lines) + "\n"


def next_steps(d: Delivery, environment_stacks: Sequence[str]) -> str:
    """What the operator does after init: the shared stack's first `up` from outside, and the AKS grant."""
    s = d.state
    shared = d.stack_name("shared")
    lines = [
        "",
        "# Then: the shared stack's first `up` runs from this machine (the agent pool does not exist yet):",
        f"export AZURE_STORAGE_ACCOUNT={s.storage_account}",
        f"pulumi login {s.url}",
        f"pulumi stack init {shared} --secrets-provider {shlex.quote(s.secrets_provider)}",
        "python -m caas preflight --stack shared --online --first-run",
        f"pulumi up --stack {shared}",
        "# Every later `up` (shared included) runs in the deploy pipeline on the pool, as the deployer.",
        "# Each environment stack grants the deployer AKS RBAC Cluster Admin on its cluster:",
        f"DEPLOYER_PRINCIPAL_ID=$(az identity show -n {d.deployer_identity} -g {s.resource_group} "
        "--query principalId -o tsv)",
    ]
    lines += [
        f'pulumi config set --stack {d.stack_name(stack)} caas:aks.deployerPrincipalId "$DEPLOYER_PRINCIPAL_ID"'
        for stack in environment_stacks
    ]
    return "\n".join(lines) + "\n"


Run = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def apply(steps: Sequence[Step], lookups: Lookups, run: Run = _run, out=sys.stdout) -> int:
    """Run the steps one by one (show-or-create); stop at the first failure with its command and stderr."""
    values: dict[str, str] = {}

    def resolve(words: Sequence[str]) -> list[str] | str:
        for name in {n for w in words for n in _VAR.findall(w)}:
            if name not in values:
                result = run(lookups[name])
                if result.returncode != 0 or not result.stdout.strip():
                    return f"{' '.join(lookups[name])}: {result.stderr.strip() or 'no value'}"
                values[name] = result.stdout.strip()
        return [_VAR.sub(lambda m: values[m[1]], w) for w in words]

    for number, step in enumerate(steps, 1):
        if step.check is not None:
            check = resolve(step.check)
            if isinstance(check, str):
                print(f"FAIL  {number}. {step.what}: {check}", file=out)
                return 1
            found = run(check)
            output = found.stdout.strip()
            exists = found.returncode == 0 and (output == step.expect if step.expect is not None else bool(output))
            if exists:
                print(f"ok    {number}. {step.what}: exists", file=out)
                continue
        command = resolve(step.command)
        if isinstance(command, str):
            print(f"FAIL  {number}. {step.what}: {command}", file=out)
            return 1
        result = run(command)
        if result.returncode != 0:
            print(f"FAIL  {number}. {step.what}: {shlex.join(command)}\n{result.stderr.strip()}", file=out)
            return 1
        print(f"done  {number}. {step.what}", file=out)
    return 0


def missing_prerequisites() -> list[str]:
    return (
        []
        if shutil.which("az")
        else ["caas init --apply: the Azure CLI (az) is not on PATH; install it, then az login"]
    )
