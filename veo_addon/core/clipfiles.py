"""Where a job's clips live on disk, and how a clip gets into another project's clips folder.

File names come from the task id only (`<task>_<n>.mp4`, `<task>_<n>_audio.<ext>`), so two
jobs that share a task share its files, and a file already on disk is never fetched again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from .mp4 import is_mp4_file

# Downloads (and copies) of one file by two jobs of this process go one at a time.
_file_locks: dict[str, threading.Lock] = {}
_file_locks_guard = threading.Lock()


@contextlib.contextmanager
def lock_for(path: Path) -> Iterator[None]:
    key = os.path.normcase(os.path.abspath(path))
    with _file_locks_guard:
        lock = _file_locks.setdefault(key, threading.Lock())
    with lock:
        yield


def safe_file_stem(task_id: str) -> str:
    """A file-name-safe form of a task id; a hash suffix keeps altered ids distinct."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", task_id)[:80].strip("_") or "task"
    if cleaned != task_id:
        cleaned += "-" + hashlib.sha256(task_id.encode()).hexdigest()[:8]
    return cleaned


def clip_path(clips_dir: Path, task_id: str, index: int) -> Path:
    return Path(clips_dir) / f"{safe_file_stem(task_id)}_{index}.mp4"


_AUDIO_EXTENSIONS = {"wav", "mp3", "aac", "m4a", "ogg", "flac", "mp4"}


def audio_path(clips_dir: Path, task_id: str, index: int, media_type: str) -> Path:
    ext = media_type.lower().strip().lstrip(".")
    ext = ext.split("/")[-1] if ext not in _AUDIO_EXTENSIONS else ext
    return (
        Path(clips_dir)
        / f"{safe_file_stem(task_id)}_{index}_audio.{ext if ext in _AUDIO_EXTENSIONS else 'wav'}"
    )


def same_folder(a: Path | str, b: Path | str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def place_file(source: Path | str, dest: Path) -> Path:
    """Make `dest` hold `source`'s bytes without depending on `source` afterwards: a hard link
    (no extra disk space; the other project may move or delete its file, ours stays), or a copy
    where a link cannot be made (another file system, a file system without links).

    The file appears whole or not at all (a temporary name, renamed into place). A `dest` that
    already holds the same file is kept. Raises OSError (folder not creatable or writable, disk
    full); nothing is left behind then."""
    source = Path(source)
    dest = Path(dest)
    with lock_for(dest):
        if dest.exists() and _holds_same_file(source, dest):
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        temporary = dest.with_name(f"{dest.name}.{secrets.token_hex(6)}.part")
        try:
            try:
                os.link(source, temporary)
            except OSError:
                shutil.copyfile(source, temporary)
            os.replace(temporary, dest)
        finally:
            temporary.unlink(missing_ok=True)
    return dest


def _holds_same_file(source: Path, dest: Path) -> bool:
    try:
        if os.path.samefile(source, dest):
            return True
        return dest.stat().st_size == source.stat().st_size and (dest.suffix != ".mp4" or is_mp4_file(dest))
    except OSError:
        return False
