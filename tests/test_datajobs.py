"""Data jobs: the data identity's rights and logins, the facts the pipelines read, the pipelines' order of
stages, and the DR statement. Pure: the stack models only, no render."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from caas import datajobs
from caas.cli import main
from caas.delivery import for_project
from caas.plan import Project
from caas.specs import derive

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = ROOT / "pipelines" / "data"
# ../shared beside the checkout, as in CI.
SCHEMA = ROOT.parent / "shared" / "schemas" / "azure-pipelines" / "service-schema.json"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def models() -> dict:
    project = Project.at(ROOT)
    return {stack: project.load(stack)[0] for stack in project.stacks()}


@pytest.fixture(scope="module")
def delivery():
    return for_project(Project.at(ROOT))


def _pipeline(name: str) -> dict:
    return yaml.safe_load((PIPELINES / name).read_text(encoding="utf-8"))


# -- roles ------------------------------------------------------------------------------------------------


def test_every_grant_is_a_built_in_role_at_a_resource_scope_of_its_stack(models):
    """Role ids are GUIDs of the named built-in role; every scope lies inside the stack's own groups, and no
    grant covers a whole estate resource group (only the restore group) or the subscription."""
    grants = datajobs.role_grants(models)
    assert grants
    for g in grants:
        assert GUID.match(g.role_id)
        assert datajobs.BUILT_IN_ROLES[g.role] == g.role_id
        cfg = models[g.stack]
        group = derive(cfg).names.resource("resource_group")
        assert g.scope.startswith(f"/subscriptions/{{subscriptionId}}/resourceGroups/{group}"), g
        if g.scope.count("/") == 4:  # a resource group itself
            assert g.scope.endswith(datajobs.restore_group(cfg)), g
    assert not {"Owner", "User Access Administrator"} & {g.role for g in grants}


def test_refresh_target_only_gets_the_restart_rights(models):
    """Stopping and restarting applications is granted in uat (the refresh target), never in prd or int."""
    restart = {"Azure Kubernetes Service RBAC Writer", "Virtual Machine Contributor"}
    by_stack = {g.stack for g in datajobs.role_grants(models) if g.role in restart}
    assert by_stack == {"uat"}


def test_backup_operator_on_the_vault_where_hosts_are_backed_up(models):
    grants = datajobs.role_grants(models)
    for stack, cfg in models.items():
        spec = derive(cfg)
        if cfg.is_shared or spec.data_model is None:
            continue
        vaults = [g.scope for g in grants if g.stack == stack and g.role == "Backup Operator"]
        expected = spec.data_model.vault is not None and bool(spec.icm710_hosts)
        assert bool(vaults) == expected
        if expected:
            assert vaults[0].endswith(f"/vaults/{spec.data_model.vault.name}")


# -- logins -----------------------------------------------------------------------------------------------


def test_sql_logins_give_db_owner_in_prd_databases_and_only_a_login_in_uat(models, delivery):
    identity = delivery.data_identity
    prd = datajobs.sql_logins(models["prd"], identity)
    assert prd["master"] == [f"CREATE LOGIN [{identity}] FROM EXTERNAL PROVIDER;"]
    for db in derive(models["prd"]).data_model.sql_mi.databases.values():
        assert f"CREATE USER [{identity}] FROM LOGIN [{identity}];" in prd[db]
        assert f"ALTER ROLE db_owner ADD MEMBER [{identity}];" in prd[db]
    assert datajobs.sql_logins(models["uat"], identity) == {"master": prd["master"]}
    assert datajobs.sql_logins(models["int"], identity) == {}
    assert "sysadmin" not in json.dumps(prd)
    assert "SERVER ROLE" not in json.dumps(prd)


def test_postgres_logins_make_the_identity_a_member_of_ioms_owner(models, delivery):
    identity = delivery.data_identity
    for stack in ("prd", "uat"):
        statements = datajobs.postgres_logins(models[stack], identity)
        assert statements[0] == f"SELECT * FROM pgaadauth_create_principal('{identity}', false, false);"
        assert f'GRANT "oms_user" TO "{identity}";' in statements
        assert not any("azure_pg_admin" in s or "SUPERUSER" in s for s in statements)
    assert datajobs.postgres_logins(models["int"], identity) == []


# -- facts ------------------------------------------------------------------------------------------------


def test_datajobs_facts_are_the_models_names(models, capsys):
    """`python -m caas datajobs` prints the names the components deploy, from the same model."""
    assert main(["datajobs", "--stack", "prd", "--dir", str(ROOT)]) == 0
    facts = json.loads(capsys.readouterr().out)
    cfg = models["prd"]
    data = derive(cfg).data_model
    assert facts["resourceGroup"] == derive(cfg).names.resource("resource_group")
    assert facts["icmDatabase"]["instance"] == data.sql_mi.name
    assert facts["icmDatabase"]["databases"] == data.sql_mi.databases
    assert all(c.endswith(datajobs.COPY_SUFFIX) for c in facts["icmDatabase"]["copies"].values())
    assert facts["iomDatabase"]["server"] == data.postgres.name
    assert facts["vault"]["name"] == data.vault.name
    assert facts["gated"] is True
    assert facts["serviceConnection"] == f"caas-{cfg.customer.code}-data"
    # Protected items carry the names components.backup gives them, one per ICM 7.10 host.
    items = facts["vault"]["protectedItems"]
    assert set(items) == set(facts["vms"])
    for label, item in items.items():
        assert item["item"] == f"VM;iaasvmcontainerv2;{facts['resourceGroup']};{facts['vms'][label]}"


def test_datajobs_refuses_the_shared_stack(capsys):
    assert main(["datajobs", "--stack", "shared", "--dir", str(ROOT)]) == 2
    assert "environment stacks" in capsys.readouterr().err


# -- pipelines --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["refresh-uat.yml", "restore.yml", "templates/facts.yml"])
def test_pipeline_files_validate_against_the_schema(name):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(_pipeline(name)))
    assert not errors, errors[0].message[:300]


def _after(stages: dict, name: str) -> set[str]:
    """Every stage `name` transitively depends on."""
    deps = stages[name].get("dependsOn", [])
    deps = [deps] if isinstance(deps, str) else deps
    found = set(deps)
    for dep in deps:
        found |= _after(stages, dep)
    return found


def test_refresh_approves_on_prd_before_anything_moves_and_pseudonymises_before_uat():
    doc = _pipeline("refresh-uat.yml")
    stages = {s["stage"]: s for s in doc["stages"]}
    approve = stages["Approve"]["jobs"][0]
    assert approve["deployment"]
    assert approve["environment"] == "${{ variables.environmentPrd }}"
    assert doc["trigger"] == "none"
    assert doc["pr"] == "none"
    for name in stages:
        if name != "Approve":
            assert "Approve" in _after(stages, name), name
    assert {"CopyInsidePrd", "Pseudonymise"} <= _after(stages, "CopyToUat")
    # The restore point of uat's copy is the one taken after pseudonymisation.
    assert "stageDependencies.Pseudonymise" in stages["CopyToUat"]["variables"]["restorePoint"]
    # IOM: the dump comes after the pseudonymisation, and the restore into uat after the dump.
    script = stages["Iom"]["jobs"][0]["steps"][1]["inputs"]["inlineScript"]
    assert script.index('parameters.iomScript }}"') < script.index("pg_dump") < script.index("pg_restore")
    assert "--no-owner" in script
    assert "--no-privileges" in script
    # The prd copies are dropped even after a failure, but never without approval.
    assert "dependencies.Approve.result, 'Succeeded'" in stages["DropCopy"]["condition"]


def test_restore_approves_on_the_chosen_environment_first():
    doc = _pipeline("restore.yml")
    params = {p["name"]: p for p in doc["parameters"]}
    assert params["store"]["values"] == ["icmDatabase", "iomDatabase", "vm"]  # no file share: no backup
    stages = {s["stage"]: s for s in doc["stages"]}
    approve = stages["Approve"]["jobs"][0]
    # environment<Int|Uat|Prd>: the delivery template's variable of the chosen stack (prd's is gated).
    assert approve["environment"] == "${{ variables[format('environment{0}', parameters.environment)] }}"
    assert {p.capitalize() for p in ("int", "uat", "prd")} == set(params["environment"]["values"])
    assert _after(stages, "Verify") == {"Restore", "Approve"}


@pytest.mark.parametrize("name", ["refresh-uat.yml", "restore.yml", "templates/facts.yml"])
def test_data_pipelines_never_deploy_and_type_no_resource_name(name, models):
    """No `pulumi up`; every physical name comes from the facts, none is typed into the YAML."""
    text = json.dumps(_pipeline(name))  # what runs: the parsed file, without its comments
    assert "pulumi " not in text
    for cfg in models.values():
        spec = derive(cfg)
        if spec.data_model is not None:
            for physical in (
                spec.data_model.sql_mi.name,
                spec.names.resource("resource_group"),
                *datajobs.vm_hosts(cfg).values(),
            ):
                assert physical not in text
    subscriptions = re.findall(r'"azureSubscription": "([^"]+)"', text)
    assert set(subscriptions) <= {"${{ variables.dataServiceConnection }}"}, "only the data service connection"


# -- DR statement -----------------------------------------------------------------------------------------


def _volume_workloads(cfg) -> set[str]:
    """NFS shares wherever the stack has them; AKS disk volumes where a cluster is backed up."""
    spec = derive(cfg)
    found = {"sharedFiles"} if spec.nfs_shares else set()
    return found | ({"aksVolumes"} if spec.aks_pools and cfg.profile.backup else set())


@pytest.mark.parametrize(("stack", "gateway"), [("int", False), ("uat", False), ("prd", False), ("prd", True)])
def test_dr_statement_covers_every_workload_the_stack_deploys(models, stack, gateway):
    """One row pair per workload the stack deploys; the gateway's once the public entry is switched on."""
    cfg = models[stack]
    if gateway:  # the shipped samples keep it off until their certificates are imported
        cfg = cfg.model_copy(update={"public_entry": cfg.public_entry.model_copy(update={"enabled": True})})
    spec = derive(cfg)
    rows = datajobs.dr_statement(cfg, models["shared"])
    workloads = {r.workload for r in rows}
    expected = {"icmDatabase", "keyVault", "registry"}
    if spec.data_model.postgres is not None:
        expected.add("iomDatabase")
    if spec.icm710_hosts:
        expected |= {"icmHosts", "search"}
    if spec.aks_pools:
        expected.add("aksApplications")
    expected |= _volume_workloads(cfg)
    if cfg.public_entry.enabled:
        expected.add("appGateway")
    if spec.sftp_endpoint is not None:
        expected.add("sftp")
    assert workloads == expected
    for row in rows:
        assert row.covered == (row.rto is not None)
        assert row.basis in ("documented", "estimate")
        if row.basis == "estimate":
            assert "estimate" in row.how  # the reason is stated
    # NFS shares are never claimed to survive the region: their snapshots live in the same account.
    assert not any(r.covered for r in rows if r.workload == "sharedFiles" and r.scenario == "regionLoss")


def test_dr_markdown_labels_every_workload(models):
    text = datajobs.dr_markdown(models["prd"], models["shared"])
    for workload in {r.workload for r in datajobs.dr_statement(models["prd"], models["shared"])}:
        assert datajobs.WORKLOAD_LABELS[workload] in text


@pytest.mark.parametrize("stack", ["prd", "uat", "int"])
def test_docs_show_the_current_dr_statement(models, stack):
    """docs/recovery.md renders the statement for every shipped stack; regenerate it when the model changes
    (`python -m caas datajobs --stack <stack> --format dr`)."""
    text = (ROOT / "docs" / "recovery.md").read_text(encoding="utf-8")
    section = text.split(f"### {stack} (acme)\n\n", 1)[1]
    assert section.startswith(datajobs.dr_markdown(models[stack], models["shared"]))
