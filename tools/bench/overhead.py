"""Figure #7, the add-on's own overhead: from the operator call to the clip in the timeline
(placed, playing), minus the time the server spent generating. In real Blender (the bpy wheel,
background mode) against the local server in its own process, driven the way the hotkey drives
it: `bpy.ops.veo.generate_transition("INVOKE_DEFAULT", ...)`, which in background mode blocks
until the clip is in and its seams are checked (the job manager's pump applies the result, as
the UI's timer does).

    .venv/blender50/bin/python tools/bench/overhead.py [--runs 3]

The phases come from one clock (the wall clock, shared with the local server on this machine):
the call, the capture's end (plan_generation returning), the submit leaving the worker, the
server's own `submit_time_ms` and `complete_time_ms` (the task result's debug_info), the
download's start and end, and the job manager's insert returning (the clip placed: it plays from
that tick on). They add up to the whole wall time. The seam check that follows, one thumbnail
render per job-manager tick (the blocking operator waits for it, the clip already playing), is
reported on its own: its ticks, the longest, and their main-thread time together.
The upload is the submit body as the server received it (`/_control/stats`), against the two
keyframes' encoded bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bpy
import httpx
from common import ROOT, emit, figure, median, server_process, stats

sys.path.insert(0, str(ROOT / "tools"))
import bench_capture

import veo_addon
from veo_addon.blender import compat, finishing, generation
from veo_addon.blender.jobmanager import manager
from veo_addon.core import keyframe_preparation
from veo_addon.core.client import HighwayClient
from veo_addon.core.delivery import PollPolicy

COMMAND = "make bench (.venv/blender50/bin/python tools/bench/overhead.py)"
FPS = 24
PHASES = ("capture", "prepare", "upload", "polling", "download", "insertion")


class Stamps:
    """Wall-clock moments of one job, recorded by wrappers around the add-on's own calls."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.spent: dict[str, float] = {}  # seconds inside a wrapped call, all its calls together
        self.keyframe_bytes = 0
        self._lock = threading.Lock()
        self._undo: list[tuple[Any, str, Any]] = []

    def mark(self, name: str) -> None:
        with self._lock:
            self.at.setdefault(name, time.time())

    def around(self, owner: Any, name: str, before: str, after: str, on_call: Any = None) -> None:
        original = getattr(owner, name)

        def stamped(*args: Any, **kwargs: Any) -> Any:
            if on_call is not None:
                on_call(*args)
            self.mark(before)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.spent[before] = self.spent.get(before, 0.0) + time.perf_counter() - started
                self.mark(after)

        setattr(owner, name, stamped)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def gap_scene(folder: Path, gap_seconds: int) -> None:
    """Two 1080p photo-like shots with a gap of exactly `gap_seconds` between them."""
    bench_capture.build_scene(folder, (1920, 1080), "AgX")
    scene = bpy.context.scene
    scene.render.fps = FPS
    strips = compat.strip_collection(compat.sequence_editor(scene))
    strips["right"].frame_start = 51 + gap_seconds * FPS  # the left shot ends at frame 50
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "edit.blend"))


def server_times(base_url: str, task_id: str) -> tuple[float, float]:
    """The server's own submit-received and generation-done moments (wall clock, seconds)."""
    payload = httpx.get(
        f"{base_url}/v3/async/task-result", params={"task_id": task_id}, headers={"Authorization": "Bearer k"}
    ).json()
    debug = payload["extra"]["debug_info"]
    return int(debug["submit_time_ms"]) / 1000, int(debug["complete_time_ms"]) / 1000


def one_job(base_url: str, folder: Path, seed: int, resolution: str, seconds: int) -> dict[str, float]:
    gap_scene(folder, seconds)
    stamps = Stamps()

    def note_keyframes(_client: Any, request: Any) -> None:
        stamps.keyframe_bytes = len(request.image.data or b"") + len(request.last_image.data or b"")

    stamps.around(generation, "plan_generation", "plan", "captured")
    stamps.around(HighwayClient, "submit", "submit", "submitted", note_keyframes)
    stamps.around(HighwayClient, "download", "download", "downloaded")
    # Inside the phases: the keyframes' decode-fit-encode, and the insertion's own parts.
    stamps.around(keyframe_preparation, "prepare_keyframe", "prepare_keyframe", "keyframe_prepared")
    stamps.around(manager, "insert", "insert", "inserted")
    stamps.around(finishing, "finish_insertion", "finish", "finished")
    seam_ticks: list[float] = []
    step_seam_checks = finishing.step_seam_checks

    def timed_seam_step() -> bool:
        started = time.perf_counter()
        worked = step_seam_checks()
        if worked:
            seam_ticks.append(time.perf_counter() - started)
        return worked

    finishing.step_seam_checks = timed_seam_step  # type: ignore[assignment]
    try:
        stamps.mark("call")
        outcome = bpy.ops.veo.generate_transition(
            "INVOKE_DEFAULT",
            left_strip="left",
            right_strip="right",
            prompt="a slow dissolve",
            seed=seed,
            resolution=resolution,
            duration=str(seconds),
        )
        stamps.mark("returned")
    finally:
        stamps.restore()
        finishing.step_seam_checks = step_seam_checks  # type: ignore[assignment]
    assert outcome == {"FINISHED"}, outcome
    strips = compat.strip_collection(compat.sequence_editor(bpy.context.scene))
    clips = [strip for strip in strips if strip.type == "MOVIE"]
    assert len(clips) == 1, [strip.name for strip in strips]
    task_id = list(stats(base_url)["tasks"])[-1]  # one task per run, in creation order
    submit_received, generated = server_times(base_url, task_id)
    at = stamps.at
    phases = {
        "capture": at["captured"] - at["call"],
        "prepare": at["submit"] - at["captured"],
        "upload": submit_received - at["submit"],
        "generation": generated - submit_received,
        "polling": at["download"] - generated,
        "download": at["downloaded"] - at["download"],
        "insertion": at["inserted"] - at["downloaded"],
    }
    phases["total"] = at["inserted"] - at["call"]
    phases["overhead"] = phases["total"] - phases["generation"]
    phases["keyframes_encoding"] = stamps.spent["prepare_keyframe"]
    phases["pump_wait"] = at["insert"] - at["downloaded"]
    phases["placing"] = stamps.spent["insert"]
    phases["cost_and_fades"] = stamps.spent["finish"]
    phases["seam_ticks"] = len(seam_ticks)
    phases["seam_longest_tick"] = max(seam_ticks, default=0.0)
    phases["seam_check_main_thread"] = sum(seam_ticks)
    phases["seams_done_after"] = at["returned"] - at["inserted"]
    phases["keyframe_bytes"] = stamps.keyframe_bytes
    phases["clip_bytes"] = Path(bpy.path.abspath(clips[0].filepath)).stat().st_size
    return phases


def overhead_figures(runs: int, resolution: str, seconds: int, seed_base: int) -> list[dict]:
    measured: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, server_process(GEN_SECONDS="5") as base_url:
        folder = Path(tmp)
        os.environ.update(VEO_BASE_URL=base_url, VEO_API_KEY="bench-key", VEO_USER_DIR=str(folder / "user"))
        for run in range(runs):
            phases = one_job(base_url, folder, seed_base + run, resolution, seconds)
            measured.append(phases)
            print(
                f"  {resolution} {seconds} s run {run + 1}: overhead {phases['overhead']:.2f} s of "
                f"{phases['total']:.2f} s ("
                + ", ".join(f"{name} {phases[name]:.3f}" for name in PHASES)
                + f"; generation {phases['generation']:.2f} s; then the seam check in "
                f"{phases['seam_ticks']:.0f} ticks, longest {phases['seam_longest_tick'] * 1000:.0f} ms)"
            )
        uploads = stats(base_url)["submit_body_bytes"]
    middle = {name: median([phases[name] for phases in measured]) for name in measured[0]}
    upload_bytes = median([float(size) for size in uploads])
    keyframe_bytes = middle["keyframe_bytes"]
    label = f"{seconds} s {resolution} clip from 1080p keyframes"
    if resolution == "720p":
        label += " (Veo makes 1080p clips at 8 s only)"
    breakdown = ", ".join(f"{name} {middle[name]:.2f} s" for name in PHASES)
    note = (
        f"{label}; the operator as the hotkey calls it, in background mode (blocks; pumps every 0.2 s); "
        f"server generation {middle['generation']:.1f} s subtracted (its own submit and completion "
        f"times); the add-on's poll policy waits at least {PollPolicy().min_interval:g} s between polls; "
        f"median of {runs} runs; phases (medians): {breakdown}; within them, decoding, fitting and "
        f"encoding the keyframes {middle['keyframes_encoding']:.2f} s, waiting for the pump "
        f"{middle['pump_wait']:.2f} s, placing the clip {middle['placing']:.2f} s (of which cost and "
        f"sound fades {middle['cost_and_fades']:.3f} s); after it, while the clip plays, the seam check "
        f"in {middle['seam_ticks']:.0f} ticks of at most {middle['seam_longest_tick'] * 1000:.0f} ms "
        f"({middle['seam_check_main_thread']:.2f} s of main thread together, done "
        f"{middle['seams_done_after']:.2f} s after the clip was placed)"
    )
    tag = f"{seconds} s {resolution}"
    return [
        figure(
            f"#7 own overhead, operator call -> clip in the timeline ({tag})",
            middle["overhead"],
            "s",
            "< 1 s + download",
            (
                f"download {middle['download']:.2f} s of a {middle['clip_bytes'] / 1e6:.1f} MB clip; "
                f"of the overhead, polling latency {middle['polling']:.2f} s"
            ),
            COMMAND,
            note=note,
            phases={name: round(value, 4) for name, value in middle.items() if not name.endswith("bytes")},
        ),
        figure(
            f"#7 uploaded bytes vs the keyframes' encoded size ({tag})",
            upload_bytes / keyframe_bytes,
            "ratio",
            "(read it; Base64 alone is 1.33)",
            f"submit body {upload_bytes / 1e6:.2f} MB, two keyframes {keyframe_bytes / 1e6:.2f} MB",
            COMMAND,
            note=f"{label}; the body as the local server received it; median of {runs} runs",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    veo_addon.register()
    manager.on_line = lambda line: None  # the jobs' progress lines would drown the figures
    figures = []
    try:
        # Veo makes 1080p clips at 8 s only: the 6 s clip is 720p, from the same 1080p keyframes.
        figures += overhead_figures(arguments.runs, "720p", 6, seed_base=700)
        figures += overhead_figures(arguments.runs, "1080p", 8, seed_base=800)
    finally:
        veo_addon.unregister()  # the 4.2 wheel crashes at exit with classes registered
    emit(figures)


if __name__ == "__main__":
    main()
