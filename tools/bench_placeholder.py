"""How long the placeholder holds Blender's main thread when a job starts.

Run with the bpy wheel's Python from the repository root:

    .venv/blender50/bin/python tools/bench_placeholder.py [--runs 21] [--size 1920x1080] [--strips 0]

Captures the two keyframes of a photo-like edit once, then prints the median of several runs,
taking turns, of the job manager's whole `start` with the placeholder on and off (the difference
is what the placeholder costs there: the META strip with its two image strips and crossfade, and
starting the threads that write its pictures), of `placeholder.reserve` alone, and of the next
pump's pick-up of the written pictures. Each started job's worker fails at once (the service
address is closed), as in both arms alike. `--strips` adds other strips to the timeline.
The PNG encoding runs in threads: its time is printed for comparison only. Figures only.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_capture import build_scene

import veo_addon
from veo_addon.blender import compat, placeholder, placeholder_images
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.job import Job


def median_ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:7.2f} ms  (max {max(times) * 1000:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--strips", type=int, default=0)
    arguments = parser.parse_args(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
    size = tuple(int(part) for part in arguments.size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(
            VEO_API_KEY="bench", VEO_BASE_URL="http://127.0.0.1:9", VEO_USER_DIR=str(Path(folder) / "user")
        )
        scene, transition = build_scene(Path(folder), size, "Standard")
        veo_addon.register()
        strips = compat.strip_collection(scene.sequence_editor)
        for index in range(arguments.strips):
            compat.new_effect(
                strips,
                name=f"extra {index}",
                effect_type="COLOR",
                channel=2 + index % 20,
                frame_start=200 + index * 3,
                length=2,
            )
        settings = service_settings()
        plan = plan_generation(scene, transition, GenerationOptions(prompt="bench"), settings)
        times: dict[str, list[float]] = {
            "main thread: JobManager.start, placeholder off": [],
            "main thread: JobManager.start, placeholder on": [],
            "main thread: placeholder.reserve alone": [],
            "main thread: pick-up on the next pump": [],
            "threads: both PNGs written (not main thread)": [],
        }
        labels = list(times)
        for _ in range(arguments.runs):
            for enabled in (False, True):
                started = time.perf_counter()
                job = manager.start(
                    dataclasses.replace(plan, settings=dataclasses.replace(settings, placeholder=enabled))
                )
                times[labels[int(enabled)]].append(time.perf_counter() - started)
                manager.wait_for([job.job_id], poll_seconds=0.01)
                placeholder_images.wait_until_written()
                placeholder.remove(scene, job.job_id)
            gap = transition.gap
            job = Job.new(scene_name=scene.name, frame_start=gap.start, frame_end=gap.end)
            started = time.perf_counter()
            placeholder.reserve(scene, job, plan)
            times[labels[2]].append(time.perf_counter() - started)
            started = time.perf_counter()
            placeholder_images.wait_until_written()
            times[labels[4]].append(time.perf_counter() - started)
            started = time.perf_counter()
            placeholder.pick_up_pictures()
            times[labels[3]].append(time.perf_counter() - started)
            placeholder.remove(scene, job.job_id)
        veo_addon.unregister()
    print(
        f"bpy {bpy.app.version_string}, {size[0]}x{size[1]}, {arguments.strips} other strips, "
        f"median of {arguments.runs} runs"
    )
    for label, measured in times.items():
        print(f"  {label:50s} {median_ms(measured)}")


if __name__ == "__main__":
    main()
