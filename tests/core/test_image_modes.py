"""Every colour mode and bit depth a keyframe file can come in is converted to what it shows.

Each case is a picture of two flat halves whose brightness is known; the prepared keyframe's
mean brightness (mean of R, G and B, 0-255) must match it within a few levels. The cases are
the (format, mode) pairs Pillow 13 can store and read back; see `test_modes_that_do_not_exist`
for the rest.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.core.image_files import png16, tiff16_rgb
from veo_addon.core.images import ImageError, prepare_keyframe, sniff_source_format

SIZE = (160, 90)
DARK, LIGHT = 40, 200  # the two halves, 8-bit grey
EXPECTED = (DARK + LIGHT) / 2
TOLERANCE = 3.0


def grey_halves(dark: float = DARK, light: float = LIGHT, mode: str = "L") -> Image.Image:
    image = Image.new(mode, SIZE, dark)
    image.paste(Image.new(mode, (SIZE[0] // 2, SIZE[1]), light), (SIZE[0] // 2, 0))
    return image


def saved(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def with_opaque_alpha(image: Image.Image, mode: str) -> Image.Image:
    converted = image.convert(mode)
    converted.putalpha(255)
    return converted


def cmyk_halves() -> Image.Image:
    # Black ink only: grey g is K = 255 - g, whichever CMYK-to-RGB formula a reader uses.
    key = ImageChops.invert(grey_halves())
    blank = Image.new("L", SIZE, 0)
    return Image.merge("CMYK", (blank, blank, blank, key))


def ycbcr_halves() -> Image.Image:
    neutral = Image.new("L", SIZE, 128)
    return Image.merge("YCbCr", (grey_halves(), neutral, neutral))


def colour_halves() -> tuple[Image.Image, float]:
    left, right = (200, 40, 120), (40, 200, 80)
    image = Image.new("RGB", SIZE, left)
    image.paste(Image.new("RGB", (SIZE[0] // 2, SIZE[1]), right), (SIZE[0] // 2, 0))
    return image, (sum(left) + sum(right)) / 6


def sixteen_bit_grey() -> Image.Image:
    return grey_halves(DARK * 257, LIGHT * 257, mode="I").convert("I;16")


def palette_with_alpha() -> Image.Image:
    image = grey_halves().convert("P")
    image = image.convert("PA")
    image.putalpha(255)
    return image


def float_halves(scale: float) -> Image.Image:
    return grey_halves(DARK * scale, LIGHT * scale, mode="F")


# (id, file bytes, expected mean brightness)
Case = tuple[str, Callable[[], bytes], float]

CASES: list[Case] = [
    # PNG: 1, L, LA, P, I;16, RGB, RGBA; 16-bit colour (hand-written: Pillow reads but cannot write it)
    ("png-1", lambda: saved(grey_halves(0, 255).convert("1"), "PNG"), 127.5),
    ("png-L", lambda: saved(grey_halves(), "PNG"), EXPECTED),
    ("png-LA", lambda: saved(with_opaque_alpha(grey_halves(), "LA"), "PNG"), EXPECTED),
    ("png-P", lambda: saved(grey_halves().convert("P"), "PNG"), EXPECTED),
    ("png-I;16", lambda: saved(sixteen_bit_grey(), "PNG"), EXPECTED),
    ("png-RGB", lambda: saved(colour_halves()[0], "PNG"), colour_halves()[1]),
    ("png-RGBA", lambda: saved(with_opaque_alpha(colour_halves()[0], "RGBA"), "PNG"), colour_halves()[1]),
    ("png-RGB-16bit", lambda: png16(*SIZE, (LIGHT * 257, DARK * 257, 120 * 257)), (LIGHT + DARK + 120) / 3),
    (
        "png-RGBA-16bit",
        lambda: png16(*SIZE, (LIGHT * 257, DARK * 257, 120 * 257, 65535)),
        (LIGHT + DARK + 120) / 3,
    ),
    ("png-LA-16bit", lambda: png16(*SIZE, (LIGHT * 257, 65535)), LIGHT),
    # JPEG: L (also what "1" is stored as), RGB (also what YCbCr is stored as), CMYK
    ("jpeg-L", lambda: saved(grey_halves(), "JPEG", quality=95), EXPECTED),
    ("jpeg-1", lambda: saved(grey_halves(0, 255).convert("1"), "JPEG", quality=95), 127.5),
    ("jpeg-RGB", lambda: saved(colour_halves()[0], "JPEG", quality=95), colour_halves()[1]),
    ("jpeg-YCbCr", lambda: saved(ycbcr_halves(), "JPEG", quality=95), EXPECTED),
    ("jpeg-CMYK", lambda: saved(cmyk_halves(), "JPEG", quality=95), EXPECTED),
    # TIFF: every mode in the list, plus 16-bit colour
    ("tiff-1", lambda: saved(grey_halves(0, 255).convert("1"), "TIFF"), 127.5),
    ("tiff-L", lambda: saved(grey_halves(), "TIFF"), EXPECTED),
    ("tiff-LA", lambda: saved(with_opaque_alpha(grey_halves(), "LA"), "TIFF"), EXPECTED),
    ("tiff-P", lambda: saved(grey_halves().convert("P"), "TIFF"), EXPECTED),
    ("tiff-PA", lambda: saved(palette_with_alpha(), "TIFF"), EXPECTED),
    ("tiff-I-8bit-values", lambda: saved(grey_halves(mode="I"), "TIFF"), EXPECTED),
    ("tiff-I-16bit-values", lambda: saved(grey_halves(DARK * 257, LIGHT * 257, mode="I"), "TIFF"), EXPECTED),
    ("tiff-I;16", lambda: saved(sixteen_bit_grey(), "TIFF"), EXPECTED),
    ("tiff-I;16B", lambda: saved(sixteen_bit_grey().convert("I").convert("I;16B"), "TIFF"), EXPECTED),
    ("tiff-F-0-to-1", lambda: saved(float_halves(1 / 255), "TIFF"), EXPECTED),
    ("tiff-F-0-to-255", lambda: saved(float_halves(1.0), "TIFF"), EXPECTED),
    ("tiff-RGB", lambda: saved(colour_halves()[0], "TIFF"), colour_halves()[1]),
    ("tiff-RGBA", lambda: saved(with_opaque_alpha(colour_halves()[0], "RGBA"), "TIFF"), colour_halves()[1]),
    ("tiff-CMYK", lambda: saved(cmyk_halves(), "TIFF"), EXPECTED),
    ("tiff-YCbCr", lambda: saved(ycbcr_halves(), "TIFF"), EXPECTED),
    (
        "tiff-RGB-16bit",
        lambda: tiff16_rgb(*SIZE, (LIGHT * 257, DARK * 257, 120 * 257)),
        (LIGHT + DARK + 120) / 3,
    ),
    # WebP stores RGB or RGBA only: every other mode is converted to those on saving
    ("webp-RGB", lambda: saved(colour_halves()[0], "WEBP", lossless=True), colour_halves()[1]),
    (
        "webp-RGBA",
        lambda: saved(with_opaque_alpha(colour_halves()[0], "RGBA"), "WEBP", lossless=True),
        colour_halves()[1],
    ),
    ("webp-from-L", lambda: saved(grey_halves(), "WEBP", lossless=True), EXPECTED),
]


def mean_brightness(data: bytes) -> float:
    return sum(ImageStat.Stat(Image.open(io.BytesIO(data)).convert("RGB")).mean) / 3


@pytest.mark.parametrize(("name", "make", "expected"), CASES, ids=[case[0] for case in CASES])
def test_every_mode_keeps_its_brightness(name, make, expected):
    data = make()
    sniff_source_format(data)  # a format keyframe files may be
    prepared = prepare_keyframe(data, "16:9", "720p")
    assert prepared.mime_type in ("image/png", "image/jpeg")
    assert abs(mean_brightness(prepared.data) - expected) <= TOLERANCE, name


def test_sixteen_bit_grey_is_not_sent_white():
    # The case from the issue: Pillow's convert("RGB") clips 16-bit values to 255.
    prepared = prepare_keyframe(saved(sixteen_bit_grey(), "PNG"), "16:9", "720p")
    image = Image.open(io.BytesIO(prepared.data)).convert("RGB")
    assert image.getpixel((100, 360)) == (DARK, DARK, DARK)
    assert image.getpixel((1180, 360)) == (LIGHT, LIGHT, LIGHT)


@pytest.mark.parametrize(
    ("image_format", "mode"),
    [
        ("PNG", "PA"),
        ("PNG", "I"),
        ("PNG", "F"),
        ("PNG", "CMYK"),
        ("PNG", "YCbCr"),
        ("JPEG", "LA"),
        ("JPEG", "P"),
        ("JPEG", "PA"),
        ("JPEG", "I"),
        ("JPEG", "I;16"),
        ("JPEG", "F"),
        ("JPEG", "RGBA"),
    ],
)
def test_modes_that_do_not_exist(image_format, mode):
    """Pillow 13 cannot store these, so no file of them reaches a keyframe (the list in the report)."""
    with pytest.raises(OSError):
        saved(Image.new(mode, SIZE), image_format)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "I", "I;16", "F", "CMYK", "YCbCr", "1"])
def test_webp_keeps_only_rgb_and_rgba(mode):
    reopened = Image.open(io.BytesIO(saved(Image.new(mode, SIZE), "WEBP", lossless=True)))
    assert reopened.mode in ("RGB", "RGBA")


def test_transparent_pixels_of_a_sixteen_bit_png_are_black():
    prepared = prepare_keyframe(png16(*SIZE, (65535, 65535, 65535, 0)), "16:9", "720p")
    assert mean_brightness(prepared.data) <= 1


def test_unusable_mode_is_one_line():
    with pytest.raises(ImageError, match=r"^keyframe cannot be decoded: "):
        prepare_keyframe(b"II*\x00" + b"\0" * 64, "16:9", "720p")
