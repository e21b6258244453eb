"""DNS and certificates: the public hostnames, who may reach them, and what the customer hands over."""

from __future__ import annotations

from caas.runbooks.context import Context
from caas.runbooks.markdown import Section, Step, code, fence, table
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
    files = "\n".join(f"{r.hostname}.pfx  ->  {r.certificate}" for r in routes)
    imports = "\n".join(
        f"az keyvault certificate import --vault-name {vault} --name {r.certificate} \\\n"
        f'  --file {r.hostname}.pfx --password "$PFX_PASSWORD"'
        for r in routes
    )
    names = sorted({r.certificate for r in routes})
    steps = [
        Step(
            title="Hand over one certificate per hostname",
            owner="customer",
            why="A PFX file per hostname with the full chain and the private key, issued for that hostname (or a "
            "wildcard covering it). Send the files through the agreed secure file transfer and the PFX password "
            "by another channel (phone or a password manager share), never together and never by e-mail. "
            "File and the name it gets in the Key Vault:\n\n" + fence(files, "text"),
            rollback="the customer revokes a certificate that was sent to the wrong party.",
        ),
        Step(
            title="Import the certificates into the Key Vault",
            owner="platform team",
            why=f"{code(vault)} has no public endpoint: run this inside the environment's network (a host reached "
            "through Bastion, or a pod on the cluster), signed in with Key Vault Certificates Officer on the vault.",
            command=imports + f'\naz keyvault certificate list --vault-name {vault} --query "[].name" -o tsv | sort',
            expected="\n".join(names),
            rollback=f"{code(f'az keyvault certificate delete --vault-name {vault} --name')} with the certificate "
            "name (it stays recoverable for the vault's soft-delete period).",
        ),
    ]
    if not entry.enabled:
        steps.append(
            Step(
                title="Switch the public entry on",
                owner="platform team",
                why="Once step 2 lists every certificate, set "
                f"{code('caas:publicEntry.enabled: true')} (with {code('restrictedSources')}) in {ctx.source}, "
                "regenerate this runbook and merge both through a pull request; the deploy pipeline applies it. "
                "Before the merge:",
                command=f"python -m caas preflight --stack {ctx.stack}",
                result="no FAIL line (the public entry line names the certificates the gateway will read); after "
                "the merge the pipeline's update creates the Application Gateway, its public IP and WAF policies, "
                "and this runbook names the address to put in DNS.",
                rollback=f"set {code('caas:publicEntry.enabled: false')} through a pull request; the pipeline "
                "removes the gateway.",
            )
        )
    else:
        records = table(
            ("Name", "Type", "Value"), ((r.hostname, "A", "the address the first command prints") for r in routes)
        )
        steps.append(
            Step(
                title="Create the DNS records",
                owner="customer",
                why="One A record per hostname, all pointing at the gateway's public address:\n\n" + records,
                command=f"{ctx.output('publicIpAddress')}\n" + "\n".join(f"dig +short {r.hostname}" for r in routes),
                result="every `dig` prints the same address as the stack output.",
                rollback="delete the records (or point them back to where they pointed before).",
            )
        )
    if any(r.restricted for r in routes):
        snippet = "caas:publicEntry:\n  restrictedSources:\n" + "".join(
            f"    - {r}\n" for r in entry.restricted_sources
        )
        steps.append(
            Step(
                title="Allow the partner's egress addresses to edit, back office and IOM",
                owner="platform team",
                why="The restricted hostnames answer only the ranges in "
                f"{code('caas:publicEntry.restrictedSources')}. The partner names its public egress ranges; add "
                f"them in {ctx.source} (currently):\n\n" + fence(snippet.rstrip(), "yaml"),
                command=f"pulumi up --stack {ctx.qualified}",
                result="the update changes the WAF policy's custom rule only; the partner's requests to the "
                "restricted hostnames stop getting HTTP 403.",
                rollback="remove the ranges and deploy again.",
            )
        )
    return Section("dns-and-certificates", "DNS and certificates", facts, tuple(steps))
