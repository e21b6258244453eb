"""Derived facts of the partners' access: who gets which role on what, and how each partner connects.

A partner group works in its namespaces of the private AKS cluster and on the hosts of its ICM 7.10 systems:

- Cluster: Cluster User on the cluster (``az aks get-credentials``), the custom "<customer> CaaS AKS command
  invoke" role on the cluster (``az aks command invoke``, which runs kubectl with the caller's own Kubernetes
  rights), and the environment's namespace role (AKS RBAC Reader or Writer) on each of its namespaces only.
  ``caas init`` defines that custom role once per customer (caas.delivery); the stacks only assign it.
- Hosts: Entra ID SSH through the hub's Bastion with the native client: Reader on the Bastion, on the
  environment's VNet (the Bastion sits in the peered hub), on each VM of its systems and on its NIC, and the
  environment's login role (Virtual Machine User Login) on each of those VMs. No partner ever gets an SSH key.

``derive(cfg)`` computes the slice once; ``facts(spec)`` turns it into plain dataclasses (roles with ids and
scopes, commands) that the component deploys, the stack exports as ``partnerAccess`` and runbooks render.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Literal

from caas.model import EstateConfig
from caas.naming import Namer
from caas.sections.access import Partner
from caas.specs import compute as compute_spec
from caas.specs import kubernetes as kubernetes_spec
from caas.specs.site import names as site_names
from components.roles import ROLES

# What runbooks print (the shell fills it in for the signed-in subscription); the stack output has the real id.
SUBSCRIPTION = "$(az account show --query id -o tsv)"
CLUSTER_USER = "Azure Kubernetes Service Cluster User Role"
WRITE_ROLE = "Azure Kubernetes Service RBAC Writer"  # what a reasoned prdWrite opt-in grants
READER = "Reader"
# learn.microsoft.com, "Access a private Azure Kubernetes Service (AKS) cluster using the command invoke
# feature": these two actions control `az aks command invoke` (spelled as on that page; Azure compares actions
# case-insensitively); no built-in role grants just them.
COMMAND_INVOKE_ACTIONS = (
    "Microsoft.ContainerService/managedClusters/runcommand/action",
    "Microsoft.ContainerService/managedclusters/commandResults/read",
)
# Workload apps each partner app names (caas:partners[].apps): ICM 11's namespaces are icm-live and icm-edit.
_APP_FLAG = {"icm": "icm11", "iom": "iom", "pwa": "pwa", "microservices": "microservices"}

Kind = Literal["cluster", "namespace", "vm", "nic", "vnet", "bastion"]


@dataclass(frozen=True)
class CommandInvokeRole:
    """The custom role for ``az aks command invoke``: one per customer, defined by ``caas init`` on the
    subscription (Microsoft advises subscription or resource-group assignable scopes for custom roles, and a
    tenant holds at most 5000 of them); the environment stacks assign it on their cluster only."""

    guid: str  # the role definition's name: deterministic per customer, referenced like a built-in role's id
    name: str  # unique in the tenant
    actions: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Grant:
    """One role assignment to a partner group."""

    role: str
    role_id: str  # the role definition GUID (built-in, or the custom command-invoke role)
    kind: Kind  # what it is scoped to
    resource: str  # that thing's name (cluster, namespace, VM, NIC, VNet, Bastion)
    scope: str  # its ARM id
    why: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.resource}"


@dataclass(frozen=True)
class Connection:
    """A command the partner runs to reach what it was granted."""

    what: str
    command: str


@dataclass(frozen=True)
class PartnerAccess:
    """Everything one partner group gets in one environment, and how it connects."""

    partner: str
    group_object_id: str
    environment: str
    writes: bool  # may change what runs in its namespaces
    write_reason: str | None  # the recorded reason where the environment's default is read-only
    namespaces: tuple[str, ...]
    hosts: tuple[str, ...]  # VM names
    grants: tuple[Grant, ...]
    connections: tuple[Connection, ...]

    def output(self) -> dict[str, object]:
        """The stack output form (camelCase keys; no secrets)."""
        data = dataclasses.asdict(self)
        return {
            "partner": data["partner"],
            "groupObjectId": data["group_object_id"],
            "environment": data["environment"],
            "writes": data["writes"],
            "writeReason": data["write_reason"],
            "namespaces": list(data["namespaces"]),
            "hosts": list(data["hosts"]),
            "roles": [
                {"role": g["role"], "roleDefinitionId": g["role_id"], "scope": g["scope"]} for g in data["grants"]
            ],
            "connect": [{"what": c["what"], "command": c["command"]} for c in data["connections"]],
        }


@dataclass(frozen=True)
class AccessSpec:
    """The partners' slice: their settings, the environment's rules and the names of what they reach."""

    environment: str
    partners: tuple[Partner, ...]
    namespace_role: str  # the environment's default (caas.profiles)
    read_only: bool  # partners only read unless they opt in with a reason
    host_login: str
    resource_group: str
    cluster: str | None  # None without containerised apps
    namespaces: dict[str, tuple[str, ...]]  # partner app -> its namespaces
    workload_keys: dict[str, str]  # namespace -> workload key (keeps the assignments' logical names)
    hosts: dict[str, tuple[str, ...]]  # ICM 7.10 system -> host keys
    vm_names: dict[str, str]  # host key -> VM name
    nic_names: dict[str, str]  # host key -> NIC name
    vnet: str
    hub_resource_group: str
    bastion: str
    command_invoke: CommandInvokeRole | None


def command_invoke_role(customer: str) -> CommandInvokeRole:
    """The customer's one command-invoke role (``Delivery.command_invoke_role``). Its GUID is fixed by the
    customer code, so init's re-runs update the same definition and the stacks name it without looking it up."""
    return CommandInvokeRole(
        guid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"intershop-caas/{customer}/aks-command-invoke")),
        name=f"{customer} CaaS AKS command invoke",
        actions=COMMAND_INVOKE_ACTIONS,
        description=f"Run kubectl and helm in {customer}'s AKS clusters through the Azure API "
        "(az aks command invoke); in a cluster the caller keeps only its own Kubernetes rights.",
    )


def derive(cfg: EstateConfig) -> AccessSpec | None:
    """None in the shared stack and without partners."""
    if cfg.is_shared or not cfg.partners:
        return None
    names = site_names(cfg)
    hub = Namer(names.customer, "shared", names.region)  # the model requires the hub's customer and region
    layer = kubernetes_spec.derive(cfg)
    workloads = layer.workloads if layer is not None else ()
    systems = {s.system: s for s in compute_spec.derive(cfg).icm710.values()}
    host_keys = {system: [key for _, _, key in compute_spec.icm710_host_keys(s)] for system, s in systems.items()}
    return AccessSpec(
        environment=cfg.environment,
        partners=cfg.partners,
        namespace_role=cfg.rules.partner_role,
        read_only=cfg.rules.partners_read_only,
        host_login=cfg.rules.partner_host_login,
        resource_group=names.resource("resource_group"),
        cluster=names.resource("aks") if layer is not None else None,
        namespaces={app: tuple(w.namespace for w in workloads if w.app == app) for app in _APP_FLAG},
        workload_keys={w.namespace: w.key for w in workloads},
        hosts={system: tuple(keys) for system, keys in host_keys.items()},
        vm_names={k: names.resource("vm", k) for keys in host_keys.values() for k in keys},
        nic_names={k: names.resource("nic", k) for keys in host_keys.values() for k in keys},
        vnet=names.resource("vnet"),
        hub_resource_group=hub.resource("resource_group"),
        bastion=hub.resource("bastion"),
        command_invoke=command_invoke_role(cfg.customer.code) if layer is not None else None,
    )


def writes(spec: AccessSpec, partner: Partner) -> bool:
    return not spec.read_only or partner.prd_write


def facts(spec: AccessSpec, subscription: str = SUBSCRIPTION) -> list[PartnerAccess]:
    """Per partner: its roles (ids and exact scopes) and the commands to connect, as plain dataclasses."""
    group = f"/subscriptions/{subscription}/resourceGroups/{spec.resource_group}/providers"
    hub = f"/subscriptions/{subscription}/resourceGroups/{spec.hub_resource_group}/providers"
    result = []
    for partner in spec.partners:
        grants: list[Grant] = []
        connections: list[Connection] = []
        write = writes(spec, partner)
        role = WRITE_ROLE if write else spec.namespace_role
        namespaces = tuple(ns for app in partner.apps for ns in spec.namespaces.get(app, ()))
        if namespaces and spec.cluster is not None and spec.command_invoke is not None:
            cluster = f"{group}/Microsoft.ContainerService/managedClusters/{spec.cluster}"
            invoke = spec.command_invoke
            grants += [
                Grant(
                    CLUSTER_USER,
                    ROLES[CLUSTER_USER],
                    "cluster",
                    spec.cluster,
                    cluster,
                    "fetch the cluster's user credentials (az aks get-credentials)",
                ),
                Grant(
                    invoke.name,
                    invoke.guid,
                    "cluster",
                    spec.cluster,
                    cluster,
                    "run kubectl through the Azure API (az aks command invoke), with its own Kubernetes rights",
                ),
            ]
            grants += [
                Grant(role, ROLES[role], "namespace", ns, f"{cluster}/namespaces/{ns}", f"{role} in {ns} only")
                for ns in namespaces
            ]
            rg, aks, first = spec.resource_group, spec.cluster, namespaces[0]
            connections += [
                Connection(
                    "kubectl from the hub's build agents or any machine that reaches the private API server",
                    f"az aks get-credentials --resource-group {rg} --name {aks} --public-fqdn --overwrite-existing\n"
                    "kubelogin convert-kubeconfig -l azurecli\n"
                    f"kubectl get pods --namespace {first}",
                ),
                Connection(
                    "kubectl from anywhere, through the Azure API",
                    f'az aks command invoke --resource-group {rg} --name {aks} --command "kubectl get pods '
                    f'--namespace {first}"',
                ),
            ]
        hosts = tuple(key for system in partner.icm710_systems for key in spec.hosts.get(system, ()))
        if hosts:
            bastion = f"{hub}/Microsoft.Network/bastionHosts/{spec.bastion}"
            grants += [
                Grant(READER, ROLES[READER], "bastion", spec.bastion, bastion, "connect through the hub's Bastion"),
                Grant(
                    READER,
                    ROLES[READER],
                    "vnet",
                    spec.vnet,
                    f"{group}/Microsoft.Network/virtualNetworks/{spec.vnet}",
                    "the hosts' network: the Bastion sits in the peered hub",
                ),
            ]
            for key in hosts:
                vm = f"{group}/Microsoft.Compute/virtualMachines/{spec.vm_names[key]}"
                nic = f"{group}/Microsoft.Network/networkInterfaces/{spec.nic_names[key]}"
                grants += [
                    Grant(READER, ROLES[READER], "vm", spec.vm_names[key], vm, "Bastion's target"),
                    Grant(READER, ROLES[READER], "nic", spec.nic_names[key], nic, "Bastion reads the host's address"),
                    Grant(
                        spec.host_login,
                        ROLES[spec.host_login],
                        "vm",
                        spec.vm_names[key],
                        vm,
                        "Entra ID SSH sign-in (no sudo: deploy steps run in the release pipeline)",
                    ),
                ]
                connections.append(
                    Connection(
                        f"SSH to {spec.vm_names[key]} with Entra ID",
                        f"az network bastion ssh --name {spec.bastion} --resource-group {spec.hub_resource_group} "
                        f"--target-resource-id {vm} --auth-type AAD",
                    )
                )
        result.append(
            PartnerAccess(
                partner=partner.name,
                group_object_id=partner.group_object_id,
                environment=spec.environment,
                writes=write if namespaces else False,
                write_reason=partner.prd_write_reason if spec.read_only and partner.prd_write else None,
                namespaces=namespaces,
                hosts=tuple(spec.vm_names[k] for k in hosts),
                grants=tuple(grants),
                connections=tuple(connections),
            )
        )
    return result


def problems(cfg: EstateConfig) -> list[tuple[str, str]]:
    """Everything wrong with caas:partners, as (config key, message)."""
    p: list[tuple[str, str]] = []
    if cfg.is_shared:
        if cfg.partners:
            p.append(("caas:partners", "not allowed here; partners are granted per environment (int, uat, prd)"))
        return p
    names = [partner.name for partner in cfg.partners]
    for i, partner in enumerate(cfg.partners):
        if names.index(partner.name) != i:
            p.append((f"caas:partners[{i}].name", f"'{partner.name}' is used twice; names are unique"))
        _check_partner(cfg, f"caas:partners[{i}]", partner, p)
    return p


def _check_partner(cfg: EstateConfig, at: str, partner: Partner, p: list[tuple[str, str]]) -> None:
    """One partner: grants something, only on apps that are on, production writes only with a reason."""
    apps, rules = cfg.apps, cfg.rules
    if not partner.apps and not partner.icm710_systems:
        p.append((at, "names no apps and no icm710Systems: nothing to grant"))
    for app in partner.apps:
        if apps is None or not getattr(apps, _APP_FLAG[app]):
            p.append((f"{at}.apps", f"'{app}' is not on in caas:apps"))
    if partner.icm710_systems and (apps is None or not apps.icm710):
        p.append((f"{at}.icm710Systems", "ICM 7.10 is not on in caas:apps"))
    if partner.prd_write and not rules.partners_read_only:
        p.append((f"{at}.prdWrite", f"partners already write in {cfg.environment}; remove it"))
    elif partner.prd_write and partner.prd_write_reason is None:
        p.append((f"{at}.prdWriteReason", "required with prdWrite: why the partner must change things in production"))
    if partner.prd_write_reason is not None and not partner.prd_write:
        p.append((f"{at}.prdWriteReason", "set, but prdWrite is false; remove it"))
