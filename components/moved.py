"""Keeping URNs when resources move under a new component: an alias to the parent they had before."""

from __future__ import annotations

import pulumi


def stack_urn(type_: str, name: str) -> str:
    """URN of a top-level resource of this stack (parent: the stack), e.g. a component that was split up."""
    return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"


def moved_from(component: pulumi.Resource, previous_parent: pulumi.Resource | str) -> pulumi.ResourceTransformation:
    """A transformation for ``component``'s options: each direct child also answers to the URN it had under
    ``previous_parent`` (a resource or its URN), so existing stacks adopt it instead of replacing it."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.opts.parent is not component:
            return None
        alias = pulumi.Alias(parent=previous_parent)
        opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(aliases=[alias]))
        return pulumi.ResourceTransformationResult(args.props, opts)

    return transform
