"""Backup of the environment's VMs: a Recovery Services vault with an enhanced (V2) VM policy.

Databases back themselves up (SQL MI and PostgreSQL retention is set on the databases). Azure Backup does
not support NFS Azure file shares (support matrix, 2026): the shared file system is protected by the share
soft delete its own component sets, nothing more; docs/data.md states the resulting recovery objectives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from caas.sections.data import Vault
from caas.specs.site import Site
from components.diagnostics import send_to_log_analytics

rs = azure_native.recoveryservices

# The time backups start and the recovery points they keep are stamped with (UTC; the date part is ignored).
BACKUP_TIME = "2024-01-07T01:00:00Z"


def vm_protection_names(vm_id: str) -> tuple[str, str]:
    """Azure Backup's container and protected-item names for a VM, from its ARM id."""
    parts = vm_id.split("/")
    rg, vm = parts[4], parts[-1]
    return f"IaasVMContainer;iaasvmcontainerv2;{rg};{vm}", f"VM;iaasvmcontainerv2;{rg};{vm}"


def vm_policy(spec: Vault) -> rs.AzureIaaSVMProtectionPolicyArgs:
    """Enhanced policy: hourly (every N hours over the whole day) or daily, with daily/weekly/monthly points."""
    vm = spec.vm
    if vm.frequency_hours < 24:
        schedule = rs.SimpleSchedulePolicyV2Args(
            schedule_policy_type="SimpleSchedulePolicyV2",
            schedule_run_frequency="Hourly",
            hourly_schedule=rs.HourlyScheduleArgs(
                interval=vm.frequency_hours, schedule_window_start_time=BACKUP_TIME, schedule_window_duration=24
            ),
        )
    else:
        schedule = rs.SimpleSchedulePolicyV2Args(
            schedule_policy_type="SimpleSchedulePolicyV2",
            schedule_run_frequency="Daily",
            daily_schedule=rs.DailyScheduleArgs(schedule_run_times=[BACKUP_TIME]),
        )

    def keep(count: int, unit: str) -> rs.RetentionDurationArgs:
        return rs.RetentionDurationArgs(count=count, duration_type=unit)

    retention = rs.LongTermRetentionPolicyArgs(
        retention_policy_type="LongTermRetentionPolicy",
        daily_schedule=rs.DailyRetentionScheduleArgs(
            retention_times=[BACKUP_TIME], retention_duration=keep(vm.daily_days, "Days")
        ),
        weekly_schedule=rs.WeeklyRetentionScheduleArgs(
            days_of_the_week=[rs.DayOfWeek.SUNDAY],
            retention_times=[BACKUP_TIME],
            retention_duration=keep(vm.weekly_weeks, "Weeks"),
        )
        if vm.weekly_weeks
        else None,
        monthly_schedule=rs.MonthlyRetentionScheduleArgs(
            retention_schedule_format_type="Weekly",
            retention_schedule_weekly=rs.WeeklyRetentionFormatArgs(
                days_of_the_week=[rs.DayOfWeek.SUNDAY], weeks_of_the_month=[rs.WeekOfMonth.FIRST]
            ),
            retention_times=[BACKUP_TIME],
            retention_duration=keep(vm.monthly_months, "Months"),
        )
        if vm.monthly_months
        else None,
    )
    return rs.AzureIaaSVMProtectionPolicyArgs(
        backup_management_type="AzureIaasVM",
        policy_type="V2",
        time_zone="UTC",
        schedule_policy=schedule,
        retention_policy=retention,
        instant_rp_retention_range_in_days=vm.instant_restore_days,
        instant_rp_details=rs.InstantRPAdditionalDetailsArgs(
            azure_backup_rg_name_prefix=spec.restore_point_group_prefix
        ),
    )


@dataclass
class BackupArgs:
    site: Site
    spec: Vault
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    # The ICM 7.10 hosts to protect: a stable label per VM (the logical name part) -> VM id.
    vm_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class Backup(pulumi.ComponentResource):
    """``intershop:caas:Backup``: vault (redundancy, cross-region restore, soft delete, immutability from the
    model), the enhanced VM policy and one protected item per VM."""

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Backup", name, None, opts)
        spec = args.spec
        rg = args.resource_group_name

        self.vault = rs.Vault(
            f"{name}-vault",
            rs.VaultArgs(
                vault_name=spec.name,
                resource_group_name=rg,
                location=args.site.location,
                sku=rs.SkuArgs(name="RS0", tier="Standard"),
                identity=rs.IdentityDataArgs(type="SystemAssigned"),
                properties=rs.VaultPropertiesArgs(
                    public_network_access="Disabled",
                    redundancy_settings=rs.VaultPropertiesRedundancySettingsArgs(
                        standard_tier_storage_redundancy=spec.redundancy,
                        cross_region_restore="Enabled" if spec.cross_region_restore else "Disabled",
                    ),
                    security_settings=rs.SecuritySettingsArgs(
                        soft_delete_settings=rs.SoftDeleteSettingsArgs(
                            soft_delete_state=spec.soft_delete_state,
                            soft_delete_retention_period_in_days=spec.soft_delete_days,
                            enhanced_security_state=spec.soft_delete_state,
                        ),
                        immutability_settings=rs.ImmutabilitySettingsArgs(state=spec.immutability),
                    ),
                    # Failed backup jobs raise Azure Monitor alerts (not the classic e-mails).
                    monitoring_settings=rs.MonitoringSettingsArgs(
                        azure_monitor_alert_settings=rs.AzureMonitorAlertSettingsArgs(
                            alerts_for_all_job_failures="Enabled"
                        ),
                        classic_alert_settings=rs.ClassicAlertSettingsArgs(
                            alerts_for_critical_operations="Disabled", email_notifications_for_site_recovery="Disabled"
                        ),
                    ),
                ),
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.site.protect),
        )
        send_to_log_analytics(
            f"{name}-vault", resource_id=self.vault.id, workspace_id=args.workspace_id, parent=self, metrics=False
        )

        self.vm_policy = rs.ProtectionPolicy(
            f"{name}-vm-policy",
            rs.ProtectionPolicyArgs(
                policy_name="vm-enhanced",
                vault_name=self.vault.name,
                resource_group_name=rg,
                properties=vm_policy(spec),
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for label, vm_id in args.vm_ids.items():
            names = pulumi.Output.from_input(vm_id).apply(vm_protection_names)
            rs.ProtectedItem(
                f"{name}-vm-{label}",
                rs.ProtectedItemArgs(
                    vault_name=self.vault.name,
                    resource_group_name=rg,
                    fabric_name="Azure",
                    container_name=names[0],
                    protected_item_name=names[1],
                    properties=rs.AzureIaaSComputeVMProtectedItemArgs(
                        protected_item_type="Microsoft.Compute/virtualMachines",
                        policy_id=self.vm_policy.id,
                        source_resource_id=vm_id,
                    ),
                    tags=args.site.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=args.site.protect),
            )

        self.register_outputs({"vaultId": self.vault.id, "vmPolicyId": self.vm_policy.id})
