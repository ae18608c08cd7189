"""Where the pixels of an uncompressed 8-bit RGBA TIFF lie, read from its header alone.

A render capture is handed over as such a TIFF (Blender writes it fastest); the main thread
then checks its alpha bytes in place, without decoding anything, to know whether every pixel
is opaque (`blender.capture`). Only the plain layout Blender writes is understood: one image,
pixels interleaved (RGBA RGBA...), stored as one run of strips; anything else gives None.
"""

from __future__ import annotations

import struct

_WIDTH, _HEIGHT, _BITS, _COMPRESSION = 256, 257, 258, 259
_STRIP_OFFSETS, _SAMPLES, _STRIP_BYTES, _PLANAR = 273, 277, 279, 284
_VALUE_SIZES = {3: 2, 4: 4}  # SHORT, LONG: the only types these tags use


def rgba_pixel_span(data: bytes) -> tuple[int, int] | None:
    """(offset, length) of the pixel bytes, when `data` is an uncompressed, interleaved 8-bit
    RGBA TIFF whose strips follow one another; None otherwise."""
    try:
        tags = _tags(data)
        if tags is None:
            return None
        width, height = tags[_WIDTH][0], tags[_HEIGHT][0]
        if (
            tags.get(_COMPRESSION, (1,)) != (1,)
            or tags.get(_SAMPLES) != (4,)
            or tags.get(_BITS) != (8, 8, 8, 8)
            or tags.get(_PLANAR, (1,)) != (1,)
        ):
            return None
        offsets, counts = tags[_STRIP_OFFSETS], tags[_STRIP_BYTES]
    except (KeyError, IndexError, struct.error):
        return None
    if len(offsets) != len(counts) or any(
        offsets[index + 1] != offsets[index] + counts[index] for index in range(len(offsets) - 1)
    ):
        return None
    length = width * height * 4
    if sum(counts) != length or offsets[0] + length > len(data):
        return None
    return offsets[0], length


def _tags(data: bytes) -> dict[int, tuple[int, ...]] | None:
    """The first image's SHORT and LONG tags."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack_from(order + "H", data, 2)[0] != 42:
        return None
    directory = struct.unpack_from(order + "I", data, 4)[0]
    entries = struct.unpack_from(order + "H", data, directory)[0]
    tags: dict[int, tuple[int, ...]] = {}
    for index in range(entries):
        tag, kind, count, inline = struct.unpack_from(order + "HHI4s", data, directory + 2 + 12 * index)
        size = _VALUE_SIZES.get(kind)
        if size is None:
            continue
        if count * size <= 4:
            raw = inline[: count * size]
        else:
            offset = struct.unpack(order + "I", inline)[0]
            raw = data[offset : offset + count * size]
        tags[tag] = struct.unpack(order + ("H" if kind == 3 else "I") * count, raw)
    return tags
