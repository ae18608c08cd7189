"""The job manager: the main-thread side of generation jobs.

Workers (`core.runner.JobRunner`) do every network call and image encode; the manager starts
a planned job (`generation.GenerationPlan`) or resumes a recorded one, and applies the
workers' events to the open file: the job list in the scene, and the clip on the timeline.
The UI drives `pump()` from a `bpy.app.timers` callback; background mode (where timers never
fire) drives the very same `pump()` from `wait_for()`, a blocking loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import bpy

from ..core.errors import Cancelled, missing_key_error
from ..core.job import Job, JobState
from ..core.journal import Journal
from ..core.lazy_import import lazy_module
from . import jobstore
from .clips_folder import clips_folder_for
from .job_progress import JobProgress, print_line, tag_sequencer_redraw
from .job_queue import PREPARING_MESSAGE, JobQueue, slots_full
from .job_results import AppliesResults, RunningJob, push_undo_step
from .preferences import ServiceSettings, user_folder

# What only a running or finishing job needs loads with the first job, not when the add-on is enabled.
if TYPE_CHECKING:
    from pathlib import Path

    from ..core.client import RetryPolicy
    from ..core.delivery import PollPolicy
    from ..core.request import GenerationRequest
    from . import job_launch, journal_sync, placeholder, placement
    from .cost_report import Estimate
    from .generation import GenerationPlan
else:
    job_launch = lazy_module(f"{__package__}.job_launch")
    journal_sync = lazy_module(f"{__package__}.journal_sync")
    placeholder = lazy_module(f"{__package__}.placeholder")
    placement = lazy_module(f"{__package__}.placement")

log = logging.getLogger(__name__)

PUMP_INTERVAL = 0.25
NOT_SENT_MESSAGE = "Stopped before anything was sent; nothing was billed."


class JobManager(AppliesResults):
    """One per Blender process: the runners in flight and the journal they share."""

    def __init__(self) -> None:
        self._running: dict[str, RunningJob] = {}
        self._journal: Journal | None = None
        self._file_generation = 0
        self._forgotten: set[str] = set()
        self._estimates: dict[str, Estimate] = {}
        self._progress: dict[str, JobProgress] = {}
        self._queue = JobQueue()  # new jobs beyond Jobs at Once, nothing sent yet
        self._sharing: dict[str, tuple[str, Job]] = {}
        self.on_line: Callable[[str], None] = print_line
        # How often to poll and how to retry; None: the defaults, which follow the service's guidance.
        self.poll_policy: PollPolicy | None = None
        self.retry_policy: RetryPolicy | None = None

    @contextlib.contextmanager
    def lines_to(self, on_line: Callable[[str], None]) -> Iterator[None]:
        """Progress lines go to `on_line` inside the block; whoever listened before does again after."""
        previous, self.on_line = self.on_line, on_line
        try:
            yield
        finally:
            self.on_line = previous

    # -- where things live ---------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        folder = user_folder()
        if self._journal is None or self._journal.path.parent != folder:
            self._journal = Journal(folder / "journal.json")
        return self._journal

    # -- starting work -------------------------------------------------------------------------

    def start(self, plan: GenerationPlan) -> Job:
        """Record the planned job in its scene and hand it to a worker; its cost estimate is
        `estimate(job.job_id)`."""
        gap = plan.transition.gap
        job = Job.new(
            message=PREPARING_MESSAGE,
            scene_name=plan.scene_name,
            frame_start=gap.start,
            frame_end=gap.end,
            channel=plan.transition.left_channel,
            blend_path=plan.blend_path,
            base_url=plan.settings.base_url,
            keyframe_sources={"first": plan.first.description, "last": plan.last.description},
            placement=plan.placement(),
        )
        self._estimates[job.job_id] = plan.estimate()
        queued = slots_full(plan.settings.jobs_at_once, len(self.running_job_ids()))
        if queued:
            self._queue.add(job, plan, self._file_generation)
        scene = bpy.data.scenes.get(plan.scene_name)
        if scene is not None:
            # A failed-for-good placeholder in the gap gives way, in the same undo step.
            cleared = placeholder.clear_ended(scene, gap.start, gap.end)
            reserved = plan.settings.placeholder and self._reserve_gap(scene, job, plan)
            jobstore.save_job(scene, job)
            if (reserved or cleared) and not bpy.app.background:
                push_undo_step("Reserve Veo Transition")
        if queued:
            self._note(job)
        else:
            self._launch_plan(job, plan, self._file_generation)
        return job

    def _launch_plan(self, job: Job, plan: GenerationPlan, file_generation: int) -> None:
        self._launch(
            job,
            plan.settings,
            plan.clips_folder,
            plan.request,
            force_new=plan.options.force_new,
            file_generation=file_generation,
        )

    def _start_queued(self) -> None:
        """Send waiting jobs, in order, while there are free slots."""
        while (waiting := self._queue.next_ready(len(self.running_job_ids()))) is not None:
            self._launch_plan(waiting.job, waiting.plan, waiting.file_generation)

    def _unqueue(self, job_id: str) -> Job | None:
        """Take a waiting job out of the queue: it fails with nothing sent, nothing paid."""
        waiting = self._queue.take(job_id)
        if waiting is None:
            return None
        job = waiting.job
        # As a runner stopped before sending says it.
        job.transition(JobState.FAILED, NOT_SENT_MESSAGE, error_code=Cancelled.code)
        scene = bpy.data.scenes.get(job.scene_name)
        if scene is not None:
            jobstore.save_job(scene, job)
            placeholder.show_state(scene, job)
        self._record(job)
        self._progress[job_id] = JobProgress.of(job, pending=False)
        return job

    def _progress_done(self, job_id: str) -> None:
        """The job no longer waits for anything in this session."""
        if job_id in self._progress:
            self._progress[job_id] = dataclasses.replace(self._progress[job_id], pending=False)

    def progress(self, job_id: str) -> JobProgress | None:
        """The job as last applied in this session; None for a job this session never ran."""
        return self._progress.get(job_id)

    def _note(self, job: Job) -> None:
        pending = job.job_id in self._running or job.job_id in self._queue
        pending = pending or _seam_check_pending(job.job_id)
        self._progress[job.job_id] = JobProgress.of(job, pending=pending)

    def _reserve_gap(self, scene: bpy.types.Scene, job: Job, plan: GenerationPlan) -> bool:
        """The placeholder, recorded on the job before any worker copies it; a placeholder that
        cannot be made must not stop a job already checked and captured."""
        try:
            return placeholder.reserve(scene, job, plan)
        except Exception as error:
            log.exception("Veo job %s: no placeholder", job.job_id[:8])
            self.on_line(f"[veo] job {job.job_id[:8]}: no placeholder in the gap: {error}")
            return False

    def estimate(self, job_id: str) -> Estimate | None:
        """The cost estimate of a job started in this session (cost_report words it)."""
        return self._estimates.get(job_id)

    def resume(self, job: Job, settings: ServiceSettings) -> bool:
        """Poll and download an accepted task again (never submits). False if nothing to do."""
        if self.is_running(job.job_id):
            return True
        if not job.can_resume:
            return False
        if not settings.api_key:
            raise missing_key_error()
        clips_dir, _ = clips_folder_for(settings)
        self._launch(job, settings, clips_dir, None, force_new=False)
        return True

    def _launch(
        self,
        job: Job,
        settings: ServiceSettings,
        clips_dir: Path,
        build_request: Callable[[], GenerationRequest] | None,
        *,
        force_new: bool,
        file_generation: int | None = None,
    ) -> None:
        runner = job_launch.new_runner(
            job,
            settings,
            self.journal,
            clips_dir,
            build_request,
            force_new=force_new,
            poll_policy=self.poll_policy,
            retry_policy=self.retry_policy,
        )
        opened = self._file_generation if file_generation is None else file_generation
        self._running[job.job_id] = RunningJob(runner, opened)
        self._note(job)
        runner.start()
        ensure_pump_timer()

    def stop(self, job_id: str) -> bool:
        if self._unqueue(job_id) is not None:
            return True
        running = self._running.get(job_id)
        if running is None or running.runner.done:
            return False
        running.runner.stop()
        return True

    def running_job_ids(self) -> list[str]:
        return [job_id for job_id, running in self._running.items() if not running.runner.done]

    def stop_all(self) -> None:
        for job_id in self._queue.job_ids() + self.running_job_ids():
            self.stop(job_id)

    def forget(self, job_id: str) -> None:
        if self._unqueue(job_id) is None and self.stop(job_id):
            # Its worker writes the job once more as it stops: remove it again when it is done.
            self._forgotten.add(job_id)
        self._progress.pop(job_id, None)
        self.journal.remove(job_id)
        for scene in bpy.data.scenes:
            jobstore.remove_job(scene, job_id)
            placeholder.remove(scene, job_id)

    # -- applying results (main thread) ----------------------------------------------------------

    def is_running(self, job_id: str) -> bool:
        """Running, or waiting in the queue to be sent."""
        running = self._running.get(job_id)
        if running is None:
            return job_id in self._queue
        return not running.runner.done

    @property
    def busy(self) -> bool:
        return bool(self._running or self._queue) or _seam_check_pending()

    def pump(self) -> None:
        """Apply every event the workers produced since the last call."""
        changed = False
        placeholder.pick_up_pictures()
        for job_id, running in list(self._running.items()):
            finished = running.runner.done
            # Events queued before `done` was read are applied in the second round; none come after.
            for event in running.runner.drain_events() + (running.runner.drain_events() if finished else []):
                changed = True
                if job_id in self._forgotten or job_id in self._sharing:
                    continue
                try:
                    self._apply(event, running)
                except Exception as error:  # one bad result must not stop the others being applied
                    log.exception("Veo job %s: applying a result failed", job_id[:8])
                    self.on_line(f"[veo] job {job_id[:8]}: could not apply a result: {error}")
            if finished:
                del self._running[job_id]
                if not _seam_check_pending(job_id):
                    self._progress_done(job_id)
                shared = self._sharing.pop(job_id, None)
                if job_id in self._forgotten:
                    self._forgotten.discard(job_id)
                    self.journal.remove(job_id)
                elif shared is not None:
                    self._restore_shared(*shared)
        self._start_queued()
        changed = _step_seam_checks() or changed  # one thumbnail render at most
        if changed:
            tag_sequencer_redraw()

    def wait_for(self, job_ids: Iterable[str], poll_seconds: float = 0.2) -> list[Job]:
        """The blocking path (background mode): same pump, in a loop, until the jobs ended."""
        wanted = list(job_ids)
        try:
            while any(self.is_running(job_id) for job_id in wanted):
                self.pump()
                time.sleep(poll_seconds)
        except KeyboardInterrupt:
            for job_id in wanted:
                self.stop(job_id)
            while any(self.is_running(job_id) for job_id in wanted):
                time.sleep(poll_seconds)
        self.pump()
        while any(_seam_check_pending(job_id) for job_id in wanted):
            self.pump()  # one seam render each: the check's notes are part of the outcome
        return [job for job in (self.current_job(job_id) for job_id in wanted) if job is not None]

    def current_job(self, job_id: str) -> Job | None:
        scene = jobstore.find_job_scene(job_id)
        job = jobstore.load_job(scene, job_id) if scene is not None else None
        return job or self.journal.get(job_id)

    def _record(self, job: Job) -> None:
        journal_sync.record(self.journal, job)

    # -- files -----------------------------------------------------------------------------------

    def file_opened(self) -> list[Job]:
        """After another file was opened: jobs running for the old one no longer apply here."""
        self._file_generation += 1
        return self.adopt_from_journal()

    def adopt_from_journal(self) -> list[Job]:
        """Bring the open file's journal entries into it; returns the jobs with work left."""
        if any(job.state is JobState.SUBMITTING for job in self.journal.all()):
            # Only a job caught mid-submit needs it; else the runner loads with the first job.
            from ..core.runner import recover_interrupted

            recover_interrupted(self.journal)
        known = {job.job_id for scene in bpy.data.scenes for job in jobstore.scene_jobs(scene)}
        pending = journal_sync.bring_into_open_file(self.journal)
        for scene in bpy.data.scenes:
            for job in jobstore.scene_jobs(scene):
                if job.job_id not in known:
                    placeholder.restore(scene, job)  # the file was saved before the job started
        return pending

    def continue_job(self, scene: bpy.types.Scene, job: Job, settings: ServiceSettings) -> bool:
        """Whatever a job still needs: insert it if downloaded, else resume it.

        Safe to call again for the same job: a clip already on the timeline or a job already
        running is left as it is. Runs operators (the undo step): never from a file handler.
        """
        if self.is_running(job.job_id):
            return True
        if job.needs_insert:
            if not placement.job_on_timeline(scene, job.job_id):
                self.insert(scene, job)
            return True
        return self.resume(job, settings)


def _loaded_finishing() -> ModuleType | None:
    """`finishing` once the first insertion loaded it; before that no seam check can be under way."""
    return sys.modules.get(f"{__package__}.finishing")


def _seam_check_pending(job_id: str | None = None) -> bool:
    loaded = _loaded_finishing()
    return loaded is not None and bool(loaded.seam_check_pending(job_id))


def _step_seam_checks() -> bool:
    loaded = _loaded_finishing()
    return loaded is not None and bool(loaded.step_seam_checks())


manager = JobManager()


def _pump_timer() -> float | None:
    manager.pump()
    return PUMP_INTERVAL if manager.busy else None


def ensure_pump_timer() -> None:
    """In the UI a timer applies results; in background mode timers never fire (wait_for does it)."""
    if bpy.app.background:
        return
    if not bpy.app.timers.is_registered(_pump_timer):
        bpy.app.timers.register(_pump_timer, first_interval=PUMP_INTERVAL, persistent=True)


def unregister_pump_timer() -> None:
    if bpy.app.timers.is_registered(_pump_timer):
        bpy.app.timers.unregister(_pump_timer)
