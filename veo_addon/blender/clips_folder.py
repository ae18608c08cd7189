"""The folder downloaded clips go to: made and proven writable before anything is paid for.

A clip that cannot be saved after the task succeeded is money spent for nothing (it can be
fetched again, but only until its link expires), so the folder is checked when a job is
started or resumed, with a sentence that says what is wrong and where.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import bpy

from ..core.errors import VeoError
from .preferences import ServiceSettings, user_folder

_WHERE_TO_CHANGE = "choose another clips folder in the add-on preferences"


class ClipsFolderError(VeoError):
    """The clips folder cannot be created or written to."""

    code = "clips_folder_unusable"


def ensure_writable_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) if needed and check a file can be written in it."""
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        raise ClipsFolderError(
            f"Cannot create the clips folder {folder}: {blocker} is a file, not a folder; "
            f"move that file or {_WHERE_TO_CHANGE}"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ClipsFolderError(
            f"Cannot create the clips folder {folder}: {_reason(error)} in {_nearest_existing(folder)}; "
            f"{_WHERE_TO_CHANGE}"
        ) from None
    try:
        handle, probe = tempfile.mkstemp(prefix=".veo_write_check_", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ClipsFolderError(
            f"Cannot write clips into {folder}: {_reason(error)}; make it writable or {_WHERE_TO_CHANGE}"
        ) from None
    return folder


def _file_in_the_way(folder: Path) -> Path | None:
    """The folder itself, or one of its parents, when it exists as something else than a folder."""
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            return None if path.is_dir() else path
    return None


def _nearest_existing(folder: Path) -> Path:
    return next((path for path in folder.parents if path.exists()), folder)


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def clips_folder_for(settings: ServiceSettings) -> tuple[Path, str]:
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
