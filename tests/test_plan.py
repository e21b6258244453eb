"""The offline plan of every shipped stack: inventory, security settings, relations, determinism."""

from __future__ import annotations

import json
from collections import Counter

import pulumi
import pytest

from caas.config import SECRET_PLACEHOLDER
from caas.mocks import SECRET, RecordingMocks, RecordingMonitor, arm_id, fake_password
from caas.plan import Plan, as_table
from caas.sdk_internals import reset_root
from components.roles import ROLES
from tests.conftest import STACKS

HUB_TYPES = {
    "azure-native:containerregistry:Registry": 1,
    "azure-native:containerregistry:Replication": 1,
    "azure-native:network:BastionHost": 1,
    "azure-native:devopsinfrastructure:Pool": 1,
    "azure-native:managedidentity:FederatedIdentityCredential": 1,
    "azure-native:network:Subnet": 3,
    "azure-native:network:NetworkSecurityGroup": 3,
    "azure-native:privatedns:PrivateZone": 4,  # registry, vault, file, blob: central, linked to the hub
    "azure-native:privatedns:VirtualNetworkLink": 4,
    "azure-native:network:PrivateEndpoint": 2,  # registry, SFTP host
}
# acme's DR hub (caas:network.drAddressSpace): agents and endpoints, its own privatelink zones, the registry endpoint.
SHARED_DR_TYPES = {
    "azure-native:devopsinfrastructure:Pool": 1,
    "azure-native:network:Subnet": 2,
    "azure-native:network:NetworkSecurityGroup": 2,
    "azure-native:privatedns:PrivateZone": 4,
    "azure-native:privatedns:VirtualNetworkLink": 4,
    "azure-native:network:PrivateEndpoint": 1,
}
ENV_TYPES = {
    "azure-native:network:VirtualNetwork": 1,
    "azure-native:network:Subnet": 6,  # plus GatewaySubnet with VPN (uat, prd)
    "azure-native:network:NetworkSecurityGroup": 6,
    "azure-native:network:VirtualNetworkPeering": 2,
    "azure-native:keyvault:Vault": 1,
    "azure-native:privatedns:PrivateZone": 1,  # PostgreSQL's; the privatelink zones are the shared stack's
    "azure-native:privatedns:VirtualNetworkLink": 6,  # spoke -> 4 shared zones (blob: SFTP, AKS backup), postgres x2
    # key vault, NFS file shares, the AKS backup extension's account (registry, SFTP: the hub's)
    "azure-native:network:PrivateEndpoint": 3,
    "azure-native:operationalinsights:Workspace": 1,
}
# prd's DR network (data area): VNet with SQL MI and private-endpoint subnets, peered both ways.
DR_TYPES = {
    "azure-native:network:VirtualNetwork": 1,
    "azure-native:network:Subnet": 2,
    "azure-native:network:NetworkSecurityGroup": 2,
    "azure-native:network:VirtualNetworkPeering": 2,
}


def test_shared_inventory(plans: dict[str, Plan]) -> None:
    """The shared stack holds the PA/AR layer and nothing environment-specific."""
    counts = plans["shared"].by_type()
    for typ, n in HUB_TYPES.items():
        assert counts[typ] == n + SHARED_DR_TYPES.get(typ, 0), typ
    assert counts["azure-native:keyvault:Vault"] == 0
    assert counts["azure-native:network:VirtualNetworkPeering"] == 0


@pytest.mark.parametrize("stack", ["int", "uat", "prd"])
def test_environment_inventory(plans: dict[str, Plan], stack: str) -> None:
    """Each environment has its network, DNS, key vault and workspace; no registry of its own."""
    counts = plans[stack].by_type()
    expected = dict(ENV_TYPES)
    if stack in ("uat", "prd"):  # the shipped stacks with a VPN
        expected["azure-native:network:Subnet"] += 1
    for typ, n in expected.items():
        assert counts[typ] == n + (DR_TYPES.get(typ, 0) if stack == "prd" else 0), (stack, typ)
    assert counts["azure-native:containerregistry:Registry"] == 0


def test_registry_is_private_premium_and_replicated(plans: dict[str, Plan]) -> None:
    """ACR: Premium, admin and anonymous pull off, no public access, zone-redundant, retention, DR replica."""
    shared = plans["shared"]
    reg = shared.one("azure-native:containerregistry:Registry", "shared-registry").inputs
    assert reg["sku"] == {"name": "Premium"}
    assert reg["adminUserEnabled"] is False
    assert reg["anonymousPullEnabled"] is False
    assert reg["publicNetworkAccess"] == "Disabled"
    assert reg["zoneRedundancy"] == "Enabled"
    assert reg["policies"]["retentionPolicy"] == {"days": 30, "status": "enabled"}
    replica = shared.one("azure-native:containerregistry:Replication", "shared-registry-dr").inputs
    assert replica["location"] == "northeurope"


def test_pipeline_identity_pushes_to_the_registry_only(plans: dict[str, Plan]) -> None:
    """The DevOps identity is federated (issuer/subject from config) and holds AcrPush on the registry alone."""
    shared = plans["shared"]
    fic = shared.one("azure-native:managedidentity:FederatedIdentityCredential", "shared-pipeline-federation").inputs
    assert fic["subject"] == "sc://acme-commerce/acme-shop/caas-acme-registry"
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
    registry_id = shared.outputs["registryId"]
    grant = shared.one("azure-native:authorization:RoleAssignment", "shared-pipeline-acr-push").inputs
    assert grant["roleDefinitionId"].endswith(f"/roleDefinitions/{ROLES['AcrPush']}")
    assert grant["scope"] == registry_id
    assert grant["principalType"] == "ServicePrincipal"


def test_stack_reference_names_the_configured_shared_stack(plans: dict[str, Plan]) -> None:
    """Environment stacks read the shared stack through one StackReference named in config."""
    refs = plans["prd"].find("pulumi:pulumi:StackReference")
    assert [r.inputs["name"] for r in refs] == ["organization/caas-acme/shared"]


def test_every_subnet_that_allows_an_nsg_has_one(plans: dict[str, Plan]) -> None:
    """Subnet -> NSG relation: every subnet but GatewaySubnet carries an NSG of its own stack."""
    for stack in STACKS:
        plan = plans[stack]
        nsg_ids = {r.inputs["networkSecurityGroupName"] for r in plan.find("azure-native:network:NetworkSecurityGroup")}
        for subnet in plan.find("azure-native:network:Subnet"):
            if subnet.inputs["subnetName"] == "GatewaySubnet":
                continue
            nsg = subnet.inputs["networkSecurityGroup"]["id"].rsplit("/", 1)[-1]
            assert nsg in nsg_ids, (stack, subnet.name)


def test_nsgs_deny_internet_inbound_except_gateway_ports(plans: dict[str, Plan]) -> None:
    """Only the app-gateway subnet admits 80/443 and GatewayManager; SSH/RDP never come from the internet."""
    prd = plans["prd"]
    for nsg in prd.find("azure-native:network:NetworkSecurityGroup"):
        rules = nsg.inputs.get("securityRules", [])
        inbound_allow = [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow"]
        for rule in inbound_allow:
            ports = rule.get("destinationPortRanges", [rule.get("destinationPortRange")])
            assert not {"22", "3389", "*"} & set(ports) or rule["sourceAddressPrefix"] != "Internet", nsg.name
        if nsg.name == "network-nsg-appGateway":
            sources = {r["sourceAddressPrefix"]: r for r in inbound_allow}
            assert sources["GatewayManager"]["destinationPortRanges"] == ["65200-65535"]
            assert set(sources["Internet"]["destinationPortRanges"]) == {"443", "80"}
        elif not nsg.name.endswith("-nsg-sqlMi"):  # SQL MI's rules are owned by its network intent policy
            assert inbound_allow == [], nsg.name
            assert any(r["name"] == "DenyInternetInbound" and r["access"] == "Deny" for r in rules)


def test_sql_mi_subnet_is_delegated_with_route_table(plans: dict[str, Plan]) -> None:
    """SQL MI needs a delegated subnet with NSG and route table; PostgreSQL a delegated one."""
    prd = plans["prd"]
    mi = prd.one("azure-native:network:Subnet", "network-snet-sqlMi").inputs
    assert mi["delegations"][0]["serviceName"] == "Microsoft.Sql/managedInstances"
    assert "routeTable" in mi
    assert "networkSecurityGroup" in mi
    pg = prd.one("azure-native:network:Subnet", "network-snet-postgres").inputs
    assert pg["delegations"][0]["serviceName"] == "Microsoft.DBforPostgreSQL/flexibleServers"


def test_nat_gateway_serves_aks_and_vm_subnets_only(plans: dict[str, Plan]) -> None:
    """Egress of AKS nodes and VMs goes through the NAT gateway; nothing else has it."""
    prd = plans["prd"]
    with_nat = {s.name for s in prd.find("azure-native:network:Subnet") if "natGateway" in s.inputs}
    assert with_nat == {"network-snet-aks", "network-snet-vms"}


def test_workload_subnets_have_no_implicit_internet_egress(plans: dict[str, Plan]) -> None:
    """Workload subnets are private (egress only via NAT); managed-service subnets keep Azure's default."""
    prd = plans["prd"]
    for role in ("aks", "vms", "privateEndpoints"):
        assert prd.one("azure-native:network:Subnet", f"network-snet-{role}").inputs["defaultOutboundAccess"] is False
    for role in ("sqlMi", "postgres", "appGateway"):
        assert "defaultOutboundAccess" not in prd.one("azure-native:network:Subnet", f"network-snet-{role}").inputs


def test_no_public_ip_except_nat_bastion_gateway_and_vpn(plans: dict[str, Plan]) -> None:
    """Public IPs exist only for egress (NAT), the operators' Bastion, the gateway and VPN; no host has one."""
    for stack in STACKS:
        names = {r.name for r in plans[stack].find("azure-native:network:PublicIPAddress")}
        allowed = {
            "network-nat-ip",
            "shared-hub-nat-ip",
            "shared-dr-hub-nat-ip",
            "shared-bastion-ip",
            "public-entry-ip",
        }
        allowed |= {"vpn-ip-1", "vpn-ip-2"}
        assert names <= allowed, (stack, names)


def test_peering_is_created_in_both_directions_by_the_environment(plans: dict[str, Plan]) -> None:
    """The spoke creates both peerings, so the shared stack never depends on an environment."""
    prd, shared = plans["prd"], plans["shared"]
    to_hub = prd.one("azure-native:network:VirtualNetworkPeering", "network-peering-to-hub").inputs
    from_hub = prd.one("azure-native:network:VirtualNetworkPeering", "network-peering-from-hub").inputs
    assert to_hub["remoteVirtualNetwork"]["id"] == shared.outputs["hubVnetId"]
    assert from_hub["virtualNetworkName"] == shared.outputs["hubVnetName"]
    assert from_hub["resourceGroupName"] == shared.outputs["hubResourceGroupName"]


def test_key_vault_is_private_rbac_and_purge_protected_in_prd(plans: dict[str, Plan]) -> None:
    """Key Vault: RBAC, soft delete, purge protection in prd, public access off, private endpoint."""
    props = plans["prd"].one("azure-native:keyvault:Vault", "keyvault-vault").inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"]["defaultAction"] == "Deny"
    int_props = plans["int"].one("azure-native:keyvault:Vault", "keyvault-vault").inputs["properties"]
    assert "enablePurgeProtection" not in int_props  # declared in Pulumi.int.yaml


def test_log_retention_follows_profile(plans: dict[str, Plan]) -> None:
    """Log Analytics keeps 90 days in prd and shared, 30 in uat and int."""
    days = {
        s: plans[s]
        .one("azure-native:operationalinsights:Workspace", "observability-workspace")
        .inputs["retentionInDays"]
        for s in STACKS
    }
    assert days == {"shared": 90, "int": 30, "uat": 30, "prd": 90}


def test_prd_stateful_resources_are_protected_and_locked(plans: dict[str, Plan]) -> None:
    """prd: resource groups, vault and workspace are protected; resource groups carry CanNotDelete locks."""
    prd = plans["prd"]
    protected = {r.name for r in prd.resources if r.protect}
    assert {"foundation-rg", "foundation-dr-rg", "keyvault-vault", "observability-workspace"} <= protected
    locks = prd.find("azure-native:authorization:ManagementLockAtResourceGroupLevel")
    assert {lock.inputs["level"] for lock in locks} == {"CanNotDelete"}
    assert len(locks) == 2
    assert not any(r.protect for r in plans["int"].resources)


def test_every_child_has_a_component_parent(plans: dict[str, Plan]) -> None:
    """Every Azure resource is parented by a component (no loose resources at stack level)."""
    for stack in STACKS:
        plan = plans[stack]
        components = {r.urn for r in plan.resources if not r.custom}
        for r in plan.resources:
            if r.custom and r.type.startswith("azure-native:"):
                assert r.parent in components, (stack, r.name)
        assert all(r.type.startswith("intershop:caas:") for r in plan.resources if not r.custom)


def test_urns_are_unique(plans: dict[str, Plan]) -> None:
    """No two resources share a URN (the recorder also refuses duplicates; determinism: test_cli)."""
    for stack in STACKS:
        urns = [r.urn for r in plans[stack].resources]
        assert len(urns) == len(set(urns))


def test_json_contract(plans: dict[str, Plan]) -> None:
    """The JSON plan has exactly the documented keys; diagnostics and peerings list their dependencies."""
    document = json.loads(plans["prd"].to_json())
    assert set(document) == {"project", "stack", "resources", "outputs", "invokes", "policy"}
    assert all(set(i) == {"token", "args", "count"} for i in document["invokes"])
    keys = {"urn", "type", "name", "parent", "provider", "dependencies", "protect", "inputs", "timeouts"}
    assert all(set(r) == keys for r in document["resources"])
    assert document["project"] == "caas-acme"
    assert document["stack"] == "prd"
    # The policy context is the stack's own bounds, so a saved plan can be checked alone (`caas check --plan`).
    assert document["policy"]["stack"] == "prd"
    assert document["policy"]["tags"]["environment"] == "prd"


def test_no_secret_in_plain_text(plans: dict[str, Plan]) -> None:
    """Offline, secure values are placeholders and never reach the plan; the model's SecretStr stays hidden."""
    for stack in STACKS:
        text = plans[stack].to_json()
        assert "offline-plan-placeholder" not in text
    assert SECRET == "[secret]"


def test_diagnostics_go_to_the_stacks_workspace(plans: dict[str, Plan]) -> None:
    """Every diagnostic setting targets the stack's own Log Analytics workspace."""
    for stack in STACKS:
        plan = plans[stack]
        workspace = plan.outputs["logAnalyticsWorkspaceId"]
        settings = plan.find("azure-native:monitor:DiagnosticSetting")
        assert settings
        assert {s.inputs["workspaceId"] for s in settings} == {workspace}
        targets = Counter(s.inputs["resourceUri"] for s in settings)
        assert max(targets.values()) == 1


def test_invokes_show_the_credentials_the_program_reads(plans: dict[str, Plan]) -> None:
    """prd asks for the cluster's user credentials (exec format, no admin credentials) of its own cluster, naming
    the public FQDN (`az aks get-credentials --public-fqdn`): the hub's agents cannot resolve the private one."""
    prd = plans["prd"]
    cluster = prd.find("azure-native:containerservice:ManagedCluster")[0].inputs
    reads = [i for i in prd.invokes if i.token == "azure-native:containerservice:listManagedClusterUserCredentials"]
    assert [i.args for i in reads] == [
        {
            "format": "exec",
            "resourceGroupName": cluster["resourceGroupName"],
            "resourceName": cluster["resourceName"],
            "serverFqdn": "public",
        }
    ]
    assert not [i for i in prd.invokes if "Admin" in i.token]
    assert "listManagedClusterUserCredentials" in as_table(prd).split("Reads (invokes):")[1]


def test_invokes_carry_no_secret_values(plans: dict[str, Plan]) -> None:
    """No secure config placeholder and no generated password appears in any recorded invoke."""
    for stack in STACKS:
        text = json.dumps([i.args for i in plans[stack].invokes])
        passwords = [fake_password(r.name) for r in plans[stack].find("random:index/randomPassword:RandomPassword")]
        assert SECRET_PLACEHOLDER not in text, stack
        assert not any(p in text for p in passwords), stack


def test_invoke_arguments_holding_a_secret_are_masked() -> None:
    """A plaintext the run knows as secret (the SDK unwraps secret invoke args) is recorded as [secret]."""
    mocks = RecordingMocks(secrets=["s3cret-value"])
    monitor = RecordingMonitor(mocks)
    reset_root()
    pulumi.runtime.set_mocks(mocks, project="t", stack="t", preview=False, monitor=monitor)
    pulumi.runtime.invoke(
        "test:index:read", {"password": "s3cret-value", "nested": {"dsn": "x;pw=s3cret-value"}, "n": "a"}
    )
    assert [(i.token, i.args) for i in monitor.invokes] == [
        ("test:index:read", {"n": "a", "nested": {"dsn": SECRET}, "password": SECRET})
    ]


def test_an_unlisted_type_gets_the_same_arm_id_whatever_the_input_order() -> None:
    """The plan is byte-identical across runs although the engine hands inputs over in no fixed order: a type
    without an ARM_TYPES entry is named by its own `<type>Name` input."""
    inputs = {"vaultName": "bvault-acme-int-weu", "backupPolicyName": "aks-disks", "resourceGroupName": "rg"}
    reordered = dict(reversed(list(inputs.items())))
    token = "azure-native:dataprotection:BackupPolicy"
    assert arm_id(token, "policy", inputs) == arm_id(token, "policy", reordered)
    assert arm_id(token, "policy", inputs).endswith("/aks-disks")
