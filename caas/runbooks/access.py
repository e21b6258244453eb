"""Access: how a partner reaches the environment's Kubernetes cluster and ICM 7.10 hosts (Entra ID and Azure
RBAC only)."""

from __future__ import annotations

from caas import icm710
from caas.cloud_init import ENVIRONMENT_FILE
from caas.runbooks.changes import through_deploy
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Output, Section, Shell, Step, code, fence, table
from caas.specs import derive
from caas.specs.access import facts as partner_facts

# What any user needs on the cluster before `az aks get-credentials` works (learn.microsoft.com,
# "Use Azure role-based access control for Kubernetes authorization").
CREDENTIALS_ROLE = "Azure Kubernetes Service Cluster User Role"


def access(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    pools = derive(cfg).aks_pools
    if not pools:
        return _hosts_only(ctx)
    aks = cfg.aks
    rg, cluster = derive(cfg).names.resource("resource_group"), derive(cfg).names.resource("aks")
    window = aks.maintenance_window
    agents = ctx.delivery.agent_pool if ctx.delivery else None
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
    if derive(cfg).aks_ingress_ip is not None:
        rows.append(
            ("Ingress", f"internal load balancer {code(derive(cfg).aks_ingress_ip)}, behind the public gateway")
        )
    facts = (
        f"Getting credentials needs the role {code(CREDENTIALS_ROLE)} on the cluster; what a user may then do "
        "inside it comes from Azure RBAC roles on the cluster or on one namespace.\n\n" + table(("Fact", "Value"), rows)
    )
    facts += _namespaces(ctx) + _partner_groups(ctx)
    rg_cluster = f"--resource-group {rg} --name {cluster}"
    steps = (
        *_grant(ctx),
        Step(
            title="Install kubectl and kubelogin",
            who="partner engineer",
            where=MACHINE,
            why="The kubeconfig of a cluster without local accounts calls kubelogin to fetch an Entra ID token.",
            command=Shell("az aks install-cli\nkubelogin --version"),
            expected=Outcome("kubectl and kubelogin are installed; the second line prints kubelogin's version."),
            rollback="nothing to undo on the platform side.",
        ),
        Step(
            title="Get the cluster credentials",
            who="partner engineer",
            where=MACHINE,
            why="Writes a kubeconfig entry without any secret in it, naming the API server's public name (it "
            "resolves to the private address, so kubectl itself answers only inside the environment and the peered "
            "hub), then switches it to the Azure CLI's sign-in (a pipeline on the hub agents uses "
            "`-l workloadidentity` instead).",
            command=Shell(
                f"az aks get-credentials {rg_cluster} --public-fqdn --overwrite-existing\n"
                "kubelogin convert-kubeconfig -l azurecli"
            ),
            expected=Outcome(f'`Merged "{cluster}" as current context` in your kubeconfig.'),
            rollback=f"{code(f'kubectl config delete-context {cluster}')}.",
        ),
        Step(
            title="Run kubectl through the Azure API",
            who="partner engineer",
            where=MACHINE,
            why="From anywhere, `az aks command invoke` runs kubectl in the cluster through the Azure API (the "
            "customer's custom command-invoke role); kubectl then runs with your own Kubernetes rights. Inside the "
            f"hub (a pipeline on {code(agents)}) kubectl works directly with the credentials of step "
            f"{len(_grant(ctx)) + 2}.",
            command=Shell(f'az aks command invoke {rg_cluster} --command "kubectl get namespaces"'),
            expected=Outcome("a line ending in `exitcode=0`, then the namespaces you may list."),
            rollback="nothing to undo, this only reads.",
        ),
        *_check(ctx),
        *_hosts(ctx),
    )
    return Section("access", "Access", facts, steps)


def _hosts_only(ctx: Context) -> Section | None:
    """A stack without AKS: the partners' Entra ID sign-in to its ICM 7.10 hosts, nothing about a cluster."""
    if not derive(ctx.cfg).icm710_hosts:
        return None
    facts = (
        "This environment runs no AKS cluster. Partners sign in to the ICM 7.10 hosts of their systems with "
        "their Entra ID accounts through the hub's Bastion; no partner gets an SSH key.\n" + _partner_groups(ctx)
    )
    return Section("access", "Access", facts, (*_grant(ctx), *_hosts(ctx)))


def _namespaces(ctx: Context) -> str:
    """The namespaces of the Kubernetes layer."""
    cfg = ctx.cfg
    if not derive(cfg).workloads:
        return ""
    rows = [
        (code(w.namespace), w.app, w.system or "-", code(w.release) if w.release else "the customer's charts")
        for w in derive(cfg).workloads
    ]
    return "\n## Namespaces\n\n" + table(("Namespace", "App", "System", "Helm release"), rows)


def _partner_groups(ctx: Context) -> str:
    """Per partner group, its namespaces, hosts and Azure roles."""
    cfg = ctx.cfg
    if not derive(cfg).workloads and not derive(cfg).icm710_hosts:
        return ""
    spec = derive(cfg).access
    if spec is None:
        return f"\nNo partner group is registered yet ({code('caas:partners')}).\n"
    partner_rows = [
        (
            a.partner,
            code(a.group_object_id),
            ", ".join(code(ns) for ns in a.namespaces) or "-",
            ", ".join(code(h) for h in a.hosts) or "-",
            "; ".join(sorted({f"{code(g.role)} on {g.kind}" for g in a.grants})),
        )
        for a in partner_facts(spec)
    ]
    hosts = f"{code(spec.host_login)} through the hub's Bastion"
    rights = (
        f"gets {code(spec.namespace_role)} in the namespaces of its apps and nothing outside them "
        f"(docs/access.md); on the hosts of its ICM 7.10 systems, {hosts}"
        if spec.cluster is not None
        else f"gets {code(spec.host_login)} on the hosts of its ICM 7.10 systems, through the hub's Bastion "
        "(docs/access.md)"
    )
    return f"\n## Partner groups\n\nIn {cfg.environment} a partner group {rights}.\n\n" + table(
        ("Partner", "Entra ID group (object id)", "Namespaces", "Hosts", "Azure roles"), partner_rows
    )


def _grant(ctx: Context) -> list[Step]:
    cfg = ctx.cfg
    if not derive(cfg).workloads and not derive(cfg).icm710_hosts:
        return []
    cluster = (
        "Cluster User and command invoke on the cluster, one per namespace of its apps, and "
        if derive(cfg).workloads
        else ""
    )
    partners = "".join(
        f"  - name: {p.name}\n    groupObjectId: {p.group_object_id}\n"
        + (f"    apps: [{', '.join(p.apps)}]\n" if p.apps else "")
        + (f"    icm710Systems: [{', '.join(p.icm710_systems)}]\n" if p.icm710_systems else "")
        for p in cfg.partners
    )
    return through_deploy(
        ctx,
        ctx.stack,
        title=f"Register the partner's Entra ID group in {ctx.stack}",
        why="The partner names its Entra ID group (object id), the apps it works on and the ICM 7.10 systems "
        f"whose hosts it signs in to; add it under {code('caas:partners')} in {code(ctx.stack_path(ctx.stack))}"
        + (" (currently):\n\n" + fence("caas:partners:\n" + partners.rstrip(), "yaml") if partners else ":"),
        branch=f"access/{ctx.stack}-partners",
        effect=f"the group's role assignments are added ({cluster}Reader plus the login role per host of its "
        "systems); removing an entry deletes them",
    )


def _check(ctx: Context) -> list[Step]:
    """A partner checks its rights in one of its namespaces: `yes` where it may change things, else `no`."""
    cfg = ctx.cfg
    spec = derive(cfg).access
    mine = [a for a in partner_facts(spec) if a.namespaces] if spec is not None else []
    if not mine:
        return []
    namespace = mine[0].namespaces[0]
    writes = mine[0].writes
    return [
        Step(
            title="Check your rights in a namespace",
            who="partner engineer",
            where=MACHINE,
            why=f"In {cfg.environment} your group may {'change' if writes else 'only read'} what runs in its "
            f"namespaces, for example {code(namespace)}:",
            command=Shell(
                f"az aks command invoke --resource-group {derive(cfg).names.resource('resource_group')} "
                f"--name {derive(cfg).names.resource('aks')} \\\n"
                f'  --command "kubectl auth can-i patch deployments --namespace {namespace}"'
            ),
            expected=Outcome(f"after the `exitcode=0` line, `{'yes' if writes else 'no'}`."),
            rollback="nothing to undo, this only reads.",
        )
    ]


def _hosts(ctx: Context) -> list[Step]:
    """A partner signs in to one of its ICM 7.10 hosts with Entra ID through the hub's Bastion and checks which host
    it is on: the file cloud-init writes (caas/cloud_init.py)."""
    spec = derive(ctx.cfg).access
    mine = [a for a in partner_facts(spec) if a.hosts] if spec is not None else []
    if spec is None or not mine:
        return []
    ssh = next(c for c in mine[0].connections if c.command.startswith("az network bastion ssh"))
    vm = mine[0].hosts[0]
    host = next(h for h in icm710.hosts(ctx.cfg) if h.vm == vm)
    icm = ctx.cfg.icm710
    assert icm is not None  # hosts exist only with caas:icm710
    environment_file = "\n".join(
        [
            f"ICM_ENVIRONMENT={ctx.cfg.environment}",
            f"ICM_SYSTEM={host.system}",
            f"ICM_ROLE={host.role}",
            f"IS_SHARE={icm.share_path}",
        ]
    )
    return [
        Step(
            title="Sign in to an ICM 7.10 host",
            who="partner engineer",
            where=f"{MACHINE}, through the hub's Bastion {code(spec.bastion)} to the host {code(vm)}",
            why=f"With your Entra ID account ({code(spec.host_login)}: no sudo, no SSH key). Needs the Azure CLI's "
            "extensions `bastion` and `ssh` (the first line). In the session, check which host you are on:",
            command=Shell(
                f"az extension add --name bastion && az extension add --name ssh\n{ssh.command}\ncat {ENVIRONMENT_FILE}"
            ),
            expected=Output(environment_file),
            rollback="`exit`; nothing changes on the host.",
        )
    ]
