"""Import on Blender's main thread what the job workers would otherwise import themselves.

A worker thread that imports a module while Blender's main thread is inside an operator
that let go of Python's lock (the render that captures a keyframe) can crash Blender:
a segmentation fault, seen with the bpy wheel when `--all-gaps` captured the second gap's
keyframes while the first job's worker was importing Pillow's plugins. Pillow and httpx
import much of themselves lazily, on first use, so a first job would do exactly that.
Doing it here, once, before the first worker starts, leaves the workers nothing to import.
Not at registration: enabling the add-on stays cheap.
"""

from __future__ import annotations

import threading

_imported = False
_guard = threading.Lock()


def import_worker_modules() -> None:
    """Import Pillow's codecs and httpx's transport stack (idempotent; call on the main thread)."""
    global _imported
    with _guard:
        if _imported:
            return
        import httpx
        from PIL import Image, ImageCms, ImageOps  # noqa: F401 - images.py reads them lazily

        Image.init()  # every format plugin; Image.open would import them lazily
        # A client builds its transport (httpcore, h11, the TLS context with certifi's roots):
        # all imported inside httpx.Client(), not by `import httpx`.
        httpx.Client().close()
        # Host names are encoded with the idna codec, itself imported on first use.
        "localhost".encode("idna")
        _imported = True
