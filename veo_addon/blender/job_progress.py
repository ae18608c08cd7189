"""What the UI shows of a job while it runs: its last applied state, the redraw that shows it,
and the progress lines the system console shows."""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from ..core.job import Job, JobState


@dataclass(frozen=True)
class JobProgress:
    """What the UI shows of a job on every tick, kept up to date by the manager's pump(): reading
    it is a dict lookup, not a parse of the scene's job list."""

    state: JobState
    progress_percent: int | None
    eta_seconds: int | None
    message: str
    # False once the manager has applied the job's last event (its clip is in, or it ended).
    pending: bool

    @classmethod
    def of(cls, job: Job, *, pending: bool) -> JobProgress:
        return cls(job.state, job.progress_percent, job.eta_seconds, job.message, pending)


def tag_sequencer_redraw() -> None:
    for window in getattr(bpy.context.window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()


def print_line(line: str) -> None:
    """Progress lines also go to the system console: all a headless run shows, and a trace for support."""
    print(line, flush=True)
