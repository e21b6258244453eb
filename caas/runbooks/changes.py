"""A change of a stack file, the only way anything reaches a stack after the shared stack's first `up`: a pull
request, the estate deploy pipeline on merge, and the approvals of the gated environments it passes through."""

from __future__ import annotations

from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Shell, Step, Ui, code


def through_deploy(
    ctx: Context,
    stack: str,
    *,
    title: str,
    why: str,
    branch: str,
    effect: str,
    edit: str = "",
    who: str = "platform engineer",
) -> list[Step]:
    """Propose the edited stack file, merge it, approve the gated stages up to ``stack``.

    ``edit``: shell lines that make the change (a `caas release` command); empty when ``why`` shows the YAML to
    write by hand. ``effect``: what `pulumi up` of ``stack`` changes.
    """
    d = ctx.delivery
    assert d is not None  # runbooks of a folder with a shared stack and caas:devops
    validate, deploy = ctx.pipeline("validate"), ctx.pipeline("deploy")
    assert deploy is not None  # every customer folder has its deploy pipeline
    path = ctx.stack_path(stack)
    script = "\n".join(
        [
            *([edit] if edit else []),
            f"python -m caas preflight{ctx.dir_flag} --stack {stack}",
            f"git switch --create {branch}",
            f'git commit --message "{title}" -- {path}',
            f"git push --set-upstream origin {branch}",
            f"az repos pr create --organization {d.organization_url} --project {d.devops_project} \\",
            f'  --source-branch {branch} --target-branch main --title "{title}"',
        ]
    )
    checked = (
        f"the pull request starts {code(validate.name)}, whose run summary shows the `pulumi preview` of "
        f"{code(stack)}: {effect}"
        if validate is not None
        else f"the pull request shows the one changed file {code(path)}"
    )
    order = [e for e in d.environments]
    upto = order[: [e.stack for e in order].index(stack) + 1]
    gated = [e for e in upto if e.gated]
    steps = [
        Step(
            title=title,
            who=who,  # type: ignore[arg-type]
            where=f"{MACHINE}, in a clone of the repository on `main`",
            why=why,
            command=Shell(script),
            expected=Outcome(f"preflight prints no `FAIL` line; {checked}."),
            rollback="abandon the pull request; nothing was deployed.",
        ),
        Step(
            title=f"Merge the pull request for {stack}",
            who="platform engineer",
            where=ctx.devops_ui(),
            why=f"Only {code(deploy.name)} runs `pulumi up`; merging starts it. Its stages run "
            + " → ".join(code(e.stack) for e in order)
            + (
                "; the stages of " + " and ".join(code(e.name) for e in gated) + " wait for an approval (next step)."
                if gated
                else "."
            ),
            command=Ui(f"Repos → Pull requests → “{title}” → Approve → Complete (merge)."),
            expected=Outcome(
                f"{code(deploy.name)} starts on `main`; stage {code(stack)} ends green with `pulumi up`'s summary: "
                f"{effect}."
            ),
            rollback="Repos → the merged pull request → Revert, and merge the revert: the deploy pipeline applies "
            "the previous state.",
        ),
    ]
    if gated:
        steps.append(
            Step(
                title=f"Approve the gated stages up to {stack}",
                who="customer approver",
                where=ctx.devops_ui(),
                why=f"The approval check `caas init` created on {' and '.join(code(e.name) for e in gated)}: "
                "the person who started the run cannot approve it, and an approval not given within three days "
                "fails the stage (re-run it).",
                command=Ui(
                    f"Pipelines → {deploy.name} → the run of the merge → Review → Approve, once per stage of "
                    + ", ".join(code(e.stack) for e in gated)
                    + "."
                ),
                expected=Outcome(f"the approved stages run; stage {code(stack)} ends green."),
                rollback="Reject instead: that stage and every later one are not deployed.",
            )
        )
    return steps
