"""Access: how a partner reaches the environment's Kubernetes cluster (Entra ID and Azure RBAC only)."""

from __future__ import annotations

from caas.runbooks import Context
from caas.runbooks.markdown import Section, Step, code, table

# What any user needs on the cluster before `az aks get-credentials` works (learn.microsoft.com,
# "Use Azure role-based access control for Kubernetes authorization").
CREDENTIALS_ROLE = "Azure Kubernetes Service Cluster User Role"


def access(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    pools = cfg.aks_pools
    if not pools:
        return None
    aks = cfg.aks
    rg, cluster = cfg.names.resource("resource_group"), cfg.names.resource("aks")
    window = aks.maintenance_window
    agents = ctx.registry_model.names.resource("devops_pool") if ctx.registry_model else None
    admins = ", ".join(code(g) for g in aks.admin_group_object_ids) or "none (Azure RBAC role assignments only)"
    rows = [
        ("Cluster", f"{code(cluster)} in {code(rg)}, Kubernetes {aks.kubernetes_version}, tier {cfg.profile.aks_tier}"),
        ("Sign-in", "Entra ID only (local accounts disabled); authorisation by Azure RBAC"),
        (
            "API server",
            "private; its public name resolves to the private address, so it answers inside the environment "
            "and the peered shared hub" + (f" (build agents {code(agents)})" if agents else ""),
        ),
        ("Cluster-admin groups", admins),
        (
            "Maintenance window",
            f"{window.day_of_week} {window.start_time} (UTC{window.utc_offset}), {window.duration_hours} hours: "
            f"automatic upgrades ({code(aks.upgrade_channel)}, node images {code(aks.node_os_upgrade_channel)})",
        ),
        *(
            (f"Node pool {code(name)}", f"{code(pool.vm_size)}, {pool.min_count} to {pool.max_count} nodes")
            for name, pool in pools.items()
        ),
    ]
    if cfg.aks_ingress_ip is not None:
        rows.append(("Ingress", f"internal load balancer {code(cfg.aks_ingress_ip)}, behind the public gateway"))
    facts = (
        f"Getting credentials needs the role {code(CREDENTIALS_ROLE)} on the cluster; what a user may then do "
        "inside it comes from Azure RBAC roles on the cluster or on one namespace.\n\n" + table(("Fact", "Value"), rows)
    )
    steps = (
        Step(
            title="Install kubectl and kubelogin",
            owner="partner",
            why="The kubeconfig of a cluster without local accounts calls kubelogin to fetch an Entra ID token.",
            command="az aks install-cli",
            result="kubectl and kubelogin are installed; `kubelogin --version` prints its version.",
            rollback="nothing to undo on the platform side.",
        ),
        Step(
            title="Get the cluster credentials",
            owner="partner",
            why="Writes a kubeconfig entry without any secret in it, then switches it to the Azure CLI's sign-in "
            "(use `-l workloadidentity` instead in pipelines).",
            command=f"az aks get-credentials --resource-group {rg} --name {cluster} --overwrite-existing\n"
            "kubelogin convert-kubeconfig -l azurecli",
            result=f'`Merged "{cluster}" as current context` in your kubeconfig.',
            rollback=f"{code(f'kubectl config delete-context {cluster}')}.",
        ),
        Step(
            title="Run kubectl against the private API server",
            owner="partner",
            why="From a machine in the shared hub (a pipeline on the build agents) kubectl works directly. From "
            "anywhere else, `az aks command invoke` runs the command through the Azure API:",
            command=f'az aks command invoke --resource-group {rg} --name {cluster} --command "kubectl get namespaces"',
            result="a line ending in `exitcode=0`, then the namespaces you may list.",
            rollback="nothing to undo, this only reads.",
        ),
    )
    return Section("access", "Access", facts, steps)
