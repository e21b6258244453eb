"""Data rules and recovery: where data may flow, how long backups last, RPO/RTO, failover, who is alerted."""

from __future__ import annotations

from caas import datajobs
from caas.config import EstateConfig
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Output, Section, Shell, Step, Ui, code, table
from caas.specs import derive

# The CanNotDelete lock the foundation puts on every protected resource group (components/foundation.py).
LOCK_NAME = "do-not-delete"
SCENARIOS = {"pointInTime": "a mistake or corruption (restore to a point in time)", "regionLoss": "loss of the region"}
WORKLOADS = {
    "icmDatabase": "ICM databases",
    "iomDatabase": "IOM database",
    "icmHosts": "ICM 7.10 hosts",
    "sharedFiles": "shared files (NFS)",
    "aksVolumes": "AKS cluster resources and disk volumes",
}


def data_and_recovery(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    data = derive(cfg).data_model
    if data is None:
        return None
    facts = "\n".join([_rules(ctx), _databases(ctx), _retention(cfg), _dr(ctx), _alerts(cfg)])
    steps = [*_logins(ctx), *_refresh(ctx), *_restore(ctx), *_failover(cfg), *_region_loss(ctx), _who_is_alerted(cfg)]
    return Section("data-and-recovery", "Data rules and recovery", facts, tuple(steps))


def _listed(rule: dict[str, object], key: str) -> list[str]:
    """The environments a data rule lists under ``key`` (none when it lists none)."""
    value = rule.get(key)
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _rules(ctx: Context) -> str:
    rule = derive(ctx.cfg).data_rule
    sources = ", ".join(code(e) for e in _listed(rule, "receivesFrom")) or "none"
    targets = ", ".join(code(e) for e in _listed(rule, "mayCopyTo")) or "none"
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
    for target in _listed(rule, "mayCopyTo"):
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


def _dr(ctx: Context) -> str:
    """What disaster recovery covers per workload and scenario (caas.datajobs.dr_markdown, as docs/recovery.md)."""
    return (
        "## Disaster recovery\n\n`Covered` is yes where the platform can bring the workload back in that scenario; "
        "RPO and RTO are ISO 8601 durations, `-` where it cannot. `documented`: from Microsoft's published service "
        "characteristics; `estimate`: ours, reason in the last column. What is **no** is not covered: the "
        "workload is rebuilt from the stack and its data is lost or re-delivered.\n\n"
        + datajobs.dr_markdown(ctx.cfg, ctx.shared)
    )


def _alerts(cfg: EstateConfig) -> str:
    data, mon = derive(cfg).data_model, cfg.monitoring
    assert data is not None
    assert mon is not None
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


def _logins(ctx: Context) -> list[Step]:
    """The data identity's database logins, once per environment the data jobs write to (docs/recovery.md)."""
    d = ctx.delivery
    if d is None or not (
        datajobs.sql_logins(ctx.cfg, d.data_identity) or datajobs.postgres_logins(ctx.cfg, d.data_identity)
    ):
        return []
    return [
        Step(
            title="Create the data identity's database logins",
            who="DBA",
            where=f"{MACHINE} for the statements; a SQL client on a hub build agent or in the environment's network "
            "to run them (the databases are private)",
            why=f"Once, after the environment's first deploy: {code(d.data_identity)} signs in to the databases with "
            "Entra tokens; these statements (per database, as the databases' Entra admin) let it restore and, for the "
            "uat refresh, pseudonymise and move the copies. The first command prints them:",
            command=Shell(f"python -m caas datajobs{ctx.dir_flag} --stack {ctx.stack} --format json | jq .logins"),
            expected=Outcome(
                "the T-SQL per ICM database (`sql`, `master` included) and the PostgreSQL statements (`postgres`); "
                "each runs without error."
            ),
            rollback=f"{code(f'DROP LOGIN [{d.data_identity}]')} in master (and the users in each database); "
            "the data jobs then fail at sign-in.",
        )
    ]


def _refresh(ctx: Context) -> list[Step]:
    """The receiving environment's runbook holds the refresh: the refresh pipeline copies inside the source,
    pseudonymises with the partner's scripts, moves the copies and drops them."""
    cfg = ctx.cfg
    wanted = derive(cfg).data_rule["receivesFrom"]
    sources = [(name, m) for name, m in sorted(ctx.peers.items()) if m.environment in wanted]  # type: ignore[operator]
    pipeline = ctx.pipeline("refresh-uat")
    if not sources or pipeline is None or ctx.delivery is None:
        return []
    source = sources[0][1]
    src, dst = derive(source).data_model, derive(cfg).data_model
    assert src is not None
    assert dst is not None
    env, d = source.environment, ctx.delivery
    copies = ", ".join(code(f"{db}{datajobs.COPY_SUFFIX}") for db in src.sql_mi.databases.values())
    return [
        Step(
            title="Write the pseudonymisation scripts",
            who="partner engineer",
            where=f"{MACHINE}, in a clone of the repository",
            why=f"The run executes the partner's ICM script (T-SQL) against the copies {copies} and the IOM script "
            f"(psql) against the copy of {code(src.postgres.name if src.postgres else '-')}, inside {env}, before "
            "anything leaves it. They must also cover what the run does not (docs/recovery.md): search index "
            "rebuild, ICM's domain and site settings, IOM's environment-specific configuration. Commit them through "
            "a pull request like any change; the run takes their repository paths.",
            command=Shell("git ls-files '*.sql'"),
            expected=Outcome("the two scripts are on `main`."),
            rollback="nothing ran yet.",
        ),
        Step(
            title=f"Approve the copy of {env}'s data",
            who="customer",
            where="in writing, filed with the change",
            why=f"The customer's data protection officer confirms that the scripts pseudonymise all personal data; "
            f"only then may a copy leave {env} ({code('caas:dataProtection')}).",
            command=Ui("the change request: attach both scripts and the written approval."),
            expected=Outcome("a written approval naming both scripts."),
            rollback=f"without approval nothing leaves {env}.",
        ),
        Step(
            title=f"Run the {cfg.environment} refresh",
            who="platform engineer",
            where=ctx.on_agents(pipeline) + f", as {code(d.data_identity)} through {code(d.data_service_connection)}",
            why=f"Stages: Approve (on {code(d.environment(env).name)}, a customer approver), CopyInsidePrd, "
            f"Pseudonymise, CopyToUat (replaces {cfg.environment}'s databases: {cfg.environment} is down for ICM "
            "meanwhile), DropCopy, Iom (pg_dump of the pseudonymised copy, pg_restore into "
            f"{cfg.environment}), AfterRestore (relinks ICM's users, restarts the applications).",
            command=Ui(
                f"Pipelines → {pipeline.name} → Run pipeline → icmScript and iomScript: the scripts' repository "
                "paths → Run; then the approver approves the Approve stage."
            ),
            expected=Outcome(
                f"every stage green; {', '.join(code(db) for db in dst.sql_mi.databases.values())} on "
                f"{code(dst.sql_mi.name)} hold the pseudonymised data; the copies are gone from {env}."
            ),
            rollback=f"restore {cfg.environment}'s previous databases to a point before the run with the restore "
            f"pipeline (next step), within {dst.sql_mi.retention_days} days.",
        ),
    ]


def _restore(ctx: Context) -> list[Step]:
    """A store to a point in time through the restore pipeline: never overwrites, switching over is a decision."""
    cfg = ctx.cfg
    data = derive(cfg).data_model
    pipeline = ctx.pipeline("restore")
    if data is None or pipeline is None or ctx.delivery is None:
        return []
    d = ctx.delivery
    mi = data.sql_mi
    gated = d.environment(cfg.environment)
    stores = ["icmDatabase"] + (["iomDatabase"] if data.postgres is not None else [])
    stores += ["vm"] if data.vault is not None and derive(cfg).icm710_hosts else []
    database = mi.databases.get("live") or next(iter(mi.databases.values()))
    rg = derive(cfg).names.resource("resource_group")
    return [
        Step(
            title="Restore a store to a point in time",
            who="platform engineer",
            where=ctx.on_agents(pipeline) + f", as {code(d.data_identity)} through {code(d.data_service_connection)}",
            why="A restore never overwrites: it creates the restored store next to the damaged one (an ICM database "
            f"named {code(database + '-restored-')} plus the run id on {code(mi.name)}, a PostgreSQL server or a "
            "VM's disks in "
            f"{code(datajobs.restore_group(cfg))}). Stores here: "
            + ", ".join(code(s) for s in stores)
            + ". NFS shares have no backup and are not offered."
            + (f" {code(gated.name)} asks a customer approver first." if gated.gated else ""),
            command=Ui(
                f"Pipelines → {pipeline.name} → Run pipeline → store: icmDatabase, environment: "
                f"{cfg.environment.capitalize()}, pointInTime: the UTC time before the damage (e.g. "
                "2026-03-01T10:15:00Z), system: live → Run."
            ),
            expected=Outcome(f"stage Verify green: {code(database + '-restored-')} plus the run id is Online."),
            rollback="delete the restored store once it is no longer needed (for ICM "
            f"{code(f'az sql midb delete --resource-group {rg} --mi {mi.name} --name')} with its name, from the "
            "platform engineer's machine).",
        ),
        Step(
            title="Switch ICM to the restored database",
            who="platform engineer",
            where=f"{MACHINE}",
            why="The decision to switch is taken with the customer after Verify. For ICM: stop ICM, delete the damaged "
            "database, restore the restored one under the original name (a second restore), start ICM; the restore "
            "pipeline does the restores, this step lists what exists:",
            command=Shell(f'az sql midb list --resource-group {rg} --mi {mi.name} --query "[].name" -o tsv'),
            expected=Outcome(f"{code(database)} and the restored copy are listed."),
            rollback="nothing to undo, this only reads.",
        ),
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
            who="platform engineer",
            where=MACHINE,
            why=f"Azure fails over by itself after {failover.grace_minutes} minutes of outage; run this for a drill "
            "or to fail over sooner. ICM keeps its connection string: the listener follows the primary.",
            command=Shell(
                f"az sql instance-failover-group set-primary --resource-group {dr_rg} "
                f"--location {failover.region} {group}\n{check} --query replicationRole -o tsv"
            ),
            expected=Output("Primary"),
            rollback=f"fail back from the primary region: {code(f'{back} {group}')}.",
        )
    ]


def _region_loss(ctx: Context) -> list[Step]:
    """The application tier's activation in the DR region (docs/recovery.md, "Region loss"), where the stack has
    the DR network and failover group it builds on and the shared stack runs agents in the DR hub."""
    cfg, d = ctx.cfg, ctx.delivery
    data = derive(cfg).data_model
    if data is None or data.sql_mi.failover is None or d is None or d.dr_agent_pool is None:
        return []
    failover, dr = data.sql_mi.failover, cfg.location.dr
    dr_rg = derive(cfg).dr_names.resource("resource_group")
    state = d.state
    show = f"az sql instance-failover-group show --resource-group {dr_rg} --location {dr} --name {failover.group_name}"
    return [
        Step(
            title=f"Region loss: force the ICM databases over to {dr}",
            who="platform engineer",
            where=MACHINE,
            why=f"After the incident manager declares the loss of {cfg.location.primary} (docs/recovery.md, "
            f'"Region loss"): the failover group would fail over by itself after {failover.grace_minutes} minutes; '
            "forcing it now accepts the loss of the last seconds of transactions in exchange for the time.",
            command=Shell(
                f"az sql instance-failover-group set-primary --allow-data-loss --resource-group {dr_rg} "
                f"--location {dr} --name {failover.group_name}\n{show} --query replicationRole -o tsv"
            ),
            expected=Output("Primary"),
            rollback="none while the primary region is lost; fail-back is its own procedure (docs/recovery.md).",
        ),
        Step(
            title="Region loss: make the state account writable",
            who="platform engineer",
            where=MACHINE,
            why=f"The state account {code(state.storage_account)} is geo-redundant; until Microsoft fails it over, "
            "its copy in the paired region is read-only. A customer-managed failover makes it writable (it is "
            "locally redundant afterwards). The stacks' secrets key stays readable: Key Vault fails over read-only.",
            command=Shell(
                f"az storage account failover --name {state.storage_account} --resource-group {state.resource_group} "
                f"--yes\naz storage account show --name {state.storage_account} --query statusOfPrimary -o tsv"
            ),
            expected=Output("available"),
            rollback="once the region is back: "
            + code(f"az storage account update --name {state.storage_account} --sku {state.sku}")
            + " restores geo-redundancy.",
        ),
        Step(
            title=f"Region loss: activate the application tier in {dr}",
            who="platform engineer",
            where=f"a pull request, then pipeline {code(f'caas-{d.customer}-deploy-dr')} on {code(d.dr_agent_pool)}",
            why="Set `caas:disasterRecovery.activate: true` in Pulumi.prd.yaml through a pull request; cancel the "
            "deploy it triggers on the lost region's pool, and run the DR deploy instead: it renders the cluster, "
            "gateway, vault, ICM 7.10 hosts and NFS share in the DR region; apps read the failover group's "
            "listener.",
            command=Ui(
                f"Pipelines > caas-{d.customer}-deploy-dr > Run pipeline (branch main); approve on "
                f"{code(d.environment('prd').name)}"
            ),
            expected=Outcome(
                "the run succeeds; `pulumi stack output activeSite` prints dr and `publicIpAddress` the DR gateway's "
                "address, which the customer's DNS records then point to"
            ),
            rollback="fail-back (docs/recovery.md): data back to the primary region first, then activate: false.",
        ),
    ]


def _who_is_alerted(cfg: EstateConfig) -> Step:
    data = derive(cfg).data_model
    assert data is not None
    assert cfg.monitoring is not None
    rg = derive(cfg).names.resource("resource_group")
    return Step(
        title="Check who is alerted",
        who="platform engineer",
        where=MACHINE,
        why="The action group sends every alert and budget warning of this environment; the list comes from "
        f"{code('caas:monitoring.emails')} in the stack file (changed like any stack setting).",
        command=Shell(
            f"az monitor action-group show --resource-group {rg} --name {data.action_group_name} "
            '--query "emailReceivers[].emailAddress" -o tsv'
        ),
        expected=Output("\n".join(cfg.monitoring.emails)),
        rollback="nothing to undo, this only reads.",
    )
