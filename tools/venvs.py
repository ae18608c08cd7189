"""Create (or reuse) the development virtual environments listed in tools/pins.toml.

Usage: python3 tools/venvs.py NAME   -> prints the venv's python path

A venv is rebuilt only when its resolved pin list differs from the one recorded
in it, so re-running `make test` costs nothing once everything is installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "tools" / "pins.toml"
VENVS = ROOT / ".venv"


def requirements_for(name: str) -> list[str]:
    pins = tomllib.loads(PINS.read_text())
    tables = pins.get("venv", {})
    if name not in tables:
        raise SystemExit(f"unknown venv {name!r}; known: {', '.join(sorted(tables))}")
    merged = {**pins.get("common", {}), **tables[name]}
    return [f"{package}=={version}" for package, version in sorted(merged.items())]


def ensure(name: str) -> Path:
    wanted = "\n".join(requirements_for(name)) + "\n"
    home = VENVS / name
    python = home / "bin" / "python"
    stamp = home / "pins.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if importlib.util.find_spec("ensurepip") is None:
        raise SystemExit(
            f"{sys.executable} cannot create a virtual environment with pip: "
            "install Python's venv module (Debian: apt-get install python3-venv)"
        )
    print(f"[venvs] installing {name} into {home}", file=sys.stderr, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted.split()],
        check=True,
    )
    stamp.write_text(wanted)
    return python


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(ensure(sys.argv[1]))
