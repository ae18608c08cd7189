"""What image bytes are and whether they decode: the one home of the signatures, the size
limits and the decode check that both the request (what is sent) and the keyframe
preparation (what is read) rely on.

Pillow is imported inside the functions that decode, so that building a request from a URL
stays cheap to import.
"""

from __future__ import annotations

import io
import mmap
from enum import StrEnum
from typing import TYPE_CHECKING

from .errors import VeoError
from .mp4 import starts_like_mp4

if TYPE_CHECKING:
    from PIL import Image

# The service takes keyframes of "up to 20 MB" (read as MiB, so the add-on stays on the safe side).
MAX_IMAGE_BYTES = 20 * 1024 * 1024
# Pillow's own decompression-bomb threshold (about 89 megapixels, a quarter gigabyte of RGB),
# held here so that another add-on changing Pillow's global cannot lift it.
MAX_PIXELS = 89_478_485

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*")
SGI_SIGNATURE = b"\x01\xda"

# What a keyframe's picture may be held in: bytes, or a render's file mapped in place
# (`core.file_mapping`), which slices, unpacks and opens like bytes.
ImageBytes = bytes | mmap.mmap


class ImageError(VeoError, ValueError):
    """A keyframe image cannot be used; `str()` is one line for the user."""

    code = "invalid_image"


class SourceFormat(StrEnum):
    """What a keyframe may be read from; whatever it is, PNG or JPEG is what is sent."""

    PNG = "PNG"
    JPEG = "JPEG"
    TIFF = "TIFF"
    WEBP = "WebP"
    SGI = "SGI"  # only as Blender's render intermediate, never as a file the user chose


# What the service accepts, with the MIME type it is sent as.
SENDABLE_MIME_TYPES = {SourceFormat.PNG: "image/png", SourceFormat.JPEG: "image/jpeg"}


def source_format(data: ImageBytes) -> SourceFormat | None:
    """The format the bytes' signature names, or None for anything else."""
    data = bytes(data[:16])  # a mapped file has no startswith
    if data.startswith(PNG_SIGNATURE):
        return SourceFormat.PNG
    if data.startswith(JPEG_SIGNATURE):
        return SourceFormat.JPEG
    if data.startswith(TIFF_SIGNATURES):
        return SourceFormat.TIFF
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return SourceFormat.WEBP
    if data.startswith(SGI_SIGNATURE):
        return SourceFormat.SGI
    return None


def describe_signature(data: ImageBytes) -> str:
    """What unaccepted bytes look like, for the refusal's message."""
    data = bytes(data[:16])
    known = {
        b"GIF8": "looks like GIF",
        b"RIFF": "looks like WebP",
        b"BM": "looks like BMP",
        b"II*\x00": "looks like TIFF",
        b"MM\x00*": "looks like TIFF",
        b"\x76\x2f\x31\x01": "looks like OpenEXR",
        SGI_SIGNATURE: "looks like SGI",
    }
    for signature, description in known.items():
        if data.startswith(signature):
            return description
    if starts_like_mp4(data[:12]):  # HEIC files start with an 'ftyp' box too
        return "looks like a video or HEIC"
    return "unrecognised content"


def open_within_limits(data: ImageBytes, what: str = "image", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The image with only its header read, refused when it has more pixels than `max_pixels`."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        # Pillow's own refusal, far over the limit, comes before the size can be asked.
        raise ImageError(
            f"{what} has far more pixels than the {max_pixels / 1e6:.0f} megapixels a keyframe image may have"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{what} cannot be decoded: {error}") from error
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{what} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"keyframe images may have at most {max_pixels / 1e6:.0f} megapixels"
        )
    return image


def decode_image(data: ImageBytes, what: str = "image", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode fully (not just the header), so a truncated file fails here with a clear line."""
    image = open_within_limits(data, what, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{what} cannot be decoded: {error}") from error
    return image
