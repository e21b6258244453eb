"""The compute estate: AKS, ICM 7.10 hosts, NFS shares and the public entry, in both customer shapes.

acme (the shipped stacks) runs ICM 7.10 on VMs plus IOM and the PWA on AKS; globex (examples/globex) runs
ICM 11, IOM and the PWA on AKS only. Every stack of both is rendered once per session.
"""

from __future__ import annotations

import base64
import copy
from collections import Counter
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from caas import config as model
from caas.cloud_init import NFS_OPTIONS, cloud_init
from caas.mocks import SECRET
from caas.plan import Plan
from caas.sections import compute
from caas.sections.base import SYSTEMS
from caas.specs import derive
from components.icm710_hosts import os_disk_type, zone_of
from components.roles import ROLES
from tests.conftest import ROOT, STACKS, assert_reported, parse, problems, set_key, stack_data

EXAMPLE = ROOT / "examples" / "globex"
ENVIRONMENTS = ("int", "uat", "prd")

VM = "azure-native:compute:VirtualMachine"
NIC = "azure-native:network:NetworkInterface"
LB = "azure-native:network:LoadBalancer"
CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
GATEWAY = "azure-native:network:ApplicationGateway"
WAF = "azure-native:network:WebApplicationFirewallPolicy"
ACCOUNT = "azure-native:storage:StorageAccount"
SHARE = "azure-native:storage:FileShare"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"


def model_of(stack: str, directory: Path = ROOT) -> model.EstateConfig:
    raw, secret_keys = model.stack_file_config(str(directory / f"Pulumi.{stack}.yaml"))
    return model.parse(raw, secret_keys, f"Pulumi.{stack}.yaml")


def by_name(plan: Plan, type_: str) -> dict[str, Any]:
    return {r.name: r for r in plan.find(type_)}


def urn_of(plan: Plan, name: str) -> str:
    return next(r.urn for r in plan.resources if r.name == name)


def dig(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


# ---------------------------------------------------------------------------------------------------------
# Composition: which hosts exist follows the model


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_icm710_customer_gets_vms_per_system_and_aks_for_containers(plans: dict[str, Plan], stack: str) -> None:
    """acme (ICM 7.10 + IOM + PWA): live and edit host components, one AKS cluster, one NFS account."""
    plan, cfg = plans[stack], model_of(stack)
    components = Counter(r.type for r in plan.resources if not r.custom)
    assert components["intershop:caas:Icm710Hosts"] == 2
    assert components["intershop:caas:AksCluster"] == 1
    assert components["intershop:caas:SharedFileSystem"] == 1
    assert {r.name for r in plan.resources if r.type == "intershop:caas:Icm710Hosts"} == {"icm710-live", "icm710-edit"}
    expected = sum(spec.count for roles in derive(cfg).icm710_hosts.values() for spec in roles.values())
    assert len(plan.find(VM)) == expected == len(plan.find(NIC))


@pytest.mark.parametrize("stack", STACKS)
def test_icm11_customer_gets_aks_only(example_plans: dict[str, Plan], stack: str) -> None:
    """globex (ICM 11): every stack renders; environments have AKS and shares but no VM, NIC or load balancer."""
    plan = example_plans[stack]
    assert plan.project == "caas-globex"
    counts = plan.by_type()
    assert counts[VM] == counts[NIC] == counts[LB] == 0
    if stack == "shared":
        assert counts[CLUSTER] == 0
        return
    assert counts[CLUSTER] == 1
    assert counts[POOL] == 1
    shares = {r.inputs["shareName"] for r in plan.find(SHARE)}
    assert shares == {"icm11-live", "icm11-edit", "iom"}


def test_host_sizes_follow_scale_and_config(plans: dict[str, Plan]) -> None:
    """prd uses production sizes, uat the small ones; INT's declared override (two app servers) wins."""
    sizes = {
        s: Counter((r.inputs["tags"]["icm-system"], r.inputs["tags"]["icm-role"]) for r in plans[s].find(VM))
        for s in ENVIRONMENTS
    }
    assert sizes["prd"] == {(sys_, role): 2 for sys_ in ("live", "edit") for role in compute.HOST_ROLES}
    assert sizes["uat"] == {(sys_, role): 1 for sys_ in ("live", "edit") for role in compute.HOST_ROLES}
    assert sizes["int"][("live", "appServer")] == 2
    assert sizes["int"][("edit", "appServer")] == 1
    prd_vms = by_name(plans["prd"], VM)
    assert prd_vms["icm710-live-as1"].inputs["hardwareProfile"]["vmSize"] == "Standard_E4s_v5"
    assert by_name(plans["uat"], VM)["icm710-live-wa1"].inputs["hardwareProfile"]["vmSize"] == "Standard_D2ls_v5"
    for vm in plans["prd"].find(VM):
        size = compute.VM_SIZES[vm.inputs["hardwareProfile"]["vmSize"]]
        if vm.inputs["tags"]["icm-role"] == "appServer":
            assert size.memory_gib >= 8, vm.name


def test_hosts_spread_over_zones_in_prd_and_regional_in_int(plans: dict[str, Plan]) -> None:
    """prd hosts of a role land in different zones; INT (zones: []) pins none."""
    prd = by_name(plans["prd"], VM)
    for role in ("wa", "as", "solr"):
        assert prd[f"icm710-live-{role}1"].inputs["zones"] == ["1"]
        assert prd[f"icm710-live-{role}2"].inputs["zones"] == ["2"]
    assert all("zones" not in vm.inputs for vm in plans["int"].find(VM))
    assert [zone_of(i, ("1", "2", "3")) for i in range(4)] == ["1", "2", "3", "1"]
    assert zone_of(0, ()) is None


# ---------------------------------------------------------------------------------------------------------
# ICM 7.10 hosts


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_vms_have_no_public_ip_and_no_password(plans: dict[str, Plan], stack: str) -> None:
    """NICs carry no public IP; VMs refuse passwords and take exactly the configured SSH keys."""
    plan, cfg = plans[stack], model_of(stack)
    assert cfg.icm710 is not None
    for nic in plan.find(NIC):
        for ip_config in nic.inputs["ipConfigurations"]:
            assert "publicIPAddress" not in ip_config, nic.name
    for vm in plan.find(VM):
        os_profile = vm.inputs["osProfile"]
        assert "adminPassword" not in os_profile, vm.name
        linux = os_profile["linuxConfiguration"]
        assert linux["disablePasswordAuthentication"] is True
        assert [k["keyData"] for k in linux["ssh"]["publicKeys"]] == list(cfg.icm710.ssh_public_keys)


def test_vms_are_hardened_and_patched_by_platform(plans: dict[str, Plan]) -> None:
    """Trusted Launch (secure boot, vTPM) on Gen2 Ubuntu 22.04, host encryption, Premium SSD, platform patching."""
    for stack in ENVIRONMENTS:
        for vm in plans[stack].find(VM):
            i = vm.inputs
            assert i["securityProfile"] == {
                "encryptionAtHost": True,
                "securityType": "TrustedLaunch",
                "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
            }
            assert i["storageProfile"]["imageReference"]["sku"] == "22_04-lts-gen2"
            assert i["storageProfile"]["osDisk"]["managedDisk"]["storageAccountType"].startswith("Premium_")
            patch = i["osProfile"]["linuxConfiguration"]["patchSettings"]
            assert patch["patchMode"] == patch["assessmentMode"] == "AutomaticByPlatform"
            assert i["identity"] == {"type": "SystemAssigned"}  # the monitoring agent's identity


def test_disk_redundancy_follows_zones_and_profile() -> None:
    """Zonal VMs use LRS (the disk lives in the VM's zone); regional VMs use ZRS when the profile asks for it."""
    assert os_disk_type("1", "ZRS") == "Premium_LRS"
    assert os_disk_type(None, "ZRS") == "Premium_ZRS"
    assert os_disk_type(None, "LRS") == "Premium_LRS"


def test_solr_hosts_get_an_index_disk(plans: dict[str, Plan]) -> None:
    """Each Solr host has a Premium data disk at LUN 0 sized from the scale; other roles have none."""
    for vm in plans["prd"].find(VM):
        disks = vm.inputs["storageProfile"].get("dataDisks", [])
        if vm.inputs["tags"]["icm-role"] == "solr":
            assert [(d["lun"], d["diskSizeGB"]) for d in disks] == [(0, 128)]
        else:
            assert disks == []


def test_web_adapters_sit_behind_an_internal_load_balancer(plans: dict[str, Plan]) -> None:
    """Each system's internal Standard LB has a static private frontend from the model, a probe, and exactly the
    web adapters' NICs in its pool; app servers and Solr hosts are not behind it."""
    prd, cfg = plans["prd"], model_of("prd")
    nics = by_name(prd, NIC)
    for system in SYSTEMS:
        lb = prd.one(LB, f"icm710-{system}-lb").inputs
        frontend = lb["frontendIPConfigurations"][0]
        assert frontend["privateIPAllocationMethod"] == "Static"
        assert "publicIPAddress" not in frontend
        assert IPv4Address(frontend["privateIPAddress"]) == derive(cfg).icm710_frontend_ips[system]
        assert IPv4Address(frontend["privateIPAddress"]) in derive(cfg).subnets["vms"]
        assert frontend["zones"] == ["1", "2", "3"]
        assert lb["sku"] == {"name": "Standard", "tier": "Regional"}
        assert lb["probes"][0]["protocol"] == "Tcp"
        assert lb["loadBalancingRules"][0]["frontendPort"] == 80
        pool = lb["loadBalancingRules"][0]["backendAddressPool"]["id"]
        members = {
            n
            for n, r in nics.items()
            if any(
                pool == p["id"]
                for c in r.inputs["ipConfigurations"]
                for p in c.get("loadBalancerBackendAddressPools", [])
            )
        }
        assert members == {f"icm710-{system}-wa1-nic", f"icm710-{system}-wa2-nic"}
    assert prd.outputs["icm710FrontendIps"] == {
        f"icm710-{s}": str(ip) for s, ip in derive(cfg).icm710_frontend_ips.items()
    }


def test_every_vm_reports_to_log_analytics(plans: dict[str, Plan]) -> None:
    """Each VM has the Azure Monitor agent and is associated with its system's VM-insights rule."""
    prd = plans["prd"]
    vm_ids = {vm.name: vm for vm in prd.find(VM)}
    agents = [
        e
        for e in prd.find("azure-native:compute:VirtualMachineExtension")
        if e.inputs["type"] == "AzureMonitorLinuxAgent"
    ]
    assert sorted(a.inputs["vmName"] for a in agents) == sorted(vm.inputs["vmName"] for vm in vm_ids.values())
    associations = [
        a
        for a in prd.find("azure-native:monitor:DataCollectionRuleAssociation")
        if "/virtualMachines/" in a.inputs["resourceUri"]
    ]
    assert len(associations) == len(vm_ids)
    rules = {r.name: r.inputs for r in prd.find("azure-native:monitor:DataCollectionRule")}
    live = rules["icm710-live-insights-rule"]
    assert live["destinations"]["logAnalytics"][0]["workspaceResourceId"] == prd.outputs["logAnalyticsWorkspaceId"]
    assert {f["streams"][0] for f in live["dataFlows"]} == {"Microsoft-InsightsMetrics", "Microsoft-Syslog"}


def test_cloud_init_mounts_the_system_share_and_sets_the_environment(plans: dict[str, Plan]) -> None:
    """The app server's custom data mounts its own system's NFS export at the share path and names env/system."""
    prd, cfg = plans["prd"], model_of("prd")
    assert cfg.icm710 is not None
    for system in SYSTEMS:
        vm = prd.one(VM, f"icm710-{system}-as1").inputs
        document = yaml.safe_load(base64.b64decode(vm["osProfile"]["customData"]))
        source = prd.outputs["nfsMountSources"][f"icm710-{system}"]
        assert document["mounts"] == [[source, cfg.icm710.share_path, "nfs", NFS_OPTIONS, "0", "0"]]
        environment = document["write_files"][0]["content"]
        assert f"ICM_ENVIRONMENT=prd\nICM_SYSTEM={system}\n" in environment
        assert f"IS_SHARE={cfg.icm710.share_path}" in environment


def test_cloud_init_document() -> None:
    """Pure: web adapters/app servers mount NFS after installing nfs-common; Solr formats and mounts its disk.
    (Host preparation beyond mounts: tests/test_icm710_release.py.)"""
    app = yaml.safe_load(
        cloud_init(
            environment="uat", system="edit", role="appServer", share_source="a:/a/s", share_path="/s", solr_disk=False
        )
    )
    assert "nfs-common" in app["packages"]
    assert ["mount", "-a"] in app["runcmd"]
    assert "fs_setup" not in app
    solr_text = cloud_init(
        environment="uat", system="edit", role="solr", share_source=None, share_path="/s", solr_disk=True
    )
    assert solr_text.startswith("#cloud-config\n")
    solr = yaml.safe_load(solr_text)
    assert "nfs-common" not in solr["packages"]
    assert solr["mounts"][0][:2] == ["LABEL=solr", "/var/solr"]
    assert solr["fs_setup"][0]["device"] == "/dev/disk/azure/scsi1/lun0"
    assert "IS_SHARE" not in solr["write_files"][0]["content"]


# ---------------------------------------------------------------------------------------------------------
# AKS

AKS_SETTINGS = [
    ("apiServerAccessProfile.enablePrivateCluster", True),
    ("apiServerAccessProfile.enablePrivateClusterPublicFQDN", True),
    ("apiServerAccessProfile.privateDNSZone", "system"),
    ("disableLocalAccounts", True),
    ("enableRBAC", True),
    ("aadProfile.managed", True),
    ("aadProfile.enableAzureRBAC", True),
    ("identity.type", "UserAssigned"),
    ("networkProfile.networkPlugin", "azure"),
    ("networkProfile.networkPluginMode", "overlay"),
    ("networkProfile.networkPolicy", "cilium"),
    ("networkProfile.networkDataplane", "cilium"),
    ("networkProfile.outboundType", "userAssignedNATGateway"),
    ("oidcIssuerProfile.enabled", True),
    ("securityProfile.workloadIdentity.enabled", True),
    ("addonProfiles.azureKeyvaultSecretsProvider.enabled", True),
    ("addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation", "true"),
    ("addonProfiles.azurepolicy.enabled", True),
    ("addonProfiles.omsagent.enabled", True),
    ("addonProfiles.omsagent.config.useAADAuth", "true"),
    ("autoUpgradeProfile.upgradeChannel", "patch"),
    ("autoUpgradeProfile.nodeOSUpgradeChannel", "NodeImage"),
    ("kubernetesVersion", "1.36"),
    ("sku.tier", "Standard"),
    ("nodeResourceGroupProfile.restrictionLevel", "ReadOnly"),
    ("agentPoolProfiles.0.mode", "System"),
    ("agentPoolProfiles.0.nodeTaints", ["CriticalAddonsOnly=true:NoSchedule"]),
    ("agentPoolProfiles.0.availabilityZones", ["1", "2", "3"]),
    ("agentPoolProfiles.0.enableNodePublicIP", False),
    ("agentPoolProfiles.0.enableEncryptionAtHost", True),
    ("agentPoolProfiles.0.osDiskType", "Ephemeral"),
]


@pytest.mark.parametrize(("path", "expected"), AKS_SETTINGS, ids=[p for p, _ in AKS_SETTINGS])
def test_aks_security_setting(plans: dict[str, Plan], path: str, expected: Any) -> None:
    """prd's cluster has this setting (private API, Entra ID + Azure RBAC only, overlay + Cilium, add-ons ...)."""
    assert dig(plans["prd"].one(CLUSTER, "aks-cluster").inputs, path) == expected


def test_aks_wiring_to_workspace_subnet_and_identities(plans: dict[str, Plan]) -> None:
    """omsagent writes to the stack's workspace; nodes join the AKS subnet; the kubelet identity is the UAI."""
    prd = plans["prd"]
    cluster = prd.one(CLUSTER, "aks-cluster")
    workspace = prd.outputs["logAnalyticsWorkspaceId"]
    assert cluster.inputs["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"] == workspace
    assert cluster.inputs["agentPoolProfiles"][0]["vnetSubnetID"] == prd.outputs["subnetIds"]["aks"]
    kubelet = prd.one(IDENTITY, "aks-kubelet-identity")
    assert cluster.inputs["identityProfile"]["kubeletidentity"]["resourceId"].endswith(kubelet.inputs["resourceName"])
    assert cluster.protect is True
    assert not plans["int"].one(CLUSTER, "aks-cluster").protect


def test_aks_tier_and_pools_follow_profile(plans: dict[str, Plan]) -> None:
    """Standard tier in prd and uat, Free where INT declares it; pools sized by scale with autoscaling."""
    tiers = {s: plans[s].one(CLUSTER, "aks-cluster").inputs["sku"]["tier"] for s in ENVIRONMENTS}
    assert tiers == {"int": "Free", "uat": "Standard", "prd": "Standard"}
    user = plans["prd"].one(POOL, "aks-pool-user").inputs
    assert (user["mode"], user["vmSize"], user["minCount"], user["maxCount"]) == ("User", "Standard_D8ds_v5", 3, 12)
    assert user["enableAutoScaling"] is True
    assert user["enableNodePublicIP"] is False
    assert user["enableEncryptionAtHost"] is True
    assert user["availabilityZones"] == ["1", "2", "3"]
    assert "availabilityZones" not in plans["int"].one(POOL, "aks-pool-user").inputs
    small = plans["uat"].one(CLUSTER, "aks-cluster").inputs["agentPoolProfiles"][0]
    assert (small["vmSize"], small["osDiskSizeGB"], small["osDiskType"]) == ("Standard_D2ds_v5", 64, "Ephemeral")


def test_os_disk_is_ephemeral_only_where_the_temp_disk_holds_it() -> None:
    """Pure: 128 GB ephemeral on >=128 GiB temp disks, 64 GB on 75 GiB, managed without a temp disk."""
    assert compute.PoolSpec("Standard_D4ds_v5", 1, 1).os_disk == ("Ephemeral", 128)
    assert compute.PoolSpec("Standard_D2ds_v5", 1, 1).os_disk == ("Ephemeral", 64)
    assert compute.PoolSpec("Standard_D4s_v5", 1, 1).os_disk == ("Managed", 128)


def test_kubelet_pulls_from_the_shared_registry_only(plans: dict[str, Plan]) -> None:
    """AcrPull (by role definition id) for the kubelet identity, scoped to exactly the shared registry."""
    prd = plans["prd"]
    grant = prd.one(ASSIGNMENT, "aks-acr-pull").inputs
    assert grant["roleDefinitionId"].endswith(f"/roleDefinitions/{ROLES['AcrPull']}")
    assert grant["scope"] == plans["shared"].outputs["registryId"]
    assert grant["principalId"] == prd.outputs["aksKubeletIdentityObjectId"]
    assert grant["principalType"] == "ServicePrincipal"


def test_control_plane_identity_grants_are_narrow_and_precede_the_cluster(plans: dict[str, Plan]) -> None:
    """Managed Identity Operator on the kubelet identity only, Network Contributor on the AKS subnet only;
    the cluster waits for both."""
    prd = plans["prd"]
    operator = prd.one(ASSIGNMENT, "aks-kubelet-identity-operator").inputs
    network = prd.one(ASSIGNMENT, "aks-subnet-network-contributor").inputs
    assert operator["roleDefinitionId"].endswith(ROLES["Managed Identity Operator"])
    assert operator["scope"].endswith("/userAssignedIdentities/id-acme-prd-weu-aks-kubelet")
    assert network["roleDefinitionId"].endswith(ROLES["Network Contributor"])
    assert network["scope"] == prd.outputs["subnetIds"]["aks"]
    control_plane = prd.one(IDENTITY, "aks-identity").inputs["resourceName"]
    assert operator["principalId"] == network["principalId"]
    assert control_plane == "id-acme-prd-weu-aks"
    deps = prd.one(CLUSTER, "aks-cluster").dependencies
    assert urn_of(prd, "aks-kubelet-identity-operator") in deps
    assert urn_of(prd, "aks-subnet-network-contributor") in deps


def test_maintenance_windows_come_from_config(plans: dict[str, Plan]) -> None:
    """Both AKS-managed schedules (upgrades and node OS) use the configured weekly window."""
    windows = {
        r.inputs["configName"]: r.inputs["maintenanceWindow"]
        for r in plans["prd"].find("azure-native:containerservice:MaintenanceConfiguration")
    }
    assert set(windows) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for window in windows.values():
        assert window["schedule"]["weekly"] == {"dayOfWeek": "Sunday", "intervalWeeks": 1}
        assert (window["startTime"], window["durationHours"], window["utcOffset"]) == ("02:00", 4, "+01:00")


def test_cluster_outputs_and_kubeconfig_only_as_secret(plans: dict[str, Plan]) -> None:
    """Cluster id/name, OIDC issuer, kubelet ids and the ingress IP are outputs; the kubeconfig only as [secret]."""
    prd, cfg = plans["prd"], model_of("prd")
    outputs = prd.outputs
    assert outputs["kubeconfig"] == SECRET
    assert "get-token" not in prd.to_json()
    assert "clusterUser" not in prd.to_json()
    assert outputs["aksClusterName"] == "aks-acme-prd-weu"
    assert {"aksClusterId", "aksOidcIssuerUrl", "aksKubeletIdentityClientId", "aksKubeletIdentityObjectId"} <= set(
        outputs
    )
    assert outputs["aksIngressIp"] == str(derive(cfg).aks_ingress_ip) == "10.43.3.254"
    assert IPv4Address(outputs["aksIngressIp"]) in derive(cfg).subnets["aks"]


def test_control_plane_logs_are_chosen_not_all(plans: dict[str, Plan]) -> None:
    """The cluster's diagnostic setting names its categories (kube-audit-admin, not the costly kube-audit)."""
    setting = plans["prd"].one(DIAGNOSTICS, "aks-cluster-diagnostics").inputs
    categories = {log["category"] for log in setting["logs"]}
    assert "kube-audit-admin" in categories
    assert "kube-audit" not in categories


# ---------------------------------------------------------------------------------------------------------
# Shared file system


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_shares_are_reachable_only_through_the_private_endpoint(plans: dict[str, Plan], stack: str) -> None:
    """No public network access, firewall denies all, no shared keys, TLS 1.2; one PE for `file` in the PE
    subnet registered in the file privatelink zone."""
    plan = plans[stack]
    account = plan.one(ACCOUNT, "files-account")
    i = account.inputs
    assert i["kind"] == "FileStorage"
    assert i["publicNetworkAccess"] == "Disabled"
    assert i["networkRuleSet"]["defaultAction"] == "Deny"
    assert i["networkRuleSet"]["bypass"] == "None"
    assert "ipRules" not in i["networkRuleSet"]
    assert "virtualNetworkRules" not in i["networkRuleSet"]
    assert i["allowSharedKeyAccess"] is False
    assert i["minimumTlsVersion"] == "TLS1_2"
    assert i["enableHttpsTrafficOnly"] is False  # required by NFS; see the comment in the component
    pe = plan.one("azure-native:network:PrivateEndpoint", "files-pe").inputs
    connection = pe["privateLinkServiceConnections"][0]
    assert connection["groupIds"] == ["file"]
    assert connection["privateLinkServiceId"].endswith(f"/storageAccounts/{i['accountName']}")
    assert pe["subnet"]["id"] == plan.outputs["subnetIds"]["privateEndpoints"]
    zone_group = plan.one("azure-native:network:PrivateDnsZoneGroup", "files-pe-dns").inputs
    assert zone_group["privateDnsZoneConfigs"][0]["privateDnsZoneId"].endswith(
        "/privateDnsZones/privatelink.file.core.windows.net"
    )


def test_shares_are_nfs_sized_protected_and_soft_deleted(plans: dict[str, Plan]) -> None:
    """NFS 4.1 shares with root squash and config quotas; ZRS and protect in prd, LRS and unprotected in INT."""
    prd, int_ = plans["prd"], plans["int"]
    shares = by_name(prd, SHARE)
    assert {s.inputs["shareName"] for s in shares.values()} == {"icm710-live", "icm710-edit", "iom"}
    for share in shares.values():
        assert share.inputs["enabledProtocols"] == "NFS"
        assert share.inputs["rootSquash"] == "RootSquash"
        assert share.protect
    assert shares["files-share-icm710-live"].inputs["shareQuota"] == 1024
    assert by_name(int_, SHARE)["files-share-icm710-live"].inputs["shareQuota"] == 100  # Pulumi.int.yaml
    assert prd.one(ACCOUNT, "files-account").inputs["sku"]["name"] == "Premium_ZRS"
    assert prd.one(ACCOUNT, "files-account").protect
    assert not int_.one(ACCOUNT, "files-account").protect
    assert int_.one(ACCOUNT, "files-account").inputs["sku"]["name"] == "Premium_LRS"
    service = prd.one("azure-native:storage:FileServiceProperties", "files-file-service").inputs
    assert service["shareDeleteRetentionPolicy"] == {"days": 14, "enabled": True}


def test_mount_sources_name_account_and_share(plans: dict[str, Plan], example_plans: dict[str, Plan]) -> None:
    """Each share's NFS export is <account>.file.core.windows.net:/<account>/<share>."""
    for plan in (plans["prd"], example_plans["prd"]):
        account = plan.outputs["nfsAccountName"]
        for share, source in plan.outputs["nfsMountSources"].items():
            assert source == f"{account}.file.core.windows.net:/{account}/{share}"


# ---------------------------------------------------------------------------------------------------------
# Public entry


def test_public_entry_stays_off_until_switched_on(plans: dict[str, Plan], example_plans: dict[str, Plan]) -> None:
    """Every shipped environment (enabled: false until its certificates are imported) has no gateway, WAF or
    public IP of its own, yet names the certificates to import. The gateway itself: tests/test_public_entry.py."""
    for plan in [*(plans[s] for s in ENVIRONMENTS), *(example_plans[s] for s in ENVIRONMENTS)]:
        assert plan.by_type()[GATEWAY] == plan.by_type()[WAF] == 0, plan.stack
        assert "public-entry-ip" not in {r.name for r in plan.find("azure-native:network:PublicIPAddress")}
        assert "publicIpAddress" not in plan.outputs
        assert plan.outputs["publicCertificates"]
    assert plans["int"].outputs["publicCertificates"]["int-shop.acme-shop.com"] == "int-shop-acme-shop-com"


def test_compute_diagnostics_reach_the_workspace(plans: dict[str, Plan]) -> None:
    """Load balancers, the storage account, its file service and the cluster all have diagnostic settings (the
    gateway's and its IP's: tests/test_public_entry.py)."""
    prd = plans["prd"]
    names = {r.name for r in prd.find(DIAGNOSTICS)}
    expected = {
        "icm710-live-lb",
        "icm710-edit-lb",
        "files-account",
        "files-file-service",
        "aks-cluster",
    }
    assert {f"{n}-diagnostics" for n in expected} <= names


def test_deployer_is_cluster_admin_before_any_kubernetes_call(
    plans: dict[str, Plan], example_plans: dict[str, Plan]
) -> None:
    """Local accounts are off, so Azure RBAC decides every in-cluster call: each cluster grants AKS RBAC Cluster
    Admin to caas:aks.deployerPrincipalId (a managed identity), and the Kubernetes provider, through the
    kubeconfig it is built from, depends on that grant, so no Kubernetes object is created before it."""
    for directory, rendered in ((ROOT, plans), (EXAMPLE, example_plans)):
        for stack in ENVIRONMENTS:
            plan, cfg = rendered[stack], model_of(stack, directory)
            grant = plan.one(ASSIGNMENT, "aks-deployer-cluster-admin")
            assert grant.inputs["roleDefinitionId"].endswith("/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")
            assert grant.inputs["principalId"] == cfg.aks.deployer_principal_id
            assert grant.inputs["principalType"] == "ServicePrincipal"
            assert grant.inputs["scope"] == plan.outputs["aksClusterId"]
            (provider,) = plan.find("pulumi:providers:kubernetes")
            assert grant.urn in provider.dependencies, (directory.name, stack)
            assert [r for r in plan.resources if r.provider == provider.urn], "the layer uses this provider"


def test_deployer_principal_is_needed_only_for_the_kubernetes_layer() -> None:
    """Without the in-cluster layer nothing calls the Kubernetes API, so the key may be left out."""

    def without_layer(data: dict[str, Any]) -> None:
        data["caas:aks"].pop("deployerPrincipalId")
        data["caas:kubernetes"]["enabled"] = False

    assert not [line for line in problems("prd", without_layer) if "deployerPrincipalId" in line]


# ---------------------------------------------------------------------------------------------------------
# Bad input: every problem names its key


RSA_1024 = (
    "ssh-rsa "
    + base64.b64encode(
        b"".join(len(p).to_bytes(4, "big") + p for p in (b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xc3" * 128))
    ).decode()
)
RSA_2048 = (
    "ssh-rsa "
    + base64.b64encode(
        b"".join(len(p).to_bytes(4, "big") + p for p in (b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xc3" * 256))
    ).decode()
)

BAD_INPUT = [
    (
        "prd",
        set_key("icm710.live.appServer.vmSize", "Standard_D2ls_v5"),
        "caas:icm710.live.appServer.vmSize",
        "at least 8 GiB",
    ),
    ("uat", set_key("icm710.edit.appServer.vmSize", "Standard_D2lds_v5"), "caas:icm710.edit.appServer.vmSize", "4 GiB"),
    ("prd", set_key("icm710.live.solr.vmSize", "Standard_B1s"), "caas:icm710.live.solr.vmSize", "unknown VM size"),
    (
        "prd",
        set_key("icm710.live.webAdapter.count", 0),
        "caas:icm710.live.webAdapter.count",
        "greater than or equal to 1",
    ),
    ("prd", set_key("aks.systemPool.minCount", 0), "caas:aks.systemPool.minCount", "greater than or equal to 1"),
    ("prd", set_key("aks.userPool.maxCount", 2), "caas:aks.userPool.maxCount", "below minCount 3"),
    ("prd", set_key("aks.userPool.vmSize", "Standard_D8as_v4"), "caas:aks.userPool.vmSize", "unknown VM size"),
    ("prd", set_key("location.primary", "francesouth"), "caas:profile.zones", "no availability zones"),
    (
        "prd",
        set_key("dns.hostnames", {"edit": {"shop": "shop.acme-shop.com"}}),
        "caas:dns.hostnames",
        "must be unique",
    ),
    ("prd", set_key("aks.podCidr", "10.43.0.0/16"), "caas:aks.podCidr", "overlaps caas:network.addressSpace"),
    (
        "prd",
        set_key("aks.serviceCidr", "10.40.0.0/16"),
        "caas:aks.serviceCidr",
        "overlaps caas:network.hubAddressSpace",
    ),
    ("prd", set_key("aks.serviceCidr", "10.244.0.0/20"), "caas:aks.serviceCidr", "overlaps caas:aks.podCidr"),
    ("prd", set_key("aks.podCidr", "10.244.0.0/28"), "caas:aks.podCidr", "node /24 blocks"),
    (
        "prd",
        set_key("vpn", {"sites": [{"name": "erp", "gatewayIp": "198.51.100.7", "addressPrefixes": ["10.245.8.0/24"]}]}),
        "caas:aks.serviceCidr",
        "overlaps caas:vpn.sites[0].addressPrefixes[0]",
    ),
    ("prd", set_key("aks.ingressIp", "10.43.4.10"), "caas:aks.ingressIp", "usable address of the AKS subnet"),
    ("prd", set_key("aks.ingressIp", "10.43.3.255"), "caas:aks.ingressIp", "usable address"),
    ("prd", set_key("aks.kubernetesVersion", "latest"), "caas:aks.kubernetesVersion", "e.g. 1.36"),
    ("prd", set_key("aks.adminGroupObjectIds", ["ops-team"]), "caas:aks.adminGroupObjectIds", "object id"),
    ("prd", set_key("aks.deployerPrincipalId", "deployer"), "caas:aks.deployerPrincipalId", "caas init"),
    ("prd", lambda d: d["caas:aks"].pop("deployerPrincipalId"), "caas:aks.deployerPrincipalId", "python -m caas init"),
    ("prd", set_key("icm710.sshPublicKeys", ["hunter2"]), "caas:icm710.sshPublicKeys[0]", "not an OpenSSH public key"),
    ("prd", set_key("icm710.sshPublicKeys", [RSA_1024]), "caas:icm710.sshPublicKeys[0]", "at least 2048 bits"),
    (
        "prd",
        set_key("icm710.sshPublicKeys", ["ssh-ed25519 AAAAB3NzaC1yc2E="]),
        "caas:icm710.sshPublicKeys[0]",
        "does not encode a ssh-ed25519 key",
    ),
    ("prd", set_key("icm710.sshPublicKeys", []), "caas:icm710.sshPublicKeys", "at least 1 item"),
    ("prd", set_key("icm710.adminUsername", "admin"), "caas:icm710.adminUsername", "reserved"),
    ("prd", lambda d: d.pop("caas:icm710"), "caas:icm710", "required when caas:apps.icm710"),
    ("prd", set_key("apps", {"icm11": True}), "caas:icm710", "caas:apps.icm710 is false"),
    ("prd", set_key("apps", {"icm710": True}), "caas:aks", "no containerised app"),
    ("shared", set_key("publicEntry", {"enabled": True}), "caas:publicEntry", "belongs to the environment stacks"),
    ("shared", set_key("aks", {"kubernetesVersion": "1.36"}), "caas:aks", "belongs to the environment stacks"),
    (
        "prd",
        lambda data: [set_key("publicEntry.enabled", True)(data), set_key("publicEntry.restrictedSources", [])(data)],
        "caas:publicEntry.restrictedSources",
        "required while enabled",
    ),
    (
        "prd",
        set_key("publicEntry.restrictedSources", ["10.0.0.0/8"]),
        "caas:publicEntry.restrictedSources[0]",
        "public range",
    ),
    (
        "prd",
        set_key("publicEntry.restrictedSources", ["0.0.0.0/0"]),
        "caas:publicEntry.restrictedSources[0]",
        "public range",
    ),
    (
        "prd",
        set_key("publicEntry.certificates", {"live.blog": "x"}),
        "caas:publicEntry.certificates.live.blog",
        "no such hostname role",
    ),
    (
        "prd",
        set_key("publicEntry.certificates", {"live.shop": "a.b"}),
        "caas:publicEntry.certificates.live.shop",
        "certificate name",
    ),
    ("prd", set_key("publicEntry.maxCapacity", 1), "caas:publicEntry.maxCapacity", "below minCapacity 2"),
    ("prd", set_key("fileShares.icm710QuotaGib", 50), "caas:fileShares.icm710QuotaGib", "greater than or equal to 100"),
]


@pytest.mark.parametrize(("stack", "mutate", "key", "text"), BAD_INPUT, ids=[f"{c[2]}:{c[3]}" for c in BAD_INPUT])
def test_bad_compute_input_names_the_key(stack: str, mutate, key: str, text: str) -> None:
    """Each impossible value yields `Pulumi.<stack>.yaml: <key>: ...` saying what is wrong (no traceback)."""
    assert_reported(stack, mutate, key, text)


def test_good_ssh_keys_are_accepted() -> None:
    """Pure: the shipped Ed25519 keys and a 2048-bit RSA key pass; ECDSA (which Azure refuses) does not."""
    for key in stack_data("prd")["caas:icm710"]["sshPublicKeys"]:
        assert compute.ssh_key_problem(key) is None
    assert compute.ssh_key_problem(RSA_2048 + " someone@example") is None
    assert compute.ssh_key_problem("ecdsa-sha2-nistp256 AAAAE2VjZHNh") is not None


def test_defaults_of_every_scale_are_valid() -> None:
    """Every size in the default tables exists and meets its role's memory floor; pools have min <= max."""
    for roles in compute.ICM710_DEFAULTS.values():
        for role, spec in roles.items():
            assert compute.VM_SIZES[spec.vm_size].memory_gib >= compute.MIN_MEMORY_GIB[role]
    for pools in compute.AKS_POOL_DEFAULTS.values():
        for spec in pools.values():
            assert spec.vm_size in compute.VM_SIZES
            assert spec.min_count <= spec.max_count


def test_pod_and_service_ranges_avoid_every_routed_range() -> None:
    """The defaults stay clear of all sample VNets (both customers), and the ingress IP is the subnet's top."""
    for directory in (ROOT, EXAMPLE):
        for stack in ENVIRONMENTS:
            cfg = model_of(stack, directory)
            routed = [cfg.network.address_space, cfg.network.hub_address_space, cfg.network.dr_address_space]
            for cidr in (cfg.aks.pod_cidr, cfg.aks.service_cidr):
                assert not any(cidr.overlaps(n) for n in routed if n is not None)
            assert derive(cfg).aks_ingress_ip == derive(cfg).subnets["aks"].broadcast_address - 1


def test_model_of_example_reads_overrides() -> None:
    """globex prd: wildcard certificate for every role, pools and share quota from its stack file."""
    cfg = model_of("prd", EXAMPLE)
    assert {r.certificate for r in derive(cfg).public_routes} == {"wildcard-globex-example"}
    assert all(r.backend == "aks" for r in derive(cfg).public_routes)
    assert derive(cfg).aks_pools["user"] == compute.PoolSpec("Standard_E8ds_v5", 3, 15)
    assert derive(cfg).nfs_shares == {"icm11-live": 1024, "icm11-edit": 1024, "iom": 256}
    assert derive(cfg).gateway_capacity == (3, 10)
    data = copy.deepcopy(stack_data("uat"))
    data["caas:apps"] = {"icm11": True}
    del data["caas:icm710"]
    del data["caas:kubernetes"]  # acme's layer names IOM and PWA
    del data["caas:partners"]  # acme's partners work on PWA and the ICM 7.10 hosts
    assert derive(parse(data, "uat")).nfs_shares == {"icm11-live": 128, "icm11-edit": 128}
