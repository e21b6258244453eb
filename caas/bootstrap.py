"""First-run set-up with the standard library only: create ``.venv`` and install the pinned requirements.

``python3 -m caas ...`` on a fresh machine lands here before anything imports Pulumi.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
REQUIRED_MODULES = ("pulumi", "pulumi_azure_native", "pulumi_kubernetes", "pydantic", "yaml")


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _has_requirements() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in REQUIRED_MODULES)


def ensure() -> None:
    """Continue in this interpreter if it has the requirements; otherwise (create and) switch to .venv."""
    if _has_requirements():
        return
    python = _venv_python()
    if Path(sys.executable).resolve() == python.resolve() and python.exists():
        raise SystemExit(f"{VENV} lacks the pinned requirements: run {python} -m pip install -r {REQUIREMENTS}")
    if not python.exists():
        print(f"caas: creating {VENV} and installing {REQUIREMENTS.name} (first run only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    check = subprocess.run(
        [str(python), "-c", f"import {', '.join(REQUIRED_MODULES)}"], capture_output=True, check=False
    )
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    os.execv(str(python), [str(python), "-m", "caas", *sys.argv[1:]])
