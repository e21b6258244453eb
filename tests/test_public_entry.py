"""The public entry (Application Gateway, WAF policies, public IP, certificate reader), built alone.

The shipped stacks keep ``caas:publicEntry.enabled: false`` until their certificates are in the vault, so their
plans hold no gateway. These tests switch it on in a copy of a shipped model and build only the PublicEntry
component from its spec under the recording mocks, with the inputs the compute estate would wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caas.model import EstateConfig
from caas.plan import Plan, Project
from caas.specs import EstateSpec, derive
from components.public_entry import PublicEntry, PublicEntryArgs
from components.roles import ROLES
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import build_plan

GATEWAY = "azure-native:network:ApplicationGateway"
WAF = "azure-native:network:WebApplicationFirewallPolicy"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
OWN_EGRESS = "203.0.113.9"  # the environment's NAT address, as Network hands it over


def switched_on(directory: Path, stack: str) -> EstateConfig:
    """A shipped stack's model once its certificates are imported: caas:publicEntry.enabled true."""
    cfg = Project.at(directory).load(stack)[0]
    return cfg.model_copy(update={"public_entry": cfg.public_entry.model_copy(update={"enabled": True})})


def vault_of(spec: EstateSpec) -> tuple[str, str]:
    """The environment vault's id and URI, as KeyVault hands them over."""
    rg, name = spec.names.resource("resource_group"), spec.names.key_vault()
    return f"/subscriptions/s/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}", (
        f"https://{name}.vault.azure.net/"
    )


def backends_of(spec: EstateSpec) -> dict[str, str]:
    """Route backend -> private IP, as caas.estate_compute wires them: web-adapter LBs and the AKS ingress."""
    assert spec.compute is not None
    backends = {f"icm710-{s}": str(hosts.frontend_ip) for s, hosts in spec.compute.icm710.items()}
    if spec.compute.aks is not None:
        backends["aks"] = str(spec.compute.aks.ingress_ip)
    return backends


def build(directory: Path, stack: str) -> tuple[Plan, EstateSpec]:
    """PublicEntry of the stack (switched on) under the recording mocks; its registrations as a Plan."""
    project = Project.at(directory)
    spec = derive(switched_on(directory, stack))
    assert spec.compute is not None
    assert spec.network is not None
    rg = spec.names.resource("resource_group")
    vault_id, vault_uri = vault_of(spec)
    subnet = f"/subscriptions/s/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/v/subnets/agw"
    args = PublicEntryArgs(
        spec.site,
        spec.compute.public_entry,
        rg,
        "workspace-id",
        subnet,
        vault_id,
        vault_uri,
        backends_of(spec),
        [OWN_EGRESS],
    )
    return build_plan(lambda: PublicEntry("public-entry", args), stack=stack, project=project.name), spec


@pytest.fixture(scope="module")
def entries() -> dict[str, tuple[Plan, EstateSpec]]:
    """acme uat and prd, globex prd (one wildcard certificate): each PublicEntry built once."""
    return {
        "uat": build(ROOT, "uat"),
        "prd": build(ROOT, "prd"),
        "globex-prd": build(EXAMPLE, "prd"),
    }


def _gateway(plan: Plan) -> dict[str, Any]:
    return plan.one(GATEWAY, "public-entry-gateway").inputs


def _leaf(ref: dict[str, str]) -> str:
    return ref["id"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("stack", ["uat", "prd"])
def test_listeners_and_backends_match_the_hostnames(entries, stack: str) -> None:
    """One HTTPS listener per model hostname with its own certificate; HTTP listeners only redirect to it;
    ICM hostnames go to their system's web-adapter LB, PWA and IOM to the AKS ingress IP."""
    plan, spec = entries[stack]
    gateway = _gateway(plan)
    listeners = {x["name"]: x for x in gateway["httpListeners"]}
    https = {x["hostNames"][0]: x for x in listeners.values() if x["protocol"] == "Https"}
    assert set(https) == set(spec.hostnames.values())
    pools = {p["name"]: p["backendAddresses"][0]["ipAddress"] for p in gateway["backendAddressPools"]}
    assert pools == backends_of(spec)
    assert set(pools) == {"icm710-live", "icm710-edit", "aks"}
    rules = {_leaf(r["httpListener"]): r for r in gateway["requestRoutingRules"]}
    redirects = {r["name"]: r for r in gateway["redirectConfigurations"]}
    for route in spec.public_routes:
        listener = https[route.hostname]
        assert listener["requireServerNameIndication"] is True
        assert _leaf(listener["sslCertificate"]) == route.certificate
        assert _leaf(rules[listener["name"]]["backendAddressPool"]) == route.backend
        system, _, app = route.role.rpartition(".")
        assert route.backend == (f"icm710-{system}" if app in ("shop", "backoffice") else "aks")
        plain = rules[f"http-{route.slug}"]
        assert "backendAddressPool" not in plain
        redirect = redirects[_leaf(plain["redirectConfiguration"])]
        assert redirect["redirectType"] == "Permanent"
        assert _leaf(redirect["targetListener"]) == listener["name"]
    priorities = [r["priority"] for r in gateway["requestRoutingRules"]]
    assert len(priorities) == len(set(priorities))


def test_probes_keep_the_hostname(entries) -> None:
    """Each backend setting probes with its hostname and never rewrites the Host header."""
    plan, spec = entries["prd"]
    gateway = _gateway(plan)
    probes = {p["name"]: p for p in gateway["probes"]}
    for settings_ in gateway["backendHttpSettingsCollection"]:
        assert settings_["pickHostNameFromBackendAddress"] is False
        assert "hostName" not in settings_
        probe = probes[_leaf(settings_["probe"])]
        assert probe["host"] in spec.hostnames.values()
        assert probe["match"]["statusCodes"] == ["200-399"]


def test_certificates_come_from_the_environment_vault(entries) -> None:
    """Versionless secret ids under the stack's own vault URI; a shared (wildcard) certificate is listed once."""
    plan, spec = entries["prd"]
    _, vault_uri = vault_of(spec)
    certificates = _gateway(plan)["sslCertificates"]
    assert all(c["keyVaultSecretId"] == f"{vault_uri}secrets/{c['name']}" for c in certificates)
    assert {c["name"] for c in certificates} == {r.certificate for r in spec.public_routes}
    globex, _ = entries["globex-prd"]
    assert [c["name"] for c in _gateway(globex)["sslCertificates"]] == ["wildcard-globex-example"]


def test_gateway_reads_certificates_as_key_vault_secrets_user(entries) -> None:
    """Its own user-assigned identity holds Key Vault Secrets User on the vault alone, before the gateway exists."""
    plan, spec = entries["prd"]
    grant = plan.one(ASSIGNMENT, "public-entry-key-vault-secrets-user")
    assert grant.inputs["roleDefinitionId"].endswith(ROLES["Key Vault Secrets User"])
    assert grant.inputs["scope"] == vault_of(spec)[0]
    gateway = plan.one(GATEWAY, "public-entry-gateway")
    identity = plan.one(IDENTITY, "public-entry-identity").inputs["resourceName"]
    assert gateway.inputs["identity"]["type"] == "UserAssigned"
    assert gateway.inputs["identity"]["userAssignedIdentities"][0].endswith(f"/{identity}")
    assert grant.urn in gateway.dependencies


def test_gateway_is_waf_v2_in_prevention_with_managed_rules(entries) -> None:
    """WAF_v2, zones in prd, TLS 1.2+ predefined policy, every policy in Prevention with DRS 2.1 + bot manager."""
    plan, _ = entries["prd"]
    gateway = _gateway(plan)
    assert gateway["sku"] == {"name": "WAF_v2", "tier": "WAF_v2"}
    assert gateway["zones"] == ["1", "2", "3"]
    assert gateway["autoscaleConfiguration"] == {
        "maxCapacity": 10,
        "minCapacity": 2,
    }
    assert gateway["sslPolicy"] == {"policyName": "AppGwSslPolicy20220101S", "policyType": "Predefined"}
    assert gateway["firewallPolicy"]["id"].endswith("/waf-acme-prd-weu")
    assert len(plan.find(WAF)) == 2
    for policy in plan.find(WAF):
        assert policy.inputs["policySettings"]["mode"] == "Prevention"
        assert policy.inputs["policySettings"]["state"] == "Enabled"
        sets = {(s["ruleSetType"], s["ruleSetVersion"]) for s in policy.inputs["managedRules"]["managedRuleSets"]}
        assert sets == {("Microsoft_DefaultRuleSet", "2.1"), ("Microsoft_BotManagerRuleSet", "1.1")}
    public_ip = plan.one("azure-native:network:PublicIPAddress", "public-entry-ip").inputs
    assert public_ip["sku"]["name"] == "Standard"
    assert public_ip["zones"] == ["1", "2", "3"]


def test_edit_and_back_office_are_restricted_to_configured_sources(entries) -> None:
    """Listeners of edit, back-office and IOM hostnames carry the restricted policy, which blocks every source
    outside caas:publicEntry.restrictedSources and the environment's own egress; the live shop and PWA listeners
    do not."""
    plan, spec = entries["prd"]
    assert spec.compute is not None
    restricted = plan.one(WAF, "public-entry-waf-restricted").inputs
    rule = restricted["customRules"][0]
    condition = rule["matchConditions"][0]
    assert rule["action"] == "Block"
    assert condition["negationConditon"] is True
    assert condition["matchVariables"] == [{"variableName": "RemoteAddr"}]
    assert condition["operator"] == "IPMatch"
    sources = spec.compute.public_entry.settings.restricted_sources
    assert condition["matchValues"] == [str(n) for n in sources] + [OWN_EGRESS]
    guarded = {
        listener["hostNames"][0]
        for listener in _gateway(plan)["httpListeners"]
        if listener.get("firewallPolicy", {}).get("id", "").endswith("-restricted")
    }
    expected = {
        h for role, h in spec.hostnames.items() if role.startswith("edit.") or role in ("live.backoffice", "iom")
    }
    assert guarded == expected
    assert "shop.acme-shop.com" not in guarded


def test_gateway_and_its_ip_send_diagnostics_to_the_workspace(entries) -> None:
    """The gateway and its public IP each have a diagnostic setting to the workspace handed in."""
    plan, _ = entries["prd"]
    settings_ = {r.name: r.inputs for r in plan.find(DIAGNOSTICS)}
    assert set(settings_) == {"public-entry-gateway-diagnostics", "public-entry-ip-diagnostics"}
    assert all(s["workspaceId"] == "workspace-id" for s in settings_.values())
    gateway_urn = plan.one(GATEWAY, "public-entry-gateway").urn
    assert gateway_urn in plan.one(DIAGNOSTICS, "public-entry-gateway-diagnostics").dependencies
