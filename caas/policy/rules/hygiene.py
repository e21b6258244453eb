"""Hygiene rules: every taggable resource carries the stack's tags, and every physical name keeps Azure's rules.

"Taggable" is read from pulumi-azure-native itself: the type ``azure-native:<module>:<Type>`` is taggable when
``pulumi_azure_native.<module>.<Type>Args`` (``<Type>InitArgs`` where an input type took that name) takes
``tags``. Nothing is listed by hand, so a new type is judged the day it appears. The lookup is cached per type;
importing an SDK module is the cost (seconds for the large ones), which ``caas check --stack`` has already paid
while rendering the plan.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping
from functools import cache

from caas import naming
from caas.policy.context import PolicyContext
from caas.policy.registry import Level, resource_rule
from caas.policy.resources import UNKNOWN, Resource

AREA = "hygiene"
GENERIC = "azure-native:resources:Resource"  # any ARM type, for those the SDK lacks


@cache
def taggable(type_: str) -> bool:
    """Whether the azure-native resource type's Args class has a ``tags`` parameter."""
    package, _, rest = type_.partition(":")
    module, _, name = rest.rpartition(":")
    if package != "azure-native" or not module:
        return False
    try:
        sdk = importlib.import_module(f"pulumi_azure_native.{module.replace('/', '.')}")
    except ImportError:
        return False
    # Where an input type already has the name <Type>Args, the resource's class is <Type>InitArgs.
    args = getattr(sdk, f"{name}InitArgs", None) or getattr(sdk, f"{name}Args", None)
    if args is None:
        return False
    return "tags" in inspect.signature(args.__init__).parameters


@resource_rule(
    "required-tags",
    area=AREA,
    level=Level.MANDATORY,
    controls=("MCSB AM-1 (asset inventory)", "platform: cost allocation and ownership by customer and environment"),
    description=(
        "Every taggable azure-native resource (its SDK Args class has `tags`) carries each of the stack's tags "
        "(caas:tags plus the platform's) with the stack's value; a generic resources:Resource that is an ARM "
        "child (proxy) resource is exempt, ARM has no tags for it. Relaxable: a stack adopting resources made "
        "outside Pulumi may tag them later (its reason says when)."
    ),
    relaxable=True,
)
def required_tags(r: Resource, ctx: PolicyContext) -> Iterator[str]:
    tags = r.get("tags")
    if r.package != "azure-native" or tags == UNKNOWN or not taggable(r.type):
        return
    if r.type == GENERIC and r.get("parentResourcePath"):
        # The generic resource's Args always take tags; a child (proxy) resource under a parent path, e.g. a
        # database's backupShortTermRetentionPolicies/default, has no tags in ARM.
        return
    tags = tags if isinstance(tags, Mapping) else {}
    missing = sorted(k for k in ctx.tags if k not in tags)
    wrong = sorted(k for k, v in ctx.tags.items() if k in tags and tags[k] != v and tags[k] != UNKNOWN)
    if missing:
        yield f"lacks tags {missing}"
    if wrong:
        yield "; ".join(f"tag {k} is {tags[k]!r}, the stack's is {ctx.tags[k]!r}" for k in wrong)


# Physical name inputs and the caas.naming rule each keeps ("Naming rules and restrictions for Azure resources",
# learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
NAMES: dict[str, tuple[str, str]] = {
    "azure-native:storage:StorageAccount": ("accountName", "storage"),
    "azure-native:keyvault:Vault": ("vaultName", "key_vault"),
    "azure-native:containerregistry:Registry": ("registryName", "registry"),
    "azure-native:containerservice:ManagedCluster": ("resourceName", "aks"),
    "azure-native:sql:ManagedInstance": ("managedInstanceName", "sql_mi"),
    "azure-native:sql:InstanceFailoverGroup": ("failoverGroupName", "failover_group"),
    "azure-native:dbforpostgresql:Server": ("serverName", "postgres"),
    "azure-native:compute:VirtualMachine": ("vmName", "vm"),
    "azure-native:operationalinsights:Workspace": ("workspaceName", "log_analytics"),
    "azure-native:recoveryservices:Vault": ("vaultName", "recovery_vault"),
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "resource_group"),
}


def _named(r: Resource) -> Iterator[tuple[str, str, str]]:
    """(input path, naming rule, name) of every physical name the resource sets."""
    if r.type in NAMES:
        path, kind = NAMES[r.type]
        yield path, kind, r.get(path)
    if r.type == "azure-native:compute:VirtualMachine":
        windows = r.get("osProfile.windowsConfiguration") is not None or (
            r.get("storageProfile.osDisk.osType") == "Windows"
        )
        path = "osProfile.computerName"
        yield path, "windows_computer" if windows else "vm", r.get(path)


@resource_rule(
    "azure-naming-rules",
    area=AREA,
    level=Level.MANDATORY,
    controls=("platform: Azure's naming rules and restrictions (a refused name fails mid-deployment)",),
    description=(
        "Physical names keep Azure's rules for their type, the same rules caas.naming checks names against: "
        "storage 3-24 lowercase alphanumerics, Key Vault 3-24 starting with a letter, registry 5-50 alphanumerics, "
        "AKS 1-63, a VM's computer name 64 (Linux) or 15 (Windows) characters."
    ),
)
def azure_naming_rules(r: Resource, _ctx: PolicyContext) -> Iterator[str]:
    for path, kind, name in _named(r):
        if not isinstance(name, str) or not r.known(path):
            continue
        try:
            naming.check(kind, name)
        except ValueError as problem:
            yield f"{path}: {problem}"


RULES = (required_tags, azure_naming_rules)
