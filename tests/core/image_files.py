"""Hand-written image files in the forms Pillow opens but cannot write: 16 bits per channel colour."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence


def png16(width: int, height: int, pixel: Sequence[int]) -> bytes:
    """A PNG of one colour at 16 bits per channel: 2 values grey+alpha, 3 RGB, 4 RGBA."""
    colour_type = {2: 4, 3: 2, 4: 6}[len(pixel)]
    row = b"\x00" + struct.pack(f">{len(pixel)}H", *pixel) * width
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size and holds no pixels: enough for Pillow to read the size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"") + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def tiff16_rgb(width: int, height: int, pixel: Sequence[int]) -> bytes:
    """An uncompressed little-endian TIFF, RGB at 16 bits per channel, of one colour."""
    strip = struct.pack("<3H", *pixel) * (width * height)
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 3, None),  # BitsPerSample: 16,16,16 stored after the directory
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 2),  # Photometric: RGB
        (273, 4, 1, None),  # StripOffsets
        (277, 3, 1, 3),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, len(strip)),  # StripByteCounts
    ]
    directory_offset = 8
    directory_size = 2 + 12 * len(entries) + 4
    bits_offset = directory_offset + directory_size
    strip_offset = bits_offset + 6
    directory = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        elif tag == 273:
            value = strip_offset
        if kind == 3 and count == 1:
            directory += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            directory += struct.pack("<HHII", tag, kind, count, value)
    directory += struct.pack("<I", 0)
    return (
        b"II*\x00" + struct.pack("<I", directory_offset) + directory + struct.pack("<3H", 16, 16, 16) + strip
    )
