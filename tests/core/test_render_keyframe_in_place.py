"""An opaque render capture already at the size sent is encoded straight from the bytes handed
over, not decoded, flattened and copied first: the same keyframe, in half the worker's time.
Anything else (see-through, another size, turned, asked for as PNG) still gets the whole path."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from veo_addon.core import images
from veo_addon.core.images import ImageFormat, prepare_keyframe
from veo_addon.core.raw_tiff import opaque_rgba_pixels, rgba_pixels

SIZE_SENT = (1280, 720)  # 16:9 at 720p


def picture(size: tuple[int, int] = SIZE_SENT) -> Image.Image:
    """A gradient with detail, so a wrong row order or channel order shows."""
    red = Image.linear_gradient("L").resize(size)
    green = red.rotate(90).resize(size)
    blue = Image.effect_noise(size, 60).convert("L")
    return Image.merge("RGB", (red, green, blue))


def render_tiff(image: Image.Image, **options: object) -> bytes:
    """What a render capture hands over: an uncompressed 8-bit RGBA TIFF."""
    buffer = io.BytesIO()
    image.convert("RGBA").save(buffer, format="TIFF", **options)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the render was decoded")

    monkeypatch.setattr(images, "decode_image", refuse)


def test_an_opaque_render_at_the_size_sent_is_encoded_without_decoding(monkeypatch):
    source = picture()
    expected = prepare_keyframe(png(source), "16:9", "720p")  # the whole path, from a PNG
    monkeypatch.setattr(images, "decode_image", lambda *_: pytest.fail("the render was decoded"))
    prepared = prepare_keyframe(render_tiff(source), "16:9", "720p")
    # The very keyframe the whole path sends, byte for byte.
    assert prepared.data == expected.data
    assert (prepared.width, prepared.height, prepared.mime_type) == (1280, 720, "image/jpeg")


def test_a_see_through_render_is_still_flattened_to_black():
    source = picture().convert("RGBA")
    # Red under a fully transparent band: read in place it would show red, flattened it is black.
    source.paste((255, 0, 0, 0), (0, 0, SIZE_SENT[0], 100))
    data = render_tiff(source)
    assert opaque_rgba_pixels(data) is None
    band = decoded(prepare_keyframe(data, "16:9", "720p").data).crop((0, 0, SIZE_SENT[0], 90))
    assert max(band.convert("L").getextrema()) <= 3


def test_a_render_of_another_size_is_still_fitted():
    prepared = prepare_keyframe(render_tiff(picture((640, 360))), "16:9", "720p")
    assert decoded(prepared.data).size == SIZE_SENT


def test_a_turned_tiff_is_turned_before_it_is_sent():
    source = picture()
    turned = render_tiff(source, tiffinfo={274: 3})  # orientation: upside down
    assert rgba_pixels(turned) is None
    sent = decoded(prepare_keyframe(turned, "16:9", "720p").data)
    upright = decoded(prepare_keyframe(png(source.rotate(180)), "16:9", "720p").data)
    assert ImageChops.difference(sent, upright).getbbox() is None


def test_an_opaque_render_asked_for_as_png_is_sent_lossless(no_decoding):
    source = picture()
    prepared = prepare_keyframe(render_tiff(source), "16:9", "720p", image_format=ImageFormat.PNG)
    assert prepared.mime_type == "image/png"
    assert ImageChops.difference(decoded(prepared.data), source).getbbox() is None
