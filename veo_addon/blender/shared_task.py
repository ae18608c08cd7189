"""Jobs that follow one task for one gap share one insertion.

An identical request follows the task of an earlier job instead of paying again (the
earlier one failed while polling, or was stopped). Both jobs can then reach the clip: the
one that inserts first finishes the other too, which then records the strips it shares
instead of inserting the same clip again on another channel pair.

Asking again for a gap whose clip was already on the timeline when the request was made is
deliberate (a second take): that one inserts, as reuse always did.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import bpy

from ..core.errors import JobStateError
from ..core.job import Job, JobState
from . import compat
from .insert import InsertedTransition
from .provenance import PROP_JOB_ID, PROP_TASK_ID

# Keys in `Job.placement` (the Blender layer's own part of a job).
INSERTED_BY = "inserted_by"  # the job whose strips this job shares
INSERTED_AT = "inserted_at"  # when a job's own strips went in (time.time())
STRIPS = "strips"  # the names of the strips a job put in, or shares

# How each state reaches `inserted` through moves the job's state machine allows.
_PATH_TO_INSERTED: dict[JobState, tuple[JobState, ...]] = {
    JobState.SUBMITTING: (JobState.QUEUED, JobState.DOWNLOADING, JobState.DOWNLOADED),
    JobState.QUEUED: (JobState.DOWNLOADING, JobState.DOWNLOADED),
    JobState.PROCESSING: (JobState.DOWNLOADING, JobState.DOWNLOADED),
    JobState.DOWNLOADING: (JobState.DOWNLOADED,),
    JobState.STOPPED: (JobState.QUEUED, JobState.DOWNLOADING, JobState.DOWNLOADED),
    JobState.FAILED: (JobState.QUEUED, JobState.DOWNLOADING, JobState.DOWNLOADED),
    JobState.UNKNOWN_OUTCOME: (JobState.QUEUED, JobState.DOWNLOADING, JobState.DOWNLOADED),
    JobState.DOWNLOADED: (),
    JobState.INSERTED: (),
}


def same_clip_same_gap(job: Job, other: Job) -> bool:
    """Two different jobs for one task in one gap of one scene."""
    return (
        bool(job.task_id)
        and job.task_id == other.task_id
        and job.job_id != other.job_id
        and job.scene_name == other.scene_name
        and (job.frame_start, job.frame_end) == (other.frame_start, other.frame_end)
    )


def shares_insertion(job: Job) -> bool:
    """The job is inserted through another job's strips."""
    return job.state is JobState.INSERTED and bool(job.placement.get(INSERTED_BY))


def strips_by_job(scene: bpy.types.Scene, task_id: str) -> dict[str, list[str]]:
    """job id -> names of the strips that job put on the timeline from this task."""
    found: dict[str, list[str]] = {}
    for strip in compat.strips_all(scene):
        job_id = strip.get(PROP_JOB_ID)
        if job_id and strip.get(PROP_TASK_ID) == task_id:
            found.setdefault(str(job_id), []).append(strip.name)
    return found


def inserted_twin(scene: bpy.types.Scene, job: Job, known: Iterable[Job]) -> tuple[Job, list[str]] | None:
    """A job of `known` for the same task and gap whose strips are on the timeline and went in
    after `job` was started (so `job` must not insert the clip again), with those strips."""
    if not job.task_id:
        return None
    on_timeline = strips_by_job(scene, job.task_id)
    for other in known:
        names = on_timeline.get(other.job_id)
        inserted_at = other.placement.get(INSERTED_AT)
        if (
            names
            and same_clip_same_gap(job, other)
            and isinstance(inserted_at, int | float)
            and inserted_at >= job.created_at
        ):
            return other, names
    return None


def record_own_insertion(job: Job, inserted: InsertedTransition) -> list[str]:
    """Called when `job` put its own strips in (before it is marked inserted); their names."""
    names = [
        name for take in inserted.takes for name in (take.clip_name, take.speed_name, take.sound_name) if name
    ]
    job.placement.pop(INSERTED_BY, None)
    job.placement[INSERTED_AT] = time.time()
    job.placement[STRIPS] = names
    return names


def shared_twins(
    scene: bpy.types.Scene, inserter: Job, strip_names: list[str], candidates: Iterable[Job]
) -> list[Job]:
    """The candidates that are twins of `inserter` without strips of their own, each marked
    inserted through `inserter`'s strips."""
    shared = (
        share(twin, inserter, strip_names) for twin in candidates if needs_sharing(twin, inserter, scene)
    )
    return [job for job in shared if job is not None]


def needs_sharing(job: Job, inserter: Job, scene: bpy.types.Scene) -> bool:
    """Whether `job` is a twin of `inserter` that has not put in strips of its own."""
    if not same_clip_same_gap(job, inserter):
        return False
    if job.state is JobState.INSERTED and not job.placement.get(INSERTED_BY):
        # Inserted by itself: its own strips (or the editor deleted them, which stays so).
        return False
    return job.job_id not in strips_by_job(scene, job.task_id or "")


def share(job: Job, inserter: Job, strip_names: list[str]) -> Job | None:
    """`job` marked inserted through `inserter`'s strips (a copy). None if its state cannot get
    there (a task the service ended, which no twin of an inserted clip should have)."""
    path = _PATH_TO_INSERTED.get(job.state)
    if path is None:
        return None
    shared = job.copy()
    shared.clip_paths = list(inserter.clip_paths)
    shared.audio_paths = list(inserter.audio_paths)
    shared.seed = inserter.seed if inserter.seed is not None else shared.seed
    try:
        for state in path:
            shared.transition(state)
        shared.transition(
            JobState.INSERTED,
            f"Shares the clip job {inserter.job_id[:8]} inserted (same task {inserter.task_id}, same gap): "
            f"{', '.join(strip_names)}. {inserter.message}",
        )
    except JobStateError:
        return None
    shared.placement[INSERTED_BY] = inserter.job_id
    shared.placement[STRIPS] = list(strip_names)
    shared.placement.pop(INSERTED_AT, None)
    return shared
