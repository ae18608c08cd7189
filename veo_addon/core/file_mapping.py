"""Take over a file just written for us (a render), without copying it into a new bytes object.

A 1080p render capture is an 8 MB TIFF. Reading it into `bytes` costs about 3 ms on Blender's
main thread, nearly all of it the kernel handing out and zeroing fresh pages for the copy
(docs/performance.md, #6); mapping the file costs a few hundredths of a millisecond and reads
the very pages the render was just written to. The result reads like `bytes` for everything
the keyframe's readers do with it: slices, `len`, `struct.unpack_from`, `memoryview`,
`io.BytesIO`.

The file's name is removed at once, so nothing is left in the folder whatever happens to the
keyframe later; its pages go back to the system when the last reference to the map is dropped.
Nothing else ever has the file open, so it cannot shrink under the map. Windows cannot remove a
file while it is mapped, and a few file systems will not map one: there the file is read.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from .imagebytes import ImageBytes


def take_file(path: Path) -> ImageBytes:
    """`path`'s contents, read-only, with the file itself removed."""
    with open(path, "rb") as file:
        mapped = _mapped(file.fileno()) if os.name == "posix" else None
        taken = mapped if mapped is not None else file.read()
    path.unlink()
    return taken


def _mapped(descriptor: int) -> mmap.mmap | None:
    """The open file mapped read-only; None when it is empty (which cannot be mapped) or its
    file system will not map it: it is read instead."""
    try:
        return mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ) if os.fstat(descriptor).st_size else None
    except (OSError, ValueError):
        return None
