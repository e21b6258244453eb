"""Outputs between stacks: what environments read from the shared stack, derived from its model."""

from __future__ import annotations

import pytest

from caas import specs
from caas.plan import Plan, Project
from caas.stack_outputs import DR_SHARED_OUTPUTS, SFTP_SHARED_OUTPUTS, SHARED_OUTPUTS, derive
from tests.conftest import EXAMPLE, ROOT


@pytest.mark.parametrize("customer", ["acme", "globex"])
def test_derived_shared_outputs_equal_rendered(
    customer: str, plans: dict[str, Plan], example_plans: dict[str, Plan]
) -> None:
    """The outputs environments' plans read (derived from the shared model) are those the shared plan exports."""
    directory, rendered = (ROOT, plans["shared"]) if customer == "acme" else (EXAMPLE, example_plans["shared"])
    derived = derive(Project.at(directory).load("shared")[0])
    assert derived == {key: rendered.outputs[key] for key in SHARED_OUTPUTS if key in rendered.outputs}
    assert set(SHARED_OUTPUTS) - set(SFTP_SHARED_OUTPUTS) - set(DR_SHARED_OUTPUTS) <= set(derived)


def test_dr_hub_outputs_exist_exactly_when_the_shared_stack_has_a_dr_hub(
    plans: dict[str, Plan], example_plans: dict[str, Plan]
) -> None:
    """Both cases are covered: acme's shared stack has a DR hub (caas:network.drAddressSpace), globex's has none."""
    seen = set()
    for directory, plan in ((ROOT, plans["shared"]), (EXAMPLE, example_plans["shared"])):
        shared = Project.at(directory).load("shared")[0]
        has_hub = specs.derive(shared).shared.dr_hub is not None
        assert (set(DR_SHARED_OUTPUTS) <= set(derive(shared))) == has_hub
        assert (set(DR_SHARED_OUTPUTS) <= set(plan.outputs)) == has_hub
        seen.add(has_hub)
    assert seen == {True, False}


def test_sftp_outputs_exist_exactly_when_the_shared_stack_runs_sftp(
    plans: dict[str, Plan], example_plans: dict[str, Plan]
) -> None:
    """Both SFTP cases are covered: the SFTP outputs are derived when the shared model has an SFTP host."""
    for directory, plan in ((ROOT, plans["shared"]), (EXAMPLE, example_plans["shared"])):
        shared = Project.at(directory).load("shared")[0]
        assert (set(SFTP_SHARED_OUTPUTS) <= set(derive(shared))) == (specs.derive(shared).sftp_service is not None)
        assert (set(SFTP_SHARED_OUTPUTS) <= set(plan.outputs)) == (specs.derive(shared).sftp_service is not None)


def test_derive_refuses_an_environment_model() -> None:
    """Shared outputs come from the shared stack's model only."""
    with pytest.raises(ValueError, match="shared stack's model"):
        derive(Project.at(ROOT).load("prd")[0])
