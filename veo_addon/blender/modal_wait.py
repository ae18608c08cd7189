"""Waiting for jobs in the UI: a modal operator driven by a window-manager timer.

An operator that started jobs (or resumed them) calls `wait_for_jobs()` and returns what it
returns. On each TIMER event it only reads what the job manager already knows
(`manager.progress`, a dict lookup) and rewrites the status bar when the text changed; the
job manager's own timer applies results and inserts clips, never this. Every other event
passes through, so the editor keeps scrubbing, playing and editing. Esc stops waiting: the
jobs stay listed and resumable. The event timer is removed on every way out: the jobs ended,
Esc, Blender cancelling the operator, a file being loaded, the add-on being disabled.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import bpy
from bpy.app.handlers import persistent

from ..core.job import JobState
from .job_progress import JobProgress, tag_sequencer_redraw
from .jobmanager import manager
from .operator_reports import OperatorResult, report_outcome

TIMER_STEP = 0.2  # seconds between status updates: smooth enough, and nearly free
HINT = "Esc stops waiting"


@dataclass
class WaitStats:
    """How much main-thread time the TIMER handling took (the window test reads the last one)."""

    ticks: int = 0
    longest_ms: float = 0.0
    total_ms: float = 0.0
    status_changes: int = 0  # each one rewrote the status bar and redrew the Sequencer
    final_ms: float = 0.0  # the last TIMER event: reads the jobs as saved and reports the outcome
    last_status: str = ""

    def add(self, milliseconds: float) -> None:
        self.ticks += 1
        self.longest_ms = max(self.longest_ms, milliseconds)
        self.total_ms += milliseconds

    def line(self) -> str:
        mean = self.total_ms / self.ticks if self.ticks else 0.0
        return (
            f"[veo] waited with {self.ticks} timer events; longest handling {self.longest_ms:.3f} ms, "
            f"mean {mean:.3f} ms; the last one (the outcome report) {self.final_ms:.3f} ms"
        )


# The last finished wait's figures (read by the window test), and the waits under way.
last_wait_stats = WaitStats()
_timers: dict[int, tuple[bpy.types.WindowManager, bpy.types.Timer, WaitStats]] = {}


def waits_under_way() -> list[WaitStats]:
    return [stats for _, _, stats in _timers.values()]


def status_text(progress: Sequence[JobProgress | None], elapsed_seconds: float) -> str:
    """One line for the status bar: state, percent and eta of each job, and the time waited."""
    known = [item for item in progress if item is not None]
    elapsed = f"{_duration(elapsed_seconds)} elapsed"
    if len(known) == 1:
        parts = [f"Veo: {_job_words(known[0])}", elapsed, HINT]
    else:
        counts: dict[str, int] = {}
        for item in known:
            counts[item.state.value] = counts.get(item.state.value, 0) + 1
        states = ", ".join(f"{count} {state}" for state, count in counts.items())
        percents = [f"{item.progress_percent}%" for item in known if _shows_percent(item)]
        detail = f" ({', '.join(percents)})" if percents else ""
        parts = [f"Veo: {len(known)} jobs: {states}{detail}", elapsed, HINT]
    return " · ".join(parts)


def _shows_percent(item: JobProgress) -> bool:
    return item.progress_percent is not None and item.state in (JobState.PROCESSING, JobState.DOWNLOADING)


def _job_words(item: JobProgress) -> str:
    words = [item.state.value]
    if _shows_percent(item):
        words.append(f"{item.progress_percent}%")
    if item.eta_seconds is not None and item.state in (JobState.QUEUED, JobState.PROCESSING):
        words.append(f"about {_duration(item.eta_seconds)} left")
    return " ".join(words)


def _duration(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{whole} s"


class WaitsForJobs:
    """Mix-in for operators that wait for jobs in the UI (like Blender's own extension
    operators: start the work, then follow it modally until it ends)."""

    def wait_for_jobs(self, context: bpy.types.Context, job_ids: Sequence[str]) -> OperatorResult:
        window_manager = context.window_manager
        assert window_manager is not None and context.window is not None
        # A job with nothing left to do (its clip was already in) has no progress to follow.
        self._job_ids = [job_id for job_id in job_ids if manager.progress(job_id) is not None]
        if not self._job_ids:
            return self._finished_jobs(job_ids)
        self._started = time.monotonic()
        self._status = ""
        self._stats = WaitStats()
        self._timer = window_manager.event_timer_add(TIMER_STEP, window=context.window)
        _timers[id(self)] = (window_manager, self._timer, self._stats)
        window_manager.modal_handler_add(self._operator())
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> OperatorResult:
        if id(self) not in _timers:  # ended from outside (a file load, the add-on disabled)
            return {"CANCELLED"}
        if event.type == "TIMER":
            began = time.perf_counter()
            outcome = self._on_timer(context)
            milliseconds = (time.perf_counter() - began) * 1000
            if outcome is not None:
                self._stats.final_ms = milliseconds
                return self._ended(context, outcome)
            self._stats.add(milliseconds)
            # Other modal operators may run on TIMER events too.
            return {"PASS_THROUGH"}
        if event.type == "ESC" and event.value == "PRESS":
            return self._ended(context, self._stop_waiting())
        return {"PASS_THROUGH"}

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends the operator itself (its window closes, another file loads)."""
        self._end_timer(context)

    def _on_timer(self, context: bpy.types.Context) -> OperatorResult | None:
        """Read what the job manager knows; the wait's result once nothing is pending."""
        progress = [manager.progress(job_id) for job_id in self._job_ids]
        if all(item is None for item in progress):
            self._operator().report({"WARNING"}, "The job was forgotten meanwhile; stopped waiting")
            return {"CANCELLED"}
        if not any(item.pending for item in progress if item is not None):
            return self._finished_jobs(self._job_ids)
        text = status_text(progress, time.monotonic() - self._started)
        if text != self._status:
            self._status = self._stats.last_status = text
            self._stats.status_changes += 1
            if context.workspace is not None:
                context.workspace.status_text_set(text)
            tag_sequencer_redraw()
        return None

    def _finished_jobs(self, job_ids: Sequence[str]) -> OperatorResult:
        jobs = [job for job in (manager.current_job(job_id) for job_id in job_ids) if job]
        return report_outcome(self._operator(), jobs)

    def _stop_waiting(self) -> OperatorResult:
        stopped = [job_id for job_id in self._job_ids if manager.stop(job_id)]
        which = ", ".join(job_id[:8] for job_id in stopped) or "none was still running"
        self._operator().report(
            {"INFO"},
            f"Stopped waiting (jobs: {which}); the jobs stay in the list with their task ids, "
            "and Resume Jobs finishes them",
        )
        return {"FINISHED"}

    def _ended(self, context: bpy.types.Context, outcome: OperatorResult) -> OperatorResult:
        self._end_timer(context)
        global last_wait_stats
        last_wait_stats = self._stats
        print(self._stats.line(), flush=True)
        return outcome

    def _end_timer(self, context: bpy.types.Context) -> None:
        entry = _timers.pop(id(self), None)
        if entry is not None:
            window_manager, timer, _ = entry
            window_manager.event_timer_remove(timer)
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        tag_sequencer_redraw()

    def _operator(self) -> bpy.types.Operator:
        """The operator this is mixed into (for its report())."""
        return cast(bpy.types.Operator, self)


def end_all_waits() -> None:
    """Remove every waiting operator's timer: its operator may never run again (the add-on is
    being disabled, or another file loads). The jobs themselves go on in the job manager."""
    while _timers:
        _, (window_manager, timer, _) = _timers.popitem()
        with contextlib.suppress(ReferenceError):  # the window manager went with the old file
            window_manager.event_timer_remove(timer)
    for window in getattr(bpy.context.window_manager, "windows", ()):
        # The status text belongs to the context's workspace, whatever workspace it is called on.
        with bpy.context.temp_override(window=window):
            if bpy.context.workspace is not None:
                bpy.context.workspace.status_text_set(None)


@persistent
def _on_load_pre(*_args: object) -> None:
    end_all_waits()


def register() -> None:
    bpy.app.handlers.load_pre.append(_on_load_pre)


def unregister() -> None:
    end_all_waits()
    while _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
