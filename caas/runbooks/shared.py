"""The shared runbook's own sections: the build agents, the Bastion, and every pipeline with its trigger, service
connection, environments and approvals. Facts from the shared model, caas.delivery and the pipeline files."""

from __future__ import annotations

from caas.config import EstateConfig
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Output, Section, Shell, Step, code, table
from caas.runbooks.pipelines import describe
from caas.specs import access as access_spec
from caas.specs import derive
from components.roles import ROLES

POOL_TYPE = "Microsoft.DevOpsInfrastructure/pools"


def agents(ctx: Context) -> Section | None:
    cfg, d = ctx.cfg, ctx.delivery
    spec = derive(cfg).shared
    if not cfg.is_shared or spec is None or d is None:
        return None
    agents_spec, names = spec.build_agents, derive(cfg).names
    subnets = spec.hub.subnets
    rg = names.resource("resource_group")
    peers = sorted(ctx.peers.items())
    rows = [
        ("Pool", f"Managed DevOps Pool {code(d.agent_pool)} (pipelines name it `pool: name: {d.agent_pool}`)"),
        ("Runs in", f"{code(names.resource('vnet'))}, subnet `snet-build-agents` {code(subnets['buildAgents'])}"),
        (
            "Agents",
            f"{code(agents_spec.vm_size)}, image {code(agents_spec.image)}, up to {agents_spec.max_concurrency} "
            "at a time, fresh per job",
        ),
        (
            "Azure DevOps",
            f"{agents_spec.organization_url}, projects " + ", ".join(code(p) for p in agents_spec.projects),
        ),
    ]
    reach = [
        (code(f"{d.registry}.azurecr.io"), "the registry's private endpoint in the hub"),
        *(
            (
                f"{code(stack)}: {code(derive(m).names.resource('vnet'))} {code(m.network.address_space)}",
                "over the hub peering: " + ", ".join(_endpoints(m)),
            )
            for stack, m in peers
        ),
    ]
    facts = (
        "Every pipeline after the shared stack's first `up` runs here: the estate is private, so only machines in "
        "the hub (and the environments) reach its endpoints. Hosted agents reach none of them.\n\n"
        + table(("Fact", "Value"), rows)
        + "\nWhat the agents reach (names resolve through the shared private DNS zones linked to the hub):\n\n"
        + table(("Target", "How"), reach)
    )
    steps = (
        Step(
            title="Check the agent pool",
            who="platform engineer",
            where=MACHINE,
            why="The pool is an Azure resource of the shared stack; Azure DevOps shows it under Organization "
            "settings → Agent pools under the same name.",
            command=Shell(
                f"az resource show --resource-group {rg} --name {d.agent_pool} --resource-type {POOL_TYPE} "
                "--query properties.provisioningState -o tsv"
            ),
            expected=Output("Succeeded"),
            rollback="nothing to undo, this only reads.",
        ),
    )
    return Section("build-agents", "Build agents", facts, steps)


def _endpoints(cfg: EstateConfig) -> list[str]:
    """What a pipeline on the agents reaches in an environment (its private endpoints and addresses)."""
    spec = derive(cfg)
    data = spec.data_model
    found = ["the Key Vault"]
    found += ["the private AKS API server"] if spec.aks_pools else []
    found += ["SQL Managed Instance"] if data is not None else []
    found += ["PostgreSQL"] if data is not None and data.postgres is not None else []
    found += ["the ICM 7.10 load balancers"] if spec.icm710_hosts else []
    return found


def bastion(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    spec = derive(cfg).shared
    if not cfg.is_shared or spec is None:
        return None
    names = derive(cfg).names
    name, rg = names.resource("bastion"), names.resource("resource_group")
    grants = [
        (code(access_spec.READER), code(ROLES[access_spec.READER]), "the Bastion, the host's VNet, the VM and its NIC"),
        (
            code("Virtual Machine User Login"),
            code(ROLES["Virtual Machine User Login"]),
            "each VM of the partner's ICM 7.10 systems (Entra ID SSH, no sudo)",
        ),
    ]
    facts = (
        f"{code(name)} in {code(rg)}, Standard SKU with native-client tunnelling, subnet `AzureBastionSubnet` "
        f"{code(spec.hub.subnets['bastion'])}; no VM has a public address. People connect with "
        "`az network bastion ssh --auth-type AAD` (Entra ID, no key) to the virtual machines of the environments; "
        "each environment's access runbook has the exact command per host. Roles a partner group gets per "
        f"environment from {code('caas:partners')} (docs/access.md):\n\n"
        + table(("Role", "Definition id", "Scope"), grants)
    )
    steps = (
        Step(
            title="Check the Bastion",
            who="platform engineer",
            where=MACHINE,
            why="Native-client connections (`az network bastion ssh`) need the Standard SKU and tunnelling on:",
            command=Shell(
                f"az network bastion show --name {name} --resource-group {rg} "
                '--query "[sku.name, enableTunneling]" -o tsv'
            ),
            expected=Output("Standard\ntrue"),
            rollback="nothing to undo, this only reads.",
        ),
    )
    return Section("bastion", "Bastion", facts, steps)


def pipelines(ctx: Context) -> Section | None:
    cfg, d = ctx.cfg, ctx.delivery
    if not cfg.is_shared or d is None or ctx.root is None or not ctx.pipelines:
        return None
    described = [describe(ctx.root, p, d, ctx.folder) for p in ctx.pipelines]
    rows = [
        (
            code(p.definition.name),
            code(p.definition.path),
            p.trigger,
            ", ".join(code(c) for c in p.connections) or "none",
            ", ".join(code(e) for e in p.environments) or "-",
            ", ".join(code(e) for e in p.gated) or "none",
        )
        for p in described
    ]
    gated = [e.name for e in d.environments if e.gated]
    facts = (
        f"`caas init` creates one Azure DevOps pipeline per file below in {d.organization_url}/{d.devops_project} "
        f"(created without a first run); each runs on {code(d.agent_pool)} and signs in through workload identity "
        "federation only: "
        f"{code(d.service_connection)} (the deployer, `pulumi up` and the estate's steps), "
        f"{code(d.registry_service_connection)} (AcrPush, the release builds' pushes), "
        f"{code(d.data_service_connection)} (the data jobs). Approvals are checks on the Azure DevOps "
        f"environments {', '.join(code(e) for e in gated)} (`caas init` creates them; the requester cannot approve; "
        "three days, then the stage fails). Azure Repos ignores `pr:`: the validate pipeline is the build-validation "
        "policy on `main`.\n\n"
        + table(("Pipeline", "File", "Trigger", "Service connections", "Environments", "Approval on"), rows)
    )
    return Section("pipelines", "Pipelines", facts, ())
