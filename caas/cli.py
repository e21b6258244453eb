"""``python -m caas``: the offline plan, the benchmark, runbooks, the stack diff, delivery (init, preflight,
releases, images, hosts, data jobs), cost."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from caas.config import ConfigError


def _plan(args: argparse.Namespace) -> int:
    from caas.plan import FORMATS, Project, render

    project = Project.at(args.dir)
    plan = render(project, args.stack)
    sys.stdout.write(FORMATS[args.format](plan))
    return 0


def _check(args: argparse.Namespace) -> int:
    import json

    from caas import check
    from caas.plan import Project, render

    if args.rules:
        sys.stdout.write(check.rules_table())
        return 0
    if args.plan is not None:
        document = json.loads(args.plan.read_text(encoding="utf-8"))
    else:
        document = json.loads(render(Project.at(args.dir), args.stack).to_json())
    violations = check.check(document)
    text = (
        check.as_json(violations) if args.format == "json" else check.as_table(violations, len(document["resources"]))
    )
    sys.stdout.write(text)
    return check.exit_code(violations)


def _bench(args: argparse.Namespace) -> int:
    from caas.bench import run

    return run(fleet=args.fleet, stacks=args.stacks, with_suite=not args.no_suite)


def _reference(args: argparse.Namespace) -> int:
    from caas import reference

    if not args.update:
        sys.stdout.write(reference.markdown())
        return 0
    text = args.update.read_text(encoding="utf-8")
    start, end = text.index(reference.BEGIN), text.index(reference.END) + len(reference.END)
    args.update.write_text(text[:start] + reference.readme_section() + text[end:], encoding="utf-8")
    return 0


def _runbook(args: argparse.Namespace) -> int:
    from caas.plan import Project
    from caas.runbooks import write

    project = Project.at(args.dir)
    for path in write(project, args.stack, args.out or args.dir / "runbooks" / args.stack):
        print(path)
    return 0


def _hosts(args: argparse.Namespace) -> int:
    from caas import icm710
    from caas.plan import Project

    cfg = Project.at(args.dir).load(args.stack)[0]
    found = icm710.hosts(cfg, args.system)
    if not found:
        print(f"caas: stack {args.stack} has no ICM 7.10 hosts (caas:apps.icm710 is off)", file=sys.stderr)
        return 2
    sys.stdout.write(icm710.FORMATS[args.format](found))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from caas.diff import FORMATS, diff
    from caas.plan import Project

    report = diff(Project.at(args.dir), args.stack_a, args.stack_b, explain=args.explain)
    sys.stdout.write(FORMATS[args.format](report))
    return report.exit_code


def _delivery(args: argparse.Namespace) -> int:
    import json

    from caas import pipeline_vars
    from caas.plan import Project

    project = Project.at(args.dir)
    if args.needs_first_phase:
        if not args.stack:
            print("caas: --needs-first-phase needs --stack", file=sys.stderr)
            return 2
        state = json.loads(args.needs_first_phase.read_text(encoding="utf-8"))
        print(str(pipeline_vars.needs_phase_without_cluster(project.load(args.stack)[0], state)).lower())
    elif args.update:
        print(pipeline_vars.update(project))
    else:
        sys.stdout.write(pipeline_vars.render(project))
    return 0


def _datajobs(args: argparse.Namespace) -> int:
    from caas import datajobs
    from caas.delivery import for_project
    from caas.plan import Project

    project = Project.at(args.dir)
    delivery = for_project(project)
    if args.roles:
        models = {stack: project.load(stack)[0] for stack in project.stacks()}
        sys.stdout.write(datajobs.as_json(datajobs.grants_as_data(datajobs.role_grants(models))))
        return 0
    cfg = project.load(args.stack)[0]
    if args.format == "dr":
        shared = project.load("shared")[0] if "shared" in project.stacks() else None
        sys.stdout.write(datajobs.dr_markdown(cfg, shared))
        return 0
    try:
        facts = datajobs.facts(cfg, delivery)
    except ValueError as error:
        print(f"caas: {error}", file=sys.stderr)
        return 2
    facts["logins"] = {
        "sql": datajobs.sql_logins(cfg, delivery.data_identity),
        "postgres": datajobs.postgres_logins(cfg, delivery.data_identity),
    }
    sys.stdout.write(datajobs.as_json(facts))
    return 0


def _certificates(args: argparse.Namespace) -> int:
    from caas import certificates
    from caas.plan import Project
    from caas.specs import derive

    cfg = Project.at(args.dir).load(args.stack)[0]
    if cfg.is_shared:
        print("caas: the shared stack has no public entry and no certificates", file=sys.stderr)
        return 2
    sys.stdout.write(certificates.as_json(certificates.manifest(derive(cfg))))
    return 0


def _init(args: argparse.Namespace) -> int:
    from caas import init, pipeline_vars
    from caas.delivery import for_project
    from caas.plan import Project

    project = Project.at(args.dir)
    if args.stack != "shared" and not args.after_up:
        print(
            f"{project.label(args.stack)}: init bootstraps the customer from the shared stack; an environment stack "
            "takes --after-up (after its first deploy)"
        )
        return 2
    d = for_project(project)
    environments = [e.stack for e in d.environments if e.stack != "shared"]
    folder = pipeline_vars.folder_of(project)
    if args.stack == "shared" and not args.after_up:
        shared = project.load("shared")[0]
        assert shared.devops is not None  # delivery() has refused a shared stack without caas:devops
        pipelines = pipeline_vars.pipeline_definitions(project, d.customer)
        steps, lookups = init.plan(d, shared.devops.approvers, pipelines, args.repository)
        title, after = "", init.next_steps(d, environments, folder)
    elif args.stack == "shared":
        steps, lookups = init.registry_plan(d)
        title, after = " (after the shared stack's first `up`)", ""
    else:
        models = {stack: project.load(stack)[0] for stack in project.stacks()}
        steps, lookups = init.environment_plan(d, models, args.stack)
        title, after = f" (after the first deploy of {args.stack})", ""
    if not args.apply:
        sys.stdout.write(init.script(d, steps, lookups, title) + after)
        return 0
    for line in init.missing_prerequisites():
        print(line, file=sys.stderr)
        return 2
    code = init.apply(steps, lookups)
    if code == 0:
        sys.stdout.write(after)
    return code


def _preflight(args: argparse.Namespace) -> int:
    from caas import preflight
    from caas.plan import Project, render

    project = Project.at(args.dir)
    cfg = project.load(args.stack)[0]
    plan = render(project, args.stack)
    today = args.today or date.today()
    checks = preflight.offline(cfg, plan, today, project.label(args.stack), first_run=args.first_run)
    if args.online:
        extra = []
        if cfg.is_shared:
            from caas.delivery import for_project

            state = for_project(project).state
            extra = [("storage", state.storage_account), ("key vault", state.key_vault)]
        checks += preflight.online(preflight.az, cfg, plan, today, extra)
    text, code = preflight.report(checks)
    sys.stdout.write(text)
    return code


def _release(args: argparse.Namespace) -> int:
    from caas import release
    from caas.plan import Project

    project = Project.at(args.dir)
    if args.action == "set-image":
        change = release.set_image(project, args.stack, args.role, args.repository, args.tag, args.digest)
    else:
        change = release.promote(project, args.source, args.target, args.role, args.expect_digest)
    print(change)
    return 0


def _images(args: argparse.Namespace) -> int:
    from caas import release
    from caas.plan import Project

    cfg = Project.at(args.dir).load(args.stack)[0]
    sys.stdout.write(release.images_text(release.needed_images(cfg)))
    return 0


def _cost(args: argparse.Namespace) -> int:
    import json

    from caas import cost, prices
    from caas.plan import Project, render

    saved = [json.loads(path.read_text(encoding="utf-8")) for path in args.plan or []]
    price_file = args.prices or args.dir / cost.PRICE_FILE
    if args.refresh:
        if not saved:
            project = Project.at(args.dir)
            saved = [render(project, stack) for stack in project.stacks()]
        plans = saved
        document = prices.refresh(plans, prices.urlopen_json, args.currency)
        price_file.parent.mkdir(parents=True, exist_ok=True)
        price_file.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"{price_file}: {len(document['Items'])} prices from {len(document['caas']['filters'])} queries")
        return 0
    if not args.stack and not saved:
        print("caas: cost needs --stack (or --plan, or --refresh)", file=sys.stderr)
        return 2
    if saved:
        plan, project_name, stack = saved[0], saved[0]["project"], saved[0]["stack"]
    else:
        rendered = render(Project.at(args.dir), args.stack)
        plan, project_name, stack = rendered, rendered.project, rendered.stack
    book = cost.PriceBook.load(price_file) if price_file.exists() else None
    if book is None:
        print(f"caas: no price file at {price_file}: quantities only (`python -m caas cost --refresh` writes it, "
              "online)", file=sys.stderr)  # fmt: skip
    sys.stdout.write(cost.FORMATS[args.format](cost.report(project_name, stack, plan, book)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="render a stack offline: what `pulumi up` would create")
    plan.add_argument("--stack", required=True, help="shared, int, uat or prd")
    plan.add_argument("--format", choices=("table", "json", "mermaid", "timeline"), default="table")
    plan.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    plan.set_defaults(func=_plan)

    chk = commands.add_parser(
        "check", help="the policy pack's rules on a stack's plan; exit 1 on a mandatory violation"
    )
    target = chk.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="render this stack offline and check it")
    target.add_argument("--plan", type=Path, help="check a saved plan JSON (`plan --format json`)")
    target.add_argument("--rules", action="store_true", help="list the rules and the controls they implement")
    chk.add_argument("--format", choices=("table", "json"), default="table")
    chk.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    chk.set_defaults(func=_check)

    bench = commands.add_parser("bench", help="plan time and memory per stack against the SDK floor")
    bench.add_argument("--fleet", type=int, nargs="*", default=[1, 2, 4], help="customer counts for the fleet run")
    bench.add_argument("--stacks", nargs="*", default=["shared", "int", "uat", "prd"])
    bench.add_argument("--no-suite", action="store_true", help="skip timing the test suite")
    bench.set_defaults(func=_bench)

    ref = commands.add_parser("reference", help="the config reference (Markdown), generated from the model")
    ref.add_argument("--update", type=Path, metavar="README", help="rewrite the reference section of this file")
    ref.set_defaults(func=_reference)

    runbook = commands.add_parser("runbook", help="write the partner onboarding runbooks of a stack (Markdown)")
    runbook.add_argument("--stack", required=True, help="shared, int, uat or prd")
    runbook.add_argument("--out", type=Path, help="folder to write to (default: runbooks/<stack>/)")
    runbook.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    runbook.set_defaults(func=_runbook)

    compare = commands.add_parser("diff", help="where two environments differ; exit 1 on an undeclared difference")
    compare.add_argument("stack_a", help="e.g. uat")
    compare.add_argument("stack_b", help="e.g. prd")
    compare.add_argument("--format", choices=("table", "json"), default="table")
    compare.add_argument("--quick", action="store_true", help="accepted for old scripts; every diff renders once")
    compare.add_argument("--explain", action="store_true", help="name the declaration behind each difference")
    compare.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    compare.set_defaults(func=_diff)

    deliver = commands.add_parser("delivery", help="the pipelines' variables template (delivery.yml) of a folder")
    deliver.add_argument("--update", action="store_true", help="rewrite <dir>/delivery.yml instead of printing it")
    deliver.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    deliver.add_argument("--stack", help="with --needs-first-phase: the stack being deployed")
    deliver.add_argument(
        "--needs-first-phase",
        type=Path,
        metavar="STATE_JSON",
        help="print true when a deploy must first run without the in-cluster layer (`pulumi stack export` file)",
    )
    deliver.set_defaults(func=_delivery)

    jobs = commands.add_parser("datajobs", help="facts the data pipelines act on (names, logins, DR statement)")
    jobs.add_argument("--stack", help="int, uat or prd")
    jobs.add_argument("--format", choices=("json", "dr"), default="json", help="dr: the DR statement (Markdown)")
    jobs.add_argument("--roles", action="store_true", help="the data identity's Azure roles over all stacks (JSON)")
    jobs.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    jobs.set_defaults(func=_datajobs)

    certs = commands.add_parser(
        "certificates", help="the gateway's certificates: vault, issuer, hostnames and Key Vault policies (JSON)"
    )
    certs.add_argument("--stack", required=True, help="int, uat or prd")
    certs.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    certs.set_defaults(func=_certificates)

    hosts = commands.add_parser("hosts", help="the ICM 7.10 hosts of a stack, for the 7.10 release pipeline")
    hosts.add_argument("--stack", required=True, help="int, uat or prd")
    hosts.add_argument("--system", choices=("live", "edit"), help="one system only (default: both)")
    hosts.add_argument("--format", choices=("table", "json", "tsv"), default="table")
    hosts.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    hosts.set_defaults(func=_hosts)

    boot = commands.add_parser("init", help="bootstrap a customer: state backend, identities, Azure DevOps (dry run)")
    boot.add_argument("--stack", required=True, help="shared")
    boot.add_argument("--apply", action="store_true", help="run the steps (show-or-create); default: print them")
    boot.add_argument(
        "--after-up",
        action="store_true",
        help="the part that needs the stack deployed: shared: the registry service connection; int/uat/prd: the "
        "data jobs' restore group and roles",
    )
    boot.add_argument("--repository", help="Azure Repos repository of the pipelines (default: the project's name)")
    boot.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    boot.set_defaults(func=_init)

    pre = commands.add_parser("preflight", help="what would make the next `pulumi up` fail; exit 1 on a FAIL")
    pre.add_argument("--stack", required=True, help="shared, int, uat or prd")
    pre.add_argument("--online", action="store_true", help="also ask Azure (az signed in; never in CI)")
    pre.add_argument("--first-run", action="store_true", help="the stack has never been deployed")
    pre.add_argument("--today", type=date.fromisoformat, help="the date to check against (default: today)")
    pre.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    pre.set_defaults(func=_preflight)

    rel = commands.add_parser("release", help="an application release: one image key of a stack file (docs/release.md)")
    actions = rel.add_subparsers(dest="action", required=True)
    set_image = actions.add_parser("set-image", help="set caas:kubernetes.images.<role> (tag and digest)")
    set_image.add_argument("--stack", required=True, help="int or uat (prd: promote)")
    set_image.add_argument("--role", required=True, help="e.g. icmAs, iom, pwaSsr, pwaNginx")
    set_image.add_argument("--repository", required=True, help="path in the shared registry, e.g. acme/iom")
    set_image.add_argument("--tag", required=True)
    set_image.add_argument("--digest", help="sha256:<64 hex> the build pushed (required in prd)")
    set_image.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    set_image.set_defaults(func=_release)
    prom = actions.add_parser("promote", help="copy a role's exact image (tag and digest) from one stack to another")
    prom.add_argument("--from", dest="source", default="uat", help="the stack that tested it (default: uat)")
    prom.add_argument("--to", dest="target", default="prd", help="the stack to release to (default: prd)")
    prom.add_argument("--role", required=True)
    prom.add_argument("--expect-digest", help="refuse unless the source stack runs this digest (the pipeline's build)")
    prom.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    prom.set_defaults(func=_release)

    imgs = commands.add_parser("images", help="every image a stack runs: role, target, upstream source (- when built)")
    imgs.add_argument("--stack", required=True, help="int, uat or prd")
    imgs.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    imgs.set_defaults(func=_images)

    price = commands.add_parser("cost", help="billable quantities of a stack and, with a price file, monthly cost")
    price.add_argument("--stack", help="shared, int, uat or prd")
    price.add_argument("--format", choices=("table", "json"), default="table")
    price.add_argument("--prices", type=Path, help="price file (default: <dir>/prices/retail-prices.json)")
    price.add_argument("--plan", type=Path, action="append", help="a saved `plan --format json` instead of rendering")
    price.add_argument("--refresh", action="store_true", help="online: write the price file for the folder's stacks")
    price.add_argument("--currency", default="USD", help="with --refresh: the API's currencyCode (default USD)")
    price.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    price.set_defaults(func=_cost)

    args = parser.parse_args(argv)
    if args.command == "datajobs" and not args.roles and not args.stack:
        parser.error("datajobs needs --stack (or --roles)")
    try:
        return args.func(args)
    except ConfigError as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"caas: {error.strerror}: {error.filename}", file=sys.stderr)
        return 2
