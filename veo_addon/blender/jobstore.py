"""The scene's list of generation jobs, saved with the .blend file.

Each entry keeps the whole job as JSON (what `Job.to_dict()` gives: no API key), plus
the few fields a list in the UI shows. The journal in the user folder is the other,
durable copy; this one travels with the file.
"""

from __future__ import annotations

import json
from typing import Any

import bpy

from ..core.job import Job


class VeoJobEntry(bpy.types.PropertyGroup):
    job_id: bpy.props.StringProperty(name="Job")  # type: ignore[valid-type]
    task_id: bpy.props.StringProperty(name="Task")  # type: ignore[valid-type]
    state: bpy.props.StringProperty(name="State")  # type: ignore[valid-type]
    message: bpy.props.StringProperty(name="Message")  # type: ignore[valid-type]
    data: bpy.props.StringProperty(name="Job Data", description="The whole job, as JSON")  # type: ignore[valid-type]
    # Plain copies for the job list, so drawing it never parses `data`; -1 / "" = not known.
    progress: bpy.props.IntProperty(name="Progress", default=-1)  # type: ignore[valid-type]
    eta: bpy.props.IntProperty(name="ETA", default=-1)  # type: ignore[valid-type]
    # A string: the service's seeds go up to 2**32 - 1, past an IntProperty's C int.
    seed: bpy.props.StringProperty(name="Seed")  # type: ignore[valid-type]
    resumable: bpy.props.BoolProperty(name="Resumable")  # type: ignore[valid-type]


def _entries(scene: bpy.types.Scene) -> Any:
    # A CollectionProperty registered at run time: the stubs cannot know its type.
    return scene.veo_jobs  # type: ignore[attr-defined]


def _find(scene: bpy.types.Scene, job_id: str) -> VeoJobEntry | None:
    for entry in _entries(scene):
        if entry.job_id == job_id:
            return entry
    return None


def save_job(scene: bpy.types.Scene, job: Job) -> None:
    entry = _find(scene, job.job_id)
    if entry is None:
        entry = _entries(scene).add()
        entry.job_id = job.job_id
    entry.task_id = job.task_id or ""
    entry.state = job.state.value
    entry.message = job.message
    entry.progress = -1 if job.progress_percent is None else int(job.progress_percent)
    entry.eta = -1 if job.eta_seconds is None else int(job.eta_seconds)
    entry.seed = "" if job.seed is None else str(job.seed)
    entry.resumable = job.can_resume
    entry.data = json.dumps(job.to_dict(), sort_keys=True)


def load_job(scene: bpy.types.Scene, job_id: str) -> Job | None:
    entry = _find(scene, job_id)
    return _parse(entry) if entry is not None else None


def scene_jobs(scene: bpy.types.Scene) -> list[Job]:
    jobs = (_parse(entry) for entry in _entries(scene))
    return [job for job in jobs if job is not None]


def remove_job(scene: bpy.types.Scene, job_id: str) -> bool:
    for index, entry in enumerate(_entries(scene)):
        if entry.job_id == job_id:
            _entries(scene).remove(index)
            return True
    return False


def find_job_scene(job_id: str) -> bpy.types.Scene | None:
    for scene in bpy.data.scenes:
        if _find(scene, job_id) is not None:
            return scene
    return None


def _parse(entry: VeoJobEntry) -> Job | None:
    try:
        return Job.from_dict(json.loads(entry.data))
    except (ValueError, TypeError):
        return None  # written by a newer add-on version: left as it is


def register_properties() -> None:
    scene_type: Any = bpy.types.Scene
    # The stubs declare the property functions as returning None.
    scene_type.veo_jobs = bpy.props.CollectionProperty(type=VeoJobEntry)  # type: ignore[func-returns-value]
    scene_type.veo_jobs_index = bpy.props.IntProperty(name="Active Job")  # type: ignore[func-returns-value]


def unregister_properties() -> None:
    scene_type: Any = bpy.types.Scene
    del scene_type.veo_jobs_index
    del scene_type.veo_jobs


classes = (VeoJobEntry,)
