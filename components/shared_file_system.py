"""Azure Files Premium with NFS 4.1 shares: the ICM 7.10 share of each system and the apps' RWX volumes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.compute import FileSystemSpec
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics
from components.private_link import after, private_endpoint

storage = azure_native.storage


def mount_source(account: str, share: str) -> str:
    """The NFS export of a share, as ``mount`` and Kubernetes NFS volumes take it."""
    return f"{account}.file.core.windows.net:/{account}/{share}"


@dataclass
class SharedFileSystemArgs:
    site: Site
    spec: FileSystemSpec
    resource_group_name: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    file_dns_zone_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]


class SharedFileSystem(pulumi.ComponentResource):
    """``intershop:caas:SharedFileSystem``: one FileStorage account, its NFS shares and a private endpoint.

    ``share_names``/``share_ids``/``mount_sources`` are keyed by share (``icm710-live``, ``icm11-edit``,
    ``iom`` ...); a mount source resolves only once its share exists and the endpoint's A record is in the
    (linked) zone, so hosts that mount it wait for both.
    """

    def __init__(self, name: str, args: SharedFileSystemArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:SharedFileSystem", name, None, opts)
        rg = args.resource_group_name
        stateful = pulumi.ResourceOptions(parent=self, protect=args.site.protect)

        self.account = storage.StorageAccount(
            f"{name}-account",
            storage.StorageAccountArgs(
                account_name=args.site.names.compact("storage", "nfs"),
                resource_group_name=rg,
                location=args.site.location,
                kind=storage.Kind.FILE_STORAGE,
                sku=storage.SkuArgs(name=f"Premium_{args.spec.storage_redundancy}"),
                # Plain NFS 4.1 carries no TLS, and Azure refuses NFS mounts on an account that requires
                # secure transfer, so it must be off. What compensates: no public endpoint at all, a
                # firewall that denies every network, and the private endpoint in the environment's VNet as
                # the only way in, so NFS traffic stays on private addresses and never crosses the internet.
                enable_https_traffic_only=False,
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,  # still governs the HTTPS (REST) endpoint
                public_network_access=storage.PublicNetworkAccess.DISABLED,
                network_rule_set=storage.NetworkRuleSetArgs(
                    default_action=storage.DefaultAction.DENY, bypass=storage.Bypass.NONE
                ),
                # NFS authorises by network, never by key; SMB and REST access with keys stays impossible.
                allow_shared_key_access=False,
                allow_blob_public_access=False,
                allow_cross_tenant_replication=False,
                encryption=storage.EncryptionArgs(
                    key_source=storage.KeySource.MICROSOFT_STORAGE, require_infrastructure_encryption=True
                ),
                tags=args.site.tags,
            ),
            opts=stateful,
        )
        file_service = storage.FileServiceProperties(
            f"{name}-file-service",
            storage.FileServicePropertiesArgs(
                account_name=self.account.name,
                resource_group_name=rg,
                file_services_name="default",
                share_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                    enabled=True, days=args.spec.soft_delete_days
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.share_ids: dict[str, pulumi.Output[str]] = {}
        self.share_names: dict[str, pulumi.Output[str]] = {}
        # Hosts mount at boot (cloud-init, CSI): the account's name must resolve to this endpoint by then.
        registered = private_endpoint(
            f"{name}-pe",
            endpoint_name=args.site.names.resource("private_endpoint", "nfs"),
            resource_group_name=rg,
            location=args.site.location,
            subnet_id=args.private_endpoint_subnet_id,
            target_id=self.account.id,
            group_id="file",
            zone_id=args.file_dns_zone_id,
            tags=args.site.tags,
            parent=self,
        )
        self.mount_sources: dict[str, pulumi.Output[str]] = {}
        for share_name, quota in args.spec.shares.items():
            share = storage.FileShare(
                f"{name}-share-{share_name}",
                storage.FileShareArgs(
                    account_name=self.account.name,
                    resource_group_name=rg,
                    share_name=share_name,
                    enabled_protocols=storage.EnabledProtocols.NFS,
                    root_squash=args.spec.root_squash,
                    share_quota=quota,
                ),
                # Soft delete must be on before a share can be deleted by mistake.
                opts=pulumi.ResourceOptions(parent=self, protect=args.site.protect, depends_on=[file_service]),
            )
            self.share_ids[share_name] = share.id
            self.share_names[share_name] = share.name
            self.mount_sources[share_name] = after(
                pulumi.Output.all(self.account.name, share.name).apply(lambda names: mount_source(*names)),
                registered.dns,
            )

        # The account has metrics only; the file service has the read/write/delete logs and share metrics.
        send_to_log_analytics(
            f"{name}-account", resource_id=self.account.id, workspace_id=args.workspace_id, parent=self, logs=False
        )
        send_to_log_analytics(
            f"{name}-file-service", resource_id=file_service.id, workspace_id=args.workspace_id, parent=self
        )
        self.account_name = self.account.name
        self.register_outputs(
            {
                "accountName": self.account.name,
                "shareIds": self.share_ids,
                "mountSources": self.mount_sources,
            }
        )
