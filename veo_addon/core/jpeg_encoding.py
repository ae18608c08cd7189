"""A keyframe's JPEG, encoded on two cores and without holding Python's lock.

After the last keyframe is rendered, encoding it is the only thing left before the request can
go: about 7 ms for 1080p at quality 95 with full-resolution colour (4:4:4), on one core. Two
things bring that down (docs/performance.md, #6):

- Pillow holds Python's lock while it encodes into memory (`io.BytesIO`), but lets go of it
  while it encodes into a real file. Each JPEG is therefore written to an anonymous file and
  read back (a few hundred kilobytes), so Blender's Python, and the other half below, keep
  running meanwhile.
- The top and bottom halves are encoded at once, the bottom by a helper thread, and joined
  into one baseline JPEG with a restart marker between them. The cut falls between two rows
  of 8x8 blocks; a restart starts the bottom's DC predictions afresh, just as its own encoding
  did, and with 4:4:4 colour no block depends on another. So the joined file decodes to exactly
  the pixels of a single encode (tests compare them), for 4 bytes more: the marker, and a
  segment saying how many blocks the top half holds.

An opaque render at the size sent comes as `RgbxRows`, its file's pixels in place: each half is
then a view of its rows, and nothing is copied at all.

Anything this join does not expect (a picture under two block rows, a top half of more blocks
than a restart interval can count, or a file Pillow laid out otherwise) is encoded whole.
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from .lazy_import import lazy_module
from .worker_pools import LazyPool

if TYPE_CHECKING:
    from PIL import Image
else:
    Image = lazy_module("PIL.Image")

BLOCK = 8  # pixels: with 4:4:4 colour, a row of 8x8 blocks is a row of whole coded units
_MAX_RESTART_INTERVAL = 0xFFFF  # the restart segment counts blocks in 16 bits

_START_OF_FRAME, _START_OF_SCAN, _RESTART_INTERVAL = 0xC0, 0xDA, 0xDD
_FIRST_RESTART, _END_OF_IMAGE = b"\xff\xd0", b"\xff\xd9"

# Two: both keyframes of a job may be encoded at once. A helper never waits for another task,
# so no encoding can wait on one queued behind it.
_helpers = LazyPool("veo-jpeg", 2)


@dataclass(frozen=True)
class RgbxRows:
    """Pixels of 4 bytes each (the fourth ignored), rows top first, read where they lie."""

    pixels: memoryview
    width: int
    height: int

    def image(self, first_row: int = 0, end_row: int | None = None) -> Image.Image:
        """Rows `first_row` up to `end_row` as a Pillow image over the same bytes."""
        end = self.height if end_row is None else end_row
        stride = self.width * 4
        view = self.pixels[first_row * stride : end * stride]
        # A memoryview works (any buffer does); Pillow's stubs only name bytes and arrays.
        return Image.frombuffer("RGBX", (self.width, end - first_row), view, "raw", "RGBX", 0, 1)  # type: ignore[arg-type]


def encode_jpeg(picture: Image.Image | RgbxRows, quality: int) -> bytes:
    """`picture` (RGB, or RGBX whose fourth byte is ignored) as a baseline JPEG at `quality`, 4:4:4."""
    whole = picture.image() if isinstance(picture, RgbxRows) else picture
    cut = _cut_row(whole.width, whole.height)
    if cut is None:
        return _encode(whole, quality)
    whole.load()  # the halves read it from two threads: nothing may be left to load lazily
    bottom = _helpers.submit(_encode_rows, picture, cut, whole.height, quality)
    top = _encode_rows(picture, 0, cut, quality)
    joined = join_halves(top, bottom.result(), whole.height, _blocks_in(whole.width, cut))
    return joined if joined is not None else _encode(whole, quality)


def _encode_rows(picture: Image.Image | RgbxRows, first_row: int, end_row: int, quality: int) -> bytes:
    if isinstance(picture, RgbxRows):
        return _encode(picture.image(first_row, end_row), quality)
    return _encode(picture.crop((0, first_row, picture.width, end_row)), quality)


def _cut_row(width: int, height: int) -> int | None:
    """Where the top half ends (a multiple of `BLOCK`, holding at least half the rows), or None."""
    rows = -(-height // BLOCK)
    if rows < 2:
        return None
    cut = -(-rows // 2) * BLOCK
    return cut if _blocks_in(width, cut) <= _MAX_RESTART_INTERVAL else None


def _blocks_in(width: int, height: int) -> int:
    return -(-width // BLOCK) * (height // BLOCK)


def _encode(image: Image.Image, quality: int) -> bytes:
    with _anonymous_file() as file:
        # 4:4:4 (no chroma subsampling): colour edges stay as sharp as the luminance. No
        # `optimize`: it saves about 7 % but Pillow's buffer for it is too small for 4:4:4 noise.
        image.save(file, format="JPEG", quality=quality, subsampling=0)
        file.seek(0)
        return file.read()


def _anonymous_file() -> IO[bytes]:
    """A file with no name anywhere: in memory where the system has such files (Linux), else a
    temporary file, already removed."""
    try:
        return os.fdopen(os.memfd_create("veo-keyframe-jpeg"), "w+b")
    except (AttributeError, OSError):  # not Linux, or a sandbox that forbids it
        return tempfile.TemporaryFile()


def join_halves(top: bytes, bottom: bytes, height: int, top_blocks: int) -> bytes | None:
    """One JPEG `height` rows high from the separately encoded `top` (of `top_blocks` blocks) and
    `bottom` halves, or None when either is laid out other than as expected."""
    top_parts, bottom_parts = _layout(top), _layout(bottom)
    if top_parts is None or bottom_parts is None:
        return None
    top_header, top_scan = top_parts
    bottom_scan = bottom_parts[1]
    header = bytearray()
    for marker, segment in top_header:
        if marker == _START_OF_FRAME:
            segment = segment[:5] + struct.pack(">H", height) + segment[7:]
        if marker == _START_OF_SCAN:
            header += struct.pack(">BBHH", 0xFF, _RESTART_INTERVAL, 4, top_blocks)
        header += segment
    return b"\xff\xd8" + bytes(header) + top_scan + _FIRST_RESTART + bottom_scan + _END_OF_IMAGE


def _layout(data: bytes) -> tuple[list[tuple[int, bytes]], bytes] | None:
    """A baseline JPEG's segments up to and including its one scan's header, and the scan's
    coded data; None for anything else (progressive, restarts already, no end marker...)."""
    if not data.startswith(b"\xff\xd8") or not data.endswith(_END_OF_IMAGE):
        return None
    segments: list[tuple[int, bytes]] = []
    position = 2
    markers: set[int] = set()
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker in (0x01, 0xFF) or 0xD0 <= marker <= 0xD9:
            return None  # fill bytes or a marker without a length: not a layout Pillow writes
        end = position + 2 + struct.unpack_from(">H", data, position + 2)[0]
        segments.append((marker, data[position:end]))
        markers.add(marker)
        position = end
        if marker == _START_OF_SCAN:
            # Baseline, and no restart interval defined: so the coded data holds no restart
            # markers and runs to the end-of-image marker.
            expected = _START_OF_FRAME in markers and _RESTART_INTERVAL not in markers
            return (segments, data[position:-2]) if expected else None
    return None
