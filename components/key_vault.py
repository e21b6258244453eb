"""The environment's Key Vault: certificates and generated secrets, reachable only privately."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics
from components.private_link import after, private_endpoint
from components.roles import assign

keyvault = azure_native.keyvault


@dataclass
class KeyVaultArgs:
    site: Site
    soft_delete_days: int  # caas:keyVault.softDeleteRetentionDays
    purge_protection: bool  # the profile's: irreversible once on
    resource_group_name: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    vault_dns_zone_id: pulumi.Input[str]  # the shared vault zone, resolving once the spoke is linked to it
    workspace_id: pulumi.Input[str]
    # The deployer identity (caas:aks.deployerPrincipalId): imports the gateway's certificates from the hub's build
    # agents (pipelines/estate/certificates.yml), the only machines that reach this private vault. None: no grant.
    certificate_importer_principal_id: str | None


class KeyVault(pulumi.ComponentResource):
    """``intershop:caas:KeyVault``: RBAC-authorised vault, soft delete, purge protection, private endpoint."""

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:KeyVault", name, None, opts)
        site = args.site
        client = azure_native.authorization.get_client_config_output()
        vault_name = site.names.key_vault()
        self.vault = keyvault.Vault(
            f"{name}-vault",
            keyvault.VaultArgs(
                vault_name=vault_name,
                resource_group_name=args.resource_group_name,
                location=site.location,
                properties=keyvault.VaultPropertiesArgs(
                    tenant_id=client.tenant_id,
                    sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                    # Access by Azure RBAC role assignments only, no access policies.
                    enable_rbac_authorization=True,
                    enable_soft_delete=True,
                    soft_delete_retention_in_days=args.soft_delete_days,
                    # Azure accepts only true here; leaving it unset is how a non-prd vault stays purgeable.
                    enable_purge_protection=True if args.purge_protection else None,
                    public_network_access="Disabled",
                    network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
                ),
                tags=site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect),
        )
        self.vault_id = self.vault.id
        registered = private_endpoint(
            f"{name}-pe",
            endpoint_name=site.names.resource("private_endpoint", "kv"),
            resource_group_name=args.resource_group_name,
            location=site.location,
            subnet_id=args.private_endpoint_subnet_id,
            target_id=self.vault.id,
            group_id="vault",
            zone_id=args.vault_dns_zone_id,
            tags=site.tags,
            parent=self,
        )
        # The vault as seen from the VNet: its URI resolves only once the endpoint's A record exists in the zone
        # (the zone id given already waits for the spoke's link). The Application Gateway fetches its
        # certificates through it at create time, so no consumer gets the URI before the name resolves.
        self.vault_uri = after(self.vault.properties.apply(lambda p: p.vault_uri), registered.dns)
        if args.certificate_importer_principal_id is not None:
            # Certificates only: no secret or key of the vault becomes readable to the deploy pipeline.
            assign(
                f"{name}-certificate-importer",
                role="Key Vault Certificates Officer",
                principal_id=args.certificate_importer_principal_id,
                scope=self.vault.id,
                parent=self,
                description="deployer imports the gateway certificates (pipelines/estate/certificates.yml)",
            )
        send_to_log_analytics(f"{name}-vault", resource_id=self.vault.id, workspace_id=args.workspace_id, parent=self)
        self.register_outputs({"vaultId": self.vault.id, "vaultName": self.vault.name, "vaultUri": self.vault_uri})
