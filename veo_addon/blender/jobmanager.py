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
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core.client import HighwayClient, RetryPolicy
from ..core.delivery import PollPolicy
from ..core.errors import Cancelled, VeoError, missing_key_error
from ..core.job import Job, JobState
from ..core.journal import Journal, mark_inserted, normalise_blend_path
from ..core.request import GenerationRequest
from ..core.runner import JobRunner, recover_interrupted
from ..core.runner_base import EventKind, JobEvent
from ..core.worker_imports import import_worker_modules
from . import finishing, jobstore, journal_sync, placeholder, placement, shared_task
from .clips_folder import clips_folder_for
from .cost_report import Estimate
from .generation import GenerationPlan
from .preferences import ServiceSettings, user_folder

log = logging.getLogger(__name__)

PUMP_INTERVAL = 0.25
NOT_SENT_MESSAGE = "Stopped before anything was sent; nothing was billed."


@dataclass
class _Running:
    runner: JobRunner
    file_generation: int  # which opened file the job was started or resumed in
    last_line: tuple[str, str] = ("", "")


@dataclass
class _Queued:
    """A new job waiting for a free slot (the `concurrency` preference): nothing sent yet."""

    job: Job
    plan: GenerationPlan
    file_generation: int  # the file it was started in: its clip goes there, not into a later one


@dataclass(frozen=True)
class JobProgress:
    """What the UI shows of a job on every tick, kept up to date by pump(): reading it is a
    dict lookup, not a parse of the scene's job list."""

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


class JobManager:
    """One per Blender process: the runners in flight and the journal they share."""

    def __init__(self) -> None:
        self._running: dict[str, _Running] = {}
        self._journal: Journal | None = None
        self._file_generation = 0
        self._forgotten: set[str] = set()
        self._estimates: dict[str, Estimate] = {}
        self._progress: dict[str, JobProgress] = {}
        self._queue: list[_Queued] = []  # in the order they were started
        # Jobs stopped because a twin inserted their clip: (scene name, the job as shared).
        self._sharing: dict[str, tuple[str, Job]] = {}
        self.on_line: Callable[[str], None] = print_line
        # How often to poll and how to retry; the defaults follow the service's guidance.
        self.poll_policy = PollPolicy()
        self.retry_policy: RetryPolicy | None = None  # None: the client's own defaults

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
            message="Keyframes captured; preparing the request.",
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
        queued = self._slots_full(plan.settings.jobs_at_once)
        if queued:
            limit = plan.settings.jobs_at_once
            job.message = f"Waiting to be sent: at most {limit} at once (Jobs at Once preference)"
            self._queue.append(_Queued(job, plan, self._file_generation))
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

    def _slots_full(self, jobs_at_once: int) -> bool:
        return jobs_at_once > 0 and len(self.running_job_ids()) >= jobs_at_once

    def _start_queued(self) -> None:
        """Send waiting jobs, in order, while there are free slots."""
        while self._queue and not self._slots_full(self._queue[0].plan.settings.jobs_at_once):
            waiting = self._queue.pop(0)
            waiting.job.message = "Keyframes captured; preparing the request."
            self._launch_plan(waiting.job, waiting.plan, waiting.file_generation)

    def _unqueue(self, job_id: str) -> Job | None:
        """Take a waiting job out of the queue: it fails with nothing sent, nothing paid."""
        for index, waiting in enumerate(self._queue):
            if waiting.job.job_id == job_id:
                del self._queue[index]
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
        return None

    def progress(self, job_id: str) -> JobProgress | None:
        """The job as last applied in this session; None for a job this session never ran."""
        return self._progress.get(job_id)

    def _note(self, job: Job) -> None:
        pending = job.job_id in self._running or any(w.job.job_id == job.job_id for w in self._queue)
        pending = pending or finishing.seam_check_pending(job.job_id)
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
        client_settings = settings.client_settings
        if self.retry_policy is not None:
            client_settings = dataclasses.replace(
                client_settings, retry=self.retry_policy, submit_retry=self.retry_policy
            )

        # Before any worker runs: a worker importing while the main thread renders can crash Blender.
        import_worker_modules()

        def client_factory() -> HighwayClient:
            return HighwayClient(settings.api_key, settings.base_url, settings=client_settings)

        runner = JobRunner(
            job,
            client_factory,
            self.journal,
            clips_dir,
            build_request,
            force_new=force_new,
            poll_policy=self.poll_policy,
        )
        opened = self._file_generation if file_generation is None else file_generation
        self._running[job.job_id] = _Running(runner, opened)
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
        for job_id in [waiting.job.job_id for waiting in self._queue] + self.running_job_ids():
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
            return any(waiting.job.job_id == job_id for waiting in self._queue)
        return not running.runner.done

    @property
    def busy(self) -> bool:
        return bool(self._running or self._queue) or finishing.seam_check_pending()

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
                if job_id in self._progress:
                    pending = finishing.seam_check_pending(job_id)
                    self._progress[job_id] = dataclasses.replace(self._progress[job_id], pending=pending)
                shared = self._sharing.pop(job_id, None)
                if job_id in self._forgotten:
                    self._forgotten.discard(job_id)
                    self.journal.remove(job_id)
                elif shared is not None:
                    self._restore_shared(*shared)
        self._start_queued()
        changed = finishing.step_seam_checks() or changed  # one thumbnail render at most
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
        while any(finishing.seam_check_pending(job_id) for job_id in wanted):
            self.pump()  # one seam render each: the check's notes are part of the outcome
        return [job for job in (self.current_job(job_id) for job_id in wanted) if job is not None]

    def current_job(self, job_id: str) -> Job | None:
        scene = jobstore.find_job_scene(job_id)
        job = jobstore.load_job(scene, job_id) if scene is not None else None
        return job or self.journal.get(job_id)

    def _apply(self, event: JobEvent, running: _Running) -> None:
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
        if event.kind is EventKind.FINISHED and job.state is JobState.DOWNLOADED:
            self.insert(scene, job, seams_later=True)  # notes the job's progress as it ends

    def _scene_for(self, job: Job, running: _Running | None) -> bpy.types.Scene | None:
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
            if job_id in self._progress:
                self._progress[job_id] = dataclasses.replace(self._progress[job_id], pending=False)
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

    def _record(self, job: Job) -> None:
        journal_sync.record(self.journal, job)

    # -- files -----------------------------------------------------------------------------------

    def file_opened(self) -> list[Job]:
        """After another file was opened: jobs running for the old one no longer apply here."""
        self._file_generation += 1
        return self.adopt_from_journal()

    def adopt_from_journal(self) -> list[Job]:
        """Bring the open file's journal entries into it; returns the jobs with work left."""
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


def push_undo_step(message: str) -> None:
    """Results applied from a timer make no undo step by themselves: Ctrl+Z would take the
    strips away together with whatever came before."""
    try:
        bpy.ops.ed.undo_push(message=message)
    except RuntimeError as error:
        log.warning("No undo step for the inserted clip: %s", error)


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
