"""DNS and certificates: the public hostnames, who may reach them, and what the customer hands over."""

from __future__ import annotations

from caas.runbooks.changes import through_deploy
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Section, Shell, Step, Ui, code, fence, table
from caas.sections.compute import INTEGRATED_CAS, Route
from caas.specs import derive
from caas.specs.dns import PublicDnsSpec

BACKENDS = {
    "icm710-live": "ICM 7.10 live web adapters",
    "icm710-edit": "ICM 7.10 edit web adapters",
    "aks": "AKS ingress",
}


def dns_and_certificates(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    routes = derive(cfg).public_routes
    if not routes:
        return None
    entry = cfg.public_entry
    vault = derive(cfg).names.key_vault()
    gateway = derive(cfg).names.resource("app_gateway")
    restricted = ", ".join(code(r) for r in entry.restricted_sources) or "nobody yet (no restrictedSources)"
    rows = [
        (code(r.hostname), BACKENDS[r.backend], code(r.certificate), restricted if r.restricted else "anyone")
        for r in routes
    ]
    state = (
        f"The gateway {code(gateway)} is on; its public address: {code(ctx.output('publicIpAddress'))}."
        if entry.enabled
        else f"The gateway is off ({code('caas:publicEntry.enabled')} is false): the certificates come first."
    )
    facts = (
        f"Every hostname ends at the Application Gateway (WAF, TLS 1.2 or newer), which takes its certificate from "
        f"the Key Vault {code(vault)} by name. {state}\n\n"
        + table(("Hostname", "Serves", "Certificate in the Key Vault", "Reachable from"), rows)
    )
    zone = derive(cfg).public_dns
    if zone is not None:
        facts += "\n\n" + _zone_facts(zone)
    steps = _delegation(ctx, zone) if zone is not None else []
    if entry.issuance.issuer == "imported":
        steps += _certificates(ctx, routes, vault)
    else:
        steps += _issued_certificates(ctx, routes, vault)
    if not entry.enabled:
        steps += through_deploy(
            ctx,
            ctx.stack,
            title=f"Switch the public entry of {ctx.stack} on",
            why="Once every certificate is in the vault, set "
            f"{code('caas:publicEntry.enabled: true')} (with {code('restrictedSources')}) in "
            f"{code(ctx.stack_path(ctx.stack))} and regenerate this runbook "
            f"({code(f'python -m caas runbook{ctx.dir_flag} --stack {ctx.stack}')}) in the same commit; preflight "
            "names the certificates the gateway will read.",
            branch=f"entry/{ctx.stack}-public-entry",
            effect="the Application Gateway, its public IP and WAF policies are created",
        )
    else:
        outside = set(zone.outside) if zone is not None else {r.hostname for r in routes}
        steps += _dns_records(ctx, [r for r in routes if r.hostname in outside])
    if any(r.restricted for r in routes):
        snippet = "caas:publicEntry:\n  restrictedSources:\n" + "".join(
            f"    - {r}\n" for r in entry.restricted_sources
        )
        steps += through_deploy(
            ctx,
            ctx.stack,
            title="Allow the partner's egress addresses to edit, back office and IOM",
            why="The restricted hostnames answer only the ranges in "
            f"{code('caas:publicEntry.restrictedSources')}. The partner names its public egress ranges; add "
            f"them in {code(ctx.stack_path(ctx.stack))} (currently):\n\n" + fence(snippet.rstrip(), "yaml"),
            branch=f"entry/{ctx.stack}-restricted-sources",
            effect="only the WAF policy's custom rule changes; the partner's requests to the restricted hostnames "
            "stop getting HTTP 403",
        )
    return Section("dns-and-certificates", "DNS and certificates", facts, tuple(steps))


def _certificates(ctx: Context, routes: list[Route], vault: str) -> list[Step]:
    """The customer checks and hands over one PFX per certificate; the platform engineer imports it through the
    certificates pipeline, the one path into the private vault (a hub agent, as the deployer)."""
    by_certificate = {r.certificate: r.hostname for r in routes}
    files = "\n".join(f"{host}.pfx  ->  {name}" for name, host in by_certificate.items())
    first_name, first_host = next(iter(by_certificate.items()))
    steps = [
        Step(
            title="Check and hand over one certificate per hostname",
            who="customer",
            where="their own machine, with OpenSSL",
            why="A PFX file per certificate with the full chain and the private key, issued for its hostname (or a "
            "wildcard covering it). Send the files through the agreed secure file transfer and the PFX password by "
            "another channel (phone or a one-time password-manager share), never together and never by e-mail. "
            "File and the name it gets in the Key Vault:\n\n" + fence(files, "text") + "\nCheck each file first:",
            command=Shell(
                f"openssl pkcs12 -in {first_host}.pfx -nokeys -passin env:PFX_PASSWORD "
                "| openssl x509 -noout -subject -enddate"
            ),
            expected=Outcome(f"a subject naming {code(first_host)} (or its wildcard) and an end date months ahead."),
            rollback="revoke a certificate that was sent to the wrong party.",
        )
    ]
    pipeline = ctx.pipeline("certificates")
    if pipeline is None or ctx.delivery is None:
        return steps
    env = ctx.cfg.environment
    d = ctx.delivery
    gated = d.environment(env)
    steps += [
        Step(
            title="Upload the PFX files as secure files",
            who="platform engineer",
            where=ctx.devops_ui(),
            why="Secure files are encrypted in Azure DevOps and reach an agent only for the run that uses them; "
            f"{code(pipeline.name)} must be permitted to use each (asked once on its first run).",
            command=Ui(f"Pipelines → Library → Secure files → + Secure file → {first_host}.pfx (and each other file)."),
            expected=Outcome("each file is listed under Secure files."),
            rollback="delete the secure file (Library → Secure files → the file → Delete).",
        ),
        Step(
            title=f"Import the certificates into {vault}",
            who="platform engineer",
            where=ctx.on_agents(pipeline) + ", as the deployer through " + code(d.service_connection),
            why=f"{code(vault)} has no public endpoint: only the hub's agents and the environment reach it. The "
            "deployer holds Key Vault Certificates Officer on it (certificates only, no secrets or keys). One run "
            "per certificate; the password is a secret variable of the run, never printed"
            + (f"; {code(gated.name)} asks a customer approver first" if gated.gated else "")
            + ".",
            command=Ui(
                f"Pipelines → {pipeline.name} → Run pipeline → environment: {env.capitalize()}, action: import, "
                f"certificate: {first_name}, secureFile: {first_host}.pfx → Variables → pfxPassword "
                "(Keep this value secret) → Run."
            ),
            expected=Outcome(
                "the job ends green; its last lines list the certificate names in the vault: "
                + ", ".join(code(n) for n in sorted(by_certificate))
                + " once every file is imported."
            ),
            rollback="the vault keeps the certificate's earlier versions; "
            f"{code(f'az keyvault certificate delete --vault-name {vault} --name {first_name}')} "
            "from a run on the same pool removes a wrong one (recoverable for the vault's soft-delete period). "
            "Renewal is another import under the same name; the gateway picks it up within four hours.",
        ),
    ]
    return steps


def _zone_facts(zone: PublicDnsSpec) -> str:
    held = ", ".join(code(r.hostname) for r in zone.records)
    text = (
        f"The stack owns the public Azure DNS zone {code(zone.zone)} (caas:dns.zone), delegated to it by the parent "
        f"zone's owner. Once the gateway is on, it holds an A record (TTL {zone.ttl} s) to the gateway's address "
        f"for {held}."
    )
    if zone.outside:
        text += " Outside the zone, hence in the customer's DNS: " + ", ".join(code(h) for h in zone.outside) + "."
    return text


def _delegation(ctx: Context, zone: PublicDnsSpec) -> list[Step]:
    """The parent zone's owner delegates the subdomain to the zone's Azure name servers (NS records); a whole
    registered domain is delegated at its registrar instead."""
    label, parent = zone.zone.split(".", 1)
    registered = "." not in parent
    where = f"the registrar of {code(zone.zone)}" if registered else f"the DNS provider of {code(parent)} (its owner)"
    what = (
        f"At the registrar, set the name servers of {code(zone.zone)} to exactly the four of the step before."
        if registered
        else f"An NS record set {code(label)} in {code(parent)} listing exactly the four name servers of the step "
        f"before (TTL as the provider's default, e.g. 3600 s); no other records for names under {code(zone.zone)} "
        f"remain in {code(parent)}."
    )
    return [
        Step(
            title=f"Read the name servers of {zone.zone}",
            who="platform engineer",
            where=f"{MACHINE} (reader of the stack's state)",
            why="Azure DNS assigns each zone its own name servers when the zone is created (first deploy of "
            f"{ctx.stack}); send them to the customer.",
            command=Shell(ctx.output("publicDns", as_json=True) + " | jq -r '.nameServers[]'"),
            expected=Outcome(
                "four names like `ns1-NN.azure-dns.com.`, `ns2-NN.azure-dns.net.`, `ns3-NN.azure-dns.org.`, "
                "`ns4-NN.azure-dns.info.`"
            ),
            rollback="nothing to undo, this only reads.",
        ),
        Step(
            title=f"Delegate {zone.zone} to Azure DNS",
            who="customer",
            where=f"{where}, then any machine",
            why=what + " Until then the zone's records are not visible.",
            command=Shell(f"dig +short NS {zone.zone}\ndig +short SOA {zone.zone}"),
            expected=Outcome("the four Azure name servers; the SOA names one of them as primary."),
            rollback="restore the previous name servers at the registrar."
            if registered
            else f"delete the NS record set {code(label)} from {code(parent)} (resolvers drop it after its TTL).",
        ),
    ]


def _issued_certificates(ctx: Context, routes: list[Route], vault: str) -> list[Step]:
    """Key Vault issues and renews the certificates from policies generated from the model (integrated CA), or
    makes the keys and CSRs that the customer's CA signs (issuer Unknown)."""
    issuer = ctx.cfg.public_entry.issuance.issuer
    names = sorted({r.certificate for r in routes})
    pipeline = ctx.pipeline("certificates")
    if pipeline is None or ctx.delivery is None:
        return []
    env = ctx.cfg.environment
    flag = ctx.dir_flag
    issue_why = (
        f"The policies come from the model ({code(f'python -m caas certificates{flag} --stack {ctx.stack}')}: "
        "subject and SANs = the hostnames, key, validity, renewal trigger). The run creates what is missing and "
        "updates the policy of what exists (applied at its next renewal)."
    )
    steps: list[Step] = []
    if issuer in INTEGRATED_CAS:
        steps.append(
            Step(
                title=f"Hand over the {issuer} account for Key Vault",
                who="customer",
                where=f"their {issuer} account",
                why=f"Key Vault orders and renews through the customer's {issuer} account (learn.microsoft.com, "
                '"Integrating Key Vault with DigiCert certificate authority"): its account id, API key or password'
                + (" and organization id" if issuer == "DigiCert" else "")
                + ". The password goes by another channel than the id, never by e-mail.",
                command=Ui(f"{issuer} console → API keys → create a key for Azure Key Vault."),
                expected=Outcome("an account id and a key the platform engineer holds in a password manager."),
                rollback=f"revoke the key in the {issuer} console.",
            )
        )
    steps.append(
        Step(
            title=f"Issue the certificates in {vault}",
            who="platform engineer",
            where=ctx.on_agents(pipeline),
            why=issue_why
            + (
                " Variables of the run: caAccountId, caPassword (Keep this value secret)"
                + (", caOrganizationId" if issuer == "DigiCert" else "")
                + "."
                if issuer in INTEGRATED_CAS
                else " With issuer Unknown, Key Vault keeps each private key and returns a CSR (artifact "
                f"{code(f'csr-{env}')} of the run)."
            ),
            command=Ui(
                f"Pipelines → {pipeline.name} → Run pipeline → environment: {env.capitalize()}, action: issue → Run."
            ),
            expected=Outcome(
                "the job ends green and lists "
                + ", ".join(code(n) for n in names)
                + ("" if issuer in INTEGRATED_CAS else " (pending until merged)")
                + "."
            ),
            rollback=f"{code(f'az keyvault certificate pending delete --vault-name {vault} --name <name>')} cancels "
            "an order or CSR that is still pending.",
        )
    )
    if issuer not in INTEGRATED_CAS:
        steps += [
            Step(
                title="Sign the CSRs",
                who="customer",
                where="their certificate authority",
                why="One CSR per certificate; the CA signs it unchanged (same subject and SANs) and returns the "
                "certificate with its chain (PEM or PKCS#7). Key Vault renews nothing by itself here: it mails the "
                "contacts (caas:monitoring.emails) at the policy's trigger; then run the pipeline with action renew "
                "for that certificate (a new CSR), sign and merge as here.",
                command=Shell("openssl req -in <name>.csr -noout -subject -text | grep -A1 'Subject Alternative'"),
                expected=Outcome("the subject and SANs of the hostnames in the table above."),
                rollback="ask the CA to revoke a certificate signed for the wrong request.",
            ),
            Step(
                title="Merge each signed certificate",
                who="platform engineer",
                where=ctx.on_agents(pipeline),
                why="Upload the signed file as a secure file (Pipelines → Library → Secure files), then merge it "
                "into the pending certificate of the same name; only that request's key matches.",
                command=Ui(
                    f"Pipelines → {pipeline.name} → Run pipeline → environment: {env.capitalize()}, action: merge, "
                    f"certificate: {names[0]}, secureFile: {names[0]}.pem → Run."
                ),
                expected=Outcome("the job prints the certificate's thumbprint and lists it among the vault's."),
                rollback="issue again (a new CSR) if the CA signed the wrong request.",
            ),
        ]
    return steps


def _dns_records(ctx: Context, routes: list[Route]) -> list[Step]:
    if not routes:
        return []  # every hostname is in the stack's own zone
    records = table(
        ("Name", "Type", "Value"), ((r.hostname, "A", "the gateway's address (step before)") for r in routes)
    )
    return [
        Step(
            title="Read the gateway's public address",
            who="platform engineer",
            where=f"{MACHINE} (reader of the stack's state)",
            why="The address every public hostname points at; send it to the customer.",
            command=Shell(ctx.output("publicIpAddress")),
            expected=Outcome("one IPv4 address."),
            rollback="nothing to undo, this only reads.",
        ),
        Step(
            title="Create the DNS records",
            who="customer",
            where="their DNS provider's console, then any machine",
            why="One A record per hostname, all pointing at the gateway's public address:\n\n" + records,
            command=Shell("\n".join(f"dig +short {r.hostname}" for r in routes)),
            expected=Outcome("every `dig` prints the address of the step before."),
            rollback="delete the records (or point them back to where they pointed before).",
        ),
    ]
