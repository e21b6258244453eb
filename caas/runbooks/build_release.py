"""Build and release: the shared registry, the Azure DevOps service connection, images and releases."""

from __future__ import annotations

from caas.cloud_init import ENVIRONMENT_FILE
from caas.runbooks.context import Context
from caas.runbooks.markdown import Section, Step, code, fence, table
from caas.sections import kubernetes as layer
from caas.sections.compute import HOST_ROLES
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
    pool = None
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
    query = (
        f"[?name=='{connection}'].authorization.parameters."
        "{issuer: workloadIdentityFederationIssuer, subject: workloadIdentityFederationSubject}"
    )
    steps = [
        Step(
            title="Read the values the service connection needs",
            owner="platform team",
            why="The subscription and tenant of the shared stack, and the client id of the pipeline identity.",
            command="\n".join(
                [
                    f"pulumi stack output pipelineIdentityClientId --stack {ctx.shared_qualified}",
                    "az account show -o yaml \\\n"
                    '  --query "{subscriptionId: id, subscriptionName: name, tenantId: tenantId}"',
                ]
            ),
            result="a GUID (the client id), then the subscription id, its name and the tenant id.",
            rollback="nothing to undo, this only reads.",
        ),
        Step(
            title=f"Create the service connection {connection}",
            owner="platform team",
            why=f"In {devops.organization_url}/{project}: Project settings → Service connections → New service "
            "connection → Azure Resource Manager → App registration or managed identity (manual) → Workload "
            f"identity federation. Name it {code(connection)}, scope it to the subscription, enter the values of "
            "step 1, and check that the issuer and subject identifier Azure DevOps shows equal the table above "
            "(the identity trusts exactly those). Then list what was saved:",
            command=f"az devops service-endpoint list --organization {devops.organization_url} --project {project} "
            f'\\\n  --query "{query}" -o yaml',
            expected=f"- issuer: {devops.service_connection_issuer}\n  subject: {devops.service_connection_subject}",
            rollback=f"delete the service connection {code(connection)} in Project settings → Service connections; "
            "the identity and its federated credential belong to the shared stack and stay.",
        ),
    ]
    if pool is not None:
        image = f"{login_server}/{_project_repository(ctx)}:$(Build.BuildNumber)"
        pipeline = "\n".join(
            [
                f"pool: {pool}",
                "steps:",
                "  - task: AzureCLI@2",
                "    inputs:",
                f"      azureSubscription: {connection}",
                "      scriptType: bash",
                "      scriptLocation: inlineScript",
                "      inlineScript: |",
                f"        az acr login --name {registry}",
                f"        docker build -t {image} .",
                f"        docker push {image}",
            ]
        )
        steps.append(
            Step(
                title="Push an image from a pipeline",
                owner="partner",
                why=f"Run the pipeline on the pool {code(pool)}: the registry accepts traffic only from the private "
                "network, so hosted agents cannot push. Tag every image immutably (the build number); manifests "
                f"left untagged are deleted after {shared.registry.retention_days} days. In the pipeline YAML:\n\n"
                + fence(pipeline, "yaml"),
                result="`Login Succeeded` from the login; the push ends with the image's tag, its digest "
                "(`sha256:…`) and its size.",
                rollback="nothing runs until a release references the new tag. To withdraw a tag, run "
                f"{code(f'az acr repository untag --name {registry} --image')} with the repository and tag, "
                "in a pipeline on the same pool.",
            )
        )
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
    return Section("build-and-release", "Build and release", facts, tuple(steps))


def _project_repository(ctx: Context) -> str:
    """The repository the example pipeline pushes to: the environment's first project image, else the
    Azure DevOps repository's name."""
    cfg, layer_spec = ctx.cfg, derive(ctx.cfg).kubernetes
    for app, roles in layer.PROJECT_IMAGES.items():
        if layer_spec is not None and layer_spec.workloads and getattr(cfg.apps, app, False):
            return kspec.image(layer_spec, roles[0]).repository
    return "$(Build.Repository.Name)"


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
    if role is None or not k8s.enabled or ctx.registry_model is None:
        return facts, []
    pool = derive(ctx.registry_model).names.resource("devops_pool")
    current = kspec.image(layer_spec, role)
    return facts, [
        Step(
            title="Release a new image",
            owner="partner",
            why=f"A release is a change of the image (tag and digest) in {ctx.source}, e.g. for {code(role)} "
            f"(currently {code(current.tag)}), proposed as a pull request by the release pipeline "
            f"(pipelines/release/, docs/release.md) or by hand. Once merged, the estate deploy pipeline runs "
            f"{code('pulumi up')} from the pool {code(pool)}, the only place that reaches the private API server:",
            command=(
                f"python -m caas release promote --from uat --to {cfg.environment} --role {role}"
                if cfg.profile.require_image_digests  # what uat tested, digest and all
                else f"python -m caas release set-image --stack {cfg.environment} --role {role} "
                f'--repository {current.repository} --tag "$TAG" --digest "$DIGEST"  # as the build printed them'
            ),
            result="one changed line in the stack file; after the merge and the deploy, that namespace's pods roll "
            "over one by one.",
            rollback="set the previous tag and digest again (git history of the stack file) and merge.",
        )
    ]


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _icm710(ctx: Context) -> tuple[str, list[Step]]:
    """ICM 7.10 runs on VMs: a release reaches them over SSH through the shared Bastion and the NFS share."""
    cfg, shared = ctx.cfg, ctx.registry_model
    icm = cfg.icm710
    assert icm is not None  # the model requires it whenever ICM 7.10 hosts exist
    rows = []
    for system, roles in derive(cfg).icm710_hosts.items():
        for role, spec in roles.items():
            hosts = [
                derive(cfg).names.resource("vm", f"icm710-{system}-{HOST_ROLES[role]}{i}")
                for i in range(1, spec.count + 1)
            ]
            rows.append((system, role, ", ".join(code(h) for h in hosts), code(spec.vm_size)))
    holders = ", ".join(code(key.split(maxsplit=2)[2]) for key in icm.ssh_public_keys if len(key.split()) > 2)
    facts = (
        "\n## ICM 7.10 hosts\n\n"
        f"ICM 7.10 runs on virtual machines, not from images. A release reaches them over SSH through the shared "
        f"Bastion, as {code(icm.admin_username)} with a key listed in {code('caas:icm710.sshPublicKeys')}"
        + (f" (held by {holders})" if holders else "")
        + f". The hosts of a system share one NFS share, mounted at {code(icm.share_path)} ({code('IS_SHARE')}); "
        f"the exports are printed by {code(ctx.output('nfsMountSources', as_json=True))}. No host has a public "
        "address or a password.\n\n" + table(("System", "Role", "Hosts", "Size"), rows)
    )
    if shared is None:
        return facts, []
    system = next(iter(derive(cfg).icm710_hosts))
    role = (
        "appServer" if "appServer" in derive(cfg).icm710_hosts[system] else next(iter(derive(cfg).icm710_hosts[system]))
    )
    host = derive(cfg).names.resource("vm", f"icm710-{system}-{HOST_ROLES[role]}1")
    rg = derive(cfg).names.resource("resource_group")
    environment_file = "\n".join(
        [
            f"ICM_ENVIRONMENT={cfg.environment}",
            f"ICM_SYSTEM={system}",
            f"ICM_ROLE={role}",
            f"IS_SHARE={icm.share_path}",
        ]
    )
    step = Step(
        title="Open a shell on an ICM 7.10 host",
        owner="platform team",
        why="Where a release is copied to and started. Any host works the same way; this is the first "
        f"{role} of the {system} system. In the session, check which host you are on:",
        command=f"az network bastion ssh --name {derive(shared).names.resource('bastion')} "
        f"--resource-group {derive(shared).names.resource('resource_group')} \\\n"
        f'  --target-resource-id "$(az vm show --resource-group {rg} --name {host} --query id -o tsv)" \\\n'
        f"  --auth-type ssh-key --username {icm.admin_username} --ssh-key ~/.ssh/id_ed25519\n"
        f"cat {ENVIRONMENT_FILE}",
        expected=environment_file,
        rollback="`exit` ends the session; nothing changes on the host.",
    )
    return facts, [step]
