"""The core is plain Python: it must import and work where Blender is absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_modules_never_import_bpy() -> None:
    modules = sorted(
        f"veo_addon.core.{path.stem}"
        for path in (ROOT / "veo_addon" / "core").glob("*.py")
        if path.stem != "__init__"
    )
    assert modules, "no core modules found"
    probe = (
        "import importlib, sys\n"
        "sys.modules['bpy'] = None  # any 'import bpy' now raises ImportError\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_add_on_package_imports_without_bpy() -> None:
    probe = "import sys; sys.modules['bpy'] = None; import veo_addon; print('ok')"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
