"""ICM's database: an Azure SQL Managed Instance with the live and edit databases side by side.

Azure SQL Database is no option: edit -> live replication reads the edit database from the live one across
databases, which needs both on one instance. In prd a secondary instance in the DR region joins the primary
in an auto-failover group; ICM connects to the group's listener, which follows the primary.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas import durations
from caas.sections.data import EntraAdmin, SqlMi
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics

sql = azure_native.sql

# API version of the Microsoft.Sql types this SDK uses; also used for the retention policy below.
SQL_API_VERSION = "2023-08-01"


@dataclass
class DrSite:
    """Where the prd secondary instance lives."""

    resource_group_name: pulumi.Input[str]
    sql_mi_subnet_id: pulumi.Input[str]


@dataclass
class _Placement:
    """Where one instance of the pair runs."""

    name: str
    resource_group_name: pulumi.Input[str]
    location: str
    subnet_id: pulumi.Input[str]
    zone_redundant: bool
    dns_zone_partner: pulumi.Input[str] | None = None  # the secondary joins the primary's DNS zone


@dataclass
class IcmDatabaseArgs:
    site: Site
    spec: SqlMi
    entra_admin: EntraAdmin
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    admin_password: pulumi.Input[str] | None  # None when the instance accepts Entra ID only
    dr: DrSite | None = None


class IcmDatabase(pulumi.ComponentResource):
    """``intershop:caas:IcmDatabase``: SQL MI (Entra admin group, TLS 1.2, no public endpoint), the
    ``<prefix>-live`` and ``<prefix>-edit`` databases with point-in-time and long-term retention, diagnostics,
    and in prd the DR secondary with its failover group."""

    def __init__(self, name: str, args: IcmDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:IcmDatabase", name, None, opts)
        spec = args.spec
        tenant_id = azure_native.authorization.get_client_config_output().tenant_id
        rg = args.resource_group_name

        primary = _Placement(spec.name, rg, args.site.location, args.subnet_id, spec.zone_redundant)
        self.instance = self._instance(f"{name}-instance", args, spec, primary, args.admin_password, tenant_id)
        send_to_log_analytics(
            f"{name}-instance", resource_id=self.instance.id, workspace_id=args.workspace_id, parent=self
        )

        self.databases: dict[str, sql.ManagedDatabase] = {}
        for system, db_name in spec.databases.items():
            database = sql.ManagedDatabase(
                f"{name}-db-{system}",
                sql.ManagedDatabaseArgs(
                    database_name=db_name,
                    managed_instance_name=self.instance.name,
                    resource_group_name=rg,
                    location=args.site.location,
                    tags=args.site.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=args.site.protect),
            )
            self.databases[system] = database
            self._retention(f"{name}-db-{system}", spec, rg, self.instance.name, database)
            send_to_log_analytics(
                f"{name}-db-{system}",
                resource_id=database.id,
                workspace_id=args.workspace_id,
                parent=self,
                metrics=False,  # database-level metrics are the instance's
            )

        self.host: pulumi.Output[str] = self.instance.fully_qualified_domain_name.apply(lambda fqdn: fqdn or "")
        self.secondary: sql.ManagedInstance | None = None
        if spec.failover is not None:
            assert args.dr is not None, "prd's failover group needs the DR network"
            fo = spec.failover
            # Same tier and storage as the primary (failover-group requirement), in the primary's DNS zone.
            placement = _Placement(
                fo.secondary_name,
                args.dr.resource_group_name,
                fo.region,
                args.dr.sql_mi_subnet_id,
                fo.zone_redundant,
                dns_zone_partner=self.instance.id,
            )
            self.secondary = self._instance(f"{name}-secondary", args, spec, placement, args.admin_password, tenant_id)
            send_to_log_analytics(
                f"{name}-secondary", resource_id=self.secondary.id, workspace_id=args.workspace_id, parent=self
            )
            sql.InstanceFailoverGroup(
                f"{name}-failover-group",
                sql.InstanceFailoverGroupArgs(
                    failover_group_name=fo.group_name,
                    location_name=args.site.location,
                    resource_group_name=rg,
                    managed_instance_pairs=[
                        sql.ManagedInstancePairInfoArgs(
                            primary_managed_instance_id=self.instance.id,
                            partner_managed_instance_id=self.secondary.id,
                        )
                    ],
                    partner_regions=[sql.PartnerRegionInfoArgs(location=fo.region)],
                    read_write_endpoint=sql.InstanceFailoverGroupReadWriteEndpointArgs(
                        failover_policy="Automatic",
                        failover_with_data_loss_grace_period_minutes=fo.grace_minutes,
                    ),
                    read_only_endpoint=sql.InstanceFailoverGroupReadOnlyEndpointArgs(failover_policy="Disabled"),
                    # DR only, no reads on the secondary: Azure waives its SQL Server licence.
                    secondary_type="Standby",
                ),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    custom_timeouts=pulumi.CustomTimeouts(
                        **durations.failover_group_timeouts(storage_gb=spec.storage_gb)
                    ),
                ),
            )
            # The listener follows the primary across failovers: <group>.<dns zone>.database.windows.net.
            self.host = self.instance.dns_zone.apply(lambda zone: f"{fo.group_name}.{zone}.database.windows.net")

        self.register_outputs(
            {
                "instanceId": self.instance.id,
                "host": self.host,
                "databases": {system: db.name for system, db in self.databases.items()},
            }
        )

    def _instance(
        self,
        logical: str,
        args: IcmDatabaseArgs,
        spec: SqlMi,
        at: _Placement,
        admin_password: pulumi.Input[str] | None,
        tenant_id: pulumi.Input[str],
    ) -> sql.ManagedInstance:
        admin = args.entra_admin
        return sql.ManagedInstance(
            logical,
            sql.ManagedInstanceArgs(
                managed_instance_name=at.name,
                resource_group_name=at.resource_group_name,
                location=at.location,
                sku=sql.SkuArgs(name=spec.sku_name, tier=spec.tier, family="Gen5"),
                v_cores=spec.v_cores,
                storage_size_in_gb=spec.storage_gb,
                subnet_id=at.subnet_id,
                license_type="LicenseIncluded",
                administrators=sql.ManagedInstanceExternalAdministratorArgs(
                    administrator_type="ActiveDirectory",
                    principal_type="Group",
                    login=admin.name,
                    sid=admin.object_id,
                    tenant_id=tenant_id,
                    azure_ad_only_authentication=spec.entra_only,
                ),
                administrator_login=None if spec.entra_only else spec.admin_login,
                administrator_login_password=None if spec.entra_only else admin_password,
                # Entra ID logins are resolved with the instance's own identity.
                identity=sql.ResourceIdentityArgs(type="SystemAssigned"),
                minimal_tls_version="1.2",
                public_data_endpoint_enabled=False,
                zone_redundant=at.zone_redundant,
                requested_backup_storage_redundancy=spec.backup_redundancy,
                dns_zone_partner=at.dns_zone_partner,
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.site.protect,
                additional_secret_outputs=["administratorLoginPassword"],
                # Azure's figures exceed the provider's 2 h default (pulumi/pulumi#8500): without these, `up`
                # gives up while Azure carries on, and the next run finds an instance it does not know.
                custom_timeouts=pulumi.CustomTimeouts(
                    **durations.sql_mi_timeouts(zone_redundant=at.zone_redundant, storage_gb=spec.storage_gb)
                ),
            ),
        )

    def _retention(
        self,
        logical: str,
        spec: SqlMi,
        rg: pulumi.Input[str],
        instance_name: pulumi.Input[str],
        database: sql.ManagedDatabase,
    ) -> None:
        # Point-in-time retention: azure-native 3.29 has no type for managed-instance short-term retention
        # policies, so the generic ARM resource sets it (PUT .../databases/<db>/backupShortTermRetentionPolicies/
        # default). The policy cannot be deleted, only reset: Pulumi forgets it instead of deleting it.
        # Keyword form: the generic resource has an input called resource_name (see NOTES on resource_name_).
        azure_native.resources.Resource(
            f"{logical}-pitr",
            resource_group_name=rg,
            resource_provider_namespace="Microsoft.Sql",
            parent_resource_path=pulumi.Output.concat("managedInstances/", instance_name, "/databases/", database.name),
            resource_type="backupShortTermRetentionPolicies",
            resource_name_="default",
            api_version=SQL_API_VERSION,
            properties={"retentionDays": spec.retention_days},
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        ltr = spec.long_term
        if ltr is None:
            return
        off = "PT0S"  # how the API spells "not kept"
        sql.ManagedInstanceLongTermRetentionPolicy(
            f"{logical}-ltr",
            sql.ManagedInstanceLongTermRetentionPolicyArgs(
                policy_name="default",
                database_name=database.name,
                managed_instance_name=instance_name,
                resource_group_name=rg,
                weekly_retention=ltr.weekly or off,
                monthly_retention=ltr.monthly or off,
                yearly_retention=ltr.yearly or off,
                week_of_year=ltr.week_of_year if ltr.yearly else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
