"""The seam check's scores on clips that meet their keyframes and on clips that drift, and what
the check costs Blender's main thread.

Run with the bpy wheel's Python from the repository root (needs the dev venv's PyAV, as the
local server does):

    .venv/blender50/bin/python tools/bench_seams.py [--runs 7] [--sizes 1920x1080,1280x720] [--view AgX]

For each output size: two photo-like shots around a 20-frame gap (bench_capture.py's scene);
clips made the way the local server makes them (`localserver.video.encode_clip` from the
keyframes the add-on captures, fitted to the clip's size, H.264) are inserted one after another
and measured: clean clips for three seeds, the server's "drift" fault at several amounts, and
drifts a real generation shows (the end zoomed in, slid sideways, lighter, or another picture).
Then the median main-thread time of the check: one take (4 thumbnail renders and scoring) and
two takes (2 renders more).
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bpy
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localserver.video import ClipSpec, encode_clip, fit_image
from tools.bench_capture import build_scene, photo_like
from veo_addon.blender import capture, compat, seams
from veo_addon.blender.insert import insert_clip
from veo_addon.blender.provenance import ClipProvenance

PROVENANCE = ClipProvenance(task_id="bench", prompt="bench")


def zoomed(image: Image.Image, factor: float) -> Image.Image:
    width, height = image.size
    dx, dy = round(width * (1 - 1 / factor) / 2), round(height * (1 - 1 / factor) / 2)
    return image.crop((dx, dy, width - dx, height - dy)).resize(image.size, Image.Resampling.BICUBIC)


def slid(image: Image.Image, fraction: float) -> Image.Image:
    width, _ = image.size
    shift = round(width * fraction)
    moved = image.copy()
    moved.paste(image.crop((0, 0, width - shift, image.height)), (shift, 0))
    return moved


def lighter(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


def clip_variants(left: Image.Image, right: Image.Image) -> list[tuple[str, Callable[[], tuple]]]:
    """(label, () -> (first, last, seed, drift)) for each clip to measure."""
    variants: list[tuple[str, Callable[[], tuple]]] = [
        (f"clean, seed {seed}", lambda seed=seed: (left, right, seed, 0.0)) for seed in (1, 2, 3)
    ]
    variants += [
        (f"drift fault amount {amount}", lambda amount=amount: (left, right, 1, amount))
        for amount in (0.05, 0.1, 0.15, 0.25, 0.5, 1.0)
    ]
    variants += [
        ("ends zoomed in 3 %", lambda: (zoomed(left, 1.03), zoomed(right, 1.03), 1, 0.0)),
        ("ends zoomed in 8 %", lambda: (zoomed(left, 1.08), zoomed(right, 1.08), 1, 0.0)),
        ("ends slid 2 % sideways", lambda: (slid(left, 0.02), slid(right, 0.02), 1, 0.0)),
        ("ends slid 6 % sideways", lambda: (slid(left, 0.06), slid(right, 0.06), 1, 0.0)),
        ("ends 10 % lighter", lambda: (lighter(left, 1.1), lighter(right, 1.1), 1, 0.0)),
        ("ends 25 % lighter", lambda: (lighter(left, 1.25), lighter(right, 1.25), 1, 0.0)),
        ("ends another picture", lambda: (photo_like(left.size, 7), photo_like(left.size, 8), 1, 0.0)),
    ]
    return variants


def remove_takes(scene: bpy.types.Scene, names: list[str]) -> None:
    strips = compat.strip_collection(scene.sequence_editor)
    for name in reversed(names):
        if name in strips:
            strips.remove(strips[name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="1920x1080,1280x720")
    parser.add_argument("--view", default="Standard", help="the view transform (factory default: AgX)")
    parser.add_argument(
        "--through-view",
        action="store_true",
        help="capture the keyframes through the view transform, as the add-on did before (for comparison)",
    )
    arguments = parser.parse_args(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
    for size_text in arguments.sizes.split(","):
        size = tuple(int(part) for part in size_text.split("x"))
        with tempfile.TemporaryDirectory() as folder_name:
            folder = Path(folder_name)
            scene, transition = build_scene(folder, size, arguments.view)
            # The clip starts from the keyframes the add-on sends: the sequencer's output in the
            # footage's own colours (with --through-view: view transform applied, as before).
            if arguments.through_view:
                compat.set_footage_colours = lambda settings: None  # type: ignore[assignment]
            first, last = capture.capture_transition_keyframes(scene, transition)
            left_image = Image.open(io.BytesIO(first.data or b"")).convert("RGB")
            right_image = Image.open(io.BytesIO(last.data or b"")).convert("RGB")
            print(
                f"== output {size_text}, clip 1280x720 (as Veo's 720p), view {arguments.view}"
                + (", keyframes through the view" if arguments.through_view else "")
            )
            for label, make in clip_variants(left_image, right_image):
                first, last, seed, drift = make()
                spec = ClipSpec(1280, 720, 4, seed, drift=drift)
                path = folder / f"clip_{abs(hash(label))}.mp4"
                path.write_bytes(encode_clip(fit_image(first, 1280, 720), fit_image(last, 1280, 720), spec))
                inserted = insert_clip(scene, transition, [path], PROVENANCE)
                check = seams.measure(scene, inserted)
                score = check.scores[0]
                print(f"{label:32s} {score.label() if score else check.not_measured}")
                remove_takes(scene, [inserted.live.clip_name, inserted.live.speed_name or ""])
            # Cost: one take, then two takes.
            path = folder / "clip_cost.mp4"
            path.write_bytes(encode_clip(left_image, right_image, ClipSpec(1280, 720, 4, 1)))
            for takes in (1, 2):
                inserted = insert_clip(scene, transition, [path] * takes, PROVENANCE)
                times = []
                for _ in range(arguments.runs):
                    started = time.perf_counter()
                    seams.measure(scene, inserted)
                    times.append(time.perf_counter() - started)
                median = statistics.median(times) * 1000
                print(
                    f"seam check, {takes} take(s), main thread: median {median:.0f} ms "
                    f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {arguments.runs} runs)"
                )
                remove_takes(
                    scene,
                    [name for take in inserted.takes for name in (take.clip_name, take.speed_name) if name],
                )


if __name__ == "__main__":
    main()
