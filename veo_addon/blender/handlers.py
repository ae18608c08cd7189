"""Persistent file handlers: jobs follow the file they belong to.

On load, a file adopts its jobs from the journal (also those the .blend never saw,
because Blender crashed or the user quit without saving) and, in the UI, picks up
their work: poll, download, insert. In background mode nothing starts by itself:
the script decides (`bpy.ops.veo.resume_jobs()`), since it must wait for the result.

The load handler itself only copies journal records into the scene's job list (plain
data). Inserting a clip runs operators (an undo step), and Blender crashes when that
happens inside a file handler, so everything else waits for a one-shot timer that runs
once the load is complete. That timer may run more than once (a load, and the add-on
being enabled): it reads the jobs afresh each time, and `continue_job` leaves alone what
is already on the timeline or running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import bpy
from bpy.app.handlers import persistent

from ..core.errors import VeoError
from ..core.job import Job
from ..core.lazy_import import lazy_module
from . import jobstore
from .jobmanager import manager
from .preferences import service_settings

if TYPE_CHECKING:
    from . import journal_sync
else:
    journal_sync = lazy_module(f"{__package__}.journal_sync")

log = logging.getLogger(__name__)

# Long enough for the load to have finished (the window is redrawn); short enough to be unnoticed.
CONTINUE_DELAY = 0.1


def _has_pending_jobs(adopt: Callable[[], list[Job]]) -> bool:
    """Adopt the open file's jobs from the journal; True when some still have work left."""
    try:
        return bool(adopt())
    except (OSError, VeoError) as error:
        log.warning("Veo jobs of this file could not be read from the journal: %s", error)
        return False


@persistent
def on_load_post(*_args: object) -> None:
    if _has_pending_jobs(manager.file_opened):
        schedule_continue_jobs()


def schedule_continue_jobs() -> None:
    """Pick up the open file's unfinished jobs once Blender is back in its event loop."""
    if bpy.app.background:
        return  # timers never fire there; scripts call resume_jobs themselves
    if not bpy.app.timers.is_registered(continue_open_file_jobs):
        # Persistent: a timer registered while a file loads must survive that load.
        bpy.app.timers.register(continue_open_file_jobs, first_interval=CONTINUE_DELAY, persistent=True)


def continue_open_file_jobs() -> None:
    """Resume polling, or insert the downloaded clip, for each job of the open file with work left."""
    pending = [
        (scene, job)
        for scene in bpy.data.scenes
        for job in jobstore.scene_jobs(scene)
        if job.needs_insert or job.needs_resume
    ]
    if not pending:
        return
    try:
        settings = service_settings()
    except VeoError as error:
        log.warning("Veo jobs of this file were not resumed: %s", error)
        return
    for scene, job in pending:
        try:
            manager.continue_job(scene, job, settings)
        except VeoError as error:
            log.warning("Veo job %s was not resumed: %s", job.job_id[:8], error)


def pick_up_open_file() -> None:
    """One-shot timer after the add-on is enabled: adopt the open file's jobs and continue them.

    Not `file_opened()`: no file was opened, so jobs started in this session still belong here.
    """
    if _has_pending_jobs(manager.adopt_from_journal):
        continue_open_file_jobs()


@persistent
def on_save_post(*_args: object) -> None:
    journal_sync.follow_saved_file(manager.journal)


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
    for timer in (continue_open_file_jobs, pick_up_open_file):
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
