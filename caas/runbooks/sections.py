"""The runbook sections: each a pure function of the model returning a Section, or None when the model
holds nothing for it. ``assemble`` puts the README (overview, contents, checklist) in front."""

from __future__ import annotations

import re
from collections.abc import Callable

from caas.profiles import Profile
from caas.runbooks import Context
from caas.runbooks.markdown import Section, Step, code, fence, render_section, table
from components.shared_services import FEDERATION_AUDIENCE

APPS = {
    "icm710": "Intershop Commerce Management 7.10 on virtual machines",
    "icm11": "Intershop Commerce Management 11 on AKS",
    "iom": "Intershop Order Management",
    "pwa": "Intershop PWA (storefront)",
    "microservices": "Intershop microservices",
}
ROLES = {
    "shop": "storefront",
    "backoffice": "Commerce Management back office",
    "pwa": "PWA storefront",
    "iom": "Order Management",
}
SYSTEMS = {"live": "serves customers", "edit": "content and catalogues are prepared here and published to live"}


def _on(value: bool) -> str:
    return "on" if value else "off"


def _profile_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return _on(value)
    if isinstance(value, tuple):
        return ", ".join(value) if value else "none (regional)"
    return str(value)


# --------------------------------------------------------------------------------------------------------
# Overview (the README's first part)


def overview(ctx: Context) -> str:
    cfg = ctx.cfg
    rows = [
        ("Customer", f"{cfg.customer.name} (code {code(cfg.customer.code)})"),
        ("Environment", f"{code(cfg.environment)}, Pulumi stack {code(ctx.qualified)}"),
        (
            "Primary region",
            f"{code(cfg.location.primary)}, availability zones: {_profile_value('', cfg.profile.zones)}",
        ),
        (
            "Disaster-recovery region",
            f"{code(cfg.location.dr)} ({'in use' if cfg.profile.disaster_recovery else 'not used'} by this stack)",
        ),
        ("Resource group", code(cfg.names.resource("resource_group"))),
        ("Virtual network", f"{code(cfg.names.resource('vnet'))}, {code(cfg.network.address_space)}"),
    ]
    if cfg.network.hub_address_space is not None:
        rows.append(("Shared hub", f"stack {code(cfg.shared_stack)}, {code(cfg.network.hub_address_space)}, peered"))
    if cfg.apps is not None:
        enabled = [label for key, label in APPS.items() if getattr(cfg.apps, key)]
        rows.append(("Applications", "; ".join(enabled)))
    out = [table(("Fact", "Value"), rows)]

    if cfg.hostnames:
        host_rows = []
        for role, host in cfg.hostnames.items():
            system, _, part = role.partition(".")
            host_rows.append((system if part else "-", ROLES[part or role], code(host)))
        systems = "; ".join(f"**{k}**: {v}" for k, v in SYSTEMS.items())
        out += [
            "## Systems and hostnames\n",
            f"ICM runs two systems: {systems}.\n",
            table(("System", "Role", "Hostname"), host_rows),
        ]
        out.append(
            f"The stack output {code('hostnames')} prints the same map once deployed: "
            f"{code(ctx.output('hostnames', as_json=True))}.\n"
        )

    fields = Profile.model_fields
    profile_rows = [
        (code(fields[name].alias or name), _profile_value(name, getattr(cfg.profile, name)), fields[name].description)
        for name in fields
    ]
    declared = cfg.profile_overrides.declared()
    out += [
        "## What is on\n",
        f"The {code(cfg.environment)} profile ({code('caas/profiles.py')})"
        + (
            f", with the deviations {ctx.source} declares under {code('caas:profile')}: "
            + ", ".join(code(fields[k].alias) for k in sorted(declared))
            if declared
            else ""
        )
        + ".\n",
        table(("Setting", "Value", "Meaning"), profile_rows),
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------------
# Build and release


def build_and_release(ctx: Context) -> Section | None:
    shared = ctx.registry_model
    if shared is None or shared.registry is None or shared.devops is None:
        return None
    registry = shared.names.compact("registry")
    login_server = f"{registry}.azurecr.io"
    devops = shared.devops
    *_, project, connection = devops.service_connection_subject.split("/")
    identity = shared.names.resource("identity", "pipelines")
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
        pool = shared.names.resource("devops_pool")
        rows.append(
            (
                "Build agents",
                f"Managed DevOps Pool {code(pool)}: {code(agents.vm_size)}, {code(agents.image)}, "
                f"up to {agents.max_concurrency} at a time, inside the shared hub",
            )
        )
    facts = (
        "Images are built by Azure Pipelines on the build agents in the shared hub and pushed to the shared "
        "registry; every environment pulls from it through its own private endpoint. No password or client "
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
        image = f"{login_server}/$(Build.Repository.Name):$(Build.BuildNumber)"
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
    return Section("build-and-release", "Build and release", facts, tuple(steps))


# --------------------------------------------------------------------------------------------------------
# Assembly


SECTIONS: tuple[Callable[[Context], Section | None], ...] = (build_and_release,)


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def assemble(ctx: Context) -> dict[str, str]:
    sections = [s for s in (f(ctx) for f in SECTIONS) if s is not None]
    heading = (
        f"Generated from {code(ctx.source)} by {code(f'python -m caas runbook --stack {ctx.stack}')}; "
        "change the stack file and regenerate instead of editing.\n"
    )
    files = {f"{s.slug}.md": render_section(s, heading) for s in sections}

    readme = [f"# {ctx.cfg.customer.name}: {ctx.cfg.environment} onboarding runbook\n", heading, overview(ctx)]
    if sections:
        readme += ["## Runbooks\n", "\n".join(f"1. [{s.title}]({s.slug}.md)" for s in sections) + "\n"]
        items = [
            f"- [ ] **{step.owner}**: {step.title} ([{s.title}, step {i}]({s.slug}.md#{anchor(f'{i}. {step.title}')}))"
            for s in sections
            for i, step in enumerate(s.steps, 1)
        ]
        readme += ["## Onboarding checklist\n", "\n".join(items) + "\n"]
    files = {"README.md": "\n".join(readme), **files}
    return files
