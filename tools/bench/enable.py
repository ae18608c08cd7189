"""Figure #8: how long enabling the installed extension zip takes in this Blender, and the
first-use import time of httpx and Pillow (each in a fresh process: imports are cached after).

Blender writes the bytecode of the modules it imports next to them (`__pycache__` in the
extension's folder), so every start after the first reads compiled modules: that is the
figure. Beside it, the same enable with no bytecode to read (the first start after installing,
or a read-only extensions folder), where every module the add-on imports is compiled first.
PYTHONDONTWRITEBYTECODE, if set in the calling shell, is dropped for the first and set for the
second, so both are measured whatever the environment says.

    .venv/blender50/bin/python tools/bench/enable.py --zip dist/veo_transitions-...-linux_x64.zip [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import emit, figure, median

COMMAND = "make bench (tools/bench/enable.py, per Blender)"
MODULE = "bl_ext.user_default.veo_transitions"

# In a fresh HOME: install (the wheels are unpacked on the first enable).
INSTALL = """
import sys
import bpy, addon_utils
bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo="user_default", enable_on_install=True)
print("ENABLE_MS 0")
"""

# A new Blender with the extension installed: the first enable also pays Blender's once-per-process
# extension set-up; the second (module dropped from sys.modules) is the add-on's own import + register.
# Then the load handler, as Blender runs it for the start-up file right after enabling add-ons.
ENABLE = """
import json, sys, time
import bpy, addon_utils
def timed_enable():
    started = time.perf_counter()
    addon_utils.enable(sys.argv[2], default_set=True, handle_error=None)
    assert sys.argv[2] in bpy.context.preferences.addons, "not enabled"
    return (time.perf_counter() - started) * 1000
first = timed_enable()
addon_utils.disable(sys.argv[2], default_set=False)
for name in [name for name in sys.modules if name.startswith(sys.argv[2])]:
    del sys.modules[name]
again = timed_enable()
started = time.perf_counter()
sys.modules[sys.argv[2] + ".blender.handlers"].on_load_post()
print("ENABLE_MS", json.dumps([first, again, (time.perf_counter() - started) * 1000]))
"""

IMPORT = """
import json, sys, time
started = time.perf_counter()
__import__(sys.argv[1])
print("IMPORT_MS", json.dumps((time.perf_counter() - started) * 1000))
"""


def run_script(script: str, *args: str, home: Path | None = None, bytecode: bool = True) -> Any:
    dropped = ("PYTHONPATH", "VEO_USER_DIR", "PYTHONDONTWRITEBYTECODE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if home is not None:
        env["HOME"] = str(home)
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    for line in done.stdout.splitlines():
        if line.startswith(("ENABLE_MS", "IMPORT_MS")):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(
        f"bench: no figure from {script.split()[1]}: {done.stdout[-500:]} {done.stderr[-1500:]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zip", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    import bpy

    version = bpy.app.version_string
    firsts, agains, loads, compiling = [], [], [], []
    with tempfile.TemporaryDirectory() as home:
        # No bytecode written until the compiling runs are done.
        run_script(INSTALL, str(arguments.zip.resolve()), MODULE, home=Path(home), bytecode=False)
        for _ in range(arguments.runs):
            compiling.append(run_script(ENABLE, "", MODULE, home=Path(home), bytecode=False)[1])
        run_script(ENABLE, "", MODULE, home=Path(home))  # Blender's first start writes the bytecode
        for _ in range(arguments.runs):
            first, again, load = run_script(ENABLE, "", MODULE, home=Path(home))
            firsts.append(first)
            agains.append(again)
            loads.append(load)
    figures = [
        figure(
            f"#8 enable time of the installed zip, Blender {version}",
            median(agains),
            "ms",
            "< 50 ms",
            f"with no bytecode yet (first start after installing: every module compiled): "
            f"{median(compiling):.0f} ms; first enable in a new Blender, with its own extension "
            f"set-up: {median(firsts):.0f} ms",
            COMMAND,
            note=f"addon_utils.enable of the installed zip (import + register), Blender's bytecode cache "
            f"written by an earlier start; median of {arguments.runs} runs, each a new process; all: "
            f"{[round(v, 1) for v in agains]}; with no bytecode: {[round(v, 1) for v in compiling]}; "
            f"then the start-up file's load handler (no jobs): {median(loads):.1f} ms",
        ),
    ]
    for module, label in (("httpx", "httpx"), ("PIL.Image", "Pillow (PIL.Image)")):
        times = [run_script(IMPORT, module) for _ in range(arguments.runs)]
        figures.append(
            figure(
                f"#8 first-use import of {label}, Blender {version}'s Python",
                median(times),
                "ms",
                "(read it)",
                "the enable time",
                COMMAND,
                note=f"a fresh process each; median of {arguments.runs} runs",
            )
        )
    emit(figures)


if __name__ == "__main__":
    main()
