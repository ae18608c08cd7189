"""Figure #8: how long enabling the installed extension zip takes in this Blender, and the
first-use import time of httpx and Pillow (each in a fresh process: imports are cached after).

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
print("ENABLE_MS", json.dumps([first, timed_enable()]))
"""

IMPORT = """
import json, sys, time
started = time.perf_counter()
__import__(sys.argv[1])
print("IMPORT_MS", json.dumps((time.perf_counter() - started) * 1000))
"""


def run_script(script: str, *args: str, home: Path | None = None) -> Any:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VEO_USER_DIR")}
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
    firsts, agains = [], []
    with tempfile.TemporaryDirectory() as home:
        run_script(INSTALL, str(arguments.zip.resolve()), MODULE, home=Path(home))
        for _ in range(arguments.runs):
            first, again = run_script(ENABLE, "", MODULE, home=Path(home))
            firsts.append(first)
            agains.append(again)
    figures = [
        figure(
            f"#8 enable time of the installed zip, Blender {version}",
            median(agains),
            "ms",
            "< 50 ms",
            f"first enable in a new Blender, with its own extension set-up: {median(firsts):.0f} ms",
            COMMAND,
            note=f"addon_utils.enable of the installed zip (import + register); median of {arguments.runs} "
            f"runs, each a new process; all: {[round(v, 1) for v in agains]}",
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
