"""SFTP data exchange: the customer's SFTP host in the shared stack and each environment's private way to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.connectivity import SFTP_PERMISSIONS, SFTP_PORT, SOFT_DELETE_DAYS, SftpEndpoint, SftpService
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics
from components.private_link import private_endpoint

storage = azure_native.storage


@dataclass
class SftpArgs:
    site: Site
    spec: SftpService
    storage_redundancy: str  # the profile's (LRS or ZRS)
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]  # the hub's
    blob_zone_id: pulumi.Input[str]  # the shared privatelink.blob.core.windows.net


class Sftp(pulumi.ComponentResource):
    """``intershop:caas:Sftp``: one storage account serving SFTP, one container and local user per environment.

    The account lives in the shared stack because the platform runs one SFTP host per customer. Its one private
    endpoint is in the hub, registered in the shared blob zone; environments reach it over their peering and
    resolve it through their link to that zone (``SftpAccess``), so this stack never depends on an environment.
    Local users log in with SSH keys only and see only their own container.
    """

    def __init__(self, name: str, args: SftpArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Sftp", name, None, opts)
        service = args.spec
        self.account = self._account(name, args)
        self.host = pulumi.Output.concat(self.account.name, ".blob.core.windows.net")
        self._blob_service(name, args)
        private_endpoint(
            f"{name}-pe",
            endpoint_name=args.site.names.resource("private_endpoint", "sftp"),
            resource_group_name=args.resource_group_name,
            location=args.site.location,
            subnet_id=args.private_endpoint_subnet_id,
            target_id=self.account.id,
            group_id="blob",
            zone_id=args.blob_zone_id,
            tags=args.site.tags,
            parent=self,
        )
        for env, endpoint in service.endpoints.items():
            self._user(name, args, env, endpoint)
        if service.endpoints:
            self._housekeeping(name, args)
        self.facts: dict[str, Any] = {
            "host": self.host,
            "port": service.port,
            "storageAccountName": self.account.name,
            "allowedSourceRanges": [str(r) for r in service.allowed_source_ranges],
            "housekeeping": {
                "importDays": service.housekeeping.import_days,
                "exportDays": service.housekeeping.export_days,
            },
            "users": {
                env: {
                    "user": e.user,
                    "container": e.container,
                    "homeDirectory": e.home_directory,
                    "login": self.account.name.apply(e.login),
                }
                for env, e in service.endpoints.items()
            },
        }
        self.register_outputs({"storageAccountId": self.account.id, "host": self.host})

    def _account(self, name: str, args: SftpArgs) -> storage.StorageAccount:
        """SFTP-enabled, key-less (local users by SSH key, everything else by Entra ID), firewalled to partners."""
        service, rg, loc, tags = args.spec, args.resource_group_name, args.site.location, args.site.tags
        # The account and its containers hold production data exchanged with partners.
        stateful = pulumi.ResourceOptions(parent=self, protect=args.site.protect)
        return storage.StorageAccount(
            f"{name}-account",
            storage.StorageAccountArgs(
                account_name=service.account,
                resource_group_name=rg,
                location=loc,
                kind="StorageV2",
                sku=storage.SkuArgs(name=f"Standard_{args.storage_redundancy}"),
                access_tier=storage.AccessTier.HOT,
                # SFTP needs the hierarchical namespace and local users (its only identities).
                is_hns_enabled=True,
                is_sftp_enabled=True,
                is_local_user_enabled=True,
                # Local users authenticate with their SSH keys, never with the account keys; everything
                # else (operators, pipelines) uses Entra ID, so the account keys stay unusable.
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                allow_blob_public_access=False,
                allow_cross_tenant_replication=False,
                enable_https_traffic_only=True,
                minimum_tls_version="TLS1_2",
                # Public, because partners connect from the internet; the firewall admits only their ranges
                # (account-wide: the service applies network rules per account, not per local user).
                # Environments come in through the hub's private endpoint, which the firewall does not filter.
                public_network_access="Enabled" if service.public else "Disabled",
                network_rule_set=storage.NetworkRuleSetArgs(
                    default_action=storage.DefaultAction.DENY,
                    bypass="None",
                    ip_rules=[
                        storage.IPRuleArgs(i_p_address_or_range=r, action=storage.Action.ALLOW)
                        for r in service.ip_rules
                    ],
                ),
                # SFTP works only with Microsoft network routing.
                routing_preference=storage.RoutingPreferenceArgs(routing_choice="MicrosoftRouting"),
                encryption=storage.EncryptionArgs(
                    key_source="Microsoft.Storage",
                    require_infrastructure_encryption=True,  # double encryption; settable only at creation
                    services=storage.EncryptionServicesArgs(
                        blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                        file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                    ),
                ),
                tags=tags,
            ),
            opts=stateful,
        )

    def _blob_service(self, name: str, args: SftpArgs) -> None:
        rg = args.resource_group_name
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            storage.BlobServicePropertiesArgs(
                account_name=self.account.name,
                resource_group_name=rg,
                blob_services_name="default",
                # A partner's mistaken delete (or a whole container) can be restored for a week.
                delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=SOFT_DELETE_DAYS),
                container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                    enabled=True, days=SOFT_DELETE_DAYS
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Storage logs live on the blob service; the account itself offers metrics only.
        send_to_log_analytics(
            f"{name}-account", resource_id=self.account.id, workspace_id=args.workspace_id, parent=self, logs=False
        )
        send_to_log_analytics(f"{name}-blob", resource_id=blob_service.id, workspace_id=args.workspace_id, parent=self)

    def _user(self, name: str, args: SftpArgs, env: str, endpoint: SftpEndpoint) -> None:
        """The environment's container and its local user, who logs in with SSH keys to that container only."""
        service, rg = args.spec, args.resource_group_name
        stateful = pulumi.ResourceOptions(parent=self, protect=args.site.protect)
        container = storage.BlobContainer(
            f"{name}-container-{env}",
            storage.BlobContainerArgs(
                container_name=endpoint.container,
                account_name=self.account.name,
                resource_group_name=rg,
                public_access=storage.PublicAccess.NONE,
            ),
            opts=stateful,
        )
        storage.LocalUser(
            f"{name}-user-{env}",
            storage.LocalUserArgs(
                username=endpoint.user,
                account_name=self.account.name,
                resource_group_name=rg,
                home_directory=endpoint.home_directory,
                permission_scopes=[
                    storage.PermissionScopeArgs(
                        permissions=SFTP_PERMISSIONS, service="blob", resource_name=container.name
                    )
                ],
                ssh_authorized_keys=[
                    storage.SshPublicKeyArgs(key=k.key, description=k.comment or f"{endpoint.user}-{i + 1}")
                    for i, k in enumerate(service.keys[env])
                ],
                has_ssh_key=True,
                has_ssh_password=False,
                has_shared_key=False,
                allow_acl_authorization=False,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _housekeeping(self, name: str, args: SftpArgs) -> None:
        """Delete files older than the housekeeping period, per environment and folder."""
        service, rg = args.spec, args.resource_group_name
        storage.ManagementPolicy(
            f"{name}-housekeeping",
            storage.ManagementPolicyArgs(
                account_name=self.account.name,
                resource_group_name=rg,
                management_policy_name="default",
                policy=storage.ManagementPolicySchemaArgs(
                    rules=[
                        storage.ManagementPolicyRuleArgs(
                            name=rule.name,
                            type="Lifecycle",
                            enabled=True,
                            definition=storage.ManagementPolicyDefinitionArgs(
                                filters=storage.ManagementPolicyFilterArgs(
                                    blob_types=["blockBlob"], prefix_match=[rule.prefix]
                                ),
                                actions=storage.ManagementPolicyActionArgs(
                                    base_blob=storage.ManagementPolicyBaseBlobArgs(
                                        delete=storage.DateAfterModificationArgs(
                                            days_after_modification_greater_than=rule.days
                                        )
                                    )
                                ),
                            ),
                        )
                        for rule in service.lifecycle_rules
                    ]
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


@dataclass
class SftpAccessArgs:
    site: Site
    spec: SftpEndpoint
    storage_account_name: pulumi.Input[str]  # the shared SFTP host, read through the StackReference
    host: pulumi.Input[str]


class SftpAccess(pulumi.ComponentResource):
    """``intershop:caas:SftpAccess``: an environment's way to the shared SFTP host, as facts for its runbooks.

    ICM reaches SFTP on the account's blob host name, which the spoke resolves through its link to the shared
    blob zone to the hub's private endpoint (over the peering). No endpoint of its own: a second endpoint of
    the account registered in the same zone would overwrite the hub's record (see components/private_link.py).
    The spoke's link to the blob zone is the Network's (the spec lists the zone when the env has SFTP).
    """

    def __init__(self, name: str, args: SftpAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:SftpAccess", name, None, opts)
        endpoint = args.spec
        self.facts: dict[str, Any] = {
            "host": args.host,
            "port": SFTP_PORT,
            "user": endpoint.user,
            "container": endpoint.container,
            "login": pulumi.Output.from_input(args.storage_account_name).apply(endpoint.login),
        }
        self.register_outputs({"user": endpoint.user, "container": endpoint.container})
