"""One ICM 7.10 system (live or edit) on VMs: web adapters behind an internal load balancer, application
servers, Solr search hosts, all mounting the system's NFS share and reporting to Log Analytics."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.cloud_init import cloud_init
from caas.sections.compute import HOST_ROLES, HostSpec
from caas.specs.compute import Icm710SystemSpec, icm710_host_keys
from caas.specs.site import Site
from components import roles
from components.computed import computed
from components.diagnostics import send_to_log_analytics

compute = azure_native.compute
network = azure_native.network
monitor = azure_native.monitor

# Canonical's Ubuntu 22.04 LTS Gen2 image (Trusted Launch needs Gen2).
UBUNTU_2204 = compute.ImageReferenceArgs(
    publisher="Canonical", offer="0001-com-ubuntu-server-jammy", sku="22_04-lts-gen2", version="latest"
)
OS_DISK_GB = {"webAdapter": 64, "appServer": 128, "solr": 64}
# Roles that mount the system's share (ICM's IS_SHARE); Solr keeps its index on its own disk.
SHARE_ROLES = {"webAdapter", "appServer"}
WEB_PORT = 80  # the gateway terminates TLS; web adapters serve HTTP inside the VNet
BACKEND_POOL = "web-adapters"


def os_disk_type(zone: str | None, redundancy: str) -> str:
    """Premium SSD: zone-redundant only for a regional VM where the profile asks for ZRS (a zonal VM's
    disk lives in the VM's zone anyway)."""
    return "Premium_ZRS" if zone is None and redundancy == "ZRS" else "Premium_LRS"


def _principal_id(identity: compute.outputs.VirtualMachineIdentityResponse | None) -> str:
    assert identity is not None  # every host has its system-assigned identity (see _vm)
    return identity.principal_id


def zone_of(index: int, zones: tuple[str, ...]) -> str | None:
    """Hosts of a role round-robin over the profile's zones: 1, 2, 3, 1 ..."""
    return zones[index % len(zones)] if zones else None


@dataclass
class Icm710HostsArgs:
    site: Site
    spec: Icm710SystemSpec
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # the environment's VM subnet
    share_source: pulumi.Input[str]  # NFS export of the system's share
    registry_id: pulumi.Input[str]  # the shared registry the hosts pull their releases from


class Icm710Hosts(pulumi.ComponentResource):
    """``intershop:caas:Icm710Hosts``: the hosts of one ICM 7.10 system.

    No host has a public IP or a password; operators sign in with their SSH keys, partners with Entra ID (the
    AADSSHLoginForLinux extension, their roles in components/partner_access.py), both through the hub's
    Bastion. ``frontend_ip`` is the internal load balancer's address the public entry sends this system's
    hostnames to.
    """

    def __init__(self, name: str, args: Icm710HostsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:Icm710Hosts", name, None, opts)
        system = args.spec.system
        names, rg, loc = args.site.names, args.resource_group_name, args.site.location
        part = f"icm710-{system}"

        # Children of a load balancer refer to each other by ARM id, so the id is built from the fixed name.
        client = azure_native.authorization.get_client_config_output()
        lb_name = names.resource("load_balancer", part)
        lb_id = pulumi.Output.concat(
            "/subscriptions/",
            client.subscription_id,
            "/resourceGroups/",
            rg,
            f"/providers/Microsoft.Network/loadBalancers/{lb_name}",
        )
        lb = self._load_balancer(name, args, lb_name, lb_id, str(args.spec.frontend_ip), rg, args.subnet_id)
        send_to_log_analytics(f"{name}-lb", resource_id=lb.id, workspace_id=args.workspace_id, parent=self, logs=False)
        rule = self._insights_rule(name, args, part, rg, args.workspace_id)
        pool_id = pulumi.Output.concat(lb_id, f"/backendAddressPools/{BACKEND_POOL}")

        self.vm_ids: dict[str, pulumi.Output[str]] = {}
        self.nic_ids: dict[str, pulumi.Output[str]] = {}
        for role, i, host in icm710_host_keys(args.spec):
            spec, short = args.spec.hosts[role], HOST_ROLES[role]
            zone = zone_of(i, args.site.zones)
            nic = network.NetworkInterface(
                f"{name}-{short}{i + 1}-nic",
                network.NetworkInterfaceArgs(
                    network_interface_name=names.resource("nic", host),
                    resource_group_name=rg,
                    location=loc,
                    enable_accelerated_networking=True,
                    ip_configurations=[
                        network.NetworkInterfaceIPConfigurationArgs(
                            name="ipconfig1",
                            primary=True,
                            subnet=network.SubnetArgs(id=args.subnet_id),
                            private_ip_allocation_method=network.IPAllocationMethod.DYNAMIC,
                            load_balancer_backend_address_pools=[network.BackendAddressPoolArgs(id=pool_id)]
                            if role == "webAdapter"
                            else None,
                        )
                    ],
                    tags=args.site.tags,
                ),
                # The pool id is built from names, so the load balancer must exist first.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[lb] if role == "webAdapter" else None),
            )
            vm = self._vm(f"{name}-{short}{i + 1}", args, role, spec, host, zone, nic.id)
            self.vm_ids[host] = vm.id
            self.nic_ids[host] = nic.id
            # scripts/icm710/deploy.sh pulls releases with the VM's system-assigned identity (IMDS token ->
            # ACR exchange -> oras login), over the hub's registry endpoint the spoke resolves.
            roles.assign(
                f"{name}-{short}{i + 1}-acr-pull",
                role="AcrPull",
                principal_id=vm.identity.apply(_principal_id),
                scope=args.registry_id,
                parent=self,
            )
            # Entra ID SSH sign-in (learn.microsoft.com, "Sign in to a Linux virtual machine in Azure by using
            # Microsoft Entra ID"); it authenticates with the VM's system-assigned identity.
            self._extension(
                f"{name}-{short}{i + 1}-entra-login", vm, args, "Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux"
            )
            self._extension(
                f"{name}-{short}{i + 1}-monitor-agent",
                vm,
                args,
                "Microsoft.Azure.Monitor",
                "AzureMonitorLinuxAgent",
                automatic_upgrade=True,
            )
            monitor.DataCollectionRuleAssociation(
                f"{name}-{short}{i + 1}-insights",
                monitor.DataCollectionRuleAssociationArgs(
                    association_name="vm-insights", resource_uri=vm.id, data_collection_rule_id=rule.id
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.load_balancer_id = lb.id
        self.frontend_ip: pulumi.Output[str] = lb.frontend_ip_configurations.apply(
            lambda configs: computed("load balancer frontend address")(
                configs[0].private_ip_address if configs else None
            )
        )
        self.register_outputs(
            {"loadBalancerId": lb.id, "frontendIp": self.frontend_ip, "vmIds": self.vm_ids, "nicIds": self.nic_ids}
        )

    def _extension(
        self,
        logical: str,
        vm: compute.VirtualMachine,
        args: Icm710HostsArgs,
        publisher: str,
        extension: str,
        *,
        automatic_upgrade: bool | None = None,
    ) -> None:
        """A VM extension named after its type, minor versions upgraded by Azure."""
        compute.VirtualMachineExtension(
            logical,
            compute.VirtualMachineExtensionArgs(
                vm_extension_name=extension,
                vm_name=vm.name,
                resource_group_name=args.resource_group_name,
                location=args.site.location,
                publisher=publisher,
                type=extension,
                type_handler_version="1.0",
                auto_upgrade_minor_version=True,
                enable_automatic_upgrade=automatic_upgrade,
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _load_balancer(
        self,
        name: str,
        args: Icm710HostsArgs,
        lb_name: str,
        lb_id: pulumi.Output[str],
        frontend_ip: str,
        rg: pulumi.Input[str],
        subnet_id: pulumi.Input[str],
    ) -> network.LoadBalancer:
        """Internal Standard load balancer: HTTP from the gateway to the web adapters, TCP health probe."""

        def ref(path: str) -> network.SubResourceArgs:
            return network.SubResourceArgs(id=pulumi.Output.concat(lb_id, "/", path))

        return network.LoadBalancer(
            f"{name}-lb",
            network.LoadBalancerArgs(
                load_balancer_name=lb_name,
                resource_group_name=rg,
                location=args.site.location,
                sku=network.LoadBalancerSkuArgs(
                    name=network.LoadBalancerSkuName.STANDARD, tier=network.LoadBalancerSkuTier.REGIONAL
                ),
                frontend_ip_configurations=[
                    network.FrontendIPConfigurationArgs(
                        name=BACKEND_POOL,
                        subnet=network.SubnetArgs(id=subnet_id),
                        private_ip_allocation_method=network.IPAllocationMethod.STATIC,
                        private_ip_address=frontend_ip,
                        private_ip_address_version=network.IPVersion.I_PV4,
                        zones=list(args.site.zones) or None,  # zone-redundant frontend in zonal stacks
                    )
                ],
                backend_address_pools=[network.BackendAddressPoolArgs(name=BACKEND_POOL)],
                probes=[
                    network.ProbeArgs(
                        name="web",
                        protocol=network.ProbeProtocol.TCP,
                        port=WEB_PORT,
                        interval_in_seconds=5,
                        probe_threshold=2,
                    )
                ],
                load_balancing_rules=[
                    network.LoadBalancingRuleArgs(
                        name="http",
                        protocol=network.TransportProtocol.TCP,
                        frontend_port=WEB_PORT,
                        backend_port=WEB_PORT,
                        frontend_ip_configuration=ref(f"frontendIPConfigurations/{BACKEND_POOL}"),
                        backend_address_pool=ref(f"backendAddressPools/{BACKEND_POOL}"),
                        probe=ref("probes/web"),
                        enable_tcp_reset=True,
                        idle_timeout_in_minutes=15,
                        load_distribution=network.LoadDistribution.DEFAULT,
                        disable_outbound_snat=True,  # egress goes through the subnet's NAT gateway
                    )
                ],
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _insights_rule(
        self, name: str, args: Icm710HostsArgs, part: str, rg: pulumi.Input[str], workspace_id: pulumi.Input[str]
    ) -> monitor.DataCollectionRule:
        """VM insights performance data plus syslog: security facilities from Info, the rest from Warning."""
        streams = {"perf": "Microsoft-InsightsMetrics", "syslog": "Microsoft-Syslog"}
        return monitor.DataCollectionRule(
            f"{name}-insights-rule",
            monitor.DataCollectionRuleArgs(
                data_collection_rule_name=args.site.names.resource("data_collection_rule", part),
                resource_group_name=rg,
                location=args.site.location,
                kind="Linux",
                data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                    performance_counters=[
                        monitor.PerfCounterDataSourceArgs(
                            name="VMInsightsPerfCounters",
                            streams=[streams["perf"]],
                            sampling_frequency_in_seconds=60,
                            counter_specifiers=["\\VmInsights\\DetailedMetrics"],
                        )
                    ],
                    syslog=[
                        monitor.SyslogDataSourceArgs(
                            name="security",
                            streams=[streams["syslog"]],
                            facility_names=["auth", "authpriv"],
                            log_levels=["Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"],
                        ),
                        monitor.SyslogDataSourceArgs(
                            name="system",
                            streams=[streams["syslog"]],
                            facility_names=["cron", "daemon", "kern", "syslog", "user"],
                            log_levels=["Warning", "Error", "Critical", "Alert", "Emergency"],
                        ),
                    ],
                ),
                destinations=monitor.DataCollectionRuleDestinationsArgs(
                    log_analytics=[
                        monitor.LogAnalyticsDestinationArgs(name="workspace", workspace_resource_id=workspace_id)
                    ]
                ),
                data_flows=[monitor.DataFlowArgs(streams=[s], destinations=["workspace"]) for s in streams.values()],
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _vm(
        self,
        logical: str,
        args: Icm710HostsArgs,
        role: str,
        spec: HostSpec,
        host: str,
        zone: str | None,
        nic_id: pulumi.Input[str],
    ) -> compute.VirtualMachine:
        icm = args.spec.settings
        vm_name = args.site.names.resource("vm", host)
        disk_type = os_disk_type(zone, args.spec.storage_redundancy)
        solr_disk = role == "solr" and spec.data_disk_gb is not None

        def user_data(share_source: str | None) -> str:
            document = cloud_init(
                environment=args.site.environment,
                system=args.spec.system,
                role=role,
                share_source=share_source,
                share_path=icm.share_path,
                solr_disk=solr_disk,
            )
            return base64.b64encode(document.encode()).decode()

        custom_data = (
            pulumi.Output.from_input(args.share_source).apply(user_data) if role in SHARE_ROLES else user_data(None)
        )
        return compute.VirtualMachine(
            logical,
            compute.VirtualMachineArgs(
                vm_name=vm_name,
                resource_group_name=args.resource_group_name,
                location=args.site.location,
                zones=[zone] if zone else None,
                hardware_profile=compute.HardwareProfileArgs(vm_size=spec.vm_size),
                storage_profile=compute.StorageProfileArgs(
                    image_reference=UBUNTU_2204,
                    os_disk=compute.OSDiskArgs(
                        name=args.site.names.resource("os_disk", host),
                        create_option=compute.DiskCreateOptionTypes.FROM_IMAGE,
                        caching=compute.CachingTypes.READ_WRITE,
                        delete_option=compute.DiskDeleteOptionTypes.DELETE,
                        disk_size_gb=OS_DISK_GB[role],
                        managed_disk=compute.ManagedDiskParametersArgs(storage_account_type=disk_type),
                    ),
                    data_disks=[
                        compute.DataDiskArgs(
                            lun=0,
                            name=args.site.names.resource("disk", f"{host}-index"),
                            create_option=compute.DiskCreateOptionTypes.EMPTY,
                            disk_size_gb=spec.data_disk_gb,
                            caching=compute.CachingTypes.READ_ONLY,
                            delete_option=compute.DiskDeleteOptionTypes.DELETE,  # the index can be rebuilt
                            managed_disk=compute.ManagedDiskParametersArgs(storage_account_type=disk_type),
                        )
                    ]
                    if solr_disk
                    else None,
                ),
                os_profile=compute.OSProfileArgs(
                    computer_name=vm_name,
                    admin_username=icm.admin_username,
                    custom_data=custom_data,
                    linux_configuration=compute.LinuxConfigurationArgs(
                        disable_password_authentication=True,
                        provision_vm_agent=True,
                        ssh=compute.SshConfigurationArgs(
                            public_keys=[
                                compute.SshPublicKeyArgs(
                                    path=f"/home/{icm.admin_username}/.ssh/authorized_keys", key_data=key.strip()
                                )
                                for key in icm.ssh_public_keys
                            ]
                        ),
                        patch_settings=compute.LinuxPatchSettingsArgs(
                            patch_mode=compute.LinuxVMGuestPatchMode.AUTOMATIC_BY_PLATFORM,
                            assessment_mode=compute.LinuxPatchAssessmentMode.AUTOMATIC_BY_PLATFORM,
                            automatic_by_platform_settings=compute.LinuxVMGuestPatchAutomaticByPlatformSettingsArgs(
                                reboot_setting=compute.LinuxVMGuestPatchAutomaticByPlatformRebootSetting.IF_REQUIRED,
                            ),
                        ),
                    ),
                ),
                security_profile=compute.SecurityProfileArgs(
                    security_type=compute.SecurityTypes.TRUSTED_LAUNCH,
                    uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=True, v_tpm_enabled=True),
                    encryption_at_host=True,
                ),
                network_profile=compute.NetworkProfileArgs(
                    network_interfaces=[
                        compute.NetworkInterfaceReferenceArgs(
                            id=nic_id, primary=True, delete_option=compute.DeleteOptions.DELETE
                        )
                    ]
                ),
                diagnostics_profile=compute.DiagnosticsProfileArgs(
                    boot_diagnostics=compute.BootDiagnosticsArgs(enabled=True)  # managed storage
                ),
                # The Azure Monitor agent and the Entra ID login extension authenticate with the VM's own identity.
                identity=compute.VirtualMachineIdentityArgs(type=compute.ResourceIdentityType.SYSTEM_ASSIGNED),
                tags={**args.site.tags, "icm-system": args.spec.system, "icm-role": role},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
