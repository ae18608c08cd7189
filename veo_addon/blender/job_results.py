"""Applying the workers' events to the open file: the job list in the scene, the placeholder,
and the clip on the timeline, shared with every twin job (same task, same gap).

The part of the job manager (`jobmanager.JobManager`) that touches the timeline. What only a
finishing job needs (placement, the seam check, sound fades) loads with the first result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bpy

from ..core.errors import VeoError
from ..core.job import Job, JobState
from ..core.journal import Journal, mark_inserted, normalise_blend_path
from ..core.lazy_import import lazy_module
from . import jobstore
from .job_progress import tag_sequencer_redraw

if TYPE_CHECKING:
    from ..core import runner_base
    from ..core.runner import JobRunner
    from . import finishing, placeholder, placement, shared_task
    from .cost_report import Estimate
else:
    runner_base = lazy_module(f"{__package__.rpartition('.')[0]}.core.runner_base")
    finishing = lazy_module(f"{__package__}.finishing")
    placeholder = lazy_module(f"{__package__}.placeholder")
    placement = lazy_module(f"{__package__}.placement")
    shared_task = lazy_module(f"{__package__}.shared_task")

log = logging.getLogger(__name__)


@dataclass
class RunningJob:
    runner: JobRunner
    file_generation: int  # which opened file the job was started or resumed in
    last_line: tuple[str, str] = ("", "")


class AppliesResults:
    """Mixed into JobManager, which provides what is declared here."""

    _file_generation: int
    # Jobs stopped because a twin inserted their clip: (scene name, the job as shared).
    _sharing: dict[str, tuple[str, Job]]
    on_line: Callable[[str], None]

    if TYPE_CHECKING:

        @property
        def journal(self) -> Journal: ...

        def estimate(self, job_id: str) -> Estimate | None: ...

        def stop(self, job_id: str) -> bool: ...

        def _note(self, job: Job) -> None: ...

        def _progress_done(self, job_id: str) -> None: ...

        def _record(self, job: Job) -> None: ...

    def _apply(self, event: runner_base.JobEvent, running: RunningJob) -> None:
        job = event.job
        line = (job.state.value, job.message)
        if line != running.last_line:
            running.last_line = line
            task = f" task {job.task_id}" if job.task_id else ""
            self.on_line(f"[veo] job {job.job_id[:8]}{task} {job.state.value}: {job.message}")
        self._note(job)
        scene = self._scene_for(job, running)
        if scene is None:
            return  # the job belongs to a file that is not open: the journal keeps it
        if placement.job_on_timeline(scene, job.job_id):
            # Its file was reopened and its clip put in meanwhile (the load's pick-up ran before
            # this pump): the worker's last events are older news, and inserting twice is wrong.
            return
        # Undone past its start: the file lost the job and its placeholder, not its clip to come.
        unseen = jobstore.load_job(scene, job.job_id) is None
        jobstore.save_job(scene, job)
        if unseen:
            placeholder.restore(scene, job)
        placeholder.show_state(scene, job)
        if event.kind is runner_base.EventKind.FINISHED and job.state is JobState.DOWNLOADED:
            self.insert(scene, job, seams_later=True)  # notes the job's progress as it ends

    def _scene_for(self, job: Job, running: RunningJob | None) -> bpy.types.Scene | None:
        """The scene the job's clip goes into, if its file is the open one.

        A job started or resumed since the open file was loaded belongs to it, whatever it was
        saved as meanwhile; otherwise the job's recorded file must be the open one.
        """
        opened_since = running is not None and running.file_generation == self._file_generation
        if not opened_since and (
            not job.blend_path
            or normalise_blend_path(job.blend_path) != normalise_blend_path(bpy.data.filepath)
        ):
            return None
        return bpy.data.scenes.get(job.scene_name)

    def insert(self, scene: bpy.types.Scene, job: Job, *, seams_later: bool = False) -> Job:
        """Put a downloaded job's clips on the timeline; the job records how it went. With
        `seams_later` (from pump(), which goes on ticking) the seam check runs in the next ticks.

        A job for the same task and gap whose clip went in meanwhile is shared, not inserted
        again; once this one inserts, it finishes such twins the same way."""
        twin = shared_task.inserted_twin(scene, job, jobstore.scene_jobs(scene))
        if twin is not None:
            shared = shared_task.share(job, *twin)
            if shared is not None:
                self._store_shared(scene, shared)
                return shared
        try:
            placed = placement.insert_job_clips(scene, job)
        except Exception as error:  # the clip stays on disk and the job stays `downloaded`
            if not isinstance(error, VeoError):
                log.exception("Veo job %s: inserting failed", job.job_id[:8])
            job.message = f"Downloaded, but not inserted: {error}"
            jobstore.save_job(scene, job)
            self._record(job)
            self._note(job)
            self.on_line(f"[veo] job {job.job_id[:8]} task {job.task_id}: {job.message}")
            return job
        strip_names = shared_task.record_own_insertion(job, placed.inserted)
        # Seam check, best take live, sound fades: sentences for the job's message.
        finished = finishing.finish_insertion(
            scene,
            job,
            placed.inserted,
            self.estimate(job.job_id),
            self.on_line,
            self._seams_checked if seams_later else None,
        )
        # The file's own record first: it is what says these strips are the job's.
        mark_inserted(None, job, f"{placed.summary} {finished}".strip())
        jobstore.save_job(scene, job)
        self._record(job)
        self._note(job)
        if not bpy.app.background and not finishing.seam_check_pending(job.job_id):
            push_undo_step("Insert Veo Transition")  # else once its seam check ended: one step for both
        self.on_line(f"[veo] job {job.job_id[:8]} task {job.task_id} inserted: {job.message}")
        self._share_with_twins(scene, job, strip_names)
        tag_sequencer_redraw()
        return job

    def _seams_checked(self, scene: bpy.types.Scene | None, job_id: str, job: Job | None) -> None:
        """The seam check that followed the insertion ended: the scores and notes are in `job`."""
        if scene is None or job is None:  # the job left the file meanwhile: no longer pending
            self._progress_done(job_id)
            return
        jobstore.save_job(scene, job)
        self._record(job)
        self._note(job)
        if not bpy.app.background:
            push_undo_step("Insert Veo Transition")
        self.on_line(f"[veo] job {job.job_id[:8]} task {job.task_id} seams checked: {job.message}")

    def _share_with_twins(self, scene: bpy.types.Scene, inserter: Job, strip_names: list[str]) -> None:
        """Finish every other job of this file for the same task and gap: it shares these strips."""
        twins = {job.job_id: job for job in jobstore.scene_jobs(scene)}
        if bpy.data.filepath:
            try:
                twins.update({job.job_id: job for job in self.journal.for_blend(bpy.data.filepath)})
            except OSError as error:
                log.warning("Veo job %s: the journal was not read: %s", inserter.job_id[:8], error)
        for shared in shared_task.shared_twins(scene, inserter, strip_names, twins.values()):
            if self.stop(shared.job_id):
                # Still following the task: its last events must not undo this.
                self._sharing[shared.job_id] = (scene.name, shared)
            self._store_shared(scene, shared)

    def _restore_shared(self, scene_name: str, shared: Job) -> None:
        """A stopped twin's worker wrote its own last state into the journal: put the shared one back."""
        self._record(shared)
        scene = bpy.data.scenes.get(scene_name)
        if scene is not None and jobstore.load_job(scene, shared.job_id) is not None:
            jobstore.save_job(scene, shared)

    def _store_shared(self, scene: bpy.types.Scene, shared: Job) -> None:
        placeholder.remove(scene, shared.job_id)  # the twin's clip is in the gap
        jobstore.save_job(scene, shared)
        self._record(shared)
        self._note(shared)
        self.on_line(f"[veo] job {shared.job_id[:8]} task {shared.task_id} inserted: {shared.message}")


def push_undo_step(message: str) -> None:
    """Results applied from a timer make no undo step by themselves: Ctrl+Z would take the
    strips away together with whatever came before."""
    try:
        bpy.ops.ed.undo_push(message=message)
    except RuntimeError as error:
        log.warning("No undo step for the inserted clip: %s", error)
