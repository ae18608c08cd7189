"""A keyframe's JPEG is encoded as two halves at once and joined with a restart marker: the file
the service gets decodes to exactly the pixels a single encode gives, and is one plain baseline
JPEG any decoder reads. Anything the join does not expect is encoded whole."""

from __future__ import annotations

import io
import struct
import threading

import pytest
from PIL import Image, ImageDraw

from veo_addon.core import jpeg_encoding
from veo_addon.core.jpeg_encoding import RgbxRows, encode_jpeg, join_halves

QUALITY = 95


def picture(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Detail everywhere, and hard edges across the rows where the halves meet."""
    width, height = size
    noise = Image.effect_noise(size, 40 + seed).convert("L")
    gradient = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (gradient, noise, gradient.rotate(90).resize(size)))
    draw = ImageDraw.Draw(image)
    for row in range(0, height, 7):
        draw.line((0, row, width, row), fill=(255, 40 * (row % 5), 0))
    draw.rectangle((width // 3, height // 2 - 5, width // 2, height // 2 + 5), fill=(0, 0, 255))
    return image


def single_encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=QUALITY, subsampling=0)
    return buffer.getvalue()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.convert("RGB").tobytes()


def markers(data: bytes) -> list[tuple[int, bytes]]:
    """Every marker before the scan, with its segment; then the restart markers in the scan."""
    found, position = [], 2
    while data[position + 1] != 0xDA:
        length = struct.unpack_from(">H", data, position + 2)[0]
        found.append((data[position + 1], data[position + 4 : position + 2 + length]))
        position += 2 + length
    scan = data[position:-2]
    found += [(0xD0 + index, b"") for index in range(8) if bytes((0xFF, 0xD0 + index)) in scan]
    return found


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (1080, 1920), (333, 77)])
def test_the_joined_halves_decode_to_the_pixels_of_a_single_encode(size):
    image = picture(size)
    joined = encode_jpeg(image, QUALITY)
    assert pixels(joined) == pixels(single_encode(image))
    with Image.open(io.BytesIO(joined)) as opened:
        assert opened.size == size


def test_the_joined_file_is_one_baseline_jpeg_with_one_restart_between_the_halves():
    image = picture((1920, 1080))
    joined = encode_jpeg(image, QUALITY)
    found = dict(markers(joined))
    frame = found[0xC0]  # baseline, not progressive
    assert struct.unpack_from(">HH", frame, 1) == (1080, 1920)
    # 1080 rows are 135 rows of 8x8 blocks: the top half holds 68 of them, 240 blocks each.
    assert struct.unpack(">H", found[0xDD]) == (68 * 240,)
    assert [marker for marker, _ in markers(joined) if 0xD0 <= marker <= 0xD7] == [0xD0]
    # Six bytes of restart segment and marker, give or take the bits of the bottom's first
    # differences and the top's last byte.
    assert abs(len(joined) - len(single_encode(image))) < 64


def test_rows_read_in_place_give_the_same_file_as_the_picture_they_hold():
    image = picture((1280, 720))
    rgbx = image.convert("RGBX")
    rows = RgbxRows(memoryview(rgbx.tobytes()), *image.size)
    assert encode_jpeg(rows, QUALITY) == encode_jpeg(image, QUALITY)


def test_a_picture_under_two_block_rows_is_encoded_whole():
    image = picture((640, 8))
    encoded = encode_jpeg(image, QUALITY)
    assert 0xDD not in dict(markers(encoded))
    assert pixels(encoded) == pixels(single_encode(image))


def test_halves_the_join_does_not_expect_are_refused_and_the_picture_is_encoded_whole(monkeypatch):
    image = picture((640, 480))
    top, bottom = image.crop((0, 0, 640, 240)), image.crop((0, 240, 640, 480))
    progressive = io.BytesIO()
    top.save(progressive, format="JPEG", quality=QUALITY, subsampling=0, progressive=True)
    with_restarts = io.BytesIO()
    top.save(with_restarts, format="JPEG", quality=QUALITY, subsampling=0, restart_marker_rows=1)
    plain_bottom = single_encode(bottom)
    blocks = 80 * 30
    assert join_halves(progressive.getvalue(), plain_bottom, 480, blocks) is None
    assert join_halves(with_restarts.getvalue(), plain_bottom, 480, blocks) is None
    assert join_halves(single_encode(top)[:-2], plain_bottom, 480, blocks) is None  # no end marker
    assert join_halves(single_encode(top), plain_bottom, 480, blocks) is not None

    monkeypatch.setattr(jpeg_encoding, "join_halves", lambda *_: None)
    assert pixels(encode_jpeg(image, QUALITY)) == pixels(single_encode(image))


def test_two_keyframes_encoded_at_once_each_come_out_whole():
    first, last = picture((1280, 720), seed=1), picture((1280, 720), seed=30)
    results: dict[str, bytes] = {}

    def encode(name: str, image: Image.Image) -> None:
        results[name] = encode_jpeg(image, QUALITY)

    threads = [threading.Thread(target=encode, args=item) for item in (("first", first), ("last", last))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pixels(results["first"]) == pixels(single_encode(first))
    assert pixels(results["last"]) == pixels(single_encode(last))


def test_without_in_memory_files_the_halves_go_through_temporary_files(monkeypatch):
    def forbidden(*_args: object) -> int:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(jpeg_encoding.os, "memfd_create", forbidden, raising=False)
    image = picture((640, 360))
    assert pixels(encode_jpeg(image, QUALITY)) == pixels(single_encode(image))
