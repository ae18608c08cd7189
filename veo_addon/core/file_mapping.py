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
file while it is mapped: there the file is read and removed, as before.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path


def take_file(path: Path) -> bytes | mmap.mmap:
    """`path`'s contents, read-only, with the file itself removed."""
    if os.name != "posix":
        data = path.read_bytes()
        path.unlink()
        return data
    with open(path, "rb") as file:
        # An empty file cannot be mapped; it is refused later as any empty image is.
        taken = (
            mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(file.fileno()).st_size else b""
        )
    path.unlink()
    return taken
