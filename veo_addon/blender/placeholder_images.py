"""The placeholder's two pictures on disk, written off the main thread.

A render keyframe is a full-size uncompressed TIFF, its file mapped in place (capture.py), and a
chosen file may be any format Pillow reads; the placeholder only needs a small picture every
Blender reads. So each keyframe is re-encoded as a smaller PNG in a small thread of its own
(Pillow, imported beforehand on the main thread) while the placeholder strip already points at
the file; once the file is there, the next pump makes the strip read it.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from pathlib import Path

from ..core.imagebytes import ImageBytes
from ..core.worker_imports import import_worker_modules

log = logging.getLogger(__name__)

PREVIEW_SIDE = 960  # longest side of a placeholder picture, at most (pixels)

_lock = threading.Lock()
_writing: dict[Path, threading.Thread] = {}


def image_path(folder: Path, job_id: str, side: str) -> Path:
    return folder / f"veo_{job_id[:8]}_{side}_placeholder.png"


def write_in_background(folder: Path, job_id: str, pictures: dict[str, ImageBytes | None]) -> None:
    """Start writing each side's picture (any image Pillow reads) as PNG at `image_path`.

    One thread for both: starting a second while the first decodes would wait for the GIL.
    Start it after the strips that show the files exist: an image strip made for a file
    already on disk decodes it on the main thread."""
    todo = [(data, image_path(folder, job_id, side)) for side, data in pictures.items() if data is not None]
    if not todo:
        return
    import_worker_modules()  # a thread importing while the main thread renders can crash Blender
    thread = threading.Thread(target=_write_all, args=(todo,), name="veo-placeholder", daemon=True)
    with _lock:
        for _, path in todo:
            _writing[path] = thread
    thread.start()


def _write_all(todo: list[tuple[ImageBytes, Path]]) -> None:
    for data, path in todo:
        _write_png(data, path)


def _write_png(data: ImageBytes, path: Path) -> None:
    from PIL import Image

    partial = path.with_suffix(".png.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(io.BytesIO(data)) as image:
            picture = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        # A stand-in, scaled up to the output (FIT) and gone once the clip lands: a smaller
        # picture, quickly compressed, holds the GIL (and so Blender's Python) for less time.
        factor = -(-max(picture.size) // PREVIEW_SIDE)
        if factor > 1:
            picture = picture.reduce(factor)
        picture.save(partial, format="PNG", compress_level=1)
        os.replace(partial, path)
    except Exception as error:  # the placeholder then shows nothing there; the job is unaffected
        log.warning("Veo placeholder picture %s was not written: %s", path.name, error)
        partial.unlink(missing_ok=True)


def finished(paths: list[Path]) -> bool:
    """Whether none of `paths` is still being written."""
    with _lock:
        for path in paths:
            thread = _writing.get(path)
            if thread is not None and thread.is_alive():
                return False
            _writing.pop(path, None)
    return True


def any_writing() -> bool:
    with _lock:
        return any(thread.is_alive() for thread in _writing.values())


def wait_until_written(timeout: float = 10.0) -> None:
    """For scripts and tests: block until every picture is on disk (never from the UI)."""
    with _lock:
        threads = list(_writing.values())
    for thread in threads:
        thread.join(timeout)
