"""Keyframe images: sniffing, refusals, fitting by crop and letterbox, scaling, encoding."""

import io
import threading

import pytest
from PIL import Image, ImageFile

from tests.core.image_files import png_header_only
from veo_addon.core.images import (
    MAX_IMAGE_BYTES,
    MAX_READ_BYTES,
    AspectRatio,
    FitMethod,
    ImageError,
    ImageFormat,
    aspect_for_size,
    check_image_bytes,
    encode_image,
    inspect_image,
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
    with pytest.raises(ImageError, match=r"notes\.png' is not a PNG, JPEG, TIFF or WebP image"):
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


def test_keyframe_file_over_the_send_limit_is_read_and_sent_smaller(tmp_path):
    # 3000x2400 of noise, stored uncompressed: over 20 MB on disk, under it once prepared.
    noise = Image.merge("RGB", [Image.effect_noise((3000, 2400), 60) for _ in range(3)])
    path = tmp_path / "big.png"
    path.write_bytes(encoded(noise, compress_level=0))
    assert path.stat().st_size > MAX_IMAGE_BYTES
    prepared = prepare_keyframe(read_image_file(path), "16:9", "1080p")
    assert len(prepared.data) <= MAX_IMAGE_BYTES
    assert (prepared.width, prepared.height) == (1920, 1080)


def test_prepared_keyframe_respects_the_send_limit_it_is_given():
    noise = Image.merge("RGB", [Image.effect_noise((1280, 720), 80) for _ in range(3)])
    prepared = prepare_keyframe(encoded(noise), "16:9", "720p", max_bytes=1_000_000)
    assert prepared.image_format is ImageFormat.JPEG
    assert len(prepared.data) <= 1_000_000


def test_read_image_file_over_the_read_limit(tmp_path):
    path = tmp_path / "huge.png"
    # A valid PNG, then a sparse tail: the size check comes before anything is read.
    with path.open("wb") as file:
        file.write(encoded(Image.new("RGB", (4, 4))))
        file.truncate(MAX_READ_BYTES + 1)
    with pytest.raises(
        ImageError, match=r"huge\.png' is 256\.0 MB; keyframe files are read up to 256\.0 MB$"
    ):
        read_image_file(path)


@pytest.mark.parametrize(("side", "megapixels"), [(10_000, 100), (20_000, 400)])
def test_too_many_pixels_is_refused_before_decoding(tmp_path, side, megapixels):
    path = tmp_path / "poster.png"
    path.write_bytes(png_header_only(side, side))
    with pytest.raises(ImageError, match=r"poster\.png' (is|has far more).* 89 megapixels"):
        read_image_file(path)
    with pytest.raises(ImageError, match=r"^first keyframe (is|has far more).*89 megapixels"):
        prepare_keyframe(png_header_only(side, side), "16:9", "720p", what="first keyframe")


def test_pixel_count_in_the_message():
    with pytest.raises(ImageError, match=r"is 10000x10000 pixels \(100 megapixels\); keyframe images may"):
        prepare_keyframe(png_header_only(10_000, 10_000), "16:9", "720p")


@pytest.mark.parametrize("image_format", ["TIFF", "WEBP"])
def test_tiff_and_webp_files_are_keyframe_files(tmp_path, image_format):
    path = tmp_path / f"key.{image_format.lower()}"
    path.write_bytes(
        encoded(halves((64, 36)), image_format, **({"lossless": True} if image_format == "WEBP" else {}))
    )
    prepared = prepare_keyframe(read_image_file(path), "16:9", "720p")
    result = Image.open(io.BytesIO(prepared.data))
    assert result.getpixel((100, 360))[0] > 200 and result.getpixel((1180, 360))[2] > 200


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
    # Lossless, so the exact colour of the centre can be read back.
    prepared = prepare_keyframe(encoded(image), "16:9", "720p", FitMethod.CROP, image_format=ImageFormat.PNG)
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
    # Sent as JPEG (the default) or PNG (when asked): either way only the format's own header fields.
    for data in (source, jpeg_source):
        for sent_format, header_fields in (
            (ImageFormat.JPEG, {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}),
            (ImageFormat.PNG, {"dpi", "gamma"}),
        ):
            prepared = prepare_keyframe(data, "16:9", "720p", image_format=sent_format)
            assert prepared.image_format is sent_format
            result = Image.open(io.BytesIO(prepared.data))
            assert b"someone private" not in prepared.data
            assert b"CameraMaker" not in prepared.data
            assert "icc_profile" not in result.info
            assert not result.getexif()
            assert set(result.info) <= header_fields


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
    # About 1.3 MB as PNG, 1 MB as JPEG.
    data, image_format = encode_image(noise, max_bytes=1_200_000, image_format=ImageFormat.PNG)
    assert image_format is ImageFormat.JPEG
    assert data.startswith(b"\xff\xd8\xff")
    assert len(data) <= 1_200_000


def test_encode_refuses_when_even_jpeg_is_too_big():
    noise = Image.effect_noise((640, 360), 100).convert("RGB")
    with pytest.raises(ImageError, match="cannot be encoded under"):
        encode_image(noise, max_bytes=1000)


def test_prepare_refuses_non_image():
    with pytest.raises(ImageError, match="last keyframe is not a PNG, JPEG, TIFF, WebP or SGI image"):
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


def test_reading_a_keyframe_file_does_not_decode_its_pixels(tmp_path, monkeypatch):
    """Decoding is the worker's job; the main thread reads the header (and PNG checksums) only."""
    photo = Image.effect_noise((2000, 1500), 50).convert("RGB")
    paths = []
    for image_format in ("PNG", "JPEG", "TIFF", "WEBP"):
        path = tmp_path / f"key.{image_format.lower()}"
        path.write_bytes(encoded(photo, image_format))
        paths.append(path)
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda image: decoded.append(image.format) or real_load(image)
    )
    for path in paths:
        read_image_file(path)
    assert decoded == []


def test_a_truncated_png_is_refused_when_read():
    data = encoded(halves((640, 360)))
    with pytest.raises(ImageError, match="cannot be decoded"):
        inspect_image(data[: len(data) // 2], "keyframe file 'a.png'")
