"""Operators: collect context, call the layer below (plan a generation, the job manager), report.

In the UI a generation runs in the background (a timer applies results). In background
mode (`blender -b`, where timers never fire) the same operators block until their jobs
end, print progress lines on stdout, and return FINISHED only when the strips are in.
"""

from __future__ import annotations

import contextlib
from typing import Literal

import bpy

from ..core.errors import VeoError
from ..core.job import Job, JobState
from . import cost_report, gaps, jobstore, journal_sync, placement, presubmit
from .generation import plan_generation
from .generation_properties import GenerationProperties, generation_options
from .jobmanager import manager, print_line
from .preferences import service_settings

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]


def scene_of(context: bpy.types.Context) -> bpy.types.Scene:
    if context.scene is None:
        raise VeoError("There is no scene in this context")
    return context.scene


def refuse(operator: bpy.types.Operator, error: VeoError) -> OperatorResult:
    """The one-line refusal as an error report."""
    operator.report({"ERROR"}, str(error))
    return {"CANCELLED"}


def finish(operator: bpy.types.Operator, jobs: list[Job], started_lines: list[str]) -> OperatorResult:
    """Report what happened; in background mode this is after the jobs ended."""
    estimated = [(job, estimate) for job in jobs if (estimate := manager.estimate(job.job_id)) is not None]
    if not bpy.app.background:
        # The worker decides later whether an identical clip is reused: say what it may cost at most.
        for line in [*cost_report.started_lines([estimate for _, estimate in estimated]), *started_lines]:
            operator.report({"INFO"}, line)
        operator.report({"INFO"}, running_line(len(jobs)))
        return {"FINISHED"}
    for line in started_lines:
        operator.report({"INFO"}, line)
    for job, estimate in estimated:
        operator.report({"INFO"}, cost_report.outcome_line(job, estimate))
    if len(estimated) > 1:
        operator.report({"INFO"}, cost_report.total_line(estimated))
    failed = [job for job in jobs if job.state is not JobState.INSERTED]
    for job in jobs:
        print(summary_line(job), flush=True)
    if failed:
        operator.report({"ERROR"}, "; ".join(f"job {job.job_id[:8]}: {job.message}" for job in failed))
        return {"CANCELLED"}
    return {"FINISHED"}


def running_line(count: int) -> str:
    """The UI's word once jobs were started (there is no Veo panel yet: say where things show)."""
    jobs = "1 generation job" if count == 1 else f"{count} generation jobs"
    return (
        f"{jobs} started: each clip goes into its gap when ready; progress lines go to the system "
        "console, and the scene keeps the job list (Resume Jobs finishes it after a restart)"
    )


def summary_line(job: Job) -> str:
    task = job.task_id or "no task"
    frames = placement.job_frames_label(job)
    return f"[veo] {job.state.value.upper()} job {job.job_id[:8]} ({task}) {frames}: {job.message}"


def _wait(jobs: list[Job]) -> list[Job]:
    if not bpy.app.background:
        return jobs
    # Blocking, the progress lines are the only sign of life: they go to stdout, whoever listened before.
    with manager.lines_to(print_line):
        return manager.wait_for([job.job_id for job in jobs])


class PaysAgainOption:
    """ "New Generation": never remembered, so paying again is asked for each time anew."""

    new_generation: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="New Generation",
        description=(
            "Pays for a new clip even if an identical request was made before "
            "(otherwise the earlier clip or task is reused at no charge)"
        ),
        options={"SKIP_SAVE"},
    )


class VEO_OT_generate_transition(
    GenerationProperties, PaysAgainOption, presubmit.GapLimitProperties, bpy.types.Operator
):
    """Generate a Veo clip for the gap between two strips and put it in the gap"""

    bl_idname = "veo.generate_transition"
    bl_label = "Generate Transition"
    bl_options = {"REGISTER"}

    left_strip: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Left Strip", description="With Right Strip: the two strips around the gap"
    )
    right_strip: bpy.props.StringProperty(name="Right Strip")  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            scene = scene_of(context)
            settings = self.settings_with_gap_limits(service_settings(context))
            transition = gaps.choose_transition(scene, self.left_strip, self.right_strip)
            plan = plan_generation(
                scene, transition, generation_options(self, force_new=self.new_generation), settings
            )
            job = manager.start(plan)
        except VeoError as error:
            return refuse(self, error)
        return finish(self, _wait([job]), list(plan.warnings))


class VEO_OT_fill_gaps(
    GenerationProperties, PaysAgainOption, presubmit.GapLimitProperties, bpy.types.Operator
):
    """Generate a clip for every gap between strips on the timeline"""

    bl_idname = "veo.fill_gaps"
    bl_label = "Fill All Gaps"
    bl_options = {"REGISTER"}

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        jobs: list[Job] = []
        lines: list[str] = []
        try:
            scene = scene_of(context)
            settings = self.settings_with_gap_limits(service_settings(context))
            transitions = gaps.find_all_transitions(scene)
            if not transitions:
                # Nothing to fill is no failure: a batch run again over finished files stays green.
                self.report({"INFO"}, "There is no gap between strips on this timeline; nothing to fill")
                return {"FINISHED"}
            options = generation_options(self, force_new=self.new_generation)
            # Said before anything is sent: which gaps are skipped and why, and what the rest cost.
            plan = presubmit.plan_fill(scene, transitions, options, settings)
            for skipped in plan.skipped:
                self.announce("WARNING", skipped.line())
            if not plan.to_fill:
                raise VeoError(plan.cost_line())
            self.announce("INFO", plan.cost_line())
            for transition, _duration in plan.to_fill:
                planned = plan_generation(scene, transition, options, settings)
                jobs.append(manager.start(planned))
                lines.extend(planned.warnings)
        except VeoError as error:
            self.report({"ERROR"}, str(error))
            if not jobs:
                return {"CANCELLED"}
        return finish(self, _wait(jobs), lines)

    def announce(self, level: Literal["INFO", "WARNING"], line: str) -> None:
        """A line the user reads before anything is sent. Background mode prints it now: reports
        would only appear once the operator returns, after the jobs have run."""
        if bpy.app.background:
            print(f"[veo] {line}", flush=True)
        else:
            self.report({level}, line)


class JobIdOperand:
    """The job the job operators act on: named by its id, and known to this file or the journal.

    Each operator calls `known_job_id()` inside its own try block (so those few lines repeat on
    purpose): every execute() then reads top to bottom, refusals included."""

    job_id: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Job", description="The job's id; its first 8 characters, as messages show them, are enough"
    )

    def known_job_id(self) -> str:
        """The full id of the job `job_id` names. Raises VeoError for none, or one nobody knows."""
        wanted = self.job_id.strip()
        if not wanted:
            raise VeoError("No job id given")
        known = {job.job_id for scene in bpy.data.scenes for job in jobstore.scene_jobs(scene)}
        with contextlib.suppress(OSError):  # an unreadable journal: the file's own list still counts
            known |= {job.job_id for job in manager.journal.all()}
        if wanted in known:
            return wanted
        matches = sorted(job_id for job_id in known if job_id.startswith(wanted)) if len(wanted) >= 8 else []
        if len(matches) > 1:
            raise VeoError(f"Job id '{wanted}' fits {len(matches)} jobs; give more of it")
        if not matches:
            raise VeoError(f"No job '{wanted}' in this file or the journal")
        return matches[0]


class VEO_OT_resume_jobs(JobIdOperand, bpy.types.Operator):
    """Finish the open file's unfinished jobs: poll, download, insert (never submits again)"""

    bl_idname = "veo.resume_jobs"
    bl_label = "Resume Jobs"

    job_id: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Job", description="Only this job (its id, or its first 8 characters); empty for all"
    )

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        manager.adopt_from_journal()
        jobs = []
        try:
            only = self.known_job_id() if self.job_id.strip() else ""
            settings = service_settings(context)
            for scene in bpy.data.scenes:
                for job in jobstore.scene_jobs(scene):
                    if only and job.job_id != only:
                        continue
                    if manager.continue_job(scene, job, settings):
                        jobs.append(job)
        except VeoError as error:
            return refuse(self, error)
        if not jobs:
            self.report({"INFO"}, "No unfinished job in this file")
            return {"FINISHED"}
        return finish(self, _wait(jobs), [])


class VEO_OT_stop_job(JobIdOperand, bpy.types.Operator):
    """Stop waiting for a job. The task goes on at the service; resume it later"""

    bl_idname = "veo.stop_job"
    bl_label = "Stop Waiting"

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            job_id = self.known_job_id()
        except VeoError as error:
            return refuse(self, error)
        if not manager.stop(job_id):
            self.report({"WARNING"}, f"Job {job_id[:8]} is not running")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Stopped waiting for job {job_id[:8]}; its task id is kept")
        return {"FINISHED"}


class VEO_OT_forget_job(JobIdOperand, bpy.types.Operator):
    """Remove a job from this file and from the journal (its clip files stay on disk)"""

    bl_idname = "veo.forget_job"
    bl_label = "Forget Job"

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            job_id = self.known_job_id()
        except VeoError as error:
            return refuse(self, error)
        manager.forget(job_id)
        self.report({"INFO"}, f"Forgot job {job_id[:8]}")
        return {"FINISHED"}


class VEO_OT_adopt_job(JobIdOperand, bpy.types.Operator):
    """Bring a job started in an unsaved file into this file, and insert its clip here"""

    bl_idname = "veo.adopt_job"
    bl_label = "Insert Unclaimed Job Here"

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            job_id = self.known_job_id()
            if not bpy.data.filepath:
                raise VeoError("Save this file first: the job is claimed by the file it goes into")
            scene = scene_of(context)
            job = journal_sync.adopt(manager.journal, job_id, scene)
            manager.continue_job(scene, job, service_settings(context))
        except VeoError as error:
            return refuse(self, error)
        return finish(self, _wait([job]), [])


classes = (
    VEO_OT_generate_transition,
    VEO_OT_fill_gaps,
    VEO_OT_resume_jobs,
    VEO_OT_stop_job,
    VEO_OT_forget_job,
    VEO_OT_adopt_job,
)
