"""Key Vault certificate policies of the gateway's certificates, generated from the model.

azure-native has no certificate resource (certificates are data-plane objects), so the hub agents set these
policies with ``az keyvault certificate create|set-attributes --policy @<file>`` (pipelines/estate/certificates.yml).
The JSON is the form ``az keyvault certificate get-default-policy`` prints (the CLI turns its keys to snake case);
fields: REST "Certificates - Create Certificate" (CertificatePolicy, KeyProperties, X509CertificateProperties,
LifetimeAction, Trigger, IssuerParameters) and learn.microsoft.com "About Azure Key Vault certificates".
"""

from __future__ import annotations

import json
from typing import Any

from caas.sections.compute import INTEGRATED_CAS, CertificateIssuance
from caas.specs import EstateSpec

# Key Vault's near-expiry event comes 30 days before expiry: renewing earlier leaves that alert for failures.
DEFAULT_RENEW_DAYS = 60
SERVER_AUTH_EKU = "1.3.6.1.5.5.7.3.1"  # TLS Web Server Authentication


def certificate_hostnames(spec: EstateSpec) -> dict[str, list[str]]:
    """Certificate name -> the hostnames it serves (its subject first), in the model's route order."""
    names: dict[str, list[str]] = {}
    for route in spec.public_routes:
        names.setdefault(route.certificate, []).append(route.hostname)
    return names


def issuer_name(issuance: CertificateIssuance) -> str:
    """The policy's issuer: the vault's issuer object for an integrated CA (named like its provider), else
    Unknown (Key Vault returns a CSR for the customer's CA)."""
    return issuance.issuer if issuance.issuer in INTEGRATED_CAS else "Unknown"


def policy(hostnames: list[str], issuance: CertificateIssuance) -> dict[str, Any]:
    """One certificate's policy: subject and SANs from the model's hostnames, key, validity, renewal, issuer."""
    if issuance.issuer == "imported":
        raise ValueError("caas:publicEntry.issuance.issuer is imported: imported certificates carry no policy here")
    rsa = issuance.key_type == "RSA"
    key: dict[str, Any] = {"exportable": True, "keyType": issuance.key_type, "reuseKey": False}
    key.update({"keySize": issuance.key_size} if rsa else {"curve": issuance.curve})
    if issuance.renew_at_lifetime_percent is not None:
        trigger: dict[str, int] = {"lifetimePercentage": issuance.renew_at_lifetime_percent}
    else:
        trigger = {"daysBeforeExpiry": issuance.renew_days_before_expiry or DEFAULT_RENEW_DAYS}
    # AutoRenew needs an issuer Key Vault can order from; with a CSR the vault can only remind its contacts.
    action = "AutoRenew" if issuance.issuer in INTEGRATED_CAS else "EmailContacts"
    return {
        "issuerParameters": {"name": issuer_name(issuance)},
        # Exportable: the Application Gateway reads the PFX (key included) through the vault's secret endpoint.
        "keyProperties": key,
        "secretProperties": {"contentType": "application/x-pkcs12"},
        "x509CertificateProperties": {
            "subject": f"CN={hostnames[0]}",
            "subjectAlternativeNames": {"dnsNames": list(hostnames)},
            "ekus": [SERVER_AUTH_EKU],
            # RSA key exchange needs keyEncipherment; ECDHE with an EC key only signs.
            "keyUsage": ["digitalSignature", "keyEncipherment"] if rsa else ["digitalSignature"],
            "validityInMonths": issuance.validity_months,
        },
        "lifetimeActions": [{"trigger": trigger, "action": {"actionType": action}}],
    }


def manifest(spec: EstateSpec) -> dict[str, Any]:
    """What the certificates pipeline acts on: the vault, the issuer and each certificate with its policy."""
    assert spec.compute is not None
    issuance = spec.compute.public_entry.settings.issuance
    issued = issuance.issuer != "imported"
    return {
        "stack": spec.site.environment,
        "vault": spec.names.key_vault(),
        "issuer": issuance.issuer,
        # The vault's issuer object to create (az keyvault certificate issuer create --provider-name ...).
        "issuerProvider": issuance.issuer if issuance.issuer in INTEGRATED_CAS else None,
        # The vault's certificate contacts: EmailContacts actions and renewal results are mailed to them.
        "contacts": list(spec.data.monitoring.emails) if spec.data is not None else [],
        "certificates": [
            {"name": name, "hostnames": hosts, "policy": policy(hosts, issuance) if issued else None}
            for name, hosts in certificate_hostnames(spec).items()
        ],
    }


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
