"""Keyframe images: read and sniff, fit to 16:9 or 9:16, scale to 720p/1080p, encode without metadata.

Pure Python on Pillow (no bpy), so all of it can run in a worker thread while Blender stays
responsive. Veo takes PNG or JPEG of at most 20 MB per keyframe: that limit applies to what is
sent. What is read may be PNG, JPEG, TIFF (also what a render capture hands over) or WebP (and
SGI, what render captures were before), of any colour mode and bit depth Pillow opens, up to
`MAX_READ_BYTES` and `MAX_PIXELS`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from .fit_methods import FitMethod as FitMethod  # its own module: the properties name it at enable

# Signatures, limits and the decode check live in imagebytes, shared with the request.
from .imagebytes import (
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    ImageBytes,
    ImageError,
    SourceFormat,
    decode_image,
    describe_signature,
    open_within_limits,
    source_format,
)
from .imagebytes import PNG_SIGNATURE as PNG_SIGNATURE  # callers check encoded output with it
from .jpeg_encoding import RgbxRows, encode_jpeg
from .lazy_import import lazy_module
from .raw_tiff import RgbaPixels, opaque_rgba_pixels

if TYPE_CHECKING:
    from PIL import Image, ImageCms, ImageOps
else:
    Image = lazy_module("PIL.Image")
    ImageCms = lazy_module("PIL.ImageCms")
    ImageOps = lazy_module("PIL.ImageOps")

# What is read, not what is sent: everything is scaled down and re-encoded under
# MAX_IMAGE_BYTES before sending, so only memory bounds this and MAX_PIXELS. A file larger
# than this is no keyframe anyone meant.
MAX_READ_BYTES = 256 * 1024 * 1024

_LETTERBOX_COLOUR = (0, 0, 0)
_EXIF_ORIENTATION = 0x0112
# The first is what keyframes are sent as: at 4:4:4 it differs from the lossless picture by about
# 1 of 255 on average (the seam check's thumbnails by under 0.2), at a quarter of PNG's bytes and
# a hundredth of its encoding time. The rest only serve to fit under a smaller size bound.
KEYFRAME_JPEG_QUALITY = 95
_JPEG_QUALITIES = (KEYFRAME_JPEG_QUALITY, 90, 85, 75, 60)


class ImageFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"

    @property
    def mime_type(self) -> str:
        return f"image/{self.value}"


KEYFRAME_FILE_FORMATS = (SourceFormat.PNG, SourceFormat.JPEG, SourceFormat.TIFF, SourceFormat.WEBP)


class AspectRatio(StrEnum):
    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"

    @property
    def ratio(self) -> tuple[int, int]:
        return (16, 9) if self is AspectRatio.LANDSCAPE else (9, 16)


# Short side in pixels; the long side follows from the aspect ratio.
RESOLUTION_SHORT_SIDE: dict[str, int] = {"720p": 720, "1080p": 1080}


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    image_format: ImageFormat
    width: int
    height: int

    @property
    def mime_type(self) -> str:
        return self.image_format.mime_type


def sniff_image_format(data: bytes, what: str = "image") -> ImageFormat:
    """PNG or JPEG from the file's signature; anything else is refused with a message naming it."""
    found = source_format(data)
    if found is SourceFormat.PNG:
        return ImageFormat.PNG
    if found is SourceFormat.JPEG:
        return ImageFormat.JPEG
    if not data:
        raise ImageError(f"{what} is empty")
    raise ImageError(f"{what} is not a PNG or JPEG image ({describe_signature(data)})")


def sniff_source_format(
    data: ImageBytes, what: str = "image", accepted: tuple[SourceFormat, ...] = KEYFRAME_FILE_FORMATS
) -> SourceFormat:
    """The format from the signature, if `accepted`; anything else is refused with a message naming it."""
    found = source_format(data)
    if found is not None and found in accepted:
        return found
    if not data:
        raise ImageError(f"{what} is empty")
    listed = ", ".join(kind.value for kind in accepted)
    raise ImageError(f"{what} is not a {_or_list(listed)} image ({describe_signature(data)})")


def _or_list(listed: str) -> str:
    head, _, last = listed.rpartition(", ")
    return f"{head} or {last}" if head else last


def check_image_bytes(data: bytes, what: str = "image", max_bytes: int = MAX_IMAGE_BYTES) -> ImageFormat:
    """Refuse what Veo would refuse: not PNG/JPEG, over the size limit, or not decodable."""
    image_format = sniff_image_format(data, what)
    if len(data) > max_bytes:
        raise ImageError(
            f"{what} is {_megabytes(len(data))}; keyframe images must be {_megabytes(max_bytes)} or smaller"
        )
    inspect_image(data, what)
    return image_format


def check_image_path(path: str | Path) -> None:
    """The cheap part of reading a keyframe file: that there is a file at `path`."""
    file_path = Path(path)
    if not file_path.exists():
        raise ImageError(f"keyframe file '{file_path}' does not exist")
    if not file_path.is_file():
        raise ImageError(f"keyframe file '{file_path}' is not a file")


def read_image_file(path: str | Path, max_bytes: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a keyframe file (PNG, JPEG, TIFF or WebP), checked; every failure is one clear line.

    The file may be larger than what is sent: `prepare_keyframe` scales and re-encodes it.
    """
    file_path = Path(path)
    what = f"keyframe file '{file_path}'"
    check_image_path(file_path)
    try:
        size = file_path.stat().st_size
        if size > max_bytes:
            raise ImageError(
                f"{what} is {_megabytes(size)}; keyframe files are read up to {_megabytes(max_bytes)}"
            )
        data = file_path.read_bytes()
    except OSError as error:
        raise ImageError(f"{what} cannot be read: {error.strerror or error}") from error
    sniff_source_format(data, what)
    inspect_image(data, what)
    return data


def inspect_image(data: bytes, what: str = "image", max_pixels: int = MAX_PIXELS) -> None:
    """What can be checked without decoding the pixels (which is the worker's job): the header,
    the pixel count, and for PNG every chunk's checksum."""
    image = open_within_limits(data, what, max_pixels)
    if image.format == "PNG":
        try:
            image.verify()
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageError(f"{what} cannot be decoded: {error}") from error


def aspect_for_size(width: int, height: int) -> AspectRatio:
    """ "auto": a landscape or square output gives 16:9, a portrait one 9:16."""
    return AspectRatio.PORTRAIT if height > width else AspectRatio.LANDSCAPE


def target_size(aspect_ratio: AspectRatio | str, resolution: str) -> tuple[int, int]:
    aspect = AspectRatio(aspect_ratio)
    try:
        short_side = RESOLUTION_SHORT_SIDE[resolution]
    except KeyError:
        raise ImageError(
            f"resolution must be one of {', '.join(RESOLUTION_SHORT_SIDE)}, got '{resolution}'"
        ) from None
    long_side = short_side * 16 // 9
    return (long_side, short_side) if aspect is AspectRatio.LANDSCAPE else (short_side, long_side)


def _to_rgb(image: Image.Image) -> Image.Image:
    # Apply the EXIF orientation first: stripping metadata would otherwise turn phone photos sideways.
    # (Only when there is one: exif_transpose copies the picture even when it has nothing to do.)
    if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        # Pillow's own conversion clips these to 0-255: a 16-bit grey would come out white.
        return _high_depth_to_grey(image).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        # Transparent areas show as black in Blender's preview; keep them black here too. (Pasting
        # through the alpha is quicker than a conversion to RGB, even when it is all opaque.)
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _LETTERBOX_COLOUR)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode == "LAB":
        return ImageCms.applyTransform(image, _lab_to_srgb())  # type: ignore[return-value]
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise ImageError(f"images in colour mode {image.mode} cannot be used: {error}") from error


def _high_depth_to_grey(image: Image.Image) -> Image.Image:
    """8-bit grey from a 16-bit, 32-bit integer or float image, scaled by the range of its kind.

    16-bit modes span 0-65535. Mode I holds 32-bit integers, but what is stored in them varies
    (16-bit TIFFs, 8-bit values saved by other tools): a TIFF's bits per sample says 16 when it
    is, else the largest value tells 8, 16 or 31 bits. Float images are 0-1 (renders, scans)
    unless their values show the 0-255 scale.
    """
    if image.mode == "F":
        grey = image
        scale = 255.0 if _largest_value(image) <= 1.0 else 1.0
    else:
        grey = image if image.mode == "I" else image.convert("I")
        bits = 16 if image.mode.startswith("I;16") else _tiff_bits_per_sample(image)
        if bits is None:
            high = _largest_value(grey)
            bits = 8 if high <= 255 else 16 if high <= 65535 else 31
        scale = 255.0 / (2**bits - 1)
    return grey.point(lambda value: value * scale + 0.5).convert("L")


def _largest_value(image: Image.Image) -> float:
    extrema = image.getextrema()
    return float(extrema[1])  # type: ignore[arg-type]


def _tiff_bits_per_sample(image: Image.Image) -> int | None:
    """8 or 16 when a TIFF says so; None for 32 bits (its values decide) or another file type."""
    tags = getattr(image, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None  # BitsPerSample
    if isinstance(bits, tuple):
        bits = bits[0] if bits else None
    return bits if bits in (8, 16) else None


def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )


def fit_image(
    image: Image.Image, aspect_ratio: AspectRatio | str, method: FitMethod | str, size: tuple[int, int]
) -> Image.Image:
    """Fit `image` to `size` (which has the aspect ratio) by centre crop or letterbox."""
    aspect = AspectRatio(aspect_ratio)
    fit_method = FitMethod(method)
    target_width, target_height = size
    if target_width * aspect.ratio[1] != target_height * aspect.ratio[0]:
        raise ImageError(f"size {target_width}x{target_height} is not {aspect.value}")
    rgb = _to_rgb(image)
    if rgb.size == size:
        return rgb  # already the size sent (a render at the scene's 1080p): nothing to crop or scale
    if fit_method is FitMethod.CROP:
        return ImageOps.fit(rgb, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    contained = ImageOps.contain(rgb, size, method=Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, _LETTERBOX_COLOUR)
    canvas.paste(contained, ((target_width - contained.width) // 2, (target_height - contained.height) // 2))
    return canvas


def encode_image(
    picture: Image.Image | RgbxRows,
    max_bytes: int = MAX_IMAGE_BYTES,
    image_format: ImageFormat = ImageFormat.JPEG,
) -> tuple[bytes, ImageFormat]:
    """`image_format` (JPEG by default, see `KEYFRAME_JPEG_QUALITY`), else the best JPEG quality
    that keeps under `max_bytes`.

    A fresh image with no `info`, `exif` or ICC profile passed to `save`, so nothing from the
    source (camera data, locations, software tags) reaches the service. `RgbxRows` (an opaque
    render read in place) are bare pixels already, and go to the JPEG encoder as they are: it
    takes the RGB and skips the fourth byte.
    """
    clean = picture if isinstance(picture, RgbxRows) else _copy_without_metadata(picture)
    if image_format is ImageFormat.PNG:
        buffer = io.BytesIO()
        # Level 1: a fifth of level 6's time for about 12 % more bytes (docs/performance.md).
        (clean.image().convert("RGB") if isinstance(clean, RgbxRows) else clean).save(
            buffer, format="PNG", optimize=False, compress_level=1
        )
        if buffer.tell() <= max_bytes:
            return buffer.getvalue(), ImageFormat.PNG
    rgb = clean if isinstance(clean, RgbxRows) or clean.mode == "RGB" else clean.convert("RGB")
    for quality in _JPEG_QUALITIES:
        encoded = encode_jpeg(rgb, quality)
        if len(encoded) <= max_bytes:
            return encoded, ImageFormat.JPEG
    raise ImageError(f"image cannot be encoded under {_megabytes(max_bytes)}, even as JPEG")


def prepare_keyframe(
    data: ImageBytes,
    aspect_ratio: AspectRatio | str,
    resolution: str,
    method: FitMethod | str = FitMethod.CROP,
    what: str = "keyframe",
    max_bytes: int = MAX_IMAGE_BYTES,
    image_format: ImageFormat = ImageFormat.JPEG,
    opaque_pixels: RgbaPixels | None = None,
) -> PreparedImage:
    """Read, fit, scale and encode one keyframe for the request (callable from any thread).

    `data` is PNG, JPEG, TIFF (a render capture), WebP or SGI of any size up to the read limits;
    `max_bytes` bounds what comes out; it is sent as `image_format` (PNG only when asked: lossless
    but about 4x the bytes and far slower to encode) unless that is over it. `aspect_ratio` is
    16:9 or 9:16; the caller resolves "auto" from the scene's output shape with `aspect_for_size`
    because only it knows the scene. `opaque_pixels` says where a render's pixels lie when the
    caller has already found every alpha 255 (the capture has to know, to flatten a see-through
    frame): they are not read a second time.
    """
    sniff_source_format(data, what, (*KEYFRAME_FILE_FORMATS, SourceFormat.SGI))
    size = target_size(aspect_ratio, resolution)
    in_place = _opaque_render_of_size(data, size, opaque_pixels)
    fitted = in_place or fit_image(decode_image(data, what), aspect_ratio, method, size)
    encoded, sent_format = encode_image(fitted, max_bytes, image_format)
    return PreparedImage(data=encoded, image_format=sent_format, width=size[0], height=size[1])


def _opaque_render_of_size(
    data: ImageBytes, size: tuple[int, int], opaque_pixels: RgbaPixels | None
) -> RgbxRows | None:
    """A render capture already at the size sent, read in place without a copy; None for
    anything that needs decoding, flattening or fitting.

    Decoding that TIFF, flattening its alpha and copying it cost twice the JPEG encoding itself
    (docs/performance.md, #6), and give the very same pixels when every alpha is 255.
    """
    pixels = opaque_pixels or opaque_rgba_pixels(data)
    if pixels is None or (pixels.width, pixels.height) != size:
        return None
    return RgbxRows(memoryview(data)[pixels.offset : pixels.offset + pixels.length], *size)


def _copy_without_metadata(image: Image.Image) -> Image.Image:
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
