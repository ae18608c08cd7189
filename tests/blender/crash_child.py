"""A Blender process for the crash tests, run as `python crash_child.py ACTION BLEND [JOB_ID]`.

Actions:
- `start-saved`: build an edit, save it, start a generation, wait for its task id, then save
  the .blend with the job in it; print READY and keep polling until killed.
- `start-unsaved-job`: the same, but the .blend is saved before the job and not after it.
- `start-never-saved`: the edit is never saved at all (the job is unclaimed).
- `finish`: open BLEND and run `bpy.ops.veo.resume_jobs()`; with JOB_ID, adopt that job first.
  Prints one line per movie strip: `STRIP name start end`.
The environment carries VEO_BASE_URL, VEO_API_KEY and VEO_USER_DIR.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bpy

import veo_addon
from veo_addon.blender import compat
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.delivery import PollPolicy


def build_edit() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 320, 180
    scene.render.fps = 25
    strips = compat.strip_collection(compat.sequence_editor(scene, create=True))
    for name, start, rgb in (("Left", 1, (0.9, 0.1, 0.1)), ("Right", 101, (0.1, 0.2, 0.9))):
        strip = compat.new_effect(
            strips, name=name, effect_type="COLOR", channel=1, frame_start=start, length=50
        )
        strip.color = rgb
    return scene


def start(action: str, blend: Path) -> None:
    scene = build_edit()
    if action != "start-never-saved":
        bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    options = GenerationOptions(prompt="red to blue", duration="4", seed=7)
    job = manager.start(
        plan_generation(scene, choose_transition(scene, "Left", "Right"), options, service_settings())
    )
    while True:
        manager.pump()
        current = manager.current_job(job.job_id)
        if current is not None and current.task_id:
            break
        time.sleep(0.05)
    if action == "start-saved":
        bpy.ops.wm.save_mainfile()
    print(f"READY {job.job_id} {current.task_id}", flush=True)
    while True:  # keep polling, as Blender would, until the test kills this process
        manager.pump()
        time.sleep(0.05)


def finish(blend: Path, job_id: str | None) -> None:
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    if job_id:
        bpy.ops.veo.adopt_job(job_id=job_id)
    else:
        bpy.ops.veo.resume_jobs()
    bpy.ops.wm.save_mainfile()
    for strip in compat.strips_all(bpy.context.scene):
        if strip.type == "MOVIE":
            print(f"STRIP {strip.name} {compat.visible_start(strip)} {compat.visible_end(strip)}", flush=True)


if __name__ == "__main__":
    veo_addon.register()
    manager.poll_policy = PollPolicy(min_interval=0.2, max_interval=0.5)
    action, blend_path = sys.argv[1], Path(sys.argv[2])
    if action == "finish":
        finish(blend_path, sys.argv[3] if len(sys.argv) > 3 else None)
        # The 4.2 bpy wheel crashes at interpreter exit while add-on classes are registered.
        veo_addon.unregister()
    else:
        start(action, blend_path)
