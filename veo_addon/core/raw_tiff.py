"""Where the pixels of an uncompressed 8-bit RGBA TIFF lie, read from its header alone.

A render capture is handed over as such a TIFF (Blender writes it fastest); the main thread
then checks its alpha bytes in place, without decoding anything, to know whether every pixel
is opaque (`blender.capture`), and the keyframe preparation encodes an opaque one straight from
those bytes (`core.images`). Only the plain layout Blender writes is understood: one image,
pixels interleaved (RGBA RGBA...), stored as one run of strips; anything else gives None.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from .imagebytes import ImageBytes

_WIDTH, _HEIGHT, _BITS, _COMPRESSION = 256, 257, 258, 259
_STRIP_OFFSETS, _ORIENTATION, _SAMPLES, _STRIP_BYTES, _PLANAR = 273, 274, 277, 279, 284
_TOP_LEFT = 1  # rows stored top first, as a decoder shows them: nothing to turn
_VALUE_SIZES = {3: 2, 4: 4}  # SHORT, LONG: the only types these tags use


@dataclass(frozen=True)
class RgbaPixels:
    """Where an uncompressed RGBA TIFF's pixels are: `length` bytes from `offset`, rows top first."""

    offset: int
    length: int
    width: int
    height: int


def opaque_rgba_pixels(data: ImageBytes) -> RgbaPixels | None:
    """The pixels of an uncompressed RGBA TIFF (`rgba_pixels`) when every one has alpha 255,
    else None."""
    pixels = rgba_pixels(data)
    return pixels if pixels is not None and all_opaque(data, pixels) else None


def all_opaque(data: ImageBytes, pixels: RgbaPixels) -> bool:
    """Whether every pixel's alpha is 255, read in place."""
    # Not numpy: Blender builds from Linux distributions do not always ship it. A stepped slice
    # and a comparison both run in C; comparing with a run of 255s (a memcmp) takes half the
    # time of counting them (about 0.7 ms in all at 1080p).
    alpha = data[pixels.offset + 3 : pixels.offset + pixels.length : 4]
    return alpha == _opaque_alpha(len(alpha))


@functools.lru_cache(maxsize=2)
def _opaque_alpha(pixel_count: int) -> bytes:
    """A run of 255s as long as a picture's alpha (2 MB at 1080p, kept for the next keyframe)."""
    return b"\xff" * pixel_count


def rgba_pixels(data: ImageBytes) -> RgbaPixels | None:
    """`rgba_pixel_span` with the picture's size, when its rows are stored top first (the
    orientation a decoder would not turn)."""
    tags = _tags_or_none(data)
    span = None if tags is None else _span(data, tags)
    if span is None or tags is None or tags.get(_ORIENTATION, (_TOP_LEFT,)) != (_TOP_LEFT,):
        return None
    return RgbaPixels(span[0], span[1], tags[_WIDTH][0], tags[_HEIGHT][0])


def rgba_pixel_span(data: ImageBytes) -> tuple[int, int] | None:
    """(offset, length) of the pixel bytes, when `data` is an uncompressed, interleaved 8-bit
    RGBA TIFF whose strips follow one another; None otherwise."""
    tags = _tags_or_none(data)
    return None if tags is None else _span(data, tags)


def _span(data: ImageBytes, tags: dict[int, tuple[int, ...]]) -> tuple[int, int] | None:
    try:
        width, height = tags[_WIDTH][0], tags[_HEIGHT][0]
        if (
            tags.get(_COMPRESSION, (1,)) != (1,)
            or tags.get(_SAMPLES) != (4,)
            or tags.get(_BITS) != (8, 8, 8, 8)
            or tags.get(_PLANAR, (1,)) != (1,)
        ):
            return None
        offsets, counts = tags[_STRIP_OFFSETS], tags[_STRIP_BYTES]
    except (KeyError, IndexError):
        return None
    if len(offsets) != len(counts) or any(
        offsets[index + 1] != offsets[index] + counts[index] for index in range(len(offsets) - 1)
    ):
        return None
    length = width * height * 4
    if sum(counts) != length or offsets[0] + length > len(data):
        return None
    return offsets[0], length


def _tags_or_none(data: ImageBytes) -> dict[int, tuple[int, ...]] | None:
    try:
        return _tags(data)
    except (IndexError, struct.error):
        return None


def _tags(data: ImageBytes) -> dict[int, tuple[int, ...]] | None:
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
