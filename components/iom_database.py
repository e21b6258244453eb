"""IOM's database: an Azure Database for PostgreSQL flexible server, reachable only inside the VNet."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.data import EntraAdmin, Postgres
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics

pg = azure_native.dbforpostgresql


@dataclass
class IomDatabaseArgs:
    site: Site
    spec: Postgres
    entra_admin: EntraAdmin
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # delegated to Microsoft.DBforPostgreSQL/flexibleServers
    dns_zone_id: pulumi.Input[str]  # <...>.private.postgres.database.azure.com, linked to the VNet
    workspace_id: pulumi.Input[str]
    admin_password: pulumi.Input[str]


class IomDatabase(pulumi.ComponentResource):
    """``intershop:caas:IomDatabase``: flexible server with VNet integration, zone-redundant HA and
    geo-redundant backup where the model says, the server parameters IOM requires, Entra ID admin group.

    Password authentication stays on: IOM's chart connects with a user and a password read from a Secret
    (``pg.passwdSecretKeyRef``, ``oms.db.passwdSecretKeyRef``); both passwords live in Key Vault only.
    """

    def __init__(self, name: str, args: IomDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:IomDatabase", name, None, opts)
        spec = args.spec
        rg = args.resource_group_name
        tenant_id = azure_native.authorization.get_client_config_output().tenant_id

        self.server = pg.Server(
            f"{name}-server",
            pg.ServerArgs(
                server_name=spec.name,
                resource_group_name=rg,
                location=args.site.location,
                version=spec.version,
                sku=pg.SkuArgs(name=spec.sku_name, tier=spec.tier),
                storage=pg.StorageArgs(storage_size_gb=spec.storage_gb, auto_grow="Enabled"),
                availability_zone=spec.zone,
                high_availability=pg.HighAvailabilityArgs(
                    mode=spec.high_availability, standby_availability_zone=spec.standby_zone
                ),
                backup=pg.BackupArgs(
                    backup_retention_days=spec.retention_days,
                    geo_redundant_backup="Enabled" if spec.geo_backup else "Disabled",
                ),
                network=pg.NetworkArgs(
                    delegated_subnet_resource_id=args.subnet_id,
                    private_dns_zone_arm_resource_id=args.dns_zone_id,
                    public_network_access="Disabled",
                ),
                auth_config=pg.AuthConfigArgs(
                    active_directory_auth="Enabled", password_auth="Enabled", tenant_id=tenant_id
                ),
                administrator_login=spec.admin_login,
                administrator_login_password=args.admin_password,
                create_mode="Create",
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.site.protect,
                additional_secret_outputs=["administratorLoginPassword"],
            ),
        )
        send_to_log_analytics(f"{name}-server", resource_id=self.server.id, workspace_id=args.workspace_id, parent=self)

        # One parameter at a time: the server refuses concurrent configuration changes. max_connections and
        # max_prepared_transactions are static: they apply after the next restart (see docs/data.md).
        previous: pulumi.Resource = self.server
        for parameter, value in spec.parameters.items():
            previous = pg.Configuration(
                f"{name}-param-{parameter.replace('_', '-')}",
                pg.ConfigurationArgs(
                    configuration_name=parameter,
                    server_name=self.server.name,
                    resource_group_name=rg,
                    value=value,
                    source="user-override",
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )

        admin = args.entra_admin
        pg.AdministratorsMicrosoftEntra(
            f"{name}-entra-admin",
            pg.AdministratorsMicrosoftEntraArgs(
                object_id=admin.object_id,
                principal_name=admin.name,
                principal_type="group",
                tenant_id=tenant_id,
                server_name=self.server.name,
                resource_group_name=rg,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
        )
        self.host = self.server.fully_qualified_domain_name
        self.register_outputs({"serverId": self.server.id, "host": self.host})
