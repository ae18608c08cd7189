"""What a keyframe is sent as: JPEG at quality 95 without chroma subsampling by default (faithful,
a fraction of PNG's bytes and time), PNG when asked, and the request says which."""

import io

from PIL import Image, ImageChops, ImageFilter, ImageStat
from PIL.JpegImagePlugin import get_sampling

from veo_addon.core.images import ImageFormat, prepare_keyframe
from veo_addon.core.request import Base64Form, ImageInput


def photo_like(size: tuple[int, int]) -> bytes:
    """Smooth colour shapes with grain, stored losslessly: compresses like a photograph."""
    width, height = size
    small = Image.merge("RGB", [Image.effect_noise((width // 40, height // 40), 90) for _ in range(3)])
    smooth = small.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    grain = Image.effect_noise(size, 12).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(smooth, grain, 0.15).save(buffer, format="PNG")
    return buffer.getvalue()


def mean_difference(first: bytes, second: bytes) -> float:
    pictures = [Image.open(io.BytesIO(data)).convert("RGB") for data in (first, second)]
    return sum(ImageStat.Stat(ImageChops.difference(*pictures)).mean) / 3


def test_keyframes_are_sent_as_faithful_full_colour_jpeg_by_default():
    source = photo_like((1280, 720))
    sent = prepare_keyframe(source, "16:9", "720p")
    lossless = prepare_keyframe(source, "16:9", "720p", image_format=ImageFormat.PNG)
    assert sent.image_format is ImageFormat.JPEG
    assert sent.data.startswith(b"\xff\xd8\xff")
    assert get_sampling(Image.open(io.BytesIO(sent.data))) == 0  # 4:4:4: colour at full resolution
    # About 1 of 255 from the lossless picture, at well under half its bytes.
    assert mean_difference(sent.data, lossless.data) < 2.0
    assert len(sent.data) * 2 < len(lossless.data)


def test_the_request_names_jpeg_when_jpeg_is_sent():
    sent = prepare_keyframe(photo_like((320, 180)), "16:9", "720p")
    image_input = ImageInput.from_bytes(sent.data)
    assert image_input.mime_type == "image/jpeg"
    assert image_input.body_value(Base64Form.DATA_URI).startswith("data:image/jpeg;base64,")


def test_png_when_asked_is_lossless():
    source = photo_like((1280, 720))
    sent = prepare_keyframe(source, "16:9", "720p", image_format=ImageFormat.PNG)
    assert sent.image_format is ImageFormat.PNG
    assert sent.mime_type == "image/png"
    assert mean_difference(sent.data, source) == 0
