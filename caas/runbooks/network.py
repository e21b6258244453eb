"""Network: the site-to-site VPN parameter sheets (the partner's, and the one we give back)."""

from __future__ import annotations

from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Output, Section, Shell, Step, Ui, code, table
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
    device = "the partner's VPN device (its management console)"
    steps = [
        Step(
            title="Confirm the partner's sheet",
            who="partner engineer",
            where=device,
            why=f"Check each row of the partner's sheet against the device. Changes go into {code('caas:vpn.sites')} "
            f"in {code(ctx.stack_path(ctx.stack))} (a stack change like any other) before the tunnel is configured.",
            command=Ui("the device's site-to-site VPN settings: public address and protected ranges per site."),
            expected=Outcome("the partner confirms device address and ranges per site in writing."),
            rollback="nothing to undo.",
        ),
        Step(
            title="Give the partner our sheet",
            who="platform engineer",
            where=f"{MACHINE} (reader of the stack's state)",
            why="The parameters above, plus the gateway's public addresses as deployed:",
            command=Shell(ctx.output("vpn", as_json=True)),
            expected=Outcome(
                f"the JSON lists {2 if plan.active_active else 1} `gatewayPublicIps` and, per site, "
                "`sharedKeySource`: where the key is kept, never the key."
            ),
            rollback="nothing to undo, this only reads.",
        ),
    ]
    for site in plan.sites:
        connection = derive(cfg).names.resource("connection", site.name)
        if configured_key:
            read = f"pulumi config get --path caas:secrets.vpnSharedKey --stack {ctx.qualified}"
            where = f"{MACHINE}, in a clone of the repository (decrypts the stack's secrets)"
        else:
            # The connection's key through ARM: no line of sight to the private vault needed.
            read = (
                f"az network vpn-connection shared-key show --resource-group {rg} --connection-name {connection} "
                "--query value -o tsv"
            )
            where = f"{MACHINE} (Network Contributor or more on {code(rg)})"
        steps += [
            Step(
                title=f"Exchange the pre-shared key of site {site.name}",
                who="platform engineer",
                where=where,
                why="Tell it to the partner's network engineer by phone or a one-time share, never in a mail:",
                command=Shell(read),
                expected=Outcome("the key, printed once on your terminal; clear the terminal afterwards."),
                rollback="if it was exposed, rotate it (docs/connectivity.md) and exchange the new one.",
            ),
            Step(
                title=f"Configure the tunnel of site {site.name}",
                who="partner engineer",
                where=device,
                why="Our sheet and the key: one tunnel per gateway address, IKEv2, route-based, DPD on.",
                command=Ui("the device's site-to-site VPN settings: a tunnel per address of our sheet, with the key."),
                expected=Outcome("the device shows the IKE and IPsec security associations up."),
                rollback="disable the tunnel on the device.",
            ),
            Step(
                title=f"Check the connection of site {site.name}",
                who="platform engineer",
                where=MACHINE,
                why="Azure's side of the tunnel:",
                command=Shell(
                    f"az network vpn-connection show --resource-group {rg} --name {connection} "
                    "--query connectionStatus -o tsv"
                ),
                expected=Output("Connected"),
                rollback=f"on Azure's side, remove the site from {code('caas:vpn.sites')} (a stack change).",
            ),
        ]
    return Section("network", "Network (site-to-site VPN)", facts, tuple(steps))
