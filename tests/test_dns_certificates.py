"""Public DNS (caas:dns.zone), certificate policies generated from the model, and certificate expiry alerts.

The shipped stacks keep the zone off; the DNS tests set it in a copy of acme's prd model and build only the
PublicDns component. The expiry alerts are in every environment plan, read from the session plans.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from caas import certificates
from caas.specs import derive
from components.public_dns import PublicDns, PublicDnsArgs
from tests.conftest import assert_reported, parse, set_key, stack_data
from tests.helpers import build_plan
from tests.policy_cases import mandatory_in

ZONE = "azure-native:dns:Zone"
RECORD = "azure-native:dns:RecordSet"
TOPIC = "azure-native:eventgrid:SystemTopic"
SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
ENTRY_IP = "203.0.113.7"


def model(stack: str = "prd", **changes: Any):
    """acme's stack with ``caas:<key>`` values replaced (dotted keys), parsed and validated."""
    data = copy.deepcopy(stack_data(stack))
    for key, value in changes.items():
        set_key(key.replace("__", "."), value)(data)
    return parse(data, stack)


def dns_plan(entry_ip: str | None, **changes: Any):
    cfg = model(**changes)
    spec = derive(cfg)
    assert spec.public_dns is not None
    return build_plan(lambda: PublicDns("public-dns", PublicDnsArgs(spec.site, spec.public_dns, "rg", entry_ip)))


def test_records_are_exactly_the_hostnames_inside_the_zone() -> None:
    """One A record per hostname under the zone, to the entry's address with the model's TTL; IOM's hostname,
    moved outside the zone, gets none and is listed as outside."""
    plan = dns_plan(
        ENTRY_IP,
        dns__zone="acme-shop.com",
        dns__recordTtlSeconds=120,
        dns__hostnames={"iom": "iom.acme-ops.net"},
    )
    zone = plan.one(ZONE, "public-dns-zone")
    assert (zone.inputs["zoneName"], zone.inputs["location"], zone.inputs["zoneType"]) == (
        "acme-shop.com",
        "global",
        "Public",
    )
    records = {r.inputs["relativeRecordSetName"]: r.inputs for r in plan.find(RECORD)}
    assert set(records) == {"shop", "backoffice", "pwa", "shop-edit", "backoffice-edit", "pwa-edit"}
    for inputs in records.values():
        assert (inputs["recordType"], inputs["ttl"], inputs["zoneName"]) == ("A", 120, "acme-shop.com")
        assert inputs["aRecords"] == [{"ipv4Address": ENTRY_IP}]
    spec = derive(model(dns__zone="acme-shop.com", dns__hostnames={"iom": "iom.acme-ops.net"})).public_dns
    assert spec is not None
    assert spec.outside == ("iom.acme-ops.net",)


def test_a_hostname_equal_to_the_zone_is_its_apex() -> None:
    """The delegated subdomain itself as a hostname gets the apex record "@" (where no CNAME may stand)."""
    plan = dns_plan(ENTRY_IP, dns__zone="shop.acme-shop.com")
    assert [r.inputs["relativeRecordSetName"] for r in plan.find(RECORD)] == ["@"]


def test_no_records_while_the_public_entry_is_off() -> None:
    """A disabled entry has no address: the zone exists (delegation can go first) and holds no record."""
    plan = dns_plan(None, dns__zone="acme-shop.com")
    assert len(plan.find(ZONE)) == 1
    assert plan.find(RECORD) == []


def test_no_zone_unless_configured(plans) -> None:
    """caas:dns.zone is off by default: the shipped stacks create no public zone."""
    assert all(plan.find(ZONE) == [] for plan in plans.values())


@pytest.mark.parametrize(
    ("key", "value", "reported", "text"),
    [
        ("dns.zone", "example.org", "caas:dns.zone", "contains none of this stack's hostnames"),
        ("dns.zone", "Shop.Acme-Shop.com", "caas:dns.zone", "lower-case DNS name"),
        ("dns.recordTtlSeconds", 5, "caas:dns.recordTtlSeconds", "greater than or equal to 30"),
        (
            "publicEntry.issuance",
            {"issuer": "DigiCert", "renewDaysBeforeExpiry": 60, "renewAtLifetimePercent": 80},
            "caas:publicEntry.issuance.renewAtLifetimePercent",
            "either",
        ),
        (
            "publicEntry.issuance",
            {"issuer": "Unknown", "validityMonths": 1, "renewDaysBeforeExpiry": 40},
            "caas:publicEntry.issuance.renewDaysBeforeExpiry",
            "27 days",
        ),
        ("publicEntry.issuance", {"keySize": 4096}, "caas:publicEntry.issuance.issuer", "remove keySize"),
        ("publicEntry.issuance", {"issuer": "LetsEncrypt"}, "caas:publicEntry.issuance.issuer", "DigiCert"),
    ],
)
def test_config_errors_name_the_key(key: str, value: Any, reported: str, text: str) -> None:
    """Each bad DNS or issuance setting is one line naming its key."""
    assert_reported("prd", set_key(key, value), reported, text)


def test_policy_from_the_model_with_an_integrated_ca() -> None:
    """DigiCert: subject and SANs are the hostnames sharing the certificate (subject first), RSA key exportable for
    the gateway, AutoRenew 60 days before expiry (ahead of the 30-day near-expiry event), issuer DigiCert."""
    cfg = model(
        publicEntry__issuance={"issuer": "DigiCert", "keySize": 3072, "validityMonths": 6},
        publicEntry__certificates={"live.shop": "shop", "edit.shop": "shop"},
    )
    manifest = certificates.manifest(derive(cfg))
    shop = next(c for c in manifest["certificates"] if c["name"] == "shop")
    assert shop["hostnames"] == ["shop.acme-shop.com", "shop-edit.acme-shop.com"]
    policy = shop["policy"]
    assert policy["x509CertificateProperties"]["subject"] == "CN=shop.acme-shop.com"
    assert policy["x509CertificateProperties"]["subjectAlternativeNames"] == {"dnsNames": shop["hostnames"]}
    assert policy["x509CertificateProperties"]["validityInMonths"] == 6
    assert policy["keyProperties"] == {"exportable": True, "keyType": "RSA", "reuseKey": False, "keySize": 3072}
    assert policy["lifetimeActions"] == [{"trigger": {"daysBeforeExpiry": 60}, "action": {"actionType": "AutoRenew"}}]
    assert policy["issuerParameters"] == {"name": "DigiCert"}
    assert (manifest["vault"], manifest["issuerProvider"]) == ("kv-acme-prd-weu", "DigiCert")
    assert {c["name"] for c in manifest["certificates"]} >= {"shop", "iom-acme-shop-com"}


def test_policy_for_a_customer_ca_asks_for_a_csr_and_mails_the_contacts() -> None:
    """Unknown issuer (the customer's own CA): Key Vault can only remind, so the action is EmailContacts to the
    alert receivers; an EC key signs only."""
    cfg = model(publicEntry__issuance={"issuer": "Unknown", "keyType": "EC", "renewAtLifetimePercent": 80})
    manifest = certificates.manifest(derive(cfg))
    policy = manifest["certificates"][0]["policy"]
    assert policy["issuerParameters"] == {"name": "Unknown"}
    assert policy["lifetimeActions"] == [
        {"trigger": {"lifetimePercentage": 80}, "action": {"actionType": "EmailContacts"}}
    ]
    assert policy["keyProperties"]["curve"] == "P-256"
    assert "keySize" not in policy["keyProperties"]
    assert policy["x509CertificateProperties"]["keyUsage"] == ["digitalSignature"]
    assert manifest["contacts"] == list(cfg.monitoring.emails)
    assert manifest["issuerProvider"] is None


def test_imported_certificates_get_no_policy() -> None:
    """The default issuer keeps the PFX import path: the manifest names the certificates, with no policy."""
    manifest = certificates.manifest(derive(model()))
    assert manifest["issuer"] == "imported"
    assert all(c["policy"] is None for c in manifest["certificates"])


@pytest.mark.parametrize(("stack", "near", "expired"), [("prd", "Sev2", "Sev1"), ("int", "Sev4", "Sev3")])
def test_expiry_alerts_per_vault(plans, stack: str, near: str, expired: str) -> None:
    """The environment vault's system topic sends NearExpiry and Expired, one subscription each, as Azure Monitor
    alerts (CloudEvents schema) to the stack's action group, at the environment's warning/critical severity."""
    plan = plans[stack]
    vault = plan.one("azure-native:keyvault:Vault", "keyvault-vault")
    (topic,) = plan.find(TOPIC)
    assert topic.inputs["topicType"] == "Microsoft.KeyVault.vaults"
    assert topic.inputs["source"].endswith(f"/providers/Microsoft.KeyVault/vaults/{vault.inputs['vaultName']}")
    group = plan.one("azure-native:monitor:ActionGroup", "monitoring-action-group")
    group_id = plan.outputs["actionGroupId"]
    assert group_id.endswith(f"/actionGroups/{group.inputs['actionGroupName']}")
    by_event = {}
    for sub in plan.find(SUBSCRIPTION):
        assert sub.inputs["systemTopicName"] == topic.inputs["systemTopicName"]
        assert sub.inputs["eventDeliverySchema"] == "CloudEventSchemaV1_0"
        destination = sub.inputs["destination"]
        assert destination["endpointType"] == "MonitorAlert"
        assert destination["actionGroups"] == [group_id]
        (event,) = sub.inputs["filter"]["includedEventTypes"]
        by_event[event] = destination["severity"]
    assert by_event == {
        "Microsoft.KeyVault.CertificateNearExpiry": near,
        "Microsoft.KeyVault.CertificateExpired": expired,
    }


def test_shared_stack_has_no_certificate_alerts(plans) -> None:
    """Certificates live in the environment vaults only (pipelines/estate/certificates.yml); the shared stack has
    no vault, so no topic."""
    assert plans["shared"].find(TOPIC) == []


def test_the_zone_and_its_records_pass_the_policy_pack() -> None:
    """The shipped stacks configure no zone, so their plans hold none: judge one built here."""
    changes = {"dns__zone": "acme-shop.com"}
    assert mandatory_in(dns_plan(ENTRY_IP, **changes), model(**changes)) == []
