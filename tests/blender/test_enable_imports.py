"""Enabling the add-on loads what its buttons, panels and file handlers need, and nothing that
only a job in flight uses: the runner, the HTTP client's request and download steps, httpx,
Pillow; nor what only a pressed button uses: capturing keyframes, the checks before paying, the
client behind Test Connection. Blender enables add-ons at every start-up, so whatever they
import there, every start pays for (tools/bench/enable.py measures it; with no bytecode yet,
the first start after installing compiles each module too). Right after, Blender runs the load
handlers for the start-up file: a file without jobs loads none of it either.

In a fresh process (this venv's bpy wheel): the test session itself has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What only a job that is sent, polled or downloaded needs.
JOB_ONLY = (
    "httpx",
    "PIL",
    "veo_addon.core.runner",
    "veo_addon.core.submission",
    "veo_addon.core.delivery",
    "veo_addon.core.clipfiles",
    "veo_addon.blender.job_launch",
    "veo_addon.blender.finishing",
    "veo_addon.blender.seams",
    "veo_addon.blender.placement",
    "veo_addon.blender.insert",
)

# What generating or testing the connection needs once pressed, not the registered classes: the
# properties and operators take their enums and option mixins from small modules of their own.
FIRST_USE = (
    "veo_addon.core.client",
    "veo_addon.core.connection",
    "veo_addon.core.download",
    "veo_addon.core.images",
    "veo_addon.core.request",
    "veo_addon.blender.capture",
    "veo_addon.blender.channels",
    "veo_addon.blender.gaps",
    "veo_addon.blender.keyframe_media",
    "veo_addon.blender.presubmit",
    "veo_addon.blender.insertion_plan",
)

ENABLE = """
import json, os, sys, tempfile
os.environ["VEO_USER_DIR"] = tempfile.mkdtemp()  # an empty journal, not the user's
import bpy
watched = json.loads(sys.argv[1])
before = [name for name in watched if name in sys.modules]
import veo_addon
veo_addon.register()
enabled = hasattr(bpy.types, "VEO_OT_generate_transition") and "veo_addon" in sys.modules
at_enable = [name for name in watched if name in sys.modules]
from veo_addon.blender import handlers
handlers.on_load_post()  # as Blender calls it once the start-up file is loaded
at_load = [name for name in watched if name in sys.modules]
veo_addon.unregister()  # the 4.2 wheel crashes on exit with the add-on still registered
result = {"before": before, "enabled": enabled, "at_enable": at_enable, "at_load": at_load}
print("ENABLED " + json.dumps(result), flush=True)
"""


def test_enabling_and_opening_a_file_without_jobs_load_nothing_only_a_job_or_a_pressed_button_needs() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", ENABLE, json.dumps(JOB_ONLY + FIRST_USE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    line = next(line for line in finished.stdout.splitlines() if line.startswith("ENABLED "))
    result = json.loads(line.removeprefix("ENABLED "))
    assert result["before"] == [], "bpy itself loaded them: this test would prove nothing"
    assert result["enabled"], "the add-on's operators were not registered"
    # Registering resolves the classes' annotations: one naming a type left to first use fails loudly.
    assert "Traceback" not in finished.stdout + finished.stderr
    assert result["at_enable"] == []
    assert result["at_load"] == []
