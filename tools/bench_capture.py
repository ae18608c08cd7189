"""How long a keyframe capture holds Blender's main thread, and what the worker does after it.

Run with the bpy wheel's Python from the repository root:

    .venv/blender50/bin/python tools/bench_capture.py [--runs 7] [--size 1920x1080] [--view AgX]

Builds a scene with two image strips and a gap, then prints the median of several runs of:
- two bare renders, with the sequencer cache dropped first (the old capture's settings dropped
  it: assigning resolution_percentage does, even to its own value) and with the cache warm;
- two renders that write their frame in the capture's format and nothing else: Blender gives a
  script no other way to reach a render's pixels, so this is what any capture costs at least;
  and the same followed by the last frame's JPEG, which cannot start before that frame is
  written: what any capture and preparation cost at least;
- the old captures: each render written as PNG, then as SGI (RGB), on the main thread, cache dropped;
- the new capture's whole main-thread part (render, write in the add-on's intermediate format,
  an uncompressed RGBA TIFF, read the bytes, restore), cache dropped and cache warm;
- the capture as it was before keyframes left the view transform out (written through the
  scene's view transform, AgX by default), cache dropped;
- the worker's preparation of both keyframes for the request (decode, fit, encode), on its own;
- capture and preparation as a job does them: each keyframe handed to the background preparation
  as soon as it is captured (the first encodes while the last renders), timed until both are
  ready to send, cache dropped.
Figures only; nothing is asserted. With `--json`, `make bench` (tools/bench/run.py) reads figure #6
from it: capture and preparation of both keyframes against two bare renders, and the body size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bpy
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from veo_addon.blender import capture, compat
from veo_addon.blender.gaps import find_transition
from veo_addon.core import raw_tiff
from veo_addon.core.file_mapping import take_file
from veo_addon.core.images import prepare_keyframe
from veo_addon.core.keyframe_preparation import KeyframePreparation


def photo_like(size: tuple[int, int], seed: int) -> Image.Image:
    """Smooth shapes with grain: compresses like a photograph, not like noise or a flat colour."""
    width, height = size
    small = Image.effect_noise((width // 60, height // 60), 90).convert("RGB")
    shifted = Image.merge(
        "RGB", [channel.rotate(seed * 40 + index * 90) for index, channel in enumerate(small.split())]
    )
    smooth = shifted.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(4))
    grain = Image.effect_noise(size, 12).convert("RGB")
    return Image.blend(smooth, grain, 0.15)


def build_scene(folder: Path, size: tuple[int, int], view: str) -> tuple[bpy.types.Scene, object]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = view
    editor = compat.sequence_editor(scene, create=True)
    strips = compat.strip_collection(editor)
    made = []
    for index, (name, start) in enumerate((("left", 1), ("right", 71))):
        path = folder / f"{name}.png"
        photo_like(size, index).save(path)
        strip = strips.new_image(name=name, filepath=str(path), channel=1, frame_start=start)
        compat.set_visible_duration(strip, 50)
        made.append(strip)
    return scene, find_transition(scene, made[0], made[1])


def interleaved_medians(
    actions: list[tuple[str, Callable[[], object], Callable[[], None]]], runs: int
) -> list[tuple[str, float]]:
    """Median milliseconds per action; the actions take turns, so a busy machine slows all alike."""
    times: dict[str, list[float]] = {label: [] for label, _, _ in actions}
    for _ in range(runs):
        for label, action, before in actions:
            before()
            started = time.perf_counter()
            action()
            times[label].append(time.perf_counter() - started)
    return [(label, statistics.median(times[label]) * 1000) for label, _, _ in actions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--view", default="AgX", help="the view transform (factory default: AgX)")
    parser.add_argument("--json", action="store_true", help="also print figure #6 for tools/bench/run.py")
    parser.add_argument(
        "--formats",
        default="IRIS",
        help="other intermediates to compare, comma separated, each FORMAT[:MODE[:TIFF_CODEC]] "
        "(e.g. IRIS,BMP,TARGA_RAW:RGBA,TIFF:RGB:NONE)",
    )
    arguments = parser.parse_args(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
    size = tuple(int(part) for part in arguments.size.split("x"))
    runs = arguments.runs

    with tempfile.TemporaryDirectory() as folder:
        scene, transition = build_scene(Path(folder), size, arguments.view)
        frames = (transition.first_frame, transition.last_frame)

        def drop_cache() -> None:
            scene.render.resolution_percentage = 100  # any assignment drops the sequencer cache

        def bare() -> None:
            for frame in frames:
                scene.frame_set(frame)
                bpy.ops.render.render(write_still=False, scene=scene.name)

        def capture_as(output: capture.RenderOutput, through_view: bool = False) -> Callable[[], tuple]:
            def run() -> tuple:
                capture.RENDER_OUTPUT = output
                footage_colours = compat.set_footage_colours
                if through_view:
                    compat.set_footage_colours = lambda settings: None  # type: ignore[assignment]
                try:
                    return capture.capture_transition_keyframes(scene, transition)
                finally:
                    compat.set_footage_colours = footage_colours

            return run

        def capture_and_prepare() -> None:
            """What `generation.plan_generation` and the job's worker do, end to end."""
            preparation = KeyframePreparation("16:9", "1080p", "crop")

            def hand_over(side: str, kept: capture.CapturedKeyframe) -> None:
                preparation.start(side, kept.data, kept.description, kept.opaque_pixels)

            first, last = capture.capture_transition_keyframes(scene, transition, hand_over=hand_over)
            for side, kept in (("First", first), ("Last", last)):
                preparation.result(side, kept.data, kept.description, kept.opaque_pixels)

        def written(then_encode_last: bool = False) -> None:
            """Two renders writing their frame as the capture does, nothing read or restored; with
            `then_encode_last`, the last frame is then made ready to send as the worker makes it
            (alpha not checked): the least any capture and preparation can cost, since that
            encoding cannot start before the last render is written."""
            saved = compat.image_output_state(scene.render.image_settings)
            compat.set_image_output(
                scene.render.image_settings,
                capture.RENDER_OUTPUT.file_format,
                capture.RENDER_OUTPUT.color_mode,
                capture.RENDER_OUTPUT.tiff_codec,
            )
            compat.set_footage_colours(scene.render.image_settings)
            try:
                for frame in frames:
                    scene.frame_set(frame)
                    scene.render.filepath = str(Path(folder) / f"written_{frame}")
                    bpy.ops.render.render(write_still=True, scene=scene.name)
                if then_encode_last:
                    data = take_file(next(Path(folder).glob(f"written_{frames[-1]}*")))
                    prepare_keyframe(data, "16:9", "1080p", opaque_pixels=raw_tiff.rgba_pixels(data))
            finally:
                compat.restore_image_output(scene.render.image_settings, saved)
                for path in Path(folder).glob("written_*"):
                    path.unlink()

        chosen_output = capture.RENDER_OUTPUT
        chosen = output_label(chosen_output)
        others = [render_output(spec) for spec in arguments.formats.split(",") if spec]
        bare()  # load the images once, as a user's session would have
        keep_cache = lambda: None  # noqa: E731
        actions = [
            ("bare render x2, cache dropped", bare, drop_cache),
            ("bare render x2, cache warm", bare, keep_cache),
            (WRITTEN, written, drop_cache),
            (WRITTEN_THEN_ENCODED, lambda: written(then_encode_last=True), drop_cache),
            (PIPELINE, capture_and_prepare, drop_cache),
            ("old capture (PNG), main thread", capture_as(capture.RenderOutput("PNG")), drop_cache),
            (f"new capture ({chosen}), main thread", capture_as(chosen_output), drop_cache),
        ]
        actions += [
            (f"capture ({output_label(output)}), main thread", capture_as(output), drop_cache)
            for output in others
            if output != chosen_output
        ]
        actions.append(
            (f"capture ({chosen}) through the view", capture_as(chosen_output, through_view=True), drop_cache)
        )
        # The capture no longer assigns settings that are already right, so a warm cache stays warm.
        actions.append(
            (f"new capture ({chosen}), cache warm", capture_as(chosen_output), keep_cache),
        )
        lines = interleaved_medians(actions, runs)
        capture.RENDER_OUTPUT = chosen_output
        first, last = capture.capture_transition_keyframes(scene, transition)
        preparations = [
            (
                f"worker: prepare both for {resolution}",
                lambda resolution=resolution: [
                    prepare_keyframe(captured.data, "16:9", resolution) for captured in (first, last)
                ],
                keep_cache,
            )
            for resolution in ("720p", "1080p")
        ]
        lines += interleaved_medians(preparations, max(3, runs // 2))

        body_bytes = submitted_body_size(first.data, last.data)

    print(f"bpy {bpy.app.version_string}, {size[0]}x{size[1]}, view {arguments.view}, median of {runs} runs")
    print(f"  load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bare_ms = lines[0][1]
    for label, milliseconds in lines:
        print(f"  {label:42s} {milliseconds:7.1f} ms  ({milliseconds / bare_ms:.2f}x bare)")
    print(f"  submitted body (1080p, data URIs): {body_bytes / 1024:.0f} KiB")
    if arguments.json:
        timings = dict(lines)
        whole = timings[PIPELINE]
        capture_ms = timings[f"new capture ({chosen}), main thread"]
        emit_keyframe_figures(
            whole,
            capture_ms,
            timings[WRITTEN],
            timings[WRITTEN_THEN_ENCODED],
            bare_ms,
            body_bytes,
            runs,
            f"{size[0]}x{size[1]}",
        )


PIPELINE = "capture + preparation, as a job does them"
WRITTEN = "renders writing their frame x2"
WRITTEN_THEN_ENCODED = "the same, then the last one's JPEG"


def render_output(spec: str) -> capture.RenderOutput:
    file_format, _, rest = spec.partition(":")
    color_mode, _, tiff_codec = rest.partition(":")
    return capture.RenderOutput(file_format, color_mode or "RGB", tiff_codec or None)


def output_label(output: capture.RenderOutput) -> str:
    return ":".join(part for part in (output.file_format, output.color_mode, output.tiff_codec) if part)


def submitted_body_size(first: bytes, last: bytes) -> int:
    """The JSON body a 1080p request with these keyframes sends."""
    import json

    from veo_addon.core.request import GenerationRequest, ImageInput

    request = GenerationRequest(
        image=ImageInput.from_bytes(prepare_keyframe(first, "16:9", "1080p").data),
        last_image=ImageInput.from_bytes(
            prepare_keyframe(last, "16:9", "1080p").data, field_name="last_image"
        ),
        prompt="a slow dissolve",
        resolution="1080p",
        duration_seconds=8,
    )
    return len(json.dumps(request.to_body()).encode())


def emit_keyframe_figures(
    whole_ms: float,
    capture_ms: float,
    written_ms: float,
    written_then_encoded_ms: float,
    bare_ms: float,
    body_bytes: int,
    runs: int,
    size: str,
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
    from common import emit, figure

    command = "make bench (.venv/blender50/bin/python tools/bench_capture.py --json)"
    note = f"{size} photo-like image strips, sequencer cache dropped for both; median of {runs} runs"
    emit(
        [
            figure(
                "#6 capture + preparation of two keyframes vs two bare renders",
                whole_ms / bare_ms,
                "ratio",
                "< 1.2",
                f"two bare renders of the same frames, same run ({bare_ms:.0f} ms; ours {whole_ms:.0f} ms, "
                "until both are ready to send)",
                command,
                note=note,
            ),
            figure(
                "#6 the capture alone (main thread) vs two bare renders",
                capture_ms / bare_ms,
                "ratio",
                "(read it)",
                f"the same bare renders (capture {capture_ms:.0f} ms; the rest is the worker's preparation)",
                command,
                note=note,
            ),
            figure(
                "#6 the least any capture costs: two renders writing their frame, vs two bare renders",
                written_ms / bare_ms,
                "ratio",
                "(read it)",
                f"the same bare renders ({written_ms:.0f} ms: Blender gives a script no other way to "
                "reach a render's pixels than writing them to a file)",
                command,
                note=note,
            ),
            figure(
                "#6 the least any capture and preparation cost: those renders, then the last one's "
                "JPEG, vs two bare renders",
                written_then_encoded_ms / bare_ms,
                "ratio",
                "(read it)",
                f"the same bare renders ({written_then_encoded_ms:.0f} ms: the last keyframe's JPEG "
                "cannot start before its render is written; no alpha check, settings or folders)",
                command,
                note=note,
            ),
            figure(
                "#6 the last keyframe ready to send, after the capture returns",
                whole_ms - capture_ms,
                "ms",
                "(read it)",
                "its JPEG, top and bottom halves encoded at once (one core each when two are free)",
                command,
                note=note,
            ),
            figure(
                "#6 submitted body size (1080p)", body_bytes / 1024, "KiB", "(read it)", "(none)", command
            ),
        ]
    )


if __name__ == "__main__":
    main()
