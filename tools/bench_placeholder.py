"""How long the placeholder holds Blender's main thread when a job starts.

Run with the bpy wheel's Python from the repository root:

    .venv/blender50/bin/python tools/bench_placeholder.py [--runs 21] [--size 1920x1080] [--strips 0]

Captures the two keyframes of a photo-like edit once, then prints the median of several runs of
`placeholder.reserve` (start the two picture writers, build the META strip with its two image
strips and the crossfade) and of the next pump's pick-up of the written pictures. `--strips`
adds that many other strips to the timeline (finding a job's placeholder walks the top-level
strips). The PNG encoding itself runs in threads: its time is printed for comparison only.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_capture import build_scene  # noqa: E402

from veo_addon.blender import compat, placeholder, placeholder_images  # noqa: E402
from veo_addon.blender.generation import plan_generation  # noqa: E402
from veo_addon.blender.generation_options import GenerationOptions  # noqa: E402
from veo_addon.blender.preferences import service_settings  # noqa: E402
from veo_addon.core.job import Job  # noqa: E402


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
        strips = compat.strip_collection(scene.sequence_editor)
        for index in range(arguments.strips):
            extra = strips.new_effect(name=f"extra {index}", type="COLOR", channel=2 + index % 20, frame_start=200 + index * 3, **(
                {"length": 2} if "length" in strips.bl_rna.functions["new_effect"].parameters else {"frame_end": 202 + index * 3}
            ))
            extra.color = (0.2, 0.2, 0.2)
        plan = plan_generation(scene, transition, GenerationOptions(prompt="bench"), service_settings())
        reserve_times, pick_up_times, encode_times = [], [], []
        for _ in range(arguments.runs):
            job = Job.new(scene_name=scene.name, frame_start=transition.gap.start, frame_end=transition.gap.end)
            started = time.perf_counter()
            placeholder.reserve(scene, job, plan)
            reserve_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            placeholder_images.wait_until_written()
            encode_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            placeholder.pick_up_pictures()
            pick_up_times.append(time.perf_counter() - started)
            placeholder.remove(scene, job.job_id)
    print(f"bpy {bpy.app.version_string}, {size[0]}x{size[1]}, {arguments.strips} other strips, median of {arguments.runs} runs")
    for label, times in (
        ("main thread: reserve at start", reserve_times),
        ("main thread: pick-up on the next pump", pick_up_times),
        ("threads: both PNGs written (not main thread)", encode_times),
    ):
        print(f"  {label:46s} {statistics.median(times) * 1000:7.2f} ms  (max {max(times) * 1000:.2f})")


if __name__ == "__main__":
    main()
