"""``python -m caas bench``: what an offline plan costs, against the floor the Pulumi SDK itself sets.

Per stack, in fresh interpreters:
- plan: ``python -m caas plan --stack <s> --format json`` — wall time and peak RSS;
- floor: importing the SDK modules the program uses, then registering the very same resources (same types,
  names, parents, inputs and type aliases) with bare ``pulumi.CustomResource``/``ComponentResource`` under plain
  mocks. pulumi-azure-native attaches one alias per historical API version to each resource and the SDK
  resolves every one, so this, not our code, dominates a plan. The floor counts the stack's own resources
  only: an environment's plan derives the shared outputs it reads (caas.stack_outputs) and replays no other
  stack.

Then the test suite, once, alone: ``python -m pytest -q`` wall time (the budget is 45 s on 2 cores).

The fleet run renders N generated customers x (int, uat, prd) in one process to show cost per resource as N grows.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from caas.plan import PROGRAM_ROOT, Project

RUNS = 3


def _child(args: list[str]) -> tuple[float, float, str]:
    """Run ``python <args>`` in a fresh interpreter: wall seconds, its own peak RSS in MiB, stdout."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, *args], stdout=out, stderr=subprocess.PIPE, cwd=PROGRAM_ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, not the running maximum
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            assert process.stderr is not None  # opened as a PIPE above
            raise RuntimeError(f"{' '.join(args)} failed: {process.stderr.read().decode()}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read()


def _median(values: list[float]) -> float:
    return statistics.median(values)


def floor_main(*plan_paths: str) -> None:
    """Replay recorded plans with bare SDK resources; print import and registration seconds as JSON."""
    import importlib

    started = time.perf_counter()
    import pulumi

    from caas.mocks import RecordingMocks
    from caas.sdk_internals import reset_root

    documents = [json.loads(Path(p).read_text()) for p in plan_paths]
    classes = {}
    for r in (r for d in documents for r in d["resources"]):
        package, module, typ = r["type"].split(":")
        if package == "azure-native" and r["type"] not in classes:
            classes[r["type"]] = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), typ)
    imported = time.perf_counter()
    aliases = {token: _aliases(cls) for token, cls in classes.items()}
    for document in documents:
        reset_root()
        pulumi.runtime.set_mocks(RecordingMocks(), project=document["project"], stack=document["stack"], preview=False)
        pulumi.runtime.test(lambda d=document: _replay(d["resources"], aliases))()
    finished = time.perf_counter()
    print(json.dumps({"import": imported - started, "register": finished - imported}))


def _replay(resources: list[dict], aliases: dict[str, list[str]]) -> None:
    """Register each recorded resource again with the bare SDK: same type, name, parent, inputs, aliases."""
    import pulumi

    made: dict[str, pulumi.Resource] = {}
    # Parents before children: a URN's type chain is one longer than its parent's.
    for r in sorted(resources, key=lambda r: r["urn"].split("::")[2].count("$")):
        opts = pulumi.ResourceOptions(parent=made.get(r["parent"]), protect=r["protect"])
        if r["type"].startswith("intershop:"):
            made[r["urn"]] = pulumi.ComponentResource(r["type"], r["name"], None, opts)
        elif r["type"] == "pulumi:pulumi:StackReference":
            made[r["urn"]] = pulumi.StackReference(r["name"], stack_name=r["inputs"]["name"], opts=opts)
        else:
            opts.aliases = [pulumi.Alias(type_=a) for a in aliases.get(r["type"], [])]
            made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], dict(r["inputs"]), opts)


def _aliases(cls: type) -> list[str]:
    """The type aliases an azure-native class attaches (literal in its generated source)."""
    source = inspect.getsource(sys.modules[cls.__module__])
    return re.findall(r'pulumi\.Alias\(type_="([^"]+)"\)', source)


def measure_stack(stack: str, directory: Path) -> dict[str, float]:
    plans, peaks, floors, imports = [], [], [], []
    rendered: dict[str, str] = {}
    for _ in range(RUNS):
        wall, peak, out = _child(["-m", "caas", "plan", "--dir", str(directory), "--stack", stack, "--format", "json"])
        plans.append(wall)
        peaks.append(peak)
        rendered[stack] = out
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stack}.json"
        path.write_text(rendered[stack])
        for _ in range(RUNS):
            wall, _, out = _child(["-c", f"from caas.bench import floor_main; floor_main({str(path)!r})"])
            floors.append(wall)
            imports.append(json.loads(out)["import"])
    plan_json = rendered[stack]
    count = len(json.loads(plan_json)["resources"])
    return {
        "resources": count,
        "plan_s": _median(plans),
        "peak_mib": _median(peaks),
        "floor_s": _median(floors),
        "import_s": _median(imports),
        "ratio": _median(plans) / _median(floors),
    }


def fleet(customers: int, workdir: Path) -> dict[str, float]:
    """Render ``customers`` generated customers x (int, uat, prd) in this one process."""
    from caas.plan import render

    template = Project.at(PROGRAM_ROOT)
    projects = []
    for i in range(customers):
        code = f"fleet{i:02d}"
        folder = workdir / code
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Pulumi.yaml").write_text(f"name: caas-{code}\nruntime:\n  name: python\nmain: {PROGRAM_ROOT}\n")
        for stack in template.stacks():
            text = template.stack_file(stack).read_text()
            (folder / f"Pulumi.{stack}.yaml").write_text(
                text.replace("code: acme", f"code: {code}").replace("acme/caas-acme/", f"acme/caas-{code}/")
            )
        projects.append(Project.at(folder))
    start = time.perf_counter()
    resources = 0
    for project in projects:
        for stack in ("int", "uat", "prd"):
            resources += len(render(project, stack).resources)
    wall = time.perf_counter() - start
    return {"customers": customers, "resources": resources, "wall_s": wall, "ms_per_resource": 1000 * wall / resources}


def suite(paths: tuple[str, ...] = ()) -> tuple[float, float, str]:
    """One test run in a fresh interpreter: wall seconds, CPU seconds (its workers included: they are reaped by
    pytest, so ``wait4`` counts them) and pytest's summary line. CPU / 2 bounds the wall time alone on 2 cores
    from below when other processes share the machine."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        # pyproject's addopts already has -q; a second -q would drop the "N passed in ..." line.
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *paths],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROGRAM_ROOT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        lines = out.read().strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    summary = lines[-1].strip("= ") if lines else ""
    return wall, usage.ru_utime + usage.ru_stime, summary if code == 0 else f"FAILED (exit {code}): {summary}"


def run(fleet: list[int], stacks: list[str], directory: Path = PROGRAM_ROOT, with_suite: bool = True) -> int:
    print(f"Offline plan vs SDK floor (median of {RUNS} fresh interpreters each)")
    print(
        f"{'stack':<8} {'resources':>9} {'plan s':>8} {'floor s':>8} {'import s':>9} {'plan/floor':>10} {'peak MiB':>9}"
    )
    for stack in stacks:
        m = measure_stack(stack, directory)
        print(
            f"{stack:<8} {m['resources']:>9} {m['plan_s']:>8.2f} {m['floor_s']:>8.2f} {m['import_s']:>9.2f} "
            f"{m['ratio']:>10.2f} {m['peak_mib']:>9.0f}"
        )
    if fleet:
        print("\nFleet: N generated customers x (int, uat, prd), one process")
        print(f"{'N':>3} {'resources':>9} {'wall s':>8} {'ms/resource':>12}")
        for n in fleet:
            with tempfile.TemporaryDirectory() as tmp:
                f = _fleet_in_child(n, Path(tmp))
            print(f"{f['customers']:>3} {f['resources']:>9} {f['wall_s']:>8.2f} {f['ms_per_resource']:>12.2f}")
    if with_suite:
        wall, cpu, summary = suite()
        print(f"\nTest suite (once): {wall:.1f} s wall, {cpu:.1f} s CPU (budget: 45 s wall alone on 2 cores)")
        print(f"  {summary}")
    return 0


def _fleet_in_child(customers: int, workdir: Path) -> dict[str, float]:
    """Each fleet size in a fresh interpreter, so earlier sizes do not warm the imports of later ones."""
    code = (
        "import json; from pathlib import Path; from caas.bench import fleet; "
        f"print(json.dumps(fleet({customers}, Path({str(workdir)!r}))))"
    )
    _, _, out = _child(["-c", code])
    return json.loads(out.strip().splitlines()[-1])
