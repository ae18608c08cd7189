"""The open file's job list and the journal, kept in step: on open, on save, on adopting a job.

The journal (in the user folder) outlives any .blend: it may know jobs the file never saw
(Blender crashed, or the user quit without saving) and clips inserted into a session whose
file was not saved afterwards. These functions bring such jobs into the open file; the job
manager decides what runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import bpy

from ..core.errors import VeoError
from ..core.job import Job, JobState
from ..core.journal import Journal, normalise_blend_path
from ..core.lazy_import import lazy_module
from . import jobstore

# Only a file with jobs needs them: opening one without loads neither.
if TYPE_CHECKING:
    from . import placement, shared_task
else:
    placement = lazy_module(f"{__package__}.placement")
    shared_task = lazy_module(f"{__package__}.shared_task")

log = logging.getLogger(__name__)


def record(journal: Journal, job: Job) -> None:
    """Write the job into the journal; an unwritable journal is logged, the file's list still holds it."""
    try:
        journal.upsert(job)
    except OSError as error:
        log.warning("Veo job %s: the journal was not updated: %s", job.job_id[:8], error)


def bring_into_open_file(journal: Journal) -> list[Job]:
    """Copy the open file's journal entries into its scenes; returns the jobs with work left.

    A clip the journal says was inserted, but which the saved file does not hold, goes in again.
    """
    if not bpy.data.filepath:
        return []
    for job in journal.for_blend(bpy.data.filepath):
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
                record(journal, job)
            jobstore.save_job(scene, job)
        elif stored is None or stored.updated_at < job.updated_at:
            jobstore.save_job(scene, job)
    return [job for scene in bpy.data.scenes for job in jobstore.scene_jobs(scene) if _has_work(job)]


def follow_saved_file(journal: Journal) -> None:
    """The jobs listed in a file follow it when it is saved under a (new) name."""
    path = bpy.data.filepath
    for scene in bpy.data.scenes:
        for job in jobstore.scene_jobs(scene):
            if job.blend_path and normalise_blend_path(job.blend_path) == normalise_blend_path(path):
                continue
            job.blend_path = path
            journal.claim(job.job_id, path)
            jobstore.save_job(scene, job)


def adopt(journal: Journal, job_id: str, scene: bpy.types.Scene) -> Job:
    """Bring a job started in an unsaved file into the open file (it is then inserted here)."""
    claimed = journal.claim(job_id, bpy.data.filepath)
    if claimed is None:
        raise VeoError(f"Job {job_id} is not in the journal")
    claimed.scene_name = scene.name
    journal.upsert(claimed)
    jobstore.save_job(scene, claimed)
    return claimed


def _has_work(job: Job) -> bool:
    return job.needs_insert or job.needs_resume
