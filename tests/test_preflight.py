"""Preflight: offline rules on a fixed clock over the shipped plans; online checks against recorded answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from caas import preflight
from caas.data.aks_versions import RELEASES
from caas.plan import Project
from caas.specs import derive
from tests.conftest import EXAMPLE, ROOT, STACKS

TODAY = date(2026, 12, 3)
FIXTURES = Path(__file__).parent / "fixtures" / "azure"


def model(directory: Path, stack: str):
    return Project.at(directory).load(stack)[0]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("directory", [ROOT, EXAMPLE], ids=["acme", "globex"])
def test_shipped_stacks_pass_offline_preflight_today(directory, plans, example_plans) -> None:
    """Every stack of both customers passes today's offline preflight (a later date may fail; never a test)."""
    rendered = plans if directory == ROOT else example_plans
    for stack in STACKS:
        cfg = model(directory, stack)
        # A first run with public entry on is the gate's job (test below); everything else passes as a first run.
        first_run = not cfg.public_entry.enabled
        checks = preflight.offline(cfg, rendered[stack], TODAY, f"Pulumi.{stack}.yaml", first_run=first_run)
        assert [c.line() for c in checks if not c.ok] == [], stack
        assert checks, stack


def test_budget_starting_before_this_month_fails_with_key_and_fix(plans) -> None:
    cfg = model(ROOT, "prd")
    late = preflight.budget(cfg, plans["prd"], date(2027, 2, 10), "Pulumi.prd.yaml", first_run=True)
    assert not late[0].ok
    assert "Pulumi.prd.yaml: caas:monitoring.budget.startDate: 2027-01-01 lies before" in late[0].line()
    assert 'set it to "2027-02-01"' in late[0].fix
    too_early = preflight.budget(cfg, plans["prd"], date(2025, 12, 31), "Pulumi.prd.yaml")
    assert not too_early[0].ok
    assert "twelve months" in too_early[0].detail
    assert preflight.budget(cfg, plans["prd"], date(2027, 1, 31), "Pulumi.prd.yaml")[0].ok
    # An existing budget keeps its start: after the first run a past start is no failure.
    assert preflight.budget(cfg, plans["prd"], date(2027, 2, 10), "Pulumi.prd.yaml", first_run=False)[0].ok


def test_kubernetes_version_past_end_of_support_fails_and_warns_before(plans) -> None:
    """1.36 ends with June 2027: ok with a warning inside 60 days, FAIL the day after, FAIL before its GA."""
    cfg, plan = model(ROOT, "prd"), plans["prd"]
    end = RELEASES["1.36"].end_of_life
    assert end == date(2027, 6, 30)
    assert "warning" not in preflight.kubernetes_version(cfg, plan, TODAY, "P")[0].detail
    near = preflight.kubernetes_version(cfg, plan, date(2027, 5, 15), "P")[0]
    assert near.ok
    assert "support ends in 46 days" in near.detail
    past = preflight.kubernetes_version(cfg, plan, date(2027, 7, 1), "Pulumi.prd.yaml")[0]
    assert not past.ok
    assert past.detail.startswith("Pulumi.prd.yaml: caas:aks.kubernetesVersion: 1.36 reached end")
    assert "1.37" in past.fix
    assert not preflight.kubernetes_version(cfg, plan, date(2026, 5, 1), "P")[0].ok


def switched_on(cfg):
    """The stack as it is once its certificates are imported: caas:publicEntry.enabled true."""
    return cfg.model_copy(update={"public_entry": cfg.public_entry.model_copy(update={"enabled": True})})


def test_public_entry_is_a_first_run_gate() -> None:
    """Enabled on a first run is FAIL (the stack creates the vault); otherwise the certificates are named."""
    cfg = switched_on(model(ROOT, "prd"))
    first = preflight.public_entry(cfg, "Pulumi.prd.yaml", first_run=True)[0]
    assert not first.ok
    assert first.detail.startswith("Pulumi.prd.yaml: caas:publicEntry.enabled")
    later = preflight.public_entry(cfg, "Pulumi.prd.yaml", first_run=False)[0]
    assert later.ok
    assert all(r.certificate in later.detail for r in derive(cfg).public_routes)
    off = preflight.public_entry(model(ROOT, "int"), "Pulumi.int.yaml", first_run=True)[0]
    assert off.ok
    assert off.detail.startswith("off")


def test_every_shipped_stack_passes_the_first_run_preflight(plans, example_plans) -> None:
    """What `python -m caas preflight --stack S --first-run` checks offline finds no FAIL in any shipped stack of
    either customer: the samples deploy as they are (the public entry is off until the certificates are in)."""
    for directory, rendered in ((ROOT, plans), (EXAMPLE, example_plans)):
        project = Project.at(directory)
        for stack in project.stacks():
            checks = preflight.offline(model(directory, stack), rendered[stack], TODAY, stack, first_run=True)
            assert [c for c in checks if not c.ok] == [], (directory.name, stack)


def test_providers_and_features_follow_the_plan(plans) -> None:
    shared, _ = preflight.required_providers(plans["shared"])
    prd, unknown = preflight.required_providers(plans["prd"])
    assert {"Microsoft.DevOpsInfrastructure", "Microsoft.DevCenter", "Microsoft.ContainerRegistry"} <= set(shared)
    assert {"Microsoft.ContainerService", "Microsoft.Sql", "Microsoft.DBforPostgreSQL"} <= set(prd)
    assert "Microsoft.ContainerService" not in shared
    assert unknown == []
    assert preflight.required_features(plans["prd"]) == [("Microsoft.Compute", "EncryptionAtHost")]


def test_vcpu_demand_sums_vms_pools_with_surge_and_agents(plans) -> None:
    """prd: 12 VMs (2+2 D2s, 4 E4s, 4 E2s), system pool D4ds x (5 + 33% surge) and user D8ds x (12 + 33%)."""
    demand = preflight.vcpu_demand(plans["prd"])
    cluster = plans["prd"].one("azure-native:containerservice:ManagedCluster", "aks-cluster").inputs
    system = cluster["agentPoolProfiles"][0]
    user = plans["prd"].one("azure-native:containerservice:AgentPool", "aks-pool-user").inputs
    nodes = lambda p: p["maxCount"] + -(-p["maxCount"] * int(p["upgradeSettings"]["maxSurge"][:-1]) // 100)  # noqa: E731
    assert demand[("westeurope", "standardDDSv5Family")] == 4 * nodes(system) + 8 * nodes(user)
    assert demand[("westeurope", "standardDSv5Family")] == 4 * 2
    assert demand[("westeurope", "standardESv5Family")] == 4 * 4 + 4 * 2
    agents = preflight.vcpu_demand(plans["shared"])
    # The pool in the primary hub and the one in the DR hub (each at most 2 agents of 2 vCPUs).
    assert agents == {("westeurope", "standardDADSv5Family"): 2 * 2, ("northeurope", "standardDADSv5Family"): 2 * 2}
    assert preflight.quota_family("Standard_D2lds_v5") == "standardDLDSv5Family"


def test_global_names_lists_what_the_plan_claims(plans) -> None:
    claimed = dict((name, kind) for kind, name in preflight.global_names(plans["prd"]))
    assert claimed["kv-acme-prd-weu"] == "key vault"
    assert claimed["stacmeprdweunfs"] == "storage"
    assert claimed["sqlmi-acme-prd-neu"] == "SQL managed instance"
    assert claimed["psql-acme-prd-weu"] == "PostgreSQL server"


class RecordedAz:
    """Answers `az` commands from the fixtures; records what was asked."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.asked: list[Sequence[str]] = []

    def __call__(self, args: Sequence[str]) -> Any:
        self.asked.append(args)
        text = " ".join(args)
        for marker, answer in self.answers.items():
            if marker in text:
                if isinstance(answer, Exception):
                    raise answer
                return answer
        raise AssertionError(f"unexpected az {text}")


def recorded() -> RecordedAz:
    return RecordedAz(
        {
            '"name": "stacmeprdweunfs"': fixture("check-name-storage-taken.json"),
            "checkNameAvailability": fixture("check-name-available.json"),
            "resource list": [],
            "deletedVaults": fixture("deleted-vaults.json"),
            "aks get-versions": fixture("aks-get-versions.json"),
            "/usages": fixture("compute-usages.json"),
            "vault.azure.net/certificates": fixture("certificates.json"),
            "provider show --namespace Microsoft.ContainerService": fixture("provider-show.json"),
            "provider show": {**fixture("provider-show.json"), "registrationState": "Registered"},
            "feature show": fixture("feature-show.json"),
        }
    )


def test_online_checks_against_recorded_answers(plans) -> None:
    cfg, plan = switched_on(model(ROOT, "prd")), plans["prd"]
    checks = {c.name: c for c in preflight.online(recorded(), cfg, plan, TODAY)}
    failed = {name for name, c in checks.items() if not c.ok}
    # Taken elsewhere (not in this subscription), a soft-deleted vault of the same name, quota too small for
    # the DDSv5 family and in total, certificates missing or expired, a provider not registered.
    assert "name stacmeprdweunfs" in failed
    assert "choose another caas:customer.code" in checks["name stacmeprdweunfs"].fix
    assert checks["name kv-acme-prd-weu"].ok
    assert "deleted vault kv-acme-prd-weu" in failed
    assert "az keyvault recover --name kv-acme-prd-weu" in checks["deleted vault kv-acme-prd-weu"].fix
    assert checks["aks versions"].ok
    assert "1.36.1, 1.36.2" in checks["aks versions"].detail
    assert "quota westeurope standardDDSv5Family" in failed
    assert checks["quota westeurope standardESv5Family"].ok
    assert checks["quota westeurope cores"].detail.startswith("needs 188, 338 free")
    assert checks["certificate shop-acme-shop-com"].ok
    assert "certificate pwa-acme-shop-com" in failed  # expired 2026-09-21
    assert "az keyvault certificate import" in checks["certificate iom-acme-shop-com"].fix
    assert "provider Microsoft.ContainerService" in failed
    assert checks["provider Microsoft.Network"].ok
    assert checks["feature Microsoft.Compute/EncryptionAtHost"].ok
    assert preflight.report(list(checks.values()))[1] == 1


def test_online_preview_only_version_fails(plans) -> None:
    cfg = model(EXAMPLE, "prd").model_copy(
        update={"aks": model(EXAMPLE, "prd").aks.model_copy(update={"kubernetes_version": "1.37"})}
    )
    check = preflight.online_aks_versions(recorded(), cfg, plans["prd"])[0]
    assert not check.ok
    assert check.fix == "use 1.35, 1.36"


def test_a_failing_az_call_is_a_fail_line_and_the_rest_still_runs(plans) -> None:
    az = recorded()
    az.answers = {**az.answers, "deletedVaults": preflight.AzError(["rest"], "ERROR: Please run 'az login'.")}
    checks = preflight.online(az, model(ROOT, "prd"), plans["prd"], TODAY)
    assert any(c.name == "az" and not c.ok and "az login" in c.detail for c in checks)
    assert any(c.name == "aks versions" for c in checks)


def test_secret_rotation_is_due_after_the_lifetime(project):
    """The secrets expire secretLifetimeDays after secretsRotatedOn; an expired one is an overdue rotation."""
    cfg = project.load("prd")[0]
    rotated = cfg.key_vault.secrets_rotated_on
    lifetime = timedelta(days=cfg.key_vault.secret_lifetime_days)
    [fresh] = preflight.secret_rotation(cfg, rotated + timedelta(days=1), "Pulumi.prd.yaml")
    assert fresh.ok
    assert "rotate soon" not in fresh.detail
    [soon] = preflight.secret_rotation(cfg, rotated + lifetime - timedelta(days=10), "Pulumi.prd.yaml")
    assert soon.ok
    assert "rotate soon" in soon.detail
    [overdue] = preflight.secret_rotation(cfg, rotated + lifetime, "Pulumi.prd.yaml")
    assert not overdue.ok
    assert "Pulumi.prd.yaml: caas:keyVault.secretsRotatedOn" in overdue.detail
