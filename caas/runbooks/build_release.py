"""Build and release: the shared registry, the Azure DevOps service connection, images and releases."""

from __future__ import annotations

from caas import icm710
from caas.pipeline_vars import PipelineDefinition
from caas.runbooks.changes import through_deploy
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Output, Section, Shell, Step, Ui, code, table
from caas.sections import kubernetes as layer
from caas.specs import derive
from caas.specs import kubernetes as kspec
from components.registry import FEDERATION_AUDIENCE


def build_and_release(ctx: Context) -> Section | None:
    shared = ctx.registry_model
    if shared is None or shared.registry is None or shared.devops is None:
        return None
    registry = derive(shared).names.compact("registry")
    login_server = f"{registry}.azurecr.io"
    devops = shared.devops
    *_, project, connection = devops.service_connection_subject.split("/")
    identity = derive(shared).names.resource("identity", "pipelines")
    rows = [
        ("Registry", f"{code(registry)} (Premium, public network access disabled)"),
        ("Login server", f"{code(login_server)}; {code(ctx.output('registryLoginServer', shared=True))}"),
        ("Untagged manifests kept", f"{shared.registry.retention_days} days"),
        (
            "Replica",
            code(shared.location.dr) if shared.registry.geo_replication else "none (geo-replication off)",
        ),
        ("Azure DevOps organisation", devops.organization_url),
        ("Azure DevOps projects", ", ".join(code(p) for p in devops.projects)),
        ("Service connection", f"{code(connection)} in project {code(project)}, workload identity federation"),
        ("Issuer", code(devops.service_connection_issuer)),
        ("Subject identifier", code(devops.service_connection_subject)),
        ("Audience", code(FEDERATION_AUDIENCE)),
        ("Identity", f"{code(identity)}, role AcrPush on the registry only"),
        ("Client id", code(ctx.output("pipelineIdentityClientId", shared=True))),
    ]
    if shared.build_agents is not None:
        agents = shared.build_agents
        pool = derive(shared).names.resource("devops_pool")
        rows.append(
            (
                "Build agents",
                f"Managed DevOps Pool {code(pool)}: {code(agents.vm_size)}, {code(agents.image)}, "
                f"up to {agents.max_concurrency} at a time, inside the shared hub",
            )
        )
    facts = (
        "Images are built by Azure Pipelines on the build agents in the shared hub and pushed to the shared "
        "registry; every environment pulls from it through the registry's one private endpoint, in the hub, over its "
        "peering (the spoke is linked to the shared privatelink.azurecr.io zone). No password or client "
        "secret exists: the service connection authenticates by workload identity federation.\n\n"
        + table(("Fact", "Value"), rows)
    )
    steps: list[Step] = []
    if ctx.cfg.is_shared and ctx.delivery is not None:
        steps += _registry_connection(ctx, connection, project)
    if derive(ctx.cfg).aks_pools:
        facts += (
            f"\nThe cluster {code(derive(ctx.cfg).names.resource('aks'))} pulls from {code(login_server)} with its "
            "kubelet "
            "identity, which holds AcrPull on the registry and nothing else; image pull secrets are not needed.\n"
        )
    if derive(ctx.cfg).workloads:
        more_facts, more_steps = _releases(ctx, login_server)
        facts += more_facts
        steps += more_steps
    if derive(ctx.cfg).icm710_hosts:
        more_facts, more_steps = _icm710(ctx)
        facts += more_facts
        steps += more_steps
    if ctx.delivery is not None:
        facts += _release_pipelines(ctx)
    return Section("build-and-release", "Build and release", facts, tuple(steps))


def _release_pipelines(ctx: Context) -> str:
    """The release pipelines of this folder, by file (the shared runbook lists every pipeline)."""
    rows = [(code(p.name), code(p.path)) for p in ctx.pipelines if p.path.startswith("pipelines/release/")]
    if not rows:
        return ""
    return (
        "\n## Release pipelines\n\nA release never runs `pulumi up`: it changes the stack file by pull request "
        "and the estate's deploy pipeline applies it (docs/release.md). Triggers, service connections and approvals "
        "of every pipeline are in the shared runbook's [pipelines](../shared/pipelines.md).\n\n"
        + table(("Pipeline", "File"), rows)
    )


def _registry_connection(ctx: Context, connection: str, project: str) -> list[Step]:
    """The registry's service connection, created by `caas init --after-up` once the identity exists."""
    d = ctx.registry_model.devops  # type: ignore[union-attr]
    assert d is not None
    query = (
        f"[?name=='{connection}'].authorization.parameters."
        "{issuer: workloadIdentityFederationIssuer, subject: workloadIdentityFederationSubject}"
    )
    return [
        Step(
            title=f"Create the service connection {connection}",
            who="platform engineer",
            where=f"{MACHINE} (Project Administrator in Azure DevOps), after the shared stack's first `up`",
            why="Release builds push as the shared stack's `pipelines` identity; its client id exists only once the "
            "stack is deployed, so `caas init` creates this connection in a second pass (docs/deploy.md, phase 2). "
            "The first command prints what it will do; the second does it.",
            command=Shell(
                f"python -m caas init{ctx.dir_flag} --stack shared --after-up\n"
                f"python -m caas init{ctx.dir_flag} --stack shared --after-up --apply"
            ),
            expected=Outcome(f"`done 1. service connection {connection}` (or `ok 1. …: exists`), exit code 0."),
            rollback=f"delete {code(connection)} in Project settings → Service connections; the identity and its "
            "federated credential belong to the shared stack and stay.",
        ),
        Step(
            title="Check the connection's issuer and subject",
            who="platform engineer",
            where=MACHINE,
            why="The identity trusts exactly the issuer and subject in the table above:",
            command=Shell(
                f"az devops service-endpoint list --organization {d.organization_url} --project {project} "
                f'\\\n  --query "{query}" -o yaml'
            ),
            expected=Output(f"- issuer: {d.service_connection_issuer}\n  subject: {d.service_connection_subject}"),
            rollback="nothing to undo, this only reads.",
        ),
    ]


# The chart each kind of workload is released with (caas/sections/kubernetes.py CHARTS, ChartVersions).
CHART_OF = {"icm": "icm", "iom": "iom", "pwa": "pwaMain", "search": "solr"}


def _releases(ctx: Context, login_server: str) -> tuple[str, list[Step]]:
    """Images in the shared registry and the Helm releases that run them, per namespace."""
    cfg = ctx.cfg
    k8s = cfg.kubernetes
    versions = k8s.charts.model_dump()
    releases = []
    for w in derive(cfg).workloads:
        if w.release is None:
            continue
        key = CHART_OF[w.app]
        source = layer.CHARTS[key]
        releases.append(
            (code(w.namespace), code(w.release), f"{source.repo} {code(source.chart)}", code(versions[_snake(key)]))
        )
    platform = [(layer.INGRESS_NAMESPACE, layer.INGRESS_RELEASE, "ingress")]
    if cfg.apps is not None and cfg.apps.icm11:
        platform.append((layer.SOLR_OPERATOR_NAMESPACE, layer.SOLR_OPERATOR_RELEASE, "solrOperator"))
    for namespace, release, key in platform:
        source = layer.CHARTS[key]
        releases.append(
            (code(namespace), code(release), f"{source.repo} {code(source.chart)}", code(versions[_snake(key)]))
        )
    project = [role for app, roles in layer.PROJECT_IMAGES.items() if getattr(cfg.apps, app, False) for role in roles]
    layer_spec = derive(cfg).kubernetes
    assert layer_spec is not None  # this section exists only with containerised apps
    images = [
        (
            code(role),
            code(f"{login_server}/{image.repository}:{image.tag}"),
            "project image, pushed by the pipelines" if role in project else "chart default, mirrored",
        )
        for role in sorted({*project, *k8s.images}, key=lambda r: (r not in project, r))
        for image in (kspec.image(layer_spec, role),)
    ]
    facts = (
        "\n## Images and Helm releases\n\n"
        f"Every container runs from {code(login_server)}, named by repository and an immutable tag ({code('latest')} "
        f"is refused). The project images come from {code('caas:kubernetes.images')}; the images the charts bring "
        "(web adapter, operators, kubectl and the like) are mirrored into the registry under the same path.\n\n"
        + table(("Role", "Image", "Built by"), images)
        + "\nHelm releases, deployed by Pulumi with the pinned chart versions of "
        f"{code('caas:kubernetes.charts')}:\n\n" + table(("Namespace", "Release", "Chart", "Version"), releases)
    )
    role = project[0] if project else None
    if role is None or not k8s.enabled or ctx.delivery is None:
        return facts, []
    app = next(a for a, roles in layer.PROJECT_IMAGES.items() if role in roles)
    pipeline = ctx.pipeline(RELEASE_PIPELINE[app])
    if pipeline is None:
        return facts, []
    return facts, _release_steps(ctx, role, app, pipeline, kspec.image(layer_spec, role), login_server)


# The release pipeline file (pipelines/release/<stem>.yml) of each app with project images, and the app name its
# workloads carry (caas.specs.kubernetes).
RELEASE_PIPELINE = {"icm11": "icm", "iom": "iom", "pwa": "pwa"}


def _release_steps(
    ctx: Context, role: str, flag: str, pipeline: PipelineDefinition, current: layer.Image, login_server: str
) -> list[Step]:
    """A release to this environment: int and uat by the release run's pull request, prd by promotion after the
    approval on the gated environment; then the check of the running image and the rollback by previous digest."""
    cfg, env = ctx.cfg, ctx.cfg.environment
    app = RELEASE_PIPELINE[flag]
    d = ctx.delivery
    assert d is not None
    prd = d.environment(env)
    title = f"Release {app} TAG to {env}"
    start = Step(
        title=f"Start the {app} release",
        who="release manager",
        where=ctx.devops_ui(),
        why=f"The run builds the images on the hub agents ({code(d.agent_pool)}), pushes them to {code(login_server)} "
        f"through {code(d.registry_service_connection)}, locks the tag, then opens one pull request per environment "
        f"(int, uat) setting {code(f'caas:kubernetes.images.{role}')} to the tag and digest; prd follows after an "
        f"approval on {code(d.environment('prd').name)} (docs/release.md). Runs {code(pipeline.path)}.",
        command=Ui(f"Pipelines → {pipeline.name} → Run pipeline → tag: the release's image tag → Run."),
        expected=Outcome(
            f"stage Build ends with `{role}: {current.repository}:TAG@sha256:…` in its log; stages int and uat each "
            f"open a pull request “Release {app} TAG to int|uat”."
        ),
        rollback="cancel the run; a pushed tag stays locked and unused until a stack file references it.",
    )
    steps = [start]
    if prd.gated:
        steps.append(
            Step(
                title=f"Approve the promotion to {env}",
                who="customer approver",
                where=ctx.devops_ui(),
                why=f"Approve once uat runs this release and is tested: the stage checks that the locked tag still "
                f"resolves to the digest this run built, then runs, on main's current state, the command below and "
                f"opens the pull request “Release {app} TAG to {env}”.",
                command=Ui(
                    f"Pipelines → Environments → {prd.name} → the waiting run of {pipeline.name} → Approve. "
                    f"The stage runs: `python -m caas release promote{ctx.dir_flag} --from uat --to {env} "
                    f"--role {role} --expect-digest DIGEST`."
                ),
                expected=Outcome(
                    f"a pull request changing only {code(f'caas:kubernetes.images.{role}')} in "
                    f"{code(ctx.stack_path(env))} to uat's repository, tag and digest."
                ),
                rollback="Reject: nothing changes in prd.",
            )
        )
    namespace = next(w.namespace for w in derive(cfg).workloads if w.app == app)
    rg, cluster = derive(cfg).names.resource("resource_group"), derive(cfg).names.resource("aks")
    # The release run opened the pull request: merging and approving are those of any stack change.
    steps += through_deploy(
        ctx,
        env,
        title=title,
        why="-",
        branch="-",
        effect=f"the Helm release in {code(namespace)} is upgraded to the new image",
    )[1:]
    steps.append(
        Step(
            title=f"Check the image running in {env}",
            who="partner engineer",
            where=MACHINE,
            why=f"Once stage {code(env)} of the deploy pipeline is green, the pods in {code(namespace)} run the "
            "released digest:",
            command=Shell(
                f"az aks command invoke --resource-group {rg} --name {cluster} \\\n"
                f"  --command \"kubectl get pods --namespace {namespace} -o jsonpath='{{..image}}'\""
            ),
            expected=Outcome(
                f"after the `exitcode=0` line, images named `{login_server}/{current.repository}:TAG@sha256:…`."
            ),
            rollback="nothing to undo, this only reads.",
        )
    )
    path = ctx.stack_path(env)
    steps += through_deploy(
        ctx,
        env,
        title=f"Roll back {role} in {env} to the previous digest",
        why="Only when a release must be withdrawn: the last change of the role's line in the stack file holds the "
        "previous tag and digest (its `-` line); the commands read them and set them again, and the change is "
        "deployed like a release.",
        branch=f"release/rollback-{role}-{env}",
        edit=f"PREVIOUS=$(git log --patch --max-count 1 -G ' {role}:' -- {path} | grep -m 1 '^-.* {role}:')\n"
        f"PREVIOUS_TAG=$(sed -E 's/.*tag: ([^,}}]+).*/\\1/' <<<\"$PREVIOUS\")\n"
        f"PREVIOUS_DIGEST=$(sed -E 's/.*digest: (sha256:[0-9a-f]+).*/\\1/' <<<\"$PREVIOUS\")\n"
        f"python -m caas release set-image{ctx.dir_flag} --stack {env} --role {role} "
        f'--repository {current.repository} \\\n  --tag "$PREVIOUS_TAG" --digest "$PREVIOUS_DIGEST"',
        effect=f"the Helm release in {code(namespace)} runs the previous image again",
    )
    return steps


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _icm710(ctx: Context) -> tuple[str, list[Step]]:
    """ICM 7.10 runs on VMs: its release pipeline rolls a build out host by host through Run Command."""
    cfg = ctx.cfg
    icm = cfg.icm710
    assert icm is not None  # the model requires it whenever ICM 7.10 hosts exist
    rows = []
    for system, roles in derive(cfg).icm710_hosts.items():
        for role, spec in roles.items():
            hosts = [h.vm for h in icm710.hosts(cfg, system) if h.role == role]
            rows.append((system, role, ", ".join(code(h) for h in hosts), code(spec.vm_size)))
    facts = (
        "\n## ICM 7.10 hosts\n\n"
        "ICM 7.10 runs on virtual machines, not from images. Its release pipeline pushes the build to the registry "
        "as an OCI artifact and rolls it out host by host through Azure Run Command (docs/icm710-release.md): no "
        f"SSH key and no line of sight needed. The hosts of a system share one NFS share, mounted at "
        f"{code(icm.share_path)} ({code('IS_SHARE')}); the exports are printed by "
        f"{code(ctx.output('nfsMountSources', as_json=True))}. No host has a public address or a password.\n\n"
        + table(("System", "Role", "Hosts", "Size"), rows)
    )
    pipeline = ctx.pipeline("icm710")
    d = ctx.delivery
    if pipeline is None or d is None:
        return facts, []
    env = cfg.environment
    gated = d.environment(env)
    every = icm710.hosts(cfg)
    first = next((h for h in every if h.role == "appServer"), every[0])
    run = (
        f"az vm run-command invoke --resource-group {first.resource_group} --name {first.vm} \\\n"
        "  --command-id RunShellScript --scripts @scripts/icm710/deploy.sh --parameters"
    )
    steps = [
        Step(
            title=f"List the ICM 7.10 hosts of {env}",
            who="partner engineer",
            where=f"{MACHINE}, in a clone of the repository",
            why="The release pipeline walks exactly these hosts, edit before live, web adapters first (drained from "
            "the load balancer while they are deployed):",
            command=Shell(f"python -m caas hosts{ctx.dir_flag} --stack {env}"),
            expected=Output(icm710.as_table(every)),
            rollback="nothing to undo, this only reads.",
        ),
        Step(
            title="Start the ICM 7.10 release",
            who="release manager",
            where=ctx.devops_ui(),
            why=f"The run takes the partner's CI build (pipeline resource `icm710Build`), pushes it to "
            f"{code(d.registry + '.azurecr.io')} through {code(d.registry_service_connection)} (an existing version "
            f"fails: tags are immutable), then rolls it out int → uat → prd through {code(d.service_connection)}. "
            f"Runs {code(pipeline.path)}.",
            command=Ui(
                f"Pipelines → {pipeline.name} → Run pipeline → version: the build's version → Resources: the "
                "icm710Build run to release → Run."
            ),
            expected=Outcome(
                f"stage {code(env)} ends green: per host a health check passed"
                + (f", after an approval on {code(gated.name)} (a customer approver)" if gated.gated else "")
                + "."
            ),
            rollback="a host that fails its health check is rolled back by the pipeline, which then stops; roll back "
            "hosts already done with the last step.",
        ),
        Step(
            title="Check the release on a host",
            who="platform engineer",
            where=f"{MACHINE} (Virtual Machine Contributor on the environment's resource group)",
            why=f"Run Command shows which release {code(first.vm)} runs and which one it would roll back to:",
            command=Shell(f"{run} status"),
            expected=Outcome("the `current` and `previous` release versions in the command's stdout."),
            rollback="nothing to undo, this only reads.",
        ),
        Step(
            title="Roll a host back to the previous release",
            who="platform engineer",
            where=f"{MACHINE} (Virtual Machine Contributor on the environment's resource group)",
            why="Per host, for hosts the pipeline had already finished (repeat with each VM of the host list above); a "
            "second rollback fails because `previous` is consumed:",
            command=Shell(f"{run} rollback"),
            expected=Outcome("`current` points to the former `previous`; the host's health check passes."),
            rollback="run the release pipeline again with the version to restore.",
        ),
    ]
    return facts, steps
