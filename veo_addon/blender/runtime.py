"""The main-thread side of generation jobs.

Workers (`core.jobs.JobRunner`) do every network call and image encode; this module
captures keyframes, starts and resumes runners, and applies their events to the open
file: the job list in the scene, and the clip on the timeline. The UI drives `pump()`
from a `bpy.app.timers` callback; background mode (where timers never fire) drives the
very same `pump()` from `wait_for()`, a blocking loop.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from ..core.client import HighwayClient, RetryPolicy
from ..core.delivery import PollPolicy
from ..core.errors import VeoError, missing_key_error
from ..core.images import FitMethod, prepare_keyframe
from ..core.job import Job, JobState
from ..core.journal import Journal, mark_inserted, normalise_blend_path
from ..core.pricing import PriceRates, estimate_cost
from ..core.request import GenerationRequest, ImageInput, validate_parameters
from ..core.runner import JobRunner, recover_interrupted
from ..core.runner_base import EventKind, JobEvent
from ..core.timing import FitMode
from ..core.worker_imports import import_worker_modules
from . import gaps, jobstore, placement, shared_task, timeline
from .capture import CapturedKeyframe, KeyframeSource, capture_transition_keyframes, resolve_aspect_ratio
from .clips_folder import ensure_writable_folder
from .cost_report import Estimate
from .preferences import ServiceSettings, user_folder

log = logging.getLogger(__name__)

PUMP_INTERVAL = 0.25


@dataclass(frozen=True)
class GenerationOptions:
    """What the user asked for; "AUTO" aspect and duration are resolved against the scene."""

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    resolution: str = "720p"
    aspect_ratio: str = "auto"
    duration: str = "auto"
    sample_count: int = 1
    generate_audio: bool = False
    person_generation: str = "allow_adult"
    first_source: KeyframeSource = field(default_factory=KeyframeSource)
    last_source: KeyframeSource = field(default_factory=KeyframeSource)
    fit_method: FitMethod = FitMethod.CROP
    fit_mode: FitMode = FitMode.STRETCH
    make_room: bool = False
    force_new: bool = False

    def duration_for(self, transition: timeline.Transition) -> int:
        if self.duration == "auto":
            return transition.gap.auto_duration_seconds(self.resolution)
        return int(self.duration)

    def request_fields(self, duration_seconds: int) -> dict[str, Any]:
        """The request's fields but the images and the aspect ratio (which needs the scene)."""
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "resolution": self.resolution,
            "duration_seconds": duration_seconds,
            "sample_count": self.sample_count,
            "generate_audio": self.generate_audio,
            "person_generation": self.person_generation,
        }


@dataclass
class _Running:
    runner: JobRunner
    file_generation: int  # which opened file the job was started or resumed in
    last_line: tuple[str, str] = ("", "")


def tag_sequencer_redraw() -> None:
    for window in getattr(bpy.context.window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()


class JobManager:
    """One per Blender process: the runners in flight and the journal they share."""

    def __init__(self) -> None:
        self._running: dict[str, _Running] = {}
        self._journal: Journal | None = None
        self._file_generation = 0
        self._forgotten: set[str] = set()
        self._estimates: dict[str, Estimate] = {}
        # Jobs stopped because a twin inserted their clip: (scene name, the job as shared).
        self._sharing: dict[str, tuple[str, Job]] = {}
        # Progress lines go to the system console (the UI operator's report says so).
        self.on_line: Callable[[str], None] = lambda line: print(line, flush=True)
        # How often to poll and how to retry; the defaults follow the service's guidance.
        self.poll_policy = PollPolicy()
        self.retry_policy: RetryPolicy | None = None  # None: the client's own defaults

    # -- where things live ---------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        folder = user_folder()
        if self._journal is None or self._journal.path.parent != folder:
            self._journal = Journal(folder / "journal.json")
        return self._journal

    def clips_folder(self, settings: ServiceSettings) -> tuple[Path, str]:
        """(folder, warning): beside the saved .blend, or the user folder for an unsaved file.
        Raises ClipsFolderError when it cannot be created or written to."""
        if settings.clips_folder.startswith("//") and not bpy.data.filepath:
            folder = user_folder() / "clips"
            warning = (
                f"This file is not saved, so clips go to {folder}. Save the file to keep its clips beside it."
            )
        else:
            folder, warning = Path(bpy.path.abspath(settings.clips_folder)), ""
        return ensure_writable_folder(folder), warning

    # -- starting work -------------------------------------------------------------------------

    def start_generation(
        self,
        scene: bpy.types.Scene,
        transition: timeline.Transition,
        options: GenerationOptions,
        settings: ServiceSettings,
    ) -> tuple[Job, list[str]]:
        """Capture both keyframes here (main thread), then hand the rest to a worker.

        Everything the user could have got wrong is checked before anything is rendered or
        sent. Returns the job and the warnings worth telling the user; its cost estimate is
        `estimate(job.job_id)`.
        """
        duration = options.duration_for(transition)
        validate_parameters(**options.request_fields(duration))
        if not settings.api_key:
            raise missing_key_error()
        if transition.is_adjacent and not options.make_room:
            raise timeline.TimelineError(
                f"Strips '{transition.left_name}' and '{transition.right_name}' touch (no gap); "
                'turn on "make room" to push the right side along'
            )
        # Gap limits and the insertion's channels and moves, checked before anything is paid for.
        gaps.check_before_submit(scene, transition, duration, options, settings.gap_limits)
        aspect = resolve_aspect_ratio(scene, options.aspect_ratio)
        clips_dir, warning = self.clips_folder(settings)  # a clip that cannot be saved is paid for nothing
        first, last = capture_transition_keyframes(
            scene, transition, options.first_source, options.last_source
        )
        gap = transition.gap
        job = Job.new(
            message="Keyframes captured; preparing the request.",
            scene_name=scene.name,
            frame_start=gap.start,
            frame_end=gap.end,
            channel=transition.left_channel,
            blend_path=bpy.data.filepath,
            base_url=settings.base_url,
            keyframe_sources={"first": first.description, "last": last.description},
            placement={
                "left_strip": transition.left_name,
                "right_strip": transition.right_name,
                "left_channel": transition.left_channel,
                "right_channel": transition.right_channel,
                "first_frame": transition.first_frame,
                "last_frame": transition.last_frame,
                "fit_mode": options.fit_mode.value,
                "make_room": options.make_room,
            },
        )

        def build_request() -> GenerationRequest:  # runs in the worker thread: no bpy here
            return GenerationRequest(
                image=_request_image(first, aspect.value, options, "image"),
                last_image=_request_image(last, aspect.value, options, "last_image"),
                aspect_ratio=aspect.value,
                **options.request_fields(duration),
            )

        jobstore.save_job(scene, job)
        self._launch(job, settings, clips_dir, build_request, force_new=options.force_new)
        rates = PriceRates(
            with_audio_per_second=settings.rate_with_audio,
            without_audio_per_second=settings.rate_without_audio,
        )
        self._estimates[job.job_id] = Estimate(
            what=f"{options.sample_count} × {duration} s at {options.resolution}",
            cost=estimate_cost(duration, options.sample_count, options.generate_audio, rates),
        )
        return job, list(filter(None, [warning]))

    def estimate(self, job_id: str) -> Estimate | None:
        """The cost estimate of a job started in this session (cost_report words it)."""
        return self._estimates.get(job_id)

    def resume(self, job: Job, settings: ServiceSettings) -> bool:
        """Poll and download an accepted task again (never submits). False if nothing to do."""
        if job.job_id in self._running and not self._running[job.job_id].runner.done:
            return True
        if not job.can_resume:
            return False
        if not settings.api_key:
            raise missing_key_error()
        clips_dir, _ = self.clips_folder(settings)
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
        self._running[job.job_id] = _Running(runner, self._file_generation)
        runner.start()
        ensure_pump_timer()

    def stop(self, job_id: str) -> bool:
        running = self._running.get(job_id)
        if running is None or running.runner.done:
            return False
        running.runner.stop()
        return True

    def running_job_ids(self) -> list[str]:
        return [job_id for job_id, running in self._running.items() if not running.runner.done]

    def stop_all(self) -> None:
        for job_id in self.running_job_ids():
            self.stop(job_id)

    def forget(self, job_id: str) -> None:
        if self.stop(job_id):
            # Its worker writes the job once more as it stops: remove it again when it is done.
            self._forgotten.add(job_id)
        self.journal.remove(job_id)
        for scene in bpy.data.scenes:
            jobstore.remove_job(scene, job_id)

    # -- applying results (main thread) ----------------------------------------------------------

    def is_running(self, job_id: str) -> bool:
        running = self._running.get(job_id)
        return running is not None and not running.runner.done

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def pump(self) -> None:
        """Apply every event the workers produced since the last call."""
        changed = False
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
                shared = self._sharing.pop(job_id, None)
                if job_id in self._forgotten:
                    self._forgotten.discard(job_id)
                    self.journal.remove(job_id)
                elif shared is not None:
                    self._restore_shared(*shared)
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
        scene = self._scene_for(job, running)
        if scene is None:
            return  # the job belongs to a file that is not open: the journal keeps it
        jobstore.save_job(scene, job)
        if event.kind is EventKind.FINISHED and job.state is JobState.DOWNLOADED:
            self.insert(scene, job)

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

    def insert(self, scene: bpy.types.Scene, job: Job) -> Job:
        """Put a downloaded job's clips on the timeline; the job records how it went.

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
            self.on_line(f"[veo] job {job.job_id[:8]} task {job.task_id}: {job.message}")
            return job
        strip_names = shared_task.record_own_insertion(job, placed.inserted)
        # The file's own record first: it is what says these strips are the job's.
        mark_inserted(None, job, placed.summary)
        jobstore.save_job(scene, job)
        self._record(job)
        if not bpy.app.background:
            push_undo_step("Insert Veo Transition")
        self.on_line(f"[veo] job {job.job_id[:8]} task {job.task_id} inserted: {job.message}")
        self._share_with_twins(scene, job, strip_names)
        tag_sequencer_redraw()
        return job

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
        jobstore.save_job(scene, shared)
        self._record(shared)
        self.on_line(f"[veo] job {shared.job_id[:8]} task {shared.task_id} inserted: {shared.message}")

    def _record(self, job: Job) -> None:
        try:
            self.journal.upsert(job)
        except OSError as error:
            log.warning("Veo job %s: the journal was not updated: %s", job.job_id[:8], error)

    # -- files -----------------------------------------------------------------------------------

    def file_opened(self) -> list[Job]:
        """After another file was opened: jobs running for the old one no longer apply here."""
        self._file_generation += 1
        return self.adopt_from_journal()

    def adopt_from_journal(self) -> list[Job]:
        """Bring the open file's journal entries into it; returns the jobs with work left.

        The journal may know more than the saved file: jobs the file never saw (Blender
        crashed, or the user quit without saving), and clips inserted into a session whose
        file was not saved afterwards — those go in again.
        """
        recover_interrupted(self.journal)
        if not bpy.data.filepath:
            return []
        for job in self.journal.for_blend(bpy.data.filepath):
            scene = bpy.data.scenes.get(job.scene_name) or bpy.context.scene
            if scene is None:
                continue
            stored = jobstore.load_job(scene, job.job_id)
            file_has_insert = stored is not None and stored.state is JobState.INSERTED
            # A job sharing a twin's strips goes in again only through that twin.
            shared = shared_task.shares_insertion(job)
            if job.state is JobState.INSERTED and not file_has_insert and job.clips_exist() and not shared:
                if not placement.job_on_timeline(scene, job.job_id):
                    job.transition(
                        JobState.DOWNLOADED,
                        "The clip was inserted, but the file was not saved with it; it goes in again.",
                    )
                    self._record(job)
                jobstore.save_job(scene, job)
            elif stored is None or stored.updated_at < job.updated_at:
                jobstore.save_job(scene, job)
        return [job for scene in bpy.data.scenes for job in jobstore.scene_jobs(scene) if _has_work(job)]

    def file_saved(self) -> None:
        """The jobs listed in a file follow it when it is saved under a (new) name."""
        path = bpy.data.filepath
        for scene in bpy.data.scenes:
            for job in jobstore.scene_jobs(scene):
                if job.blend_path and normalise_blend_path(job.blend_path) == normalise_blend_path(path):
                    continue
                job.blend_path = path
                self.journal.claim(job.job_id, path)
                jobstore.save_job(scene, job)

    def adopt(self, job_id: str, scene: bpy.types.Scene) -> Job:
        """Bring a job started in an unsaved file into the open file (it is then inserted here)."""
        claimed = self.journal.claim(job_id, bpy.data.filepath)
        if claimed is None:
            raise VeoError(f"Job {job_id} is not in the journal")
        claimed.scene_name = scene.name
        self.journal.upsert(claimed)
        jobstore.save_job(scene, claimed)
        return claimed

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


def _has_work(job: Job) -> bool:
    return job.needs_insert or job.needs_resume


def _request_image(
    captured: CapturedKeyframe, aspect: str, options: GenerationOptions, name: str
) -> ImageInput:
    if captured.url is not None:
        return ImageInput.from_url(captured.url, field_name=name)
    assert captured.data is not None
    # The capture only read headers on the main thread; decoding happens here, so a file that
    # turns out truncated fails the job before anything is sent, with the keyframe named.
    side = "First" if name == "image" else "Last"
    prepared = prepare_keyframe(
        captured.data,
        aspect,
        options.resolution,
        options.fit_method,
        what=f"{side} keyframe ({captured.description})",
    )
    return ImageInput.from_bytes(prepared.data, field_name=name)


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
