"""The command line and the program entry point: exit codes, messages, README kept true."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys

import pulumi
import pytest

from caas import reference
from caas.cli import main
from caas.mocks import RecordingMocks
from caas.sdk_internals import reset_root
from tests.conftest import EXAMPLE, ROOT


def test_plan_json_cli(capsys, example_plans) -> None:
    """`plan --format json` prints the documented contract, byte-identical to the session's render (of the
    smallest stack: globex's shared)."""
    assert main(["plan", "--stack", "shared", "--format", "json", "--dir", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["stack"] == "shared"
    assert out == example_plans["shared"].to_json()


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path, capsys) -> None:
    """A broken stack file: exit 2, each line `<file>: caas:<key>: ...`, no traceback."""
    (tmp_path / "Pulumi.yaml").write_text(f"name: caas-bad\nruntime: python\nmain: {ROOT}\n")
    text = (
        (ROOT / "Pulumi.prd.yaml")
        .read_text()
        .replace("code: acme", "code: ACME!")
        .replace("addressSpace: 10.43.0.0/20", "addressSpace: 10.43.0.0/33")
    )
    (tmp_path / "Pulumi.prd.yaml").write_text(text)
    assert main(["plan", "--stack", "prd", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert all(re.match(r"^\S*Pulumi\.prd\.yaml: caas:[\w.\[\]]+: ", line) for line in err)
    assert "Traceback" not in "\n".join(err)


def test_missing_stack_file_exits_2(capsys) -> None:
    """An unknown stack names the stacks that exist."""
    assert main(["plan", "--stack", "dev", "--dir", str(ROOT)]) == 2
    assert "stacks here: int, prd, shared, uat" in capsys.readouterr().err


def test_program_reports_bad_config_as_run_error() -> None:
    """Under `pulumi preview` the program raises RunError (printed without traceback) with the same lines."""
    reset_root()
    pulumi.runtime.set_mocks(RecordingMocks(), project="caas-acme", stack="prd", preview=True)
    pulumi.runtime.set_all_config({"caas:environment": "prd", "caas:customer": '{"code": "x"}'}, [])
    with pytest.raises(pulumi.RunError) as raised:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
    lines = str(raised.value).splitlines()
    assert (
        "Pulumi.prd.yaml: caas:customer.code: invalid value; must be 2-8 lowercase letters/digits, part of every name"
        in lines
    )
    assert (
        "Pulumi.prd.yaml: caas:location: required (Where the stack runs; EU regions only unless waived (GDPR).)"
        in lines
        or any(line.startswith("Pulumi.prd.yaml: caas:location: required") for line in lines)
    )


def test_readme_config_reference_is_current() -> None:
    """The README's config reference equals the one generated from the model."""
    assert reference.readme_section() in (ROOT / "README.md").read_text()


def test_readme_quickstart_commands_are_the_ones_ci_runs() -> None:
    """The two quickstart commands in the README are exactly what .ci/run executes."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("python3 -m caas plan --stack prd", ".venv/bin/python -m pytest"):
        assert command in readme
        assert command in ci


def test_module_entry_point_runs_in_a_fresh_interpreter() -> None:
    """`python -m caas` works as a process: the bootstrap finds the installed requirements and hands over."""
    done = subprocess.run(
        [sys.executable, "-m", "caas", "reference"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == reference.markdown()


def test_mermaid_graph_nests_resources_in_components(plans) -> None:
    """The Mermaid view draws components as subgraphs holding their resources."""
    from caas.plan import as_mermaid

    graph = as_mermaid(plans["shared"])
    assert graph.startswith("flowchart LR")
    assert "subgraph" in graph
    assert "Registry<br/>shared-registry" in graph
