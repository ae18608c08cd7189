"""The job operators: resume, stop, forget, adopt; and the list of every operator class.

The paying operators (generate one transition, fill every gap) are in generate_operators.py;
what operators report is in operator_reports.py; waiting for jobs in the UI in modal_wait.py.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import bpy

from ..core.errors import VeoError
from ..core.lazy_import import lazy_module
from . import generate_operators, jobstore
from .generate_operators import waits_in_window
from .jobmanager import manager
from .modal_wait import WaitsForJobs
from .operator_reports import (  # noqa: F401 - running_line and summary_line: where callers look for them
    OperatorResult,
    finish,
    refuse,
    report_started,
    running_line,
    scene_of,
    summary_line,
    wait_in_background,
)
from .preferences import service_settings

if TYPE_CHECKING:
    from . import journal_sync
else:
    journal_sync = lazy_module(f"{__package__}.journal_sync")


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


class VEO_OT_resume_jobs(JobIdOperand, WaitsForJobs, bpy.types.Operator):
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
        if waits_in_window(context):
            report_started(self, jobs, [])
            return self.wait_for_jobs(context, [job.job_id for job in jobs])
        return finish(self, jobs, [])


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
        return finish(self, [job], [])


classes = (
    *generate_operators.classes,
    VEO_OT_resume_jobs,
    VEO_OT_stop_job,
    VEO_OT_forget_job,
    VEO_OT_adopt_job,
)
