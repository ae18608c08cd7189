"""Persistent file handlers: jobs follow the file they belong to.

On load, a file adopts its jobs from the journal (also those the .blend never saw,
because Blender crashed or the user quit without saving) and, in the UI, picks up
their work: poll, download, insert. In background mode nothing starts by itself:
the script decides (`bpy.ops.veo.resume_jobs()`), since it must wait for the result.
"""

from __future__ import annotations

import logging

import bpy
from bpy.app.handlers import persistent

from ..core.errors import VeoError
from . import jobstore
from .preferences import service_settings
from .runtime import manager

log = logging.getLogger(__name__)


@persistent
def on_load_post(*_args: object) -> None:
    try:
        pending = manager.file_opened()
    except (OSError, VeoError) as error:
        log.warning("Veo jobs of this file could not be read from the journal: %s", error)
        return
    if bpy.app.background or not pending:
        return
    try:
        settings = service_settings()
    except VeoError as error:
        log.warning("Veo jobs of this file were not resumed: %s", error)
        return
    for job in pending:
        scene = jobstore.find_job_scene(job.job_id)
        if scene is None:
            continue
        try:
            manager.continue_job(scene, job, settings)
        except VeoError as error:
            log.warning("Veo job %s was not resumed: %s", job.job_id[:8], error)


def pick_up_open_file() -> None:
    """One-shot timer after the add-on is enabled: the same as opening the file."""
    on_load_post()


@persistent
def on_save_post(*_args: object) -> None:
    manager.file_saved()


def register() -> None:
    bpy.app.handlers.load_post.append(on_load_post)
    bpy.app.handlers.save_post.append(on_save_post)


def unregister() -> None:
    for handlers, function in (
        (bpy.app.handlers.load_post, on_load_post),
        (bpy.app.handlers.save_post, on_save_post),
    ):
        while function in handlers:
            handlers.remove(function)
