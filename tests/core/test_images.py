"""Keyframe images: sniffing, refusals, fitting by crop and letterbox, scaling, encoding."""

import io
import threading

import pytest
from PIL import Image

from veo_addon.core.images import (
    MAX_IMAGE_BYTES,
    AspectRatio,
    FitMethod,
    ImageError,
    ImageFormat,
    aspect_for_size,
    check_image_bytes,
    encode_image,
    prepare_keyframe,
    read_image_file,
    sniff_image_format,
    target_size,
)


def encoded(image: Image.Image, image_format: str = "PNG", **save_options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **save_options)
    return buffer.getvalue()


def halves(size: tuple[int, int], left=(255, 0, 0), right=(0, 0, 255)) -> Image.Image:
    """Left half one colour, right half another: crop and letterbox show in the pixel columns."""
    image = Image.new("RGB", size, left)
    image.paste(Image.new("RGB", (size[0] - size[0] // 2, size[1]), right), (size[0] // 2, 0))
    return image


def test_sniff_png_and_jpeg():
    assert sniff_image_format(encoded(Image.new("RGB", (4, 4)))) is ImageFormat.PNG
    assert sniff_image_format(encoded(Image.new("RGB", (4, 4)), "JPEG")) is ImageFormat.JPEG


@pytest.mark.parametrize(
    ("image_format", "hint"), [("GIF", "GIF"), ("WEBP", "WebP"), ("BMP", "BMP"), ("TIFF", "TIFF")]
)
def test_sniff_refuses_other_formats_by_name(image_format, hint):
    with pytest.raises(ImageError, match=f"not a PNG or JPEG image.*{hint}"):
        sniff_image_format(encoded(Image.new("RGB", (4, 4)), image_format), "first keyframe")


def test_sniff_refuses_empty_and_garbage():
    with pytest.raises(ImageError, match="is empty"):
        sniff_image_format(b"")
    with pytest.raises(ImageError, match="unrecognised content"):
        sniff_image_format(b"hello world")


def test_check_refuses_truncated_png():
    data = encoded(halves((64, 36)))
    with pytest.raises(ImageError, match="cannot be decoded"):
        check_image_bytes(data[: len(data) // 2])


def test_read_image_file_refusals(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        read_image_file(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="is not a file"):
        read_image_file(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImageError, match=r"notes\.png' is not a PNG or JPEG"):
        read_image_file(text)


def test_read_image_file_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    path.write_bytes(encoded(Image.new("RGB", (4, 4))))

    # Running as root ignores file modes, so the permission error is simulated.
    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(ImageError, match=r"locked\.png' cannot be read: Permission denied"):
        read_image_file(path)


def test_read_image_file_over_limit(tmp_path):
    path = tmp_path / "big.png"
    # A valid PNG signature then padding: the size check must come before decoding.
    path.write_bytes(encoded(Image.new("RGB", (4, 4))) + b"\0" * (MAX_IMAGE_BYTES + 1))
    with pytest.raises(ImageError, match=r"is 20\.0 MB; keyframe images must be 20\.0 MB or smaller"):
        read_image_file(path)


def test_read_image_file_returns_bytes(tmp_path):
    path = tmp_path / "ok.jpg"
    data = encoded(Image.new("RGB", (16, 9), (10, 200, 30)), "JPEG")
    path.write_bytes(data)
    assert read_image_file(path) == data


def test_aspect_for_size():
    assert aspect_for_size(1920, 1080) is AspectRatio.LANDSCAPE
    assert aspect_for_size(1080, 1920) is AspectRatio.PORTRAIT
    assert aspect_for_size(500, 500) is AspectRatio.LANDSCAPE


def test_target_sizes():
    assert target_size("16:9", "720p") == (1280, 720)
    assert target_size("9:16", "720p") == (720, 1280)
    assert target_size(AspectRatio.LANDSCAPE, "1080p") == (1920, 1080)
    assert target_size("9:16", "1080p") == (1080, 1920)
    with pytest.raises(ImageError, match="resolution must be one of"):
        target_size("16:9", "4k")


def test_crop_square_to_landscape_keeps_the_centre():
    # A square with a red top third, green middle, blue bottom: 16:9 crop keeps mostly green.
    image = Image.new("RGB", (900, 900), (0, 255, 0))
    image.paste(Image.new("RGB", (900, 300), (255, 0, 0)), (0, 0))
    image.paste(Image.new("RGB", (900, 300), (0, 0, 255)), (0, 600))
    prepared = prepare_keyframe(encoded(image), "16:9", "720p", FitMethod.CROP)
    result = Image.open(io.BytesIO(prepared.data))
    assert result.size == (1280, 720)
    assert result.getpixel((640, 360)) == (0, 255, 0)
    # 900 wide becomes 506 tall from the middle: the bands at top and bottom are red and blue.
    assert result.getpixel((640, 5))[0] > 200
    assert result.getpixel((640, 714))[2] > 200


def test_letterbox_landscape_into_portrait_pads_black():
    prepared = prepare_keyframe(encoded(halves((1600, 900))), "9:16", "720p", "letterbox")
    result = Image.open(io.BytesIO(prepared.data))
    assert result.size == (720, 1280)
    assert (prepared.width, prepared.height) == (720, 1280)
    assert result.getpixel((360, 20)) == (0, 0, 0)
    assert result.getpixel((360, 1260)) == (0, 0, 0)
    assert result.getpixel((100, 640))[0] > 240
    assert result.getpixel((620, 640))[2] > 240


def test_crop_landscape_into_portrait_takes_the_middle():
    prepared = prepare_keyframe(encoded(halves((1600, 900))), "9:16", "1080p", "crop")
    result = Image.open(io.BytesIO(prepared.data))
    assert result.size == (1080, 1920)
    # The middle strip of a half red / half blue image: red on the left, blue on the right.
    assert result.getpixel((100, 960))[0] > 240
    assert result.getpixel((980, 960))[2] > 240


def test_alpha_is_flattened_onto_black():
    image = Image.new("RGBA", (160, 90), (255, 255, 255, 0))
    prepared = prepare_keyframe(encoded(image), "16:9", "720p")
    assert Image.open(io.BytesIO(prepared.data)).getpixel((10, 10)) == (0, 0, 0)


def test_metadata_is_stripped():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone private")
    info.add_text("Location", "52.1,4.3")
    source = encoded(Image.new("RGB", (160, 90), (1, 2, 3)), "PNG", pnginfo=info, icc_profile=b"fake-profile")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    jpeg_source = encoded(Image.new("RGB", (160, 90), (1, 2, 3)), "JPEG", exif=exif.tobytes())
    for data in (source, jpeg_source):
        prepared = prepare_keyframe(data, "16:9", "720p")
        assert prepared.image_format is ImageFormat.PNG
        result = Image.open(io.BytesIO(prepared.data))
        assert b"someone private" not in prepared.data
        assert b"CameraMaker" not in prepared.data
        assert "icc_profile" not in result.info
        assert not result.getexif()
        assert set(result.info) <= {"dpi", "gamma"}


def test_exif_orientation_is_applied_before_stripping():
    # Stored landscape with orientation 6 ("rotate 90 CW to view"): the viewer sees portrait.
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(halves((320, 180)), "JPEG", exif=exif.tobytes(), quality=95)
    prepared = prepare_keyframe(data, "9:16", "720p", "letterbox")
    result = Image.open(io.BytesIO(prepared.data))
    # Upright it fills the portrait frame with no bars: red on top, blue at the bottom.
    assert result.getpixel((360, 100))[0] > 200
    assert result.getpixel((360, 1180))[2] > 200


def test_png_falls_back_to_jpeg_over_the_limit():
    noise = Image.effect_noise((1280, 720), 100).convert("RGB")
    data, image_format = encode_image(noise, max_bytes=1_500_000)
    assert image_format is ImageFormat.JPEG
    assert data.startswith(b"\xff\xd8\xff")
    assert len(data) <= 1_500_000


def test_encode_refuses_when_even_jpeg_is_too_big():
    noise = Image.effect_noise((640, 360), 100).convert("RGB")
    with pytest.raises(ImageError, match="cannot be encoded under"):
        encode_image(noise, max_bytes=1000)


def test_prepare_refuses_non_image():
    with pytest.raises(ImageError, match="last keyframe is not a PNG or JPEG"):
        prepare_keyframe(b"GIF89a....", "16:9", "720p", what="last keyframe")


def test_prepare_runs_off_the_main_thread():
    data = encoded(halves((320, 180)))
    results: list = []
    errors: list = []

    def work():
        try:
            results.append(prepare_keyframe(data, "16:9", "720p"))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({result.data for result in results}) == 1
