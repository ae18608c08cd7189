"""Figures #1 (main-thread stall), #2 (ready -> on the timeline) and #5 (batch), in real Blender
(the bpy wheel, background mode) against the local server in its own process. The job manager is
driven the way the UI's timer drives it: `manager.pump()` every PUMP_INTERVAL seconds.

    .venv/blender50/bin/python tools/bench/timeline.py [--runs 3] [--only stall|ready|batch]
"""

from __future__ import annotations

# ruff: noqa: B023 -- each run's closures are called within that run only
import argparse
import dataclasses
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bpy
import httpx
from common import MB, ROOT, emit, figure, median, server_process, stats

sys.path.insert(0, str(ROOT / "tools"))
import bench_capture

import veo_addon
from veo_addon.blender import compat, finishing
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import PUMP_INTERVAL, manager
from veo_addon.blender.preferences import DEFAULT_JOBS_AT_ONCE, ServiceSettings, service_settings
from veo_addon.core import ratelimit
from veo_addon.core.client import HighwayClient
from veo_addon.core.delivery import PollPolicy
from veo_addon.core.job import Job, JobState
from veo_addon.core.ratelimit import DEFAULT_REQUESTS_PER_MINUTE

COMMAND = "make bench (.venv/blender50/bin/python tools/bench/timeline.py)"
_seed = [100]


def next_seed() -> int:
    _seed[0] += 1
    return _seed[0]


class Timed:
    """Wraps methods so each call's duration is added up (worker threads and main thread alike)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                with self._lock:
                    self.seconds[name] = self.seconds.get(name, 0.0) + spent
                    self.last[name] = spent

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


class SeamSteps:
    """Times the job manager's seam-check steps that did work (a thumbnail render, or the end)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original = finishing.step_seam_checks

        def timed() -> bool:
            started = time.perf_counter()
            worked = self._original()
            if worked:
                self.seconds += time.perf_counter() - started
            return worked

        finishing.step_seam_checks = timed  # type: ignore[assignment]

    def restore(self) -> None:
        finishing.step_seam_checks = self._original  # type: ignore[assignment]


def start(
    scene: bpy.types.Scene,
    left: str,
    right: str,
    duration: str = "4",
    settings: ServiceSettings | None = None,
) -> Job:
    options = GenerationOptions(prompt="a slow dissolve", duration=duration, seed=next_seed())
    transition = choose_transition(scene, left, right)
    plan = plan_generation(scene, transition, options, settings or service_settings())
    return manager.start(plan)


def ticks_until_done(job_ids: list[str], on_tick: Callable[[], None] | None = None) -> list[float]:
    """Pump as the UI's timer does; returns each pump's duration."""
    durations = []
    while any(manager.is_running(job_id) for job_id in job_ids) or manager.busy:
        time.sleep(PUMP_INTERVAL)
        started = time.perf_counter()
        manager.pump()
        durations.append(time.perf_counter() - started)
        if on_tick is not None:
            on_tick()
    return durations


def use_server(base_url: str, folder: Path) -> None:
    os.environ.update(VEO_BASE_URL=base_url, VEO_API_KEY="bench-key", VEO_USER_DIR=str(folder / "user"))


def keyframe_scene(folder: Path) -> bpy.types.Scene:
    scene, _ = bench_capture.build_scene(folder, (1920, 1080), "AgX")
    scene.render.fps = 24
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "edit.blend"))
    return scene


def stall_figures(runs: int) -> list[dict]:
    longest, p99, inserts, networks, captures = [], [], [], [], []
    insert_calls, seam_longest, seam_counts, seam_totals = [], [], [], []
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(GEN_SECONDS="5", CLIP_BYTES=str(100 * MB), FAULTS="any=latency:seconds=1") as base_url,
    ):
        folder = Path(tmp)
        use_server(base_url, folder)
        for run in range(runs):
            scene = keyframe_scene(folder)
            timed = Timed()
            for name in ("submit", "task_result", "download"):
                timed.wrap(HighwayClient, name)
            timed.wrap(manager, "insert")
            seam_steps = SeamSteps()
            started = time.perf_counter()
            job = start(scene, "left", "right")
            capture_seconds = time.perf_counter() - started
            per_tick: list[tuple[float, float]] = []  # (inserting, seam check) seconds in each tick
            before = [0.0, 0.0]

            def note_tick() -> None:
                spent = [timed.seconds.get("insert", 0.0), seam_steps.seconds]
                per_tick.append((spent[0] - before[0], spent[1] - before[1]))
                before[:] = spent

            try:
                ticks = ticks_until_done([job.job_id], note_tick)
            finally:
                timed.restore()
                seam_steps.restore()
            done = manager.current_job(job.job_id)
            assert done is not None and done.state is JobState.INSERTED, done and done.message
            assert done.seams, done.message
            without_insert = sorted(
                tick - insert - seam for tick, (insert, seam) in zip(ticks, per_tick, strict=True)
            )
            longest.append(without_insert[-1] * 1000)
            p99.append(without_insert[min(len(without_insert) - 1, int(0.99 * len(without_insert)))] * 1000)
            [insertion_tick] = [tick for tick, (insert, _) in zip(ticks, per_tick, strict=True) if insert]
            inserts.append(insertion_tick * 1000)
            insert_calls.append(timed.seconds["insert"] * 1000)
            seam_ticks = [tick for tick, (_, seam) in zip(ticks, per_tick, strict=True) if seam]
            seam_longest.append(max(seam_ticks) * 1000)
            seam_counts.append(len(seam_ticks))
            seam_totals.append(sum(seam_ticks) * 1000)
            network = sum(timed.seconds.get(name, 0.0) for name in ("submit", "task_result", "download"))
            networks.append(network)
            captures.append(capture_seconds * 1000)
            print(
                f"  stall run {run + 1}: {len(ticks)} ticks, longest {longest[-1]:.2f} ms, "
                f"p99 {p99[-1]:.2f} ms, insertion tick {inserts[-1]:.0f} ms, seam check "
                f"{seam_counts[-1]} ticks of at most {seam_longest[-1]:.0f} ms, network {network:.1f} s, "
                f"capture {captures[-1]:.0f} ms"
            )
    note = (
        "1080p keyframes, 1 s latency per request, 100 MB clip, "
        f"pump every {PUMP_INTERVAL} s; median of {runs} runs"
    )
    return [
        figure(
            "#1 longest main-thread tick (without the insertion and its seam check)",
            median(longest),
            "ms",
            "< 5 ms",
            "the job's network time below, which a blocking design would freeze",
            COMMAND,
            note=note,
        ),
        figure(
            "#1 99th-percentile main-thread tick",
            median(p99),
            "ms",
            "(read it)",
            "the longest tick",
            COMMAND,
            note=note,
        ),
        figure(
            "#1 the insertion's tick",
            median(inserts),
            "ms",
            "(read it)",
            f"the tick that places the clip (the insert call itself {median(insert_calls):.0f} ms)",
            COMMAND,
            note=note,
        ),
        figure(
            "#1 the seam check's longest tick (after the insertion, the clip playing)",
            median(seam_longest),
            "ms",
            "(read it)",
            (
                f"one thumbnail render per tick: {median(seam_counts):.0f} ticks, "
                f"{median(seam_totals):.0f} ms of main thread together"
            ),
            COMMAND,
            note=note,
        ),
        figure(
            "#1 total network time of the job",
            median(networks),
            "s",
            "(read it)",
            "what a blocking add-on would freeze Blender for",
            COMMAND,
            note=note,
        ),
        figure(
            "#1 starting the job (capture, on the operator call)",
            median(captures),
            "ms",
            "(read it)",
            "#6 keyframes",
            COMMAND,
            note=note,
        ),
    ]


def completed_at(base_url: str, task_id: str) -> float:
    payload = httpx.get(
        f"{base_url}/v3/async/task-result", params={"task_id": task_id}, headers={"Authorization": "Bearer k"}
    ).json()
    return int(payload["extra"]["debug_info"]["complete_time_ms"]) / 1000


def slow_poller(base_url: str, task_id: str, started: float, folder: Path, done: dict[str, float]) -> None:
    """A client that polls every 20 s (as the most used generative VSE add-on does), then downloads."""
    headers = {"Authorization": "Bearer k"}
    poll = started
    while True:
        poll += 20
        time.sleep(max(0.0, poll - time.time()))
        payload = httpx.get(
            f"{base_url}/v3/async/task-result", params={"task_id": task_id}, headers=headers
        ).json()
        if payload["task"]["status"] == "TASK_STATUS_SUCCEED":
            break
    with (
        httpx.stream("GET", payload["videos"][0]["video_url"]) as response,
        open(folder / "slow.mp4", "wb") as out,
    ):
        for chunk in response.iter_bytes(1 << 16):
            out.write(chunk)
    done["at"] = time.time()


def ready_figures(runs: int) -> list[dict]:
    ours, theirs, downloads = [], [], []
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(GEN_SECONDS="5", CLIP_BYTES=str(20 * MB)) as base_url,
    ):
        folder = Path(tmp)
        use_server(base_url, folder)
        for run in range(runs):
            scene = keyframe_scene(folder)
            timed = Timed()
            timed.wrap(HighwayClient, "download")
            job = start(scene, "left", "right")
            inserted_at: dict[str, float] = {}
            poller: threading.Thread | None = None
            slow: dict[str, float] = {}

            def watch() -> None:
                nonlocal poller
                current = manager.current_job(job.job_id)
                if poller is None and current is not None and current.task_id:
                    poller = threading.Thread(
                        target=slow_poller, args=(base_url, current.task_id, time.time(), folder, slow)
                    )
                    poller.start()
                if "at" not in inserted_at and current is not None and current.state is JobState.INSERTED:
                    inserted_at["at"] = time.time()

            ticks_until_done([job.job_id], watch)
            timed.restore()
            assert poller is not None
            poller.join()
            done = manager.current_job(job.job_id)
            assert done is not None and done.task_id
            ready = completed_at(base_url, done.task_id)
            ours.append(inserted_at["at"] - ready)
            theirs.append(slow["at"] - ready)
            downloads.append(timed.seconds["download"])
            print(
                f"  ready run {run + 1}: on the timeline {ours[-1]:.2f} s after ready "
                f"(download {downloads[-1]:.2f} s); 20 s poller {theirs[-1]:.2f} s"
            )
    note = (
        "20 MB clip, 5 s generation, the add-on's default poll policy "
        f"(at least {PollPolicy().min_interval:g} s between polls), pump every {PUMP_INTERVAL} s; "
        f"median of {runs} runs"
    )
    return [
        figure(
            "#2 ready -> on the timeline",
            median(ours),
            "s",
            "<= poll interval in force + download + 0.2 s",
            (
                "a client polling every 20 s, same task, same run: "
                f"{median(theirs):.2f} s (download alone {median(downloads):.2f} s)"
            ),
            COMMAND,
            note=note,
            ratio=round(median(theirs) / median(ours), 2),
        ),
    ]


def gaps_scene(count: int) -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 1280, 720
    scene.render.fps = 24
    strips = compat.strip_collection(compat.sequence_editor(scene, create=True))
    for index in range(count + 1):
        strip = compat.new_effect(
            strips, name=f"S{index}", effect_type="COLOR", channel=1, frame_start=1 + index * 150, length=50
        )
        strip.color = (index / count, 0.3, 1 - index / count)
    return scene


def batch_settings() -> ServiceSettings:
    """The service settings a job starts with, with the Jobs at Once preference at its default
    when the add-on runs without its preferences (as here, imported rather than installed)."""
    settings = service_settings()
    if settings.jobs_at_once:
        return settings
    return dataclasses.replace(settings, jobs_at_once=DEFAULT_JOBS_AT_ONCE)


def batch_figures(runs: int, gaps: int = 12) -> list[dict]:
    """Every gap started at once, as a user selecting them all would: the job manager's queue
    (the Jobs at Once preference) keeps `jobs_at_once` in flight. Each run has a fresh server
    enforcing the service's limit and a fresh process-wide limiter, as a new session would."""
    ratios, walls, singles, rate_limited, submits, polls = [], [], [], [], [], []
    in_flight = DEFAULT_JOBS_AT_ONCE
    for run in range(runs):
        with (
            tempfile.TemporaryDirectory() as tmp,
            server_process(GEN_SECONDS="4", REQUESTS_PER_MINUTE=str(DEFAULT_REQUESTS_PER_MINUTE)) as base_url,
        ):
            folder = Path(tmp)
            use_server(base_url, folder)
            ratelimit._shared = None  # a new Blender session's limiter: no earlier run's requests
            in_flight = batch_settings().jobs_at_once
            scene = gaps_scene(1)
            bpy.ops.wm.save_as_mainfile(filepath=str(folder / "one.blend"))
            started = time.perf_counter()
            job = start(scene, "S0", "S1", settings=batch_settings())
            ticks_until_done([job.job_id])
            single = time.perf_counter() - started
            scene = gaps_scene(gaps)
            bpy.ops.wm.save_as_mainfile(filepath=str(folder / "batch.blend"))
            started = time.perf_counter()
            all_ids = [
                start(scene, f"S{index}", f"S{index + 1}", settings=batch_settings()).job_id
                for index in range(gaps)
            ]
            ticks_until_done(all_ids)
            wall = time.perf_counter() - started
            states = {manager.current_job(job_id).state for job_id in all_ids}  # type: ignore[union-attr]
            assert states == {JobState.INSERTED}, states
            served = stats(base_url)
        ideal = (gaps / in_flight) * single
        ratios.append(wall / ideal)
        walls.append(wall)
        singles.append(single)
        rate_limited.append(served["rate_limited"])
        submits.append(served["requests"]["submit"])
        polls.append(served["requests"]["result"])
        print(
            f"  batch run {run + 1}: {gaps} gaps in {wall:.1f} s, one job {single:.1f} s, "
            f"ratio {wall / ideal:.2f}; server: {served['requests']}, 429s {served['rate_limited']}"
        )
    note = (
        f"{gaps} gaps started at once, {in_flight} in flight (the Jobs at Once preference's default), "
        f"4 s generations, default poll policy, a server enforcing {DEFAULT_REQUESTS_PER_MINUTE} "
        f"requests a minute; median of {runs} runs, each with a fresh server and limiter; per run "
        f"(with the single job) the server saw {median(submits):.0f} submits, {median(polls):.0f} polls "
        f"and {max(rate_limited)} 429 answers at most"
    )
    return [
        figure(
            "#5 batch of 12 gaps vs ideal",
            median(ratios),
            "ratio",
            "< 1.15",
            (
                f"{gaps / in_flight:g} x one job's time in the same run (one job "
                f"{median(singles):.1f} s, batch {median(walls):.1f} s)"
            ),
            COMMAND,
            note=note,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("stall", "ready", "batch"))
    arguments = parser.parse_args()
    veo_addon.register()
    manager.on_line = lambda line: None  # the jobs' progress lines would drown the figures
    figures = []
    try:
        if arguments.only in (None, "stall"):
            figures += stall_figures(arguments.runs)
        if arguments.only in (None, "ready"):
            figures += ready_figures(arguments.runs)
        if arguments.only in (None, "batch"):
            figures += batch_figures(arguments.runs)
    finally:
        veo_addon.unregister()  # the 4.2 wheel crashes at exit with classes registered
    emit(figures)


if __name__ == "__main__":
    main()
