"""A Blender process the fault matrix kills mid-download: `python fault_child.py BLEND`.

Builds the crash tests' edit (crash_child.build_edit), saves it to BLEND, starts a generation
and keeps pumping results like Blender would; prints `READY job_id task_id` once the job is
downloading (its temporary file exists), then goes on until the test kills it. The environment
carries VEO_BASE_URL, VEO_API_KEY and VEO_USER_DIR; crash_child.py's `finish` completes the job.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy
import crash_child

import veo_addon
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.delivery import PollPolicy
from veo_addon.core.job import JobState


def start_and_wait_for_the_download(blend: Path) -> None:
    scene = crash_child.build_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    options = GenerationOptions(prompt="red to blue", duration="4", seed=7)
    job = manager.start(
        plan_generation(scene, choose_transition(scene, "Left", "Right"), options, service_settings())
    )
    clips = blend.parent / "veo_clips"
    while True:
        manager.pump()
        current = manager.current_job(job.job_id)
        if current is not None and current.state is JobState.DOWNLOADING and list(clips.glob("*.part")):
            break
        time.sleep(0.05)
    print(f"READY {job.job_id} {current.task_id}", flush=True)
    while True:
        manager.pump()
        time.sleep(0.05)


if __name__ == "__main__":
    veo_addon.register()
    manager.poll_policy = PollPolicy(min_interval=0.1, max_interval=0.3)
    start_and_wait_for_the_download(Path(sys.argv[1]))
