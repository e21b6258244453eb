"""``python -m caas preflight``: what would make the next `pulumi up` of a stack fail, found before it runs.

Offline checks read the stack's model and its offline plan and depend only on the date passed in (never on the
machine's clock inside a check): the budget period, the Kubernetes version against AKS's release calendar, the
first-run gate of the public entry, the resource providers and features the plan needs, the vCPUs it needs per VM
family and region, and the globally unique names it claims. Online checks (``--online``; an operator signed in
with `az`, never CI) ask Azure through one small runner that tests replace with recorded, documented responses.

Each check is a small function returning :class:`Check` lines: ``ok`` or ``FAIL`` with the fix.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from caas.data.aks_versions import RELEASES, SOURCE
from caas.model import EstateConfig
from caas.plan import Plan
from caas.sections.compute import VM_SIZES
from caas.specs import derive

WARN_DAYS = 60  # an end of support this close is reported (as ok) so the upgrade gets planned
BUDGET_DOCS = "learn.microsoft.com/rest/api/consumption/budgets/create-or-update (timePeriod.startDate)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.name}: {self.detail}"
        return f"FAIL  {self.name}: {self.detail}; fix: {self.fix}"


# ---------------------------------------------------------------------------------------------------------
# Offline


def budget(cfg: EstateConfig, plan: Plan, today: date, source: str, first_run: bool = True) -> list[Check]:
    """The Consumption API takes a start on the first of a month, at most twelve months ahead, and a past start
    only within the current time-grain period: a Monthly budget created today may not start before this month.
    An existing budget keeps its start, so after the first run a past start is fine."""
    budgets = plan.find("azure-native:consumption:Budget")
    if cfg.monitoring is None or not budgets:
        return []
    key = f"{source}: caas:monitoring.budget.startDate"
    grain = budgets[0].inputs.get("timeGrain")
    start = date.fromisoformat(cfg.monitoring.budget.start_date)
    this_month = today.replace(day=1)
    latest = date(today.year + 1, today.month, 1)
    if grain != "Monthly":
        return [Check("budget", False, f"time grain {grain!r}; the checks here assume Monthly", "keep Monthly")]
    if start < this_month and not first_run:
        return [
            Check("budget", True, f"Monthly from {start} (an existing budget; a new one may not start in a past month)")
        ]
    if start < this_month:
        return [
            Check(
                "budget",
                False,
                f"{key}: {start} lies before the current month; a new Monthly budget may not start in a past "
                f"month ({BUDGET_DOCS})",
                f'set it to "{this_month}" or the first of the go-live month',
            )
        ]
    if start > latest:
        return [Check("budget", False, f"{key}: {start} is more than twelve months ahead", f'at most "{latest}"')]
    return [Check("budget", True, f"Monthly from {start} ({cfg.monitoring.budget.amount:g} per month)")]


def secret_rotation(cfg: EstateConfig, today: date, source: str) -> list[Check]:
    """Generated secrets expire `secretLifetimeDays` after `secretsRotatedOn`; a rotation is a new date (new
    values through the generators' keepers). Key Vault still serves an expired secret ("About Azure Key Vault
    secrets", date-time controlled operations), so a past expiry is an overdue rotation, not an outage."""
    if cfg.is_shared:
        return []
    key = f"{source}: caas:keyVault.secretsRotatedOn"
    rotated_on = cfg.key_vault.secrets_rotated_on
    if rotated_on is None:  # no expiry at all: the policy rule secret-expiry-and-rotation judges that
        return []
    expires = rotated_on + timedelta(days=cfg.key_vault.secret_lifetime_days)
    if expires <= today:
        return [Check("secret rotation", False, f"{key}: the secrets expired on {expires}", f'rotate: set "{today}"')]
    note = " (rotate soon)" if (expires - today).days <= WARN_DAYS else ""
    return [Check("secret rotation", True, f"rotated on {rotated_on}, secrets expire on {expires}{note}")]


def kubernetes_version(cfg: EstateConfig, plan: Plan, today: date, source: str) -> list[Check]:
    """The cluster's minor version must be GA on AKS and inside its community support window today."""
    if not plan.find("azure-native:containerservice:ManagedCluster"):
        return []
    version = cfg.aks.kubernetes_version
    minor = ".".join(version.split(".")[:2])
    key = f"{source}: caas:aks.kubernetesVersion"
    release = RELEASES.get(minor)
    supported = ", ".join(m for m, r in RELEASES.items() if r.ga <= today <= r.end_of_life)
    if release is None:
        return [Check("kubernetes", False, f"{key}: {version} is not in the AKS release calendar", f"use {supported}")]
    if today < release.ga:
        return [Check("kubernetes", False, f"{key}: {minor} is not GA on AKS before {release.ga}", f"use {supported}")]
    if today > release.end_of_life:
        return [
            Check(
                "kubernetes",
                False,
                f"{key}: {minor} reached end of support on {release.end_of_life} ({SOURCE})",
                f"upgrade to one of {supported}",
            )
        ]
    left = (release.end_of_life - today).days
    note = f"; warning: support ends in {left} days, plan the upgrade" if left <= WARN_DAYS else ""
    return [Check("kubernetes", True, f"{minor} supported until {release.end_of_life}{note}")]


def public_entry(cfg: EstateConfig, source: str, first_run: bool) -> list[Check]:
    """The gateway reads its certificates from the environment's Key Vault, which the stack itself creates: on
    the stack's first `up` they cannot be there yet, so public entry must be off then."""
    spec = derive(cfg)
    routes = spec.public_routes
    if cfg.is_shared or not routes:
        return []
    vault = spec.names.key_vault()
    certificates = ", ".join(sorted({r.certificate for r in routes}))
    if not cfg.public_entry.enabled:
        return [Check("public entry", True, f"off; before enabling it import into {vault}: {certificates}")]
    if first_run:
        return [
            Check(
                "public entry",
                False,
                f"{source}: caas:publicEntry.enabled: true on the stack's first run, but {vault} is created by that "
                "run, so no certificate can be in it yet",
                "set it to false for the first `up`; import the certificates, then enable it",
            )
        ]
    return [Check("public entry", True, f"needs in {vault}: {certificates} (checked by --online)")]


# Resource provider namespace of each azure-native module the plans use; modules missing here fail the check
# so a new one is added knowingly. Microsoft.Authorization and Microsoft.Resources are always registered.
PROVIDERS = {
    "alertsmanagement": "Microsoft.AlertsManagement",
    "applicationinsights": "Microsoft.Insights",
    "compute": "Microsoft.Compute",
    "consumption": "Microsoft.Consumption",
    "containerregistry": "Microsoft.ContainerRegistry",
    "containerservice": "Microsoft.ContainerService",
    "dataprotection": "Microsoft.DataProtection",
    "kubernetesconfiguration": "Microsoft.KubernetesConfiguration",
    "dbforpostgresql": "Microsoft.DBforPostgreSQL",
    "devcenter": "Microsoft.DevCenter",
    "devopsinfrastructure": "Microsoft.DevOpsInfrastructure",
    "dns": "Microsoft.Network",
    "eventgrid": "Microsoft.EventGrid",
    "insights": "Microsoft.Insights",
    "keyvault": "Microsoft.KeyVault",
    "managedidentity": "Microsoft.ManagedIdentity",
    "monitor": "Microsoft.Insights",
    "network": "Microsoft.Network",
    "operationalinsights": "Microsoft.OperationalInsights",
    "privatedns": "Microsoft.Network",
    "recoveryservices": "Microsoft.RecoveryServices",
    "sql": "Microsoft.Sql",
    "storage": "Microsoft.Storage",
}
ALWAYS_REGISTERED = {"authorization", "resources"}
# Encryption at host is a subscription feature of Microsoft.Compute (learn.microsoft.com, "Use the Azure CLI to
# enable end-to-end encryption using encryption at host": az feature register --namespace Microsoft.Compute
# --name EncryptionAtHost).
ENCRYPTION_AT_HOST = ("Microsoft.Compute", "EncryptionAtHost")


def required_providers(plan: Plan) -> tuple[list[str], list[str]]:
    """The provider namespaces the plan's Azure resources need, and the modules without a known namespace."""
    namespaces, unknown = set(), set()
    for r in plan.resources:
        package, _, rest = r.type.partition(":")
        if package != "azure-native" or not r.custom:
            continue
        module = rest.split(":")[0]
        if module in ALWAYS_REGISTERED:
            if module == "resources" and r.inputs.get("resourceProviderNamespace"):
                namespaces.add(r.inputs["resourceProviderNamespace"])
            continue
        if module in PROVIDERS:
            namespaces.add(PROVIDERS[module])
        else:
            unknown.add(module)
    return sorted(namespaces), sorted(unknown)


def required_features(plan: Plan) -> list[tuple[str, str]]:
    """Subscription features the plan relies on: encryption at host on any VM or node pool."""
    for r in plan.resources:
        security = r.inputs.get("securityProfile") or {}
        pools = [r.inputs, *(r.inputs.get("agentPoolProfiles") or [])]
        if security.get("encryptionAtHost") or any(p.get("enableEncryptionAtHost") for p in pools):
            return [ENCRYPTION_AT_HOST]
    return []


def providers(plan: Plan) -> list[Check]:
    namespaces, unknown = required_providers(plan)
    features = required_features(plan)
    checks = [
        Check(
            "providers",
            not unknown,
            f"register {', '.join(namespaces)}"
            + (f"; unknown azure-native modules: {', '.join(unknown)}" if unknown else ""),
            "add the modules to caas.preflight.PROVIDERS",
        )
    ]
    checks += [Check("features", True, f"register {ns}/{name}") for ns, name in features]
    return checks


# --- vCPU quota --------------------------------------------------------------------------------------------

# Size names follow "Azure virtual machine sizes naming conventions" (learn.microsoft.com):
# Standard_<family><vCPUs><additive features>_<version>, e.g. Standard_D4ds_v5: family D, 4 vCPUs, d + s, v5.
_SIZE = re.compile(r"^Standard_(?P<family>[A-Z]+)(?P<vcpus>\d+)(?P<features>[a-z]*)_v(?P<version>\d+)$")


def vcpus(size: str) -> int:
    """vCPUs of a VM size: the compute table where it lists the size, else the count in the size's name."""
    if size in VM_SIZES:
        return VM_SIZES[size].vcpus
    match = _SIZE.match(size)
    if not match:
        raise ValueError(f"cannot read the vCPUs of {size}")
    return int(match["vcpus"])


def quota_family(size: str) -> str:
    """The compute usage name of a size's family: Standard_D4ds_v5 -> standardDDSv5Family."""
    match = _SIZE.match(size)
    if not match:
        raise ValueError(f"cannot read the family of {size}")
    return f"standard{match['family']}{match['features'].upper()}v{match['version']}Family"


def _surge(max_surge: str | None, nodes: int) -> int:
    """Extra nodes during an upgrade: a percentage of the pool's nodes, rounded up (learn.microsoft.com,
    "Upgrade options for AKS": maxSurge). Unset, count one node, the least AKS has ever surged by default."""
    if not max_surge:
        return 1
    if max_surge.endswith("%"):
        return math.ceil(nodes * int(max_surge[:-1]) / 100)
    return int(max_surge)


def vcpu_demand(plan: Plan) -> dict[tuple[str, str], int]:
    """vCPUs the plan needs at most, per (region, quota family): VMs, AKS node pools at max count plus their
    upgrade surge, and the build agents' pool at its maximum concurrency."""
    demand: dict[tuple[str, str], int] = defaultdict(int)
    region = plan.outputs.get("location")

    def add(location: str | None, size: str, count: int) -> None:
        demand[(location or region or "?", quota_family(size))] += vcpus(size) * count

    for vm in plan.find("azure-native:compute:VirtualMachine"):
        add(vm.inputs.get("location"), vm.inputs["hardwareProfile"]["vmSize"], 1)
    for cluster in plan.find("azure-native:containerservice:ManagedCluster"):
        for pool in cluster.inputs.get("agentPoolProfiles") or []:
            nodes = pool.get("maxCount") or pool.get("count") or 1
            surge = _surge((pool.get("upgradeSettings") or {}).get("maxSurge"), nodes)
            add(cluster.inputs.get("location"), pool["vmSize"], nodes + surge)
    for pool in plan.find("azure-native:containerservice:AgentPool"):
        nodes = pool.inputs.get("maxCount") or pool.inputs.get("count") or 1
        surge = _surge((pool.inputs.get("upgradeSettings") or {}).get("maxSurge"), nodes)
        add(None, pool.inputs["vmSize"], nodes + surge)
    for agents in plan.find("azure-native:devopsinfrastructure:Pool"):
        size = agents.inputs["fabricProfile"]["sku"]["name"]
        add(agents.inputs.get("location"), size, int(agents.inputs["maximumConcurrency"]))
    return dict(demand)


def quota(plan: Plan) -> list[Check]:
    try:
        demand = vcpu_demand(plan)
    except (ValueError, KeyError) as exc:
        return [Check("vcpu quota", False, str(exc), "add the size to caas.sections.compute.VM_SIZES")]
    if not demand:
        return []
    per_region: dict[str, int] = defaultdict(int)
    for (region, _), count in demand.items():
        per_region[region] += count
    families = ", ".join(f"{family} {count}" for (_, family), count in sorted(demand.items()))
    totals = ", ".join(f"{region} {count}" for region, count in sorted(per_region.items()))
    return [Check("vcpu quota", True, f"needs {families}; total regional vCPUs {totals} (checked by --online)")]


# --- Globally unique names ----------------------------------------------------------------------------------

# Name input of each resource type whose name is global (a DNS name under an Azure domain).
GLOBAL_NAMES = {
    "azure-native:storage:StorageAccount": ("accountName", "storage"),
    "azure-native:containerregistry:Registry": ("registryName", "registry"),
    "azure-native:keyvault:Vault": ("vaultName", "key vault"),
    "azure-native:sql:ManagedInstance": ("managedInstanceName", "SQL managed instance"),
    "azure-native:dbforpostgresql:Server": ("serverName", "PostgreSQL server"),
}


def global_names(plan: Plan) -> list[tuple[str, str]]:
    """(kind, name) of every globally unique name the plan claims, public DNS labels included."""
    names = []
    for type_, (key, kind) in GLOBAL_NAMES.items():
        names += [(kind, r.inputs[key]) for r in plan.find(type_) if key in r.inputs]
    for ip in plan.find("azure-native:network:PublicIPAddress"):
        label = (ip.inputs.get("dnsSettings") or {}).get("domainNameLabel")
        if label:
            names.append(("public DNS label", label))
    return sorted(names)


def names(plan: Plan) -> list[Check]:
    claimed = global_names(plan)
    if not claimed:
        return []
    listed = ", ".join(f"{kind} {name}" for kind, name in claimed)
    return [Check("global names", True, f"claims {listed} (availability checked by --online)")]


def offline(cfg: EstateConfig, plan: Plan, today: date, source: str, first_run: bool = False) -> list[Check]:
    return [
        *budget(cfg, plan, today, source, first_run),
        *kubernetes_version(cfg, plan, today, source),
        *secret_rotation(cfg, today, source),
        *public_entry(cfg, source, first_run),
        *providers(plan),
        *quota(plan),
        *names(plan),
    ]


# ---------------------------------------------------------------------------------------------------------
# Online: `az` through one runner


class AzError(Exception):
    def __init__(self, command: Sequence[str], stderr: str):
        self.command = list(command)
        self.stderr = stderr.strip()
        super().__init__(f"az {' '.join(command)}: {self.stderr}")


Runner = Callable[[Sequence[str]], Any]


def az(args: Sequence[str]) -> Any:
    """Run `az <args> -o json` and return its parsed output; AzError with stderr when it fails."""
    result = subprocess.run(["az", *args, "-o", "json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AzError(args, result.stderr)
    return json.loads(result.stdout) if result.stdout.strip() else None


ARM = "https://management.azure.com/subscriptions/{subscriptionId}/providers"
# `az rest` replaces {subscriptionId} with the signed-in subscription.
NAME_CHECKS = {
    "storage": ("Microsoft.Storage", "2023-05-01", "Microsoft.Storage/storageAccounts"),
    "registry": ("Microsoft.ContainerRegistry", "2023-07-01", "Microsoft.ContainerRegistry/registries"),
    "key vault": ("Microsoft.KeyVault", "2023-07-01", "Microsoft.KeyVault/vaults"),
}


def check_name_command(kind: str, name: str) -> list[str]:
    namespace, version, type_ = NAME_CHECKS[kind]
    body = json.dumps({"name": name, "type": type_})
    url = f"{ARM}/{namespace}/checkNameAvailability?api-version={version}"
    return ["rest", "--method", "post", "--url", url, "--body", body]


def online_names(run: Runner, claimed: Iterable[tuple[str, str]]) -> list[Check]:
    """A taken name is fine only when this subscription holds it (the stack's own resource on a later run)."""
    checks = []
    for kind, name in claimed:
        if kind not in NAME_CHECKS:
            continue
        answer = run(check_name_command(kind, name))
        if answer.get("nameAvailable"):
            checks.append(Check(f"name {name}", True, f"{kind} name available"))
            continue
        ours = run(["resource", "list", "--name", name, "--query", "[].id"])
        if ours:
            checks.append(Check(f"name {name}", True, f"exists in this subscription: {ours[0]}"))
        else:
            checks.append(
                Check(
                    f"name {name}",
                    False,
                    f"{kind} name taken elsewhere ({answer.get('reason')}: {answer.get('message')})",
                    "choose another caas:customer.code (names derive from it)",
                )
            )
    return checks


def online_deleted_vaults(run: Runner, vaults: Iterable[str]) -> list[Check]:
    """A soft-deleted vault keeps its name until it is purged (purge protection: not before the scheduled date)."""
    wanted = set(vaults)
    if not wanted:
        return []
    url = f"{ARM}/Microsoft.KeyVault/deletedVaults?api-version=2023-07-01"
    deleted = {v["name"]: v["properties"] for v in run(["rest", "--method", "get", "--url", url])["value"]}
    checks = []
    for name in sorted(wanted):
        if name in deleted:
            purge = deleted[name].get("scheduledPurgeDate")
            checks.append(
                Check(
                    f"deleted vault {name}",
                    False,
                    f"a soft-deleted vault holds the name until {purge}",
                    f"recover it: az keyvault recover --name {name} (then import it into the stack)",
                )
            )
        else:
            checks.append(Check(f"deleted vault {name}", True, "no soft-deleted vault of that name"))
    return checks


def online_aks_versions(run: Runner, cfg: EstateConfig, plan: Plan) -> list[Check]:
    if not plan.find("azure-native:containerservice:ManagedCluster"):
        return []
    minor = ".".join(cfg.aks.kubernetes_version.split(".")[:2])
    answer = run(["aks", "get-versions", "--location", cfg.location.primary])
    offered = {v["version"]: v for v in answer["values"]}
    entry = offered.get(minor)
    if entry is None or entry.get("isPreview"):
        ga = ", ".join(sorted(v for v, e in offered.items() if not e.get("isPreview")))
        return [Check("aks versions", False, f"{minor} is not offered as GA in {cfg.location.primary}", f"use {ga}")]
    patches = ", ".join(sorted(entry.get("patchVersions") or {}))
    return [Check("aks versions", True, f"{minor} offered in {cfg.location.primary} (patches {patches})")]


def online_quota(run: Runner, demand: dict[tuple[str, str], int]) -> list[Check]:
    """Usage + need against the limit per family and for the region's total; on a later run the stack's own
    running VMs are already in the usage, so a FAIL there may be a double count: compare with the portal."""
    checks = []
    per_region: dict[str, dict[str, int]] = defaultdict(dict)
    for (region, family), count in demand.items():
        per_region[region][family] = count
    for region, families in sorted(per_region.items()):
        url = f"{ARM}/Microsoft.Compute/locations/{region}/usages?api-version=2024-07-01"
        usage = {u["name"]["value"]: u for u in run(["rest", "--method", "get", "--url", url])["value"]}
        for family, need in sorted({**families, "cores": sum(families.values())}.items()):
            item = usage.get(family)
            if item is None:
                checks.append(Check(f"quota {region} {family}", False, "no such usage", "request the VM family"))
                continue
            free = item["limit"] - item["currentValue"]
            ok = need <= free
            checks.append(
                Check(
                    f"quota {region} {family}",
                    ok,
                    f"needs {need}, {free} free of {item['limit']}",
                    f"request {item['currentValue'] + need} vCPUs ({item['name']['localizedValue']}) in "
                    "Quotas > Compute",
                )
            )
    return checks


def online_certificates(run: Runner, cfg: EstateConfig, today: date) -> list[Check]:
    """The data plane of a private vault answers only from inside the network (the hub's agents)."""
    spec = derive(cfg)
    if not cfg.public_entry.enabled or not spec.public_routes:
        return []
    vault = spec.names.key_vault()
    url = f"https://{vault}.vault.azure.net/certificates?api-version=7.4"
    listed = run(["rest", "--resource", "https://vault.azure.net", "--method", "get", "--url", url])["value"]
    present = {c["id"].rstrip("/").rsplit("/", 1)[1]: c.get("attributes", {}) for c in listed}
    checks = []
    for name in sorted({r.certificate for r in spec.public_routes}):
        attributes = present.get(name)
        if attributes is None:
            checks.append(
                Check(
                    f"certificate {name}",
                    False,
                    f"not in {vault}",
                    f"az keyvault certificate import --vault-name {vault} -n {name} -f <pfx>",
                )
            )
            continue
        expires = datetime.fromtimestamp(attributes["exp"], tz=UTC).date() if "exp" in attributes else None
        ok = attributes.get("enabled", True) and (expires is None or expires > today)
        checks.append(
            Check(
                f"certificate {name}",
                ok,
                f"in {vault}, expires {expires}" if ok else f"in {vault} but disabled or expired ({expires})",
                f"import a valid certificate as {name}",
            )
        )
    return checks


def online_registration(run: Runner, plan: Plan) -> list[Check]:
    namespaces, _ = required_providers(plan)
    checks = []
    for namespace in namespaces:
        state = run(["provider", "show", "--namespace", namespace])["registrationState"]
        checks.append(
            Check(f"provider {namespace}", state == "Registered", state, f"az provider register -n {namespace}")
        )
    for namespace, feature in required_features(plan):
        state = run(["feature", "show", "--namespace", namespace, "--name", feature])["properties"]["state"]
        checks.append(
            Check(
                f"feature {namespace}/{feature}",
                state == "Registered",
                state,
                f"az feature register --namespace {namespace} --name {feature}, then az provider register -n "
                f"{namespace}",
            )
        )
    return checks


def online(
    run: Runner, cfg: EstateConfig, plan: Plan, today: date, extra_names: Sequence[tuple[str, str]] = ()
) -> list[Check]:
    """Ask Azure; a failing `az` call becomes a FAIL line naming the command, and the others still run."""
    claimed = [*global_names(plan), *extra_names]
    vaults = [name for kind, name in claimed if kind == "key vault"]
    steps: list[Callable[[], list[Check]]] = [
        lambda: online_names(run, claimed),
        lambda: online_deleted_vaults(run, vaults),
        lambda: online_aks_versions(run, cfg, plan),
        lambda: online_quota(run, vcpu_demand(plan)),
        lambda: online_certificates(run, cfg, today),
        lambda: online_registration(run, plan),
    ]
    checks: list[Check] = []
    for step in steps:
        try:
            checks += step()
        except AzError as error:
            checks.append(
                Check(
                    "az",
                    False,
                    f"az {' '.join(error.command)} failed: {error.stderr}",
                    "sign in (az login) with read access",
                )
            )
    return checks


def report(checks: Sequence[Check]) -> tuple[str, int]:
    """The lines to print and the exit code (1 when any check failed)."""
    return "\n".join(c.line() for c in checks) + "\n", int(any(not c.ok for c in checks))
