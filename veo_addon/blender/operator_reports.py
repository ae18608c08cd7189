"""What the operators say: refusals, the lines when jobs start, and each job's outcome.

In the UI a generation runs on (the job manager's timer applies results, and an operator
waiting modally shows progress in the status bar). In background mode (`blender -b`, where
timers never fire) the operators block until their jobs end, print progress lines on
stdout, and report each job's outcome before they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import bpy

from ..core.errors import VeoError
from ..core.job import Job, JobState
from ..core.lazy_import import lazy_module
from . import cost_report
from .job_progress import print_line
from .jobmanager import manager

if TYPE_CHECKING:
    from . import placement
else:
    placement = lazy_module(f"{__package__}.placement")

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]


def scene_of(context: bpy.types.Context) -> bpy.types.Scene:
    if context.scene is None:
        raise VeoError("There is no scene in this context")
    return context.scene


def refuse(operator: bpy.types.Operator, error: VeoError) -> OperatorResult:
    """The one-line refusal as an error report."""
    operator.report({"ERROR"}, str(error))
    return {"CANCELLED"}


def report_started(operator: bpy.types.Operator, jobs: Sequence[Job], started_lines: Sequence[str]) -> None:
    """The UI's word once jobs were started: what they may cost at most, and where they show."""
    # The worker decides later whether an identical clip is reused: say what it may cost at most.
    estimates = [estimate for job in jobs if (estimate := manager.estimate(job.job_id)) is not None]
    for line in [*cost_report.started_lines(estimates), *started_lines]:
        operator.report({"INFO"}, line)
    operator.report({"INFO"}, running_line(len(jobs)))


def report_outcome(operator: bpy.types.Operator, jobs: Sequence[Job]) -> OperatorResult:
    """After the jobs ended: what each cost, and an error naming those that did not go in."""
    estimated = [(job, estimate) for job in jobs if (estimate := manager.estimate(job.job_id)) is not None]
    for job, estimate in estimated:
        operator.report({"INFO"}, cost_report.outcome_line(job, estimate))
    if len(estimated) > 1:
        operator.report({"INFO"}, cost_report.total_line(estimated))
    failed = [job for job in jobs if job.state is not JobState.INSERTED]
    if failed:
        operator.report({"ERROR"}, "; ".join(f"job {job.job_id[:8]}: {job.message}" for job in failed))
        return {"CANCELLED"}
    return {"FINISHED"}


def finish(operator: bpy.types.Operator, jobs: list[Job], started_lines: Sequence[str]) -> OperatorResult:
    """Report the jobs started; background mode then waits for them to end and reports that."""
    if not bpy.app.background:
        report_started(operator, jobs, started_lines)
        return {"FINISHED"}
    # Printed now: reports would only show once the operator returns, after the jobs have run.
    for line in started_lines:
        print_line(f"[veo] {line}")
    ended = wait_in_background(jobs)
    for job in ended:
        print(summary_line(job), flush=True)
    return report_outcome(operator, ended)


def running_line(count: int) -> str:
    """Where a started job's progress shows, and that it goes on by itself."""
    jobs = "1 generation job" if count == 1 else f"{count} generation jobs"
    return (
        f"{jobs} started: each clip goes into its gap when ready; progress shows in the status bar "
        "and in the Sequencer's sidebar (Veo tab), and the scene keeps the job list (Resume Jobs "
        "finishes it after a restart)"
    )


def summary_line(job: Job) -> str:
    task = job.task_id or "no task"
    frames = placement.job_frames_label(job)
    return f"[veo] {job.state.value.upper()} job {job.job_id[:8]} ({task}) {frames}: {job.message}"


def wait_in_background(jobs: list[Job]) -> list[Job]:
    """Background mode blocks until the jobs ended; the UI returns at once."""
    if not bpy.app.background:
        return jobs
    # Blocking, the progress lines are the only sign of life: they go to stdout, whoever listened before.
    with manager.lines_to(print_line):
        return manager.wait_for([job.job_id for job in jobs])
