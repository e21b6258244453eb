"""``python -m caas init --stack S [--after-up] [--apply]``: what the pipelines need, as code, in three parts.

- ``--stack shared`` (before the shared stack's first `up`): the state backend (storage account, container, Key
  Vault key for secrets), the deployer and data identities with their federated credentials and service
  connections, exactly the deployer's roles, the Azure DevOps environments and approval checks, the Docker Hub
  variable group linked to the state vault, the pipeline definitions, the build-validation policy on main and
  the Build Service's rights on the repository.
- ``--stack shared --after-up`` (after that first `up`): the registry service connection, federated to the
  shared stack's ``pipelines`` identity (AcrPush), whose client id only the stack's outputs know.
- ``--stack int|uat|prd --after-up`` (after the environment's first deploy): the restore group and staging
  account of its data jobs and the data identity's roles there; their scopes must exist before a role can be
  assigned on them.

Without ``--apply`` the steps print as a shell script and nothing is created. With it, each step runs in order
as show-or-create (a step whose check finds the thing is skipped), stopping at the first failure with the
command and its stderr. All names come from :mod:`caas.delivery`, :mod:`caas.datajobs` and the stack models;
no secret value is ever an argument or printed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from caas import datajobs
from caas.config import EstateConfig
from caas.delivery import Delivery
from caas.pipeline_vars import PipelineDefinition
from caas.release import DOCKERHUB_SECRETS, DOCKERHUB_VARIABLE_GROUP
from components.roles import ROLES

# Built-in roles init grants (learn.microsoft.com, "Azure built-in roles"); the stacks' own roles are in
# components.roles.ROLES.
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"  # Role Based Access Control Administrator
STORAGE_BLOB_DATA_CONTRIBUTOR = ROLES["Storage Blob Data Contributor"]
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KEY_VAULT_SECRETS_USER = ROLES["Key Vault Secrets User"]
KEY_VAULT_SECRETS_OFFICER = ROLES["Key Vault Secrets Officer"]

# The roles the stacks assign: the deployer may grant and remove these and no other. tests/test_init.py checks
# this is exactly the set of roleDefinitionIds in the plans of every shipped stack.
STACK_ROLES = (
    "AcrPull",
    "AcrPush",
    "Azure Kubernetes Service Cluster User Role",
    "Azure Kubernetes Service RBAC Cluster Admin",
    "Azure Kubernetes Service RBAC Reader",
    "Azure Kubernetes Service RBAC Writer",
    "Disk Snapshot Contributor",  # the AKS cluster's identity on the AKS backup snapshot group only
    "Key Vault Certificates Officer",  # the deployer on each environment vault (pipelines/estate/certificates.yml)
    "Key Vault Secrets User",
    "Managed Identity Operator",
    "Monitoring Metrics Publisher",  # the collector's identity on the environment's Application Insights
    "Network Contributor",
    "Reader",
    "Storage Blob Data Contributor",  # the AKS backup extension on its own storage account
    "Virtual Machine User Login",
)

# Azure DevOps as a resource for `az rest --resource` (learn.microsoft.com, "Manage personal access tokens
# using API": the Azure DevOps application id).
DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
# The Approval check type (learn.microsoft.com/rest/api/azure/devops/approvalsandchecks/check-configurations/add).
APPROVAL_CHECK_TYPE = "8C6F20A7-A545-4486-9777-F762FAFE0D4D"
APPROVAL_TIMEOUT_MINUTES = 4320  # three days, then the run fails and is re-queued
AUDIENCE = "api://AzureADTokenExchange"
# The Build policy type of branch policies (learn.microsoft.com/rest/api/azure/devops/policy/types/list: "Build",
# the build-validation policy; `az repos policy build create` posts the same type).
BUILD_POLICY_TYPE = "0609b952-1397-4640-95ec-e00a01b2c241"
BUILD_POLICY_VALID_MINUTES = 720  # a validation result older than half a day is re-queued before completion
# Security namespace "Git Repositories" and its bits (learn.microsoft.com, "Security namespace and permission
# reference for Azure DevOps"; GitRepositoryPermissions enum: GenericContribute 4, CreateBranch 16,
# PullRequestContribute 16384). Tokens are repoV2/<project id>/<repository id>.
GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
GIT_CONTRIBUTE, GIT_CREATE_BRANCH, GIT_CONTRIBUTE_TO_PULL_REQUESTS = 4, 16, 16384
RELEASE_GIT_BITS = GIT_CONTRIBUTE | GIT_CREATE_BRANCH | GIT_CONTRIBUTE_TO_PULL_REQUESTS
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
    """The built-in roles the stacks assign and, for a customer, its one custom command-invoke role (defined by
    init under a GUID fixed by the customer: ``Delivery.command_invoke_role``)."""
    ids = {ROLES[name] for name in STACK_ROLES}
    if d is not None:
        ids.add(d.command_invoke_role.guid)
    return sorted(ids)


# Role Definitions - Create Or Update (learn.microsoft.com/rest/api/authorization/role-definitions/create-or-update):
# a PUT under a GUID of our choosing, so a re-run updates the same definition (`az role definition create`
# would pick a new GUID each time).
ROLE_DEFINITIONS_API = "2022-04-01"


def command_invoke_definition(d: Delivery, sub: str) -> Step:
    """The customer's one custom role, assignable in its subscription; the stacks only assign it (on a cluster),
    so the deployer never writes role definitions and cannot widen this one."""
    role = d.command_invoke_role
    body = {
        "properties": {
            "roleName": role.name,
            "description": role.description,
            "type": "CustomRole",
            "permissions": [{"actions": list(role.actions), "notActions": []}],
            "assignableScopes": [sub],
        }
    }
    return Step(
        f"custom role {role.name}",
        "partners run kubectl through the Azure API (`az aks command invoke`) with exactly these two actions; "
        "no built-in role grants only them. The environment stacks assign it on their cluster",
        (
            "az",
            "rest",
            "--method",
            "PUT",
            "--url",
            f"{sub}/providers/Microsoft.Authorization/roleDefinitions/{role.guid}?api-version={ROLE_DEFINITIONS_API}",
            "--body",
            json.dumps(body),
        ),
    )


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
    command += ["--assignee-principal-type", "User" if assignee == "${OPERATOR_ID}" else "ServicePrincipal"]
    command += ["--role", role, "--scope", scope, "--description", why]
    check = ("az", "role", "assignment", "list", "--assignee", assignee, "--role", role, "--scope", scope)
    if condition is None:
        return Step(what, why, tuple(command), (*check, "--query", "[0].id", "-o", "tsv"))
    command += ["--condition", condition, "--condition-version", "2.0"]
    return Step(what, why, tuple(command), (*check, "--query", "[0].condition", "-o", "tsv"), expect=condition)


def _identity_lookups(d: Delivery, identity: str, prefix: str) -> Lookups:
    rg = ("-g", d.state.resource_group)
    show = ("az", "identity", "show", "-n", identity, *rg, "--query")
    return {
        f"{prefix}_PRINCIPAL_ID": (*show, "principalId", "-o", "tsv"),
        f"{prefix}_CLIENT_ID": (*show, "clientId", "-o", "tsv"),
    }


def _identity(d: Delivery, identity: str, connection: str, subject: str, why: str) -> list[Step]:
    """A user-assigned identity in the state group and the federated credential its service connection uses."""
    rg = ("-g", d.state.resource_group)
    credential = ("az", "identity", "federated-credential")
    named = ("--name", connection, "--identity-name", identity, *rg)
    return [
        Step(
            f"identity {identity}",
            why,
            ("az", "identity", "create", "-n", identity, *rg, "-l", d.state.location),
            ("az", "identity", "show", "-n", identity, *rg, "--query", "id", "-o", "tsv"),
        ),
        Step(
            f"federated credential for {connection}",
            f"Azure DevOps exchanges its token (issuer {d.issuer}, subject {subject}) for the identity's",
            (*credential, "create", *named, "--issuer", d.issuer, "--subject", subject, "--audiences", AUDIENCE),
            (*credential, "show", *named, "--query", "id", "-o", "tsv"),
        ),
    ]


def _service_connection(d: Delivery, name: str, client_id: str, identity: str) -> Step:
    """An azurerm service connection with workload identity federation (no secret) to an identity, scoped to the
    subscription (REST "Endpoints - Create"; learn.microsoft.com/rest/api/azure/devops/serviceendpoint)."""
    org, project = d.organization_url, d.devops_project
    body = {
        "name": name,
        "type": "azurerm",
        "url": "https://management.azure.com/",
        "authorization": {
            "scheme": "WorkloadIdentityFederation",
            "parameters": {"tenantid": "${TENANT_ID}", "serviceprincipalid": client_id},
        },
        "data": {
            "environment": "AzureCloud",
            "scopeLevel": "Subscription",
            "subscriptionId": "${SUBSCRIPTION_ID}",
            "subscriptionName": "${SUBSCRIPTION_NAME}",
            "creationMode": "Manual",
        },
        "serviceEndpointProjectReferences": [
            {"projectReference": {"id": "${DEVOPS_PROJECT_ID}", "name": project}, "name": name}
        ],
    }
    return Step(
        f"service connection {name}",
        f"azurerm connection with workload identity federation to {identity}: no secret to rotate",
        _devops("post", f"{org}/_apis/serviceendpoint/endpoints?api-version=7.1", "--body", _json(body)),
        _devops(
            "get",
            f"{org}/{project}/_apis/serviceendpoint/endpoints?endpointNames={name}&api-version=7.1",
            "--query",
            "value[0].id",
            "-o",
            "tsv",
        ),
    )


def _json(body: object, numbers: Sequence[str] = ()) -> str:
    """A compact JSON body; ``numbers`` are ${VARIABLES} that must be JSON numbers, not strings."""
    text = json.dumps(body, separators=(",", ":"))
    for name in numbers:
        text = text.replace(f'"${{{name}}}"', f"${{{name}}}")
    return text


def _common_lookups(d: Delivery) -> Lookups:
    org = d.organization_url
    return {
        "SUBSCRIPTION_ID": ("az", "account", "show", "--query", "id", "-o", "tsv"),
        "SUBSCRIPTION_NAME": ("az", "account", "show", "--query", "name", "-o", "tsv"),
        "TENANT_ID": ("az", "account", "show", "--query", "tenantId", "-o", "tsv"),
        "OPERATOR_ID": ("az", "ad", "signed-in-user", "show", "--query", "id", "-o", "tsv"),
        "DEVOPS_PROJECT_ID": _devops(
            "get", f"{org}/_apis/projects/{d.devops_project}?api-version=7.1", "--query", "id", "-o", "tsv"
        ),
    }


def plan(
    d: Delivery,
    approvers: Sequence[str],
    pipelines: Sequence[PipelineDefinition] = (),
    repository: str | None = None,
) -> tuple[list[Step], Lookups]:
    """The bootstrap of one customer, in order. ``pipelines``: the definitions to create (from
    ``pipeline_vars.pipeline_definitions``); ``repository``: the Azure Repos repository holding them (default: the
    repository named like the Azure DevOps project, the one every project starts with)."""
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
        **_common_lookups(d),
        **_identity_lookups(d, d.deployer_identity, "DEPLOYER"),
        **_identity_lookups(d, d.data_identity, "DATA"),
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
            "Pulumi state (DIY backend): geo-redundant (the DR activation writes to it after a region loss, "
            "docs/recovery.md), TLS 1.2, no public blobs, Entra ID only (shared key off)",
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
                s.sku,
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
        _role(
            "operator: Key Vault Secrets Officer on the vault",
            f"the operator sets the Docker Hub secrets ({', '.join(DOCKERHUB_SECRETS.values())}) once init is done",
            "${OPERATOR_ID}",
            KEY_VAULT_SECRETS_OFFICER,
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
        *_identity(
            d,
            d.deployer_identity,
            d.service_connection,
            d.deployer_subject,
            "the pipelines run `pulumi up` as this identity; no secret exists for it",
        ),
        _role(
            "deployer: Contributor on the subscription",
            "the stacks create their own resource groups and everything in them",
            "${DEPLOYER_PRINCIPAL_ID}",
            CONTRIBUTOR,
            sub,
        ),
        command_invoke_definition(d, sub),
        _role(
            "deployer: Role Based Access Control Administrator on the subscription, constrained",
            "the stacks assign roles; the condition limits it to exactly the roles they assign: "
            + ", ".join((*STACK_ROLES, d.command_invoke_role.name)),
            "${DEPLOYER_PRINCIPAL_ID}",
            RBAC_ADMINISTRATOR,
            sub,
            role_condition(stack_role_ids(d)),
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
        _role(
            "deployer: Key Vault Secrets User on the state vault",
            f"the variable group {DOCKERHUB_VARIABLE_GROUP} reads the Docker Hub secrets through the deployer's "
            "connection; the vault holds no other secret (the stacks' key is a key, not a secret)",
            "${DEPLOYER_PRINCIPAL_ID}",
            KEY_VAULT_SECRETS_USER,
            vault,
        ),
        _service_connection(d, d.service_connection, "${DEPLOYER_CLIENT_ID}", "the deployer identity"),
        *_identity(
            d,
            d.data_identity,
            d.data_service_connection,
            d.data_subject,
            "the data jobs (pipelines/data/) run as this identity; its roles come per environment, after the "
            "environment's first deploy (init --stack <env> --after-up)",
        ),
        _service_connection(d, d.data_service_connection, "${DATA_CLIENT_ID}", "the data identity"),
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
    steps += _devops_steps(d, lookups, pipelines, repository or project)
    return steps, lookups


def _devops_steps(
    d: Delivery, lookups: Lookups, pipelines: Sequence[PipelineDefinition], repository: str
) -> list[Step]:
    """The Azure DevOps objects the pipelines reference: the Docker Hub variable group, the pipeline definitions,
    the build-validation policy on main and the Build Service's rights on the repository."""
    org, project = d.organization_url, d.devops_project
    api = f"{org}/{project}/_apis"
    scope = ("--organization", org, "--project", project)
    lookups["DEPLOYER_CONNECTION_ID"] = _devops(
        "get",
        f"{api}/serviceendpoint/endpoints?endpointNames={d.service_connection}&api-version=7.1",
        "--query",
        "value[0].id",
        "-o",
        "tsv",
    )
    # Variable group linked to Key Vault (REST "Variablegroups - Add": type AzureKeyVault, providerData
    # {serviceEndpointId, vault}; learn.microsoft.com/rest/api/azure/devops/distributedtask/variablegroups/add).
    # Only the secrets' names go in: Azure DevOps reads the values at run time through the connection.
    group = {
        "name": DOCKERHUB_VARIABLE_GROUP,
        "description": "Docker Hub credentials of Intershop's private repositories (pipelines/release/base-images.yml)",
        "type": "AzureKeyVault",
        "providerData": {"serviceEndpointId": "${DEPLOYER_CONNECTION_ID}", "vault": d.state.key_vault},
        "variables": {name: {"isSecret": True, "enabled": True} for name in DOCKERHUB_SECRETS.values()},
        "variableGroupProjectReferences": [
            {"name": DOCKERHUB_VARIABLE_GROUP, "projectReference": {"id": "${DEVOPS_PROJECT_ID}", "name": project}}
        ],
    }
    steps = [
        Step(
            f"variable group {DOCKERHUB_VARIABLE_GROUP}",
            f"linked to the state vault {d.state.key_vault}: the shared stack has no Key Vault, and this one is RBAC "
            "only, purge-protected and outside every stack (no `pulumi destroy` removes it); read through the "
            "deployer's connection, which runs the base-image import",
            _devops("post", f"{org}/_apis/distributedtask/variablegroups?api-version=7.1", "--body", _json(group)),
            _devops(
                "get",
                f"{api}/distributedtask/variablegroups?groupName={DOCKERHUB_VARIABLE_GROUP}&api-version=7.1",
                "--query",
                "value[0].id",
                "-o",
                "tsv",
            ),
        )
    ]
    for pipeline in pipelines:
        steps.append(
            Step(
                f"pipeline {pipeline.name}",
                f"runs {pipeline.path}; created without a first run (the agent pool may not exist yet)",
                (
                    *("az", "pipelines", "create", "--name", pipeline.name, "--yaml-path", pipeline.path),
                    *("--repository", repository, "--repository-type", "tfsgit", "--branch", "main"),
                    *("--skip-first-run", "true", *scope),
                ),
                ("az", "pipelines", "show", "--name", pipeline.name, *scope, "--query", "id", "-o", "tsv"),
            )
        )
    validate = next((p for p in pipelines if p.path.endswith("/validate.yml")), None)
    lookups["REPOSITORY_ID"] = ("az", "repos", "show", "--repository", repository, *scope, "--query", "id", "-o", "tsv")
    if validate is not None:
        lookups["VALIDATE_PIPELINE_ID"] = (
            *("az", "pipelines", "show", "--name", validate.name, *scope),
            *("--query", "id", "-o", "tsv"),
        )
        policy = {
            "isEnabled": True,
            "isBlocking": True,
            "type": {"id": BUILD_POLICY_TYPE},
            "settings": {
                "buildDefinitionId": "${VALIDATE_PIPELINE_ID}",
                "displayName": validate.name,
                "queueOnSourceUpdateOnly": True,
                "manualQueueOnly": False,
                "validDuration": BUILD_POLICY_VALID_MINUTES,
                "scope": [{"repositoryId": "${REPOSITORY_ID}", "refName": "refs/heads/main", "matchKind": "exact"}],
            },
        }
        steps.append(
            Step(
                f"build validation on main: {validate.name}",
                "Azure Repos ignores `pr:` triggers: a pull request into main runs the validation as a blocking "
                "branch policy",
                _devops(
                    "post",
                    f"{api}/policy/configurations?api-version=7.1",
                    "--body",
                    _json(policy, numbers=("VALIDATE_PIPELINE_ID",)),
                ),
                _devops(
                    "get",
                    f"{api}/policy/configurations?repositoryId=${{REPOSITORY_ID}}&refName=refs/heads/main"
                    f"&policyType={BUILD_POLICY_TYPE}&api-version=7.1",
                    "--query",
                    "value[?settings.buildDefinitionId==`${VALIDATE_PIPELINE_ID}`] | [0].id",
                    "-o",
                    "tsv",
                ),
            )
        )
    # The project-scoped job identity "<project> Build Service (<organisation>)" (System.AccessToken): its subject
    # descriptor from the identities API (REST "Identities - Read Identities", vssps host).
    organisation = org.rsplit("/", 1)[1]
    lookups["BUILD_SERVICE"] = _devops(
        "get",
        f"https://vssps.dev.azure.com/{organisation}/_apis/identities?searchFilter=General&filterValue="
        + quote(f"{project} Build Service ({organisation})")
        + "&api-version=7.1",
        "--query",
        "value[0].subjectDescriptor",
        "-o",
        "tsv",
    )
    steps.append(
        Step(
            "repository rights of the Build Service: Contribute, Create branch, Contribute to pull requests",
            "release pipelines push a release branch and open its pull request with System.AccessToken "
            "(pipelines/release/templates/propose.yml); merging stays with people and the branch policy",
            (
                *("az", "devops", "security", "permission", "update", "--namespace-id", GIT_NAMESPACE),
                *("--subject", "${BUILD_SERVICE}", "--token", "repoV2/${DEVOPS_PROJECT_ID}/${REPOSITORY_ID}"),
                *("--allow-bit", str(RELEASE_GIT_BITS), "--merge", "true", "--organization", org),
            ),
        )
    )
    return steps


def registry_plan(d: Delivery) -> tuple[list[Step], Lookups]:
    """After the shared stack's first `up`: the registry service connection release builds push with, federated
    to the shared stack's ``pipelines`` identity (AcrPush on the registry, federated credential for
    caas:devops.serviceConnectionSubject). Its client id is the stack output ``pipelineIdentityClientId``."""
    lookups = _common_lookups(d)
    lookups["PIPELINE_CLIENT_ID"] = (
        *("env", f"PULUMI_BACKEND_URL={d.state.url}", f"AZURE_STORAGE_ACCOUNT={d.state.storage_account}"),
        *("pulumi", "stack", "output", "pipelineIdentityClientId", "--stack", d.stack_name("shared")),
    )
    connection = _service_connection(
        d, d.registry_service_connection, "${PIPELINE_CLIENT_ID}", "the shared stack's pipelines identity (AcrPush)"
    )
    return [connection], lookups


def environment_plan(d: Delivery, models: Mapping[str, EstateConfig], stack: str) -> tuple[list[Step], Lookups]:
    """After an environment's first deploy: its restore group and staging account, then the data identity's roles
    on this environment (``caas.datajobs.role_grants``; the scopes, resources of the stack, exist only now)."""
    cfg = models[stack]
    lookups = {**_common_lookups(d), **_identity_lookups(d, d.data_identity, "DATA")}
    group, staging = datajobs.restore_resources(cfg)
    location = cfg.location.primary
    steps = []
    if group is not None:
        steps.append(
            Step(
                f"restore group {group}",
                "restored PostgreSQL servers and VM disks land here, outside the locked estate group, and can be "
                "deleted again (docs/recovery.md)",
                ("az", "group", "create", "-n", group, "-l", location),
                ("az", "group", "show", "-n", group, "--query", "id", "-o", "tsv"),
            )
        )
    if group is not None and staging is not None:
        steps.append(
            Step(
                f"staging account {staging}",
                "Azure Backup stages restored VM disks in a storage account of the vault's region "
                "(`az backup restore restore-disks --storage-account`); TLS 1.2, no public blobs",
                (
                    *("az", "storage", "account", "create", "-n", staging, "-g", group, "-l", location),
                    *("--kind", "StorageV2", "--sku", "Standard_LRS", "--min-tls-version", "TLS1_2"),
                    *("--https-only", "true", "--allow-blob-public-access", "false"),
                ),
                ("az", "storage", "account", "show", "-n", staging, "-g", group, "--query", "id", "-o", "tsv"),
            )
        )
    for grant in datajobs.role_grants(models):
        if grant.stack != stack:
            continue
        scope = grant.scope.replace("{subscriptionId}", "${SUBSCRIPTION_ID}")
        name = scope.rsplit("/", 1)[1]
        steps.append(_role(f"data: {grant.role} on {name}", grant.reason, "${DATA_PRINCIPAL_ID}", grant.role_id, scope))
    return steps, lookups


def _shell_word(word: str) -> str:
    """A word for a POSIX shell: variables stay expandable inside double quotes."""
    if not _VAR.search(word):
        return shlex.quote(word)
    return '"' + re.sub(r'(["\\`])', r"\\\1", word) + '"'


def script(d: Delivery, steps: Sequence[Step], lookups: Lookups, title: str = "") -> str:
    """The dry run: every step as shell, each value Azure knows read just before its first use."""
    lines = [
        "#!/bin/sh",
        f"# caas init for {d.customer}{title}: run with --apply, or review and run this script.",
        "set -e",
    ]
    defined: set[str] = set()
    for number, step in enumerate(steps, 1):
        lines += ["", f"# {number}. {step.what}", f"#    why: {step.why}"]
        for name in _VAR.findall(" ".join(step.command)):
            if name not in defined:
                lines.append(f"{name}=$({' '.join(_shell_word(w) for w in lookups[name])})")
                defined.add(name)
        lines.append(" ".join(_shell_word(w) for w in step.command))
    return "\n".join(lines) + "\n"


def next_steps(d: Delivery, environment_stacks: Sequence[str], folder: str = ".") -> str:
    """What the operator does after the bootstrap, in order: the Docker Hub secrets, the shared stack's first `up`
    from this machine, the registry connection (it needs that `up`), the deployer's AKS grant, then per
    environment the data jobs' part once the deploy pipeline has deployed it."""
    s = d.state
    shared = d.stack_name("shared")
    where = "" if folder == "." else f" --dir {shlex.quote(folder)}"
    lines = [
        "",
        "# Next, in this order.",
        "# 1. Intershop's Docker Hub credentials into the state vault (values never in a file or in the repository):",
        *(
            f"az keyvault secret set --vault-name {s.key_vault} --name {name} --value '<Intershop Docker Hub {role}>'"
            for role, name in DOCKERHUB_SECRETS.items()
        ),
        "# 2. The shared stack's first `up` runs from this machine (the agent pool does not exist yet):",
        f"export AZURE_STORAGE_ACCOUNT={s.storage_account}",
        f"pulumi login {s.url}",
        f"pulumi stack init {shared} --secrets-provider {shlex.quote(s.secrets_provider)}",
        f"python -m caas preflight --stack shared --online --first-run{where}",
        f"pulumi up --stack {shared}",
        "# 3. The registry service connection: its identity's client id is the stack output pipelineIdentityClientId",
        f"#    (pulumi stack output pipelineIdentityClientId --stack {shared}), so only after step 2:",
        f"python -m caas init --stack shared --after-up{where} --apply",
        "# 4. Each environment stack grants the deployer AKS RBAC Cluster Admin on its cluster; commit the stack",
        "#    files: every later `up` (shared included) runs in the deploy pipeline on the pool, as the deployer.",
        f"DEPLOYER_PRINCIPAL_ID=$(az identity show -n {d.deployer_identity} -g {s.resource_group} "
        "--query principalId -o tsv)",
    ]
    lines += [
        f'pulumi config set --stack {d.stack_name(stack)} caas:aks.deployerPrincipalId "$DEPLOYER_PRINCIPAL_ID"'
        for stack in environment_stacks
    ]
    lines.append("# 5. After each environment's first deploy: its restore group and the data identity's roles there.")
    lines += [f"python -m caas init --stack {stack} --after-up{where} --apply" for stack in environment_stacks]
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
        status, detail = _apply_step(step, resolve, run)
        print(f"{status:<6}{number}. {step.what}{detail}", file=out)
        if status == "FAIL":
            return 1
    return 0


def _apply_step(step: Step, resolve: Callable[[Sequence[str]], list[str] | str], run: Run) -> tuple[str, str]:
    """One step, show-or-create: (status ok/done/FAIL, what follows the step's name)."""
    if step.check is not None:
        check = resolve(step.check)
        if isinstance(check, str):
            return "FAIL", f": {check}"
        found = run(check)
        output = found.stdout.strip()
        if found.returncode == 0 and (output == step.expect if step.expect is not None else bool(output)):
            return "ok", ": exists"
    command = resolve(step.command)
    if isinstance(command, str):
        return "FAIL", f": {command}"
    result = run(command)
    if result.returncode != 0:
        return "FAIL", f": {shlex.join(command)}\n{result.stderr.strip()}"
    return "done", ""


def missing_prerequisites() -> list[str]:
    return (
        []
        if shutil.which("az")
        else ["caas init --apply: the Azure CLI (az) is not on PATH; install it, then az login"]
    )
