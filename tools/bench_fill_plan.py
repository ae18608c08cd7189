"""What checking every gap's keyframe media adds to the Fill All Gaps plan (main thread).

Run with the bpy wheel's Python from the repository root:

    .venv/blender50/bin/python tools/bench_fill_plan.py [--shots 50] [--runs 5]

Builds a 25 fps timeline of 1920x1080 PNG image strips with a 20-frame gap after each, then
prints the best of several runs of `presubmit.plan_fill` with the keyframe check and with it
replaced by one that finds nothing. Nothing is sent (the service address is a closed port).
Figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import bpy
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    os.environ.update(
        VEO_USER_DIR=tempfile.mkdtemp(), VEO_API_KEY="sk-bench", VEO_BASE_URL="http://127.0.0.1:9"
    )
    import veo_addon
    from veo_addon.blender import compat, gaps, presubmit
    from veo_addon.blender.generation_options import GenerationOptions
    from veo_addon.blender.preferences import service_settings

    veo_addon.register()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.render.fps, scene.render.fps_base = 25, 1.0
        strips = compat.strip_collection(compat.sequence_editor(scene, create=True))
        folder = Path(tempfile.mkdtemp(prefix="veo_bench_"))
        for index in range(arguments.shots):
            path = folder / f"shot{index}.png"
            Image.new("RGB", (1920, 1080), (index * 5 % 256, 40, 40)).save(path)
            strip = strips.new_image(
                name=f"shot{index}", filepath=str(path), channel=1, frame_start=1 + index * 40
            )
            compat.set_visible_duration(strip, 20)
        transitions = gaps.find_all_transitions(scene)
        options, settings = GenerationOptions(prompt="p", duration="4"), service_settings()

        def best_ms() -> float:
            times = []
            for _ in range(arguments.runs):
                started = time.perf_counter()
                presubmit.plan_fill(scene, transitions, options, settings)
                times.append(time.perf_counter() - started)
            return min(times) * 1000

        best_ms()  # warm up (imports, first file reads)
        with_check = best_ms()
        checked = presubmit.keyframe_refusal
        presubmit.keyframe_refusal = lambda *_: None  # type: ignore[assignment]
        try:
            without_check = best_ms()
        finally:
            presubmit.keyframe_refusal = checked
        print(
            f"Blender {bpy.app.version_string}, {len(transitions)} gaps: plan_fill {without_check:.1f} ms "
            f"without the keyframe check, {with_check:.1f} ms with it"
        )
    finally:
        veo_addon.unregister()  # the 4.2 wheel crashes on exit with the add-on still registered


if __name__ == "__main__":
    main()
