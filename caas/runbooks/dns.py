"""DNS and certificates: the public hostnames, who may reach them, and what the customer hands over."""

from __future__ import annotations

from caas.runbooks.changes import through_deploy
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Section, Shell, Step, Ui, code, fence, table
from caas.sections.compute import Route
from caas.specs import derive

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
    steps = _certificates(ctx, routes, vault)
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
        steps += _dns_records(ctx, routes)
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
                f"Pipelines → {pipeline.name} → Run pipeline → environment: {env.capitalize()}, certificate: "
                f"{first_name}, secureFile: {first_host}.pfx → Variables → pfxPassword (Keep this value secret) → Run."
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


def _dns_records(ctx: Context, routes: list[Route]) -> list[Step]:
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
