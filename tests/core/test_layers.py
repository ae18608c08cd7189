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


def test_no_module_needs_numpy() -> None:
    """Blender from a Linux distribution (Debian's 4.3) comes without numpy, and the extension
    bundles only httpx and Pillow: capturing a keyframe there raised ModuleNotFoundError."""
    using_numpy = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "veo_addon").rglob("*.py")
        if any(
            line.strip().startswith(("import numpy", "from numpy"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
    assert using_numpy == []
