"""Network: the site-to-site VPN parameter sheets (the partner's, and the one we give back)."""

from __future__ import annotations

from caas.runbooks.context import Context
from caas.runbooks.markdown import Section, Step, code, table
from caas.specs import derive

PARAMETERS = {
    "protocol": "IKE version",
    "ikeEncryption": "IKE (phase 1) encryption",
    "ikeIntegrity": "IKE (phase 1) integrity",
    "dhGroup": "DH group",
    "ipsecEncryption": "IPsec (phase 2) encryption",
    "ipsecIntegrity": "IPsec (phase 2) integrity",
    "pfsGroup": "PFS group",
    "saLifetimeSeconds": "IPsec SA lifetime (seconds)",
    "saDataSizeKilobytes": "IPsec SA data size (kilobytes)",
    "dpdTimeoutSeconds": "Dead peer detection timeout (seconds)",
}


def network(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    plan = derive(cfg).vpn_plan
    if plan is None:
        return None
    rg, vault = derive(cfg).names.resource("resource_group"), derive(cfg).names.key_vault()
    configured_key = cfg.secrets.vpn_shared_key is not None
    theirs = [
        (
            code(site.name),
            code(site.gateway_ip or site.gateway_fqdn),
            ", ".join(code(p) for p in site.address_prefixes),
            f"ASN {site.bgp_asn}, peer {code(site.bgp_peering_address)}" if site.bgp_asn is not None else "static",
        )
        for site in plan.sites
    ]
    ours = [
        ("Gateway", f"{code(derive(cfg).names.resource('vpn_gateway'))}, {code(plan.sku)}, {plan.generation}"),
        (
            "Public addresses (one tunnel each)",
            f"{2 if plan.active_active else 1}: {code(ctx.output('vpn', as_json=True))}, key `gatewayPublicIps`",
        ),
        ("Azure address ranges to route into the tunnel", ", ".join(code(r) for r in plan.azure_address_ranges)),
        ("Routing", f"BGP, Azure ASN {plan.bgp_asn}" if plan.bgp_asn is not None else "static, route-based"),
        ("Traffic selectors", "any to any (route-based); policy-based selectors are not used"),
        *((label, code(plan.ipsec.describe()[key])) for key, label in PARAMETERS.items()),
    ]
    if configured_key:
        key_where = f"the stack config ({code('caas:secrets.vpnSharedKey')}, one key for every site)"
    else:
        secrets = ", ".join(code(plan.key_secret_name(site.name)) for site in plan.sites)
        key_where = f"the Key Vault {code(vault)}, one generated key per site ({secrets})"
    facts = (
        "One IPsec tunnel per partner site and gateway address, IKEv2, from the environment's VNet only (the "
        "shared hub is not reachable through it).\n\n"
        "## The partner's sheet (on record in the stack file)\n\n"
        + table(("Site", "Device address", "Partner ranges", "Routing"), theirs)
        + "\n## Our sheet (what the partner configures)\n\n"
        + table(("Parameter", "Value"), ours)
        + f"\nThe pre-shared key is kept in {key_where}. It is never written into a runbook, ticket or mail: it is "
        "read by the platform team and given to the partner's network engineer out of band (a phone call or a "
        "one-time password-manager share).\n"
    )
    steps = [
        Step(
            title="Confirm the partner's sheet",
            owner="partner",
            why=f"Check each row of the partner's sheet against the device. Changes go into {code('caas:vpn.sites')} "
            f"in {ctx.source} and are deployed before the tunnel is configured.",
            result="the partner confirms device address and ranges per site in writing.",
            rollback="nothing to undo.",
        ),
        Step(
            title="Give the partner our sheet",
            owner="platform team",
            why="The parameters above, plus the gateway's public addresses as deployed:",
            command=f"pulumi stack output vpn --stack {ctx.qualified} --json",
            result=f"the JSON lists {2 if plan.active_active else 1} `gatewayPublicIps` and, per site, "
            "`sharedKeySource`: where the key is kept, never the key.",
            rollback="nothing to undo, this only reads.",
        ),
    ]
    for site in plan.sites:
        connection = derive(cfg).names.resource("connection", site.name)
        if configured_key:
            read = f"pulumi config get --path caas:secrets.vpnSharedKey --stack {ctx.qualified}"
            where = "wherever the stack's secrets can be decrypted"
        else:
            secret = plan.key_secret_name(site.name)
            read = f"az keyvault secret show --vault-name {vault} --name {secret} --query value -o tsv"
            where = "on a host inside the environment's network (through Bastion), with Key Vault Secrets User"
        steps += [
            Step(
                title=f"Exchange the pre-shared key of site {site.name}",
                owner="platform team",
                why=f"Read it {where}, and tell it to the partner's network engineer by phone or a one-time share:",
                command=read,
                result="the key, printed once on your terminal; clear the terminal afterwards.",
                rollback="if it was exposed, rotate it (docs/connectivity.md) and exchange the new one.",
            ),
            Step(
                title=f"Bring up the tunnel of site {site.name}",
                owner="partner",
                why="Configure the device with our sheet and the key: one tunnel per gateway address, IKEv2, "
                "route-based, DPD on. Then the platform team checks the connection:",
                command=f"az network vpn-connection show --resource-group {rg} --name {connection} "
                "--query connectionStatus -o tsv",
                expected="Connected",
                rollback="disable the tunnel on the device; on Azure's side remove the site from "
                f"{code('caas:vpn.sites')} and deploy.",
            ),
        ]
    return Section("network", "Network (site-to-site VPN)", facts, tuple(steps))
