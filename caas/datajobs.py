"""Data jobs (pipelines/data/): what they act on, the rights their identity holds, and what DR covers.

Pure facts from the stack models, read three ways:

- ``python -m caas datajobs --stack S --format json``: the names a data pipeline acts on (resource groups,
  instances, databases, vault, protected items); the pipelines call it at run time and type no name.
- ``role_grants`` / ``sql_logins`` / ``postgres_logins``: the data identity's Azure roles (init assigns them)
  and its database logins (the DBA group, the databases' Entra admin, runs the statements once).
- ``dr_statement``: per workload, what disaster recovery covers and what it does not, with RPO/RTO from
  ``caas.specs.data`` (docs/recovery.md and the runbooks render it).

Scopes are ARM ids with the literal ``{subscriptionId}``: the model does not know the subscription; init does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from caas.charts.iom import OmsDb
from caas.config import EstateConfig
from caas.delivery import Delivery
from caas.sections.compute import HOST_ROLES
from caas.specs import EstateSpec, derive
from caas.specs import data as data_spec

# Azure built-in roles the data identity holds, by name -> role definition id. Names and ids as listed on
# learn.microsoft.com, "Azure built-in roles" (role-based-access-control/built-in-roles).
BUILT_IN_ROLES = {
    "SQL Managed Instance Contributor": "4939a1f6-9ae0-4e48-a1e0-f2cbe897382d",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Storage Account Contributor": "17d1049b-9a84-46fb-8f53-869881c3d3ab",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Private DNS Zone Contributor": "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
    "Backup Operator": "00c29273-979b-4161-815c-10b084fb9324",
    "Virtual Machine Contributor": "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
    "Azure Kubernetes Service RBAC Writer": "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
}

# Suffix of the prd copies the refresh pseudonymises; the pipeline refuses to run the script on any other name.
COPY_SUFFIX = "-refresh"
IOM_DATABASE = OmsDb.model_fields["name"].default  # the IOM chart's database and its owner
IOM_OWNER = OmsDb.model_fields["user"].default

WORKLOAD_LABELS = {
    "icmHosts": "ICM 7.10 hosts (VMs)",
    "icmDatabase": "ICM databases (SQL MI)",
    "iomDatabase": "IOM database (PostgreSQL)",
    "aksApplications": "AKS applications (ICM 11, IOM, PWA)",
    "appGateway": "Application Gateway",
    "search": "Solr search indexes",
    "registry": "container registry (shared)",
    "sharedFiles": "NFS shares",
    "aksVolumes": "AKS backup (cluster resources; disk volumes such as Solr's where a workload has them)",
    "keyVault": "Key Vault",
    "sftp": "SFTP transfer area",
}


def _rg_id(group: str) -> str:
    return f"/subscriptions/{{subscriptionId}}/resourceGroups/{group}"


def _id(group: str, kind: str, name: str) -> str:
    return f"{_rg_id(group)}/providers/{kind}/{name}"


def restore_group(cfg: EstateConfig) -> str:
    """Resource group for restore artefacts (restored PostgreSQL servers, restored VM disks, the staging
    account): outside the locked estate group so they can be deleted again. Created by init."""
    return derive(cfg).names.resource("resource_group", "restore")


def staging_account(cfg: EstateConfig) -> str:
    """Storage account Azure Backup stages restored VM disks in (restore-disks needs one). Created by init."""
    return derive(cfg).names.compact("storage", "restore")


def restore_resources(cfg: EstateConfig) -> tuple[str | None, str | None]:
    """(restore group, staging account) this environment's data jobs need, None where it needs none: the group
    when a PostgreSQL server or backed-up VM disks can be restored into it, the staging account only for disks."""
    spec = derive(cfg)
    data = spec.data_model
    if cfg.is_shared or data is None:
        return None, None
    disks = data.vault is not None and bool(spec.icm710_hosts)
    if data.postgres is None and not disks:
        return None, None
    return restore_group(cfg), staging_account(cfg) if disks else None


def vm_hosts(cfg: EstateConfig) -> dict[str, str]:
    """ICM 7.10 host label -> VM name, as components.icm710_hosts names them."""
    spec = derive(cfg)
    hosts: dict[str, str] = {}
    for system, roles in spec.icm710_hosts.items():
        for role, host in roles.items():
            for i in range(host.count):
                label = f"icm710-{system}-{HOST_ROLES[role]}{i + 1}"
                hosts[label] = spec.names.resource("vm", label)
    return hosts


def facts(cfg: EstateConfig, delivery: Delivery) -> dict[str, Any]:
    """Everything a data pipeline needs to act on one environment stack, by name."""
    spec = derive(cfg)
    data = spec.data_model
    if cfg.is_shared or data is None:
        raise ValueError("data jobs act on environment stacks (int, uat, prd), not on the shared stack")
    # Late import: components pull in the Pulumi SDK, which only this function needs (for one naming rule).
    from components.backup import vm_protection_names

    rg = spec.names.resource("resource_group")
    mi = data.sql_mi
    result: dict[str, Any] = {
        "stack": cfg.environment,
        "environment": delivery.environment(cfg.environment).name,
        "gated": delivery.environment(cfg.environment).gated,
        "serviceConnection": delivery.data_service_connection,
        "identity": delivery.data_identity,
        "resourceGroup": rg,
        "restoreResourceGroup": restore_group(cfg),
        "dataRule": spec.data_rule,
        "vms": vm_hosts(cfg),
        "icmDatabase": {
            "instance": mi.name,
            "databases": mi.databases,
            "copies": {system: f"{db}{COPY_SUFFIX}" for system, db in mi.databases.items()},
            "retentionDays": mi.retention_days,
            "failoverGroup": mi.failover.group_name if mi.failover else None,
        },
        "iomDatabase": None,
        "vault": None,
        "kubernetes": None,
        "shareSnapshots": None,
    }
    if data.share_snapshots is not None:
        snaps = data.share_snapshots
        result["shareSnapshots"] = {
            "account": snaps.account,
            "shares": list(snaps.shares),
            "intervalHours": snaps.interval_hours,
            "retentionDays": snaps.retention_days,
        }
    if data.postgres is not None:
        pg = data.postgres
        result["iomDatabase"] = {
            "server": pg.name,
            "serverId": _id(rg, "Microsoft.DBforPostgreSQL/flexibleServers", pg.name),
            "database": IOM_DATABASE,
            "owner": IOM_OWNER,
            # The refresh's point-in-time copy of the whole server, in prd's restore group and prd's subnet.
            "copyServer": f"{pg.name}{COPY_SUFFIX}",
            "retentionDays": pg.retention_days,
            "subnetId": _subnet_id(spec, "postgres"),
            "privateDnsZoneId": _id(rg, "Microsoft.Network/privateDnsZones", spec.private_dns_zones["postgres"]),
            "restoredServer": f"{pg.name}-restored",
        }
    if data.vault is not None:
        items = {}
        for label, vm in vm_hosts(cfg).items():
            container, item = vm_protection_names(_id(rg, "Microsoft.Compute/virtualMachines", vm))
            items[label] = {"vm": vm, "container": container, "item": item}
        result["vault"] = {
            "name": data.vault.name,
            "resourceGroup": rg,
            "stagingAccount": staging_account(cfg),
            "crossRegionRestore": data.vault.cross_region_restore,
            "protectedItems": items,
        }
    if spec.aks_pools:
        result["kubernetes"] = {
            "cluster": spec.names.resource("aks"),
            "namespaces": {w.key: w.namespace for w in spec.workloads},
        }
    return result


def _subnet_id(spec: EstateSpec, role: str) -> str:
    from caas.addressing import ENVIRONMENT_SUBNETS

    subnet = next(s.name for s in ENVIRONMENT_SUBNETS if s.role == role)
    names = spec.names
    vnet = _id(names.resource("resource_group"), "Microsoft.Network/virtualNetworks", names.resource("vnet"))
    return f"{vnet}/subnets/{subnet}"


# --------------------------------------------------------------------------------------------------------
# The data identity's rights


@dataclass(frozen=True)
class RoleGrant:
    """One Azure role assignment of the data identity."""

    role: str
    role_id: str
    stack: str
    scope: str
    reason: str


def _grant(role: str, stack: str, scope: str, reason: str) -> RoleGrant:
    return RoleGrant(role, BUILT_IN_ROLES[role], stack, scope, reason)


def role_grants(models: Mapping[str, EstateConfig]) -> tuple[RoleGrant, ...]:
    """Every Azure role the data identity needs, each at the narrowest scope a built-in role allows.

    Restores (every environment stack) and the uat refresh (prd -> uat). No role on the estate's resource
    groups except the restore group; no Key Vault access (the jobs sign in to the databases with Entra tokens).
    """
    grants: list[RoleGrant] = []
    for stack, cfg in sorted(models.items()):
        spec = derive(cfg)
        data = spec.data_model
        if cfg.is_shared or data is None:
            continue
        rg = spec.names.resource("resource_group")
        grants.append(
            _grant(
                "SQL Managed Instance Contributor",
                stack,
                _id(rg, "Microsoft.Sql/managedInstances", data.sql_mi.name),
                "point-in-time restore of ICM's databases on this instance (and, for the uat refresh, the copy "
                "in prd and the cross-instance restore into uat); no narrower built-in role can restore",
            )
        )
        group, _ = restore_resources(cfg)
        if group is not None:
            grants.append(
                _grant(
                    "Contributor",
                    stack,
                    _rg_id(group),
                    "restored PostgreSQL servers and restored VM disks (and their staging account) are created "
                    "here, outside the locked estate group, so they can be removed again",
                )
            )
        if data.postgres is not None:
            pg = data.postgres
            grants += [
                _grant(
                    "Reader",
                    stack,
                    _id(rg, "Microsoft.DBforPostgreSQL/flexibleServers", pg.name),
                    "the source of a PostgreSQL point-in-time restore; the refresh reads the server's address",
                ),
                _grant(
                    "Network Contributor",
                    stack,
                    _subnet_id(spec, "postgres"),
                    "a restored server joins the delegated PostgreSQL subnet (subnets/join/action); no built-in "
                    "role grants only the join",
                ),
                _grant(
                    "Private DNS Zone Contributor",
                    stack,
                    _id(rg, "Microsoft.Network/privateDnsZones", spec.private_dns_zones["postgres"]),
                    "a restored server registers its name in the PostgreSQL private DNS zone",
                ),
            ]
        if data.vault is not None and spec.icm710_hosts:
            grants.append(
                _grant(
                    "Backup Operator",
                    stack,
                    _id(rg, "Microsoft.RecoveryServices/vaults", data.vault.name),
                    "list recovery points and restore the ICM 7.10 hosts' disks; cannot delete backups or change "
                    "the policy",
                )
            )
        if data.share_snapshots is not None:
            grants.append(
                _grant(
                    "Storage Account Contributor",
                    stack,
                    _id(rg, "Microsoft.Storage/storageAccounts", data.share_snapshots.account),
                    "create, list and delete NFS share snapshots through the Storage resource provider "
                    "(fileServices/shares write, read, delete); no data-plane or built-in share-only role "
                    "covers ARM snapshots; the account's shared keys are off, so the listKeys it allows gives "
                    "nothing usable",
                )
            )
        if cfg.rules.refresh_target:
            grants += _refresh_target_grants(cfg, stack)
    return tuple(grants)


def _refresh_target_grants(cfg: EstateConfig, stack: str) -> list[RoleGrant]:
    """After a refresh the target's applications are stopped and restarted around the restore."""
    spec = derive(cfg)
    rg = spec.names.resource("resource_group")
    grants: list[RoleGrant] = []
    if spec.aks_pools:
        cluster = _id(rg, "Microsoft.ContainerService/managedClusters", spec.names.resource("aks"))
        grants.append(
            _grant(
                "Azure Kubernetes Service Cluster User Role",
                stack,
                cluster,
                "fetch the cluster's kubeconfig (Entra sign-in; rights come from the namespace roles below)",
            )
        )
        for workload in spec.workloads:
            if workload.app in ("icm", "iom"):
                grants.append(
                    _grant(
                        "Azure Kubernetes Service RBAC Writer",
                        stack,
                        f"{cluster}/namespaces/{workload.namespace}",
                        f"scale {workload.key} down during the restore and restart it afterwards",
                    )
                )
    for label, vm in vm_hosts(cfg).items():
        if "-as" in label:
            grants.append(
                _grant(
                    "Virtual Machine Contributor",
                    stack,
                    _id(rg, "Microsoft.Compute/virtualMachines", vm),
                    "restart the ICM 7.10 application server after its database was replaced",
                )
            )
    return grants


# --------------------------------------------------------------------------------------------------------
# Database logins, run once by the DBA group (the databases' Entra admin)


def sql_logins(cfg: EstateConfig, identity: str) -> dict[str, list[str]]:
    """T-SQL per database of the ICM instance (``master`` included) for the data identity.

    prd: a server login without server roles, and a user in each ICM database in db_owner. The refresh's
    copies inherit that user: it pseudonymises them, then drops them from ``master`` (DROP DATABASE is
    data-plane, so the resource group's delete lock does not block it, and it needs db_owner of the copy).
    This is the one real right the identity holds on prd's data; see docs/recovery.md for what limits it.
    uat: only the login; its databases are replaced by the copies, which bring the user along (an Entra
    login's SID is the principal's, the same on every instance of the tenant). int: nothing.
    The instance's identity needs Directory Readers to resolve the name (docs/data.md, step 1).
    """
    data = derive(cfg).data_model
    if data is None:
        return {}
    login = [f"CREATE LOGIN [{identity}] FROM EXTERNAL PROVIDER;"]
    if cfg.rules.refresh_source:
        user = [f"CREATE USER [{identity}] FROM LOGIN [{identity}];", f"ALTER ROLE db_owner ADD MEMBER [{identity}];"]
        return {"master": login, **{db: user for db in data.sql_mi.databases.values()}}
    if cfg.rules.refresh_target:
        return {"master": login}
    return {}


def postgres_logins(cfg: EstateConfig, identity: str) -> list[str]:
    """SQL for the ``postgres`` database of the IOM server, run once by a member of the Entra admin group.

    Both prd and uat: an Entra principal that is a member of IOM's owner role. In prd it acts only on the
    point-in-time copy of the server (restored roles included): it pseudonymises and dumps it. In uat it
    recreates IOM's objects as that role (``pg_restore --role``). int: nothing.
    """
    data = derive(cfg).data_model
    if data is None or data.postgres is None:
        return []
    if cfg.rules.refresh_source or cfg.rules.refresh_target:
        return [
            f"SELECT * FROM pgaadauth_create_principal('{identity}', false, false);",
            f'GRANT "{IOM_OWNER}" TO "{identity}";',
        ]
    return []


# --------------------------------------------------------------------------------------------------------
# Disaster recovery statement


@dataclass(frozen=True)
class DrRow:
    workload: str
    scenario: str
    covered: bool
    rpo: str | None
    rto: str | None
    basis: str
    how: str


def dr_statement(cfg: EstateConfig, shared: EstateConfig | None = None) -> list[DrRow]:
    """Every workload this environment deploys, per scenario: covered or not, RPO/RTO, and how."""
    data = derive(cfg).data_model
    if data is None:
        return []
    objectives = dict(data.objectives)
    if shared is not None and (found := data_spec.registry_objectives(shared)):
        objectives["registry"] = found
    rows = []
    for workload, scenarios in objectives.items():
        for scenario, o in scenarios.items():
            rows.append(
                DrRow(workload, scenario, o.rto is not None, o.rpo, o.rto, o.basis, o.mechanism),
            )
    return rows


SCENARIOS = {"pointInTime": "mistake or corruption", "regionLoss": "loss of the region"}


def dr_markdown(cfg: EstateConfig, shared: EstateConfig | None = None) -> str:
    """The DR statement as a Markdown table (docs/recovery.md, runbooks)."""
    lines = [
        "| Workload | After | Covered | RPO | RTO | Basis | How / why not |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in dr_statement(cfg, shared):
        lines.append(
            f"| {WORKLOAD_LABELS.get(row.workload, row.workload)} | {SCENARIOS.get(row.scenario, row.scenario)} "
            f"| {'yes' if row.covered else '**no**'} | {row.rpo or '-'} | {row.rto or '-'} | {row.basis} "
            f"| {row.how} |"
        )
    return "\n".join(lines) + "\n"


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def grants_as_data(grants: tuple[RoleGrant, ...]) -> list[dict[str, str]]:
    return [asdict(g) for g in grants]
