"""Azure built-in role definitions and deterministic role assignments."""

from __future__ import annotations

import uuid

import pulumi
import pulumi_azure_native as azure_native

# Built-in role definition ids (learn.microsoft.com, "Azure built-in roles"); stable across tenants.
ROLES: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    # Backup vaults' and AKS backup's disk snapshots (built-in-roles/compute#disk-snapshot-contributor).
    "Disk Snapshot Contributor": "7efff54f-a5b4-42b5-a1c5-5411624893ce",
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    "Azure Kubernetes Service RBAC Reader": "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
    "Azure Kubernetes Service RBAC Writer": "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Certificates Officer": "a4417e6f-fecd-4de8-b567-7b0420556985",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Private DNS Zone Contributor": "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    # Entra ID SSH sign-in to a VM with the AADSSHLoginForLinux extension, as a user or with sudo
    # (learn.microsoft.com, "Sign in to a Linux virtual machine in Azure by using Microsoft Entra ID").
    "Virtual Machine Administrator Login": "1c0163c0-47e6-4577-8991-ea5c82e286e4",
    "Virtual Machine User Login": "fb879df8-f326-4884-b1cf-06f3ad86be52",
}


def role_definition_id(role: str, guid: str | None = None) -> pulumi.Output[str]:
    """The subscription-scoped id of a built-in role (or of the custom role ``guid``), as ARM expects in a role
    assignment."""
    guid = guid or ROLES[role]
    client = azure_native.authorization.get_client_config_output()
    return client.subscription_id.apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )


def assign(
    name: str,
    *,
    role: str,
    principal_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    parent: pulumi.Resource,
    principal_type: str = "ServicePrincipal",
    description: str | None = None,
    custom_guid: str | None = None,
    aliases: list[pulumi.Alias] | None = None,
) -> azure_native.authorization.RoleAssignment:
    """Grant ``role`` to a principal on exactly ``scope``.

    The assignment's name (a GUID in ARM) derives from the project, stack and logical name, so it is stable
    across runs instead of the random GUID azure-native would pick. ``custom_guid`` names a custom role defined
    outside the stacks (by ``caas init``) instead of the built-in ``role``.
    """
    seed = f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
    return azure_native.authorization.RoleAssignment(
        name,
        azure_native.authorization.RoleAssignmentArgs(
            role_assignment_name=str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
            role_definition_id=role_definition_id(role, custom_guid),
            principal_id=principal_id,
            principal_type=principal_type,
            scope=scope,
            description=description or f"{role} for {name}",
        ),
        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases),
    )
