"""The partners' access to an environment: every role assignment ``caas.specs.access.facts`` lists, each on
exactly its scope (docs/access.md). The custom command-invoke role among them is defined by ``caas init``
(subscription-wide, one per customer); this stack only assigns it, by GUID like a built-in role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.access import AccessSpec, Grant, facts
from components import roles

authorization = azure_native.authorization


@dataclass
class PartnerAccessArgs:
    spec: AccessSpec
    scopes: Mapping[str, pulumi.Input[str]]  # Grant.key ("namespace:pwa-live", "vm:<name>" ...) -> ARM id


class PartnerAccess(pulumi.ComponentResource):
    """``intershop:caas:PartnerAccess``: what every partner group of the environment may reach, and no more."""

    def __init__(self, name: str, args: PartnerAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:PartnerAccess", name, None, opts)
        spec = args.spec
        access = facts(spec)
        invoke = spec.command_invoke
        self.assignments: list[authorization.RoleAssignment] = []
        for partner in access:
            for grant in partner.grants:
                logical, aliases = _logical_name(spec, partner.partner, grant)
                self.assignments.append(
                    roles.assign(
                        logical,
                        role=grant.role,
                        principal_id=partner.group_object_id,
                        principal_type="Group",
                        scope=args.scopes[grant.key],
                        description=f"{partner.partner}: {grant.why}",
                        parent=self,
                        custom_guid=grant.role_id if invoke is not None and grant.role_id == invoke.guid else None,
                        aliases=aliases,
                    )
                )
        self.register_outputs({"partners": [a.partner for a in access], "assignments": len(self.assignments)})


def _logical_name(spec: AccessSpec, partner: str, grant: Grant) -> tuple[str, list[pulumi.Alias] | None]:
    """The assignment's logical name (its ARM name derives from it) and, for the two kinds of assignment the
    Kubernetes layer used to make, an alias to their old parent so deployed stacks keep them."""
    old_layer = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::intershop:caas:KubernetesLayer"
    if grant.role == "Azure Kubernetes Service Cluster User Role":
        return f"k8s-partner-{partner}-cluster-user", [pulumi.Alias(parent=f"{old_layer}::k8s")]
    if grant.kind == "namespace":
        key = spec.workload_keys[grant.resource]
        return f"k8s-{key}-partner-{partner}", [
            pulumi.Alias(parent=f"{old_layer}$intershop:caas:AppNamespace::k8s-{key}")
        ]
    # Logical names carry no physical (environment-specific) name: hosts by their key, the rest by kind.
    if spec.command_invoke is not None and grant.role_id == spec.command_invoke.guid:
        return f"partner-{partner}-command-invoke", None
    hosts = {**{v: k for k, v in spec.vm_names.items()}, **{v: k for k, v in spec.nic_names.items()}}
    what = f"{hosts[grant.resource]}-{grant.kind}" if grant.kind in ("vm", "nic") else grant.kind
    return f"partner-{partner}-{what}-{'login' if 'Login' in grant.role else 'reader'}", None
