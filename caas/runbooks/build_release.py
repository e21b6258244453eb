"""Build and release: the shared registry, the Azure DevOps service connection, images and releases."""

from __future__ import annotations

from caas.runbooks import Context
from caas.runbooks.markdown import Section, Step, code, fence, table
from components.shared_services import FEDERATION_AUDIENCE


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
