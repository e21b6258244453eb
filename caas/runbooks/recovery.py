"""Data rules and recovery: where data may flow, how long backups last, RPO/RTO, failover, who is alerted."""

from __future__ import annotations

from caas.config import EstateConfig
from caas.runbooks.context import Context
from caas.runbooks.markdown import Section, Step, code, table
from caas.specs import derive

# The CanNotDelete lock the foundation puts on every protected resource group (components/foundation.py).
LOCK_NAME = "do-not-delete"
SCENARIOS = {"pointInTime": "a mistake or corruption (restore to a point in time)", "regionLoss": "loss of the region"}
WORKLOADS = {
    "icmDatabase": "ICM databases",
    "iomDatabase": "IOM database",
    "icmHosts": "ICM 7.10 hosts",
    "sharedFiles": "shared files (NFS)",
}


def data_and_recovery(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    data = derive(cfg).data_model
    if data is None:
        return None
    facts = "\n".join([_rules(ctx), _databases(ctx), _retention(cfg), _objectives(cfg), _alerts(cfg)])
    steps = [*_refresh(ctx), *_restore(cfg), *_failover(cfg), _who_is_alerted(cfg)]
    return Section("data-and-recovery", "Data rules and recovery", facts, tuple(steps))


def _rules(ctx: Context) -> str:
    rule = derive(ctx.cfg).data_rule
    sources = ", ".join(code(e) for e in rule["receivesFrom"]) or "none"  # type: ignore[union-attr]
    targets = ", ".join(code(e) for e in rule["mayCopyTo"]) or "none"  # type: ignore[union-attr]
    regions = ", ".join(f"{code(region)} ({role})" for role, region in derive(ctx.cfg).data_regions.items())
    text = "## Data rules (GDPR)\n\n" + table(
        ("Fact", "Value"),
        [
            ("This environment holds", rule["holds"]),
            ("It may receive copies from", sources),
            ("Its data may be copied to", targets),
            ("Condition", rule["copyCondition"]),
            ("Regions holding its data", regions),
        ],
    )
    for target in rule["mayCopyTo"]:  # type: ignore[union-attr]
        text += f"\nThe refresh procedure is in the [{target} runbook](../{target}/data-and-recovery.md).\n"
    return text


def _databases(ctx: Context) -> str:
    cfg, data = ctx.cfg, derive(ctx.cfg).data_model
    assert data is not None
    mi = data.sql_mi
    rows = [
        (
            "ICM (SQL Managed Instance)",
            f"{code(mi.name)}, {mi.tier}, {mi.v_cores} vCores, {mi.storage_gb} GB",
            ", ".join(f"{system}: {code(db)}" for system, db in mi.databases.items()),
            code(ctx.output("icmDatabase", as_json=True)),
        )
    ]
    if data.postgres is not None:
        pg = data.postgres
        rows.append(
            (
                f"IOM (PostgreSQL {pg.version})",
                f"{code(pg.name)}, {pg.tier} {code(pg.sku_name)}, {pg.storage_gb} GB",
                "created by IOM",
                code(ctx.output("iomDatabase", as_json=True)),
            )
        )
    secrets = "\n".join(f"- {code(name)}: {what}" for name, what in sorted(data.secrets.items()))
    return (
        "## Databases\n\n"
        + table(("Workload", "Server", "Databases", "Host"), rows)
        + (
            f"\nIn prd ICM connects to the failover-group listener ({code(mi.failover.group_name)}), never to an "
            "instance name.\n"
            if mi.failover
            else ""
        )
        + f"\nCredentials are generated into the Key Vault {code(derive(cfg).names.key_vault())} and read from "
        f"inside the network only; nobody sends them by mail or chat:\n\n{secrets}\n"
    )


def _retention(cfg: EstateConfig) -> str:
    data = derive(cfg).data_model
    assert data is not None
    mi = data.sql_mi
    rows = [
        ("ICM databases point-in-time restore", f"{mi.retention_days} days", f"backup storage {mi.backup_redundancy}")
    ]
    if mi.long_term is not None:
        kept = [f"{name} {getattr(mi.long_term, name)}" for name in ("weekly", "monthly", "yearly")]
        rows.append(
            ("ICM databases long-term backups", ", ".join(k for k in kept if not k.endswith("None")), "ISO 8601")
        )
    if data.postgres is not None:
        geo = "geo-redundant" if data.postgres.geo_backup else "in the region only"
        rows.append(("IOM database point-in-time restore", f"{data.postgres.retention_days} days", geo))
    if data.vault is not None and derive(cfg).icm710_hosts:  # the vault backs up the ICM 7.10 hosts, nothing else
        vault, vm = data.vault, data.vault.vm
        rows.append(
            (
                f"ICM 7.10 hosts (vault {code(vault.name)})",
                f"every {vm.frequency_hours} h; daily {vm.daily_days} days, weekly {vm.weekly_weeks} weeks, "
                f"monthly {vm.monthly_months} months",
                f"{vault.redundancy}, cross-region restore {'on' if vault.cross_region_restore else 'off'}, "
                f"immutability {vault.immutability}, deleted backups kept {vault.soft_delete_days} days",
            )
        )
    rows.append(("Logs (Log Analytics)", f"{cfg.profile.log_retention_days} days", "then deleted (GDPR)"))
    return "## Backup and retention\n\n" + table(("What", "Kept", "Where and how"), rows)


def _objectives(cfg: EstateConfig) -> str:
    data = derive(cfg).data_model
    assert data is not None
    rows = [
        (WORKLOADS.get(workload, workload), SCENARIOS.get(scenario, scenario), o.rpo or "-", o.rto or "-", o.mechanism)
        for workload, scenarios in data.objectives.items()
        for scenario, o in scenarios.items()
    ]
    return (
        "## Recovery objectives\n\nISO 8601 durations; `-` means this environment cannot recover from it.\n\n"
        + table(("Workload", "After", "RPO", "RTO", "How"), rows)
    )


def _alerts(cfg: EstateConfig) -> str:
    data, mon = derive(cfg).data_model, cfg.monitoring
    assert data is not None and mon is not None
    receivers = ", ".join(mon.emails) + "".join(f"; webhook {code(h.name)}" for h in mon.webhooks)
    severities = ", ".join(f"{level} = Sev{n}" for level, n in data.severities.items())
    rows = [(rule.description, rule.level, rule.window) for rule in data.alerts]
    budget = mon.budget
    return (
        "## Who is alerted\n\n"
        f"Action group {code(data.action_group_name)}: {receivers}. Severities: {severities}. "
        f"Budget {code(data.budget_name)}: {budget.amount:g} a month, alerts at "
        + ", ".join(f"{t}%" for t in budget.thresholds)
        + " of actual and "
        + ", ".join(f"{t}%" for t in budget.forecast_thresholds)
        + " of forecast cost.\n\n"
        + table(("Alert", "Level", "Window"), rows)
    )


def _refresh(ctx: Context) -> list[Step]:
    """The receiving environment's runbook holds the refresh: copy inside the source, pseudonymise, move."""
    cfg = ctx.cfg
    wanted = derive(cfg).data_rule["receivesFrom"]
    sources = [(name, m) for name, m in sorted(ctx.peers.items()) if m.environment in wanted]  # type: ignore[operator]
    if not sources or derive(cfg).data_model is None or derive(sources[0][1]).data_model is None:
        return []
    source_stack, source = sources[0]
    assert derive(source).data_model is not None
    src, dst = derive(source).data_model.sql_mi, derive(cfg).data_model.sql_mi
    src_rg, dst_rg = derive(source).names.resource("resource_group"), derive(cfg).names.resource("resource_group")
    pairs = [(src.databases[s], dst.databases[s]) for s in dst.databases if s in src.databases]
    env, qualified_source = source.environment, ctx.qualify(source_stack)
    point = "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)"
    copy = "\n".join(
        f"az sql midb restore --resource-group {src_rg} --mi {src.name} --name {s} --dest-name {s}-refresh "
        f'--time "{point}"'
        for s, _ in pairs
    )
    move = "\n".join(
        f"az sql midb delete --resource-group {dst_rg} --mi {dst.name} --name {d} --yes\n"
        f"az sql midb restore --resource-group {src_rg} --mi {src.name} --name {s}-refresh --dest-name {d} \\\n"
        f'  --dest-mi {dst.name} --dest-resource-group {dst_rg} --time "{point}"'
        for s, d in pairs
    )
    cleanup = (
        f"az lock delete --name {LOCK_NAME} --resource-group {src_rg}\n"
        + "\n".join(
            f"az sql midb delete --resource-group {src_rg} --mi {src.name} --name {s}-refresh --yes" for s, _ in pairs
        )
        + f"\npulumi up --refresh --stack {qualified_source}"
    )
    pg_src = derive(source).data_model.postgres
    pg_dst = derive(cfg).data_model.postgres
    if pg_src is not None and pg_dst is not None:
        copy += (
            f"\naz postgres flexible-server restore --resource-group {src_rg} --name {pg_src.name}-refresh "
            f'--source-server {pg_src.name} \\\n  --restore-time "{point}"'
        )
        cleanup = cleanup.replace(
            "\npulumi up",
            f"\naz postgres flexible-server delete --resource-group {src_rg} --name {pg_src.name}-refresh --yes"
            "\npulumi up",
        )
        pairs_pg = [(f"{pg_src.name}-refresh", pg_dst.name)]
    else:
        pairs_pg = []
    copies = ", ".join([*(code(f"{s}-refresh") for s, _ in pairs), *(code(s) for s, _ in pairs_pg)])
    steps = [
        Step(
            title=f"Copy the {env} databases inside {env}",
            owner="platform team",
            why=f"Personal data must not leave {env}: the copies are made on {code(src.name)} and pseudonymised "
            "there first.",
            command=copy,
            result=f"the copies {copies} in {code(src_rg)} (a restore takes from minutes to hours).",
            rollback="step 5 deletes the copies.",
        ),
        Step(
            title="Pseudonymise the copies",
            owner="partner",
            why=f"Run the pseudonymisation the customer approved against {copies}, from a machine in {env}'s network.",
            result="the customer's checks find no personal data in the copies.",
            rollback="delete the copies (step 5) and start again from step 1.",
        ),
        Step(
            title="Approve the pseudonymised copies",
            owner="customer",
            why=f"The customer's data protection officer confirms in writing that the copies may leave {env}.",
            result="a written approval, filed with the change.",
            rollback=f"without approval nothing leaves {env}; delete the copies (step 5).",
        ),
        Step(
            title=f"Replace the {cfg.environment} databases",
            owner="platform team",
            why=f"Wait 15 minutes after the pseudonymisation so the log backups hold it, then restore the copies "
            f"into {code(dst.name)} under the names ICM uses. {cfg.environment} is down for ICM meanwhile; afterwards "
            f"relink ICM's database users to the {cfg.environment} logins as after a first install, and run "
            f"{code(f'pulumi refresh --stack {ctx.qualified}')}.",
            command=move,
            result=f"{', '.join(code(d) for _, d in pairs)} on {code(dst.name)} hold the pseudonymised data."
            + (
                f" For IOM, move the pseudonymised database from {code(pairs_pg[0][0])} into {code(pairs_pg[0][1])} "
                "with pg_dump and pg_restore, from a pipeline on the shared build agents (the only machines that "
                f"reach both networks), with IOM stopped in {cfg.environment}."
                if pairs_pg
                else ""
            ),
            rollback=f"restore the previous {cfg.environment} databases to a point in time before this step "
            f"({code('az sql midb restore')} on {code(dst.name)}, within its {dst.retention_days} days).",
        ),
        Step(
            title=f"Delete the copies in {env}",
            owner="platform team",
            why=f"{code(derive(source).names.resource('resource_group'))} carries a delete lock; lift it for the "
            "deletion under the same change, and let Pulumi put it back.",
            command=cleanup,
            result=f"the copies are gone and {code(LOCK_NAME)} is back on the resource group.",
            rollback=f"{code(f'pulumi up --refresh --stack {qualified_source}')} restores the lock if it is missing.",
        ),
    ]
    return steps


def _restore(cfg: EstateConfig) -> list[Step]:
    data = derive(cfg).data_model
    assert data is not None
    mi, rg = data.sql_mi, derive(cfg).names.resource("resource_group")
    database = mi.databases.get("live") or next(iter(mi.databases.values()))
    return [
        Step(
            title="Restore an ICM database to a point in time",
            owner="platform team",
            why=f"A restore never overwrites: it creates a new database next to the damaged one (here {code(database)} "
            "as it was an hour ago); ICM is switched to it, or data is copied back from it.",
            command=f"az sql midb restore --resource-group {rg} --mi {mi.name} --name {database} "
            f"--dest-name {database}-restored \\\n  --time \"$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)\"",
            result=f"the database {code(f'{database}-restored')} on {code(mi.name)}.",
            rollback=code(f"az sql midb delete --resource-group {rg} --mi {mi.name} --name {database}-restored --yes")
            + (" (the resource group's delete lock must be lifted for it)" if cfg.profile.protect else "")
            + ".",
        )
    ]


def _failover(cfg: EstateConfig) -> list[Step]:
    data = derive(cfg).data_model
    assert data is not None
    failover = data.sql_mi.failover
    if failover is None:
        return []
    dr_rg = derive(cfg).dr_names.resource("resource_group")
    primary_rg = derive(cfg).names.resource("resource_group")
    group = f"--name {failover.group_name}"
    check = f"az sql instance-failover-group show --resource-group {dr_rg} --location {failover.region} {group}"
    back = f"az sql instance-failover-group set-primary --resource-group {primary_rg} --location {cfg.location.primary}"
    return [
        Step(
            title=f"Fail the ICM databases over to {failover.region}",
            owner="platform team",
            why=f"Azure fails over by itself after {failover.grace_minutes} minutes of outage; run this for a drill "
            "or to fail over sooner. ICM keeps its connection string: the listener follows the primary.",
            command=f"az sql instance-failover-group set-primary --resource-group {dr_rg} "
            f"--location {failover.region} {group}\n{check} --query replicationRole -o tsv",
            expected="Primary",
            rollback=f"fail back from the primary region: {code(f'{back} {group}')}.",
        )
    ]


def _who_is_alerted(cfg: EstateConfig) -> Step:
    data = derive(cfg).data_model
    assert data is not None and cfg.monitoring is not None
    rg = derive(cfg).names.resource("resource_group")
    return Step(
        title="Check who is alerted",
        owner="customer",
        why="The action group sends every alert and budget warning of this environment; the list comes from "
        f"{code('caas:monitoring.emails')} in the stack file.",
        command=f"az monitor action-group show --resource-group {rg} --name {data.action_group_name} "
        '--query "emailReceivers[].emailAddress" -o tsv',
        expected="\n".join(cfg.monitoring.emails),
        rollback="nothing to undo, this only reads; change the list in the stack file and deploy.",
    )
