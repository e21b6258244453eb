"""Hygiene rules: the stack's tags on every taggable resource (read from the SDK), Azure's naming rules."""

from __future__ import annotations

from caas.policy.rules.hygiene import azure_naming_rules, required_tags, taggable
from tests.policy_cases import CONTEXT, resource, violations

VNET = "azure-native:network:VirtualNetwork"


def test_taggable_is_read_from_the_sdk_args_class():
    assert taggable(VNET)
    assert taggable("azure-native:monitor:ActionGroup")  # its Args class is ActionGroupInitArgs
    assert not taggable("azure-native:network:Subnet")
    assert not taggable("azure-native:authorization:RoleAssignment")


def test_taggable_resources_carry_the_stacks_tags():
    tagged = resource(VNET, "v", tags={**CONTEXT.tags, "extra": "fine"})
    untaggable = resource("azure-native:network:Subnet", "s")
    assert violations(required_tags, tagged, untaggable) == []
    wrong = resource(VNET, "w", tags={**CONTEXT.tags, "environment": "uat"})
    bare = resource(VNET, "b")
    hits = violations(required_tags, wrong, bare)
    assert sorted(h.message.split(" ")[0] for h in hits) == ["lacks", "tag"]


def test_a_generic_child_resource_needs_no_tags():
    child = resource("azure-native:resources:Resource", "pitr", parentResourcePath="managedInstances/m/databases/d")
    top = resource("azure-native:resources:Resource", "top")
    [hit] = violations(required_tags, child, top)
    assert hit.resource.endswith(" top")


def test_names_keep_azures_rules():
    good = resource("azure-native:storage:StorageAccount", "st", accountName="stacmeprdweu")
    bad = resource("azure-native:storage:StorageAccount", "st2", accountName="st-acme-prd-weu")
    long_windows = resource(
        "azure-native:compute:VirtualMachine",
        "vm",
        vmName="vm-acme-prd-weu-x",
        osProfile={"computerName": "vm-acme-prd-weu-x", "windowsConfiguration": {}},
    )
    assert violations(azure_naming_rules, good) == []
    hits = violations(azure_naming_rules, bad, long_windows)
    assert sorted(h.message.split(":")[0] for h in hits) == ["accountName", "osProfile.computerName"]
