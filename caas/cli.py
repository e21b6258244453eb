"""``python -m caas``: the offline plan, the benchmark, runbooks, the stack diff, releases and images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from caas.config import ConfigError


def _plan(args: argparse.Namespace) -> int:
    from caas.plan import FORMATS, Project, render

    project = Project.at(args.dir)
    plan = render(project, args.stack)
    sys.stdout.write(FORMATS[args.format](plan))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from caas.bench import run

    return run(fleet=args.fleet, stacks=args.stacks)


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


def _diff(args: argparse.Namespace) -> int:
    from caas.diff import FORMATS, diff
    from caas.plan import Project

    report = diff(Project.at(args.dir), args.stack_a, args.stack_b, separate=not args.quick, explain=args.explain)
    sys.stdout.write(FORMATS[args.format](report))
    return report.exit_code


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="render a stack offline: what `pulumi up` would create")
    plan.add_argument("--stack", required=True, help="shared, int, uat or prd")
    plan.add_argument("--format", choices=("table", "json", "mermaid"), default="table")
    plan.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    plan.set_defaults(func=_plan)

    bench = commands.add_parser("bench", help="plan time and memory per stack against the SDK floor")
    bench.add_argument("--fleet", type=int, nargs="*", default=[1, 2, 4], help="customer counts for the fleet run")
    bench.add_argument("--stacks", nargs="*", default=["shared", "int", "uat", "prd"])
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
    compare.add_argument("--quick", action="store_true", help="only declared vs undeclared (one render less)")
    compare.add_argument("--explain", action="store_true", help="name the declaration behind each difference")
    compare.add_argument("--dir", type=Path, default=Path("."), help="folder with Pulumi.yaml and the stack files")
    compare.set_defaults(func=_diff)

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

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"caas: {error.strerror}: {error.filename}", file=sys.stderr)
        return 2
