"""Finding the pixels of an uncompressed RGBA TIFF from its header: the capture checks a render's
alpha there, in place, to know whether Blender must flatten the frame itself."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from veo_addon.core.raw_tiff import rgba_pixel_span


def tiff(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(1, 1), (300, 200), (1920, 1080)])
def test_the_span_holds_exactly_the_pixels(size):
    image = Image.new("RGBA", size, (10, 20, 30, 40))
    image.putpixel((size[0] - 1, size[1] - 1), (1, 2, 3, 255))
    data = tiff(image)
    offset, length = rgba_pixel_span(data)
    assert length == size[0] * size[1] * 4
    assert data[offset : offset + length] == image.tobytes()


@pytest.mark.parametrize(
    "data",
    [
        tiff(Image.new("RGBA", (64, 64)), compression="tiff_lzw"),
        tiff(Image.new("RGB", (64, 64))),
        tiff(Image.new("L", (64, 64))),
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"II*\x00\xff\xff\xff\x00",
        b"",
    ],
    ids=["compressed", "rgb", "grey", "png", "directory-past-the-end", "empty"],
)
def test_anything_else_has_no_span(data):
    assert rgba_pixel_span(data) is None


def test_a_file_cut_short_has_no_span():
    data = tiff(Image.new("RGBA", (64, 64)))
    assert rgba_pixel_span(data[:-1]) is None
