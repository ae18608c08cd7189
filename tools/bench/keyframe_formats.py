"""Figure #6's preparation, step by step (decode the render, fit, encode) for each way a keyframe
could be sent, in one run: PNG at level 6 (the former default), PNG at level 1, JPEG quality 95
without chroma subsampling (the default now), and JPEG 92 and JPEG 95 with half-resolution
colour (4:2:0) for comparison. The service takes PNG
or JPEG only (docs/protocol.md), so WebP is left out. Faithfulness: the mean absolute difference
from the lossless keyframe (0-255 scale) and the seam check's own measure of it
(`core.seams.picture_difference`, on thumbnails; the warning starts at 8). Last, what a second
core adds to encoding a keyframe on this machine.

    .venv/blender50/bin/python tools/bench/keyframe_formats.py [--runs 7] [--json]
"""

from __future__ import annotations

# ruff: noqa: B023 -- each loop's closures are timed within that loop only
import argparse
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from common import ROOT, emit, figure, median
from PIL import Image, ImageChops, ImageDraw, ImageStat

sys.path.insert(0, str(ROOT / "tools"))
from bench_capture import photo_like

from veo_addon.core import jpeg_encoding
from veo_addon.core.imagebytes import decode_image
from veo_addon.core.images import fit_image
from veo_addon.core.seams import picture_difference

COMMAND = "make bench (.venv/blender50/bin/python tools/bench/keyframe_formats.py --json)"
ENCODINGS: dict[str, dict[str, Any]] = {
    "PNG level 6 (former default)": {"format": "PNG", "compress_level": 6},
    "PNG level 1": {"format": "PNG", "compress_level": 1},
    "JPEG 95 4:4:4 (default)": {"format": "JPEG", "quality": 95, "subsampling": 0},
    "JPEG 92 4:4:4": {"format": "JPEG", "quality": 92, "subsampling": 0},
    # Half-resolution colour: quicker to encode, and what #6's target would need (docs/performance.md).
    "JPEG 95 4:2:0": {"format": "JPEG", "quality": 95, "subsampling": 2},
}


def sharp_picture(size: tuple[int, int]) -> Image.Image:
    """Thin coloured lines and small text over the photo-like picture: JPEG's hardest case here."""
    image = photo_like(size, 3)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 40):
        draw.line([(x, 0), (x, size[1])], fill=(255, 0, 0), width=1)
    for y in range(0, size[1], 30):
        draw.text((10, y), "Veo transitions 0123456789 ABCDEFGHIJ " * 3, fill=(0, 255, 255))
    return image


def timed(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = action()
        times.append(time.perf_counter() - started)
    return median(times) * 1000, value


def encoded(image: Image.Image, options: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def print_parallel_encoding(runs: int) -> None:
    """What a second core adds to JPEG encoding here: a 1080p keyframe's JPEG alone, two at once
    (each on its own thread, Python's lock let go), and the add-on's halves encoded at once."""
    picture = photo_like((1920, 1080), 0)
    picture.load()
    # `_encode` is what encode_jpeg runs for each half: into a real file, so the lock is let go.

    def at_once(count: int) -> None:
        threads = [threading.Thread(target=jpeg_encoding._encode, args=(picture, 95)) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    one_ms, _ = timed(lambda: at_once(1), runs * 3)
    two_ms, _ = timed(lambda: at_once(2), runs * 3)
    halves_ms, _ = timed(lambda: jpeg_encoding.encode_jpeg(picture, 95), runs * 3)
    print(
        f"photo-like 1080p JPEG 95 4:4:4: one {one_ms:.1f} ms, two at once {two_ms:.1f} ms "
        f"(two cores give {2 * one_ms / two_ms:.2f}x one), halves at once {halves_ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    for picture_name, picture in (
        ("photo-like", photo_like((1920, 1080), 0)),
        ("sharp", sharp_picture((1920, 1080))),
    ):
        # What the capture hands over: an uncompressed RGBA TIFF, as Blender writes it.
        render = encoded(picture.convert("RGBA"), {"format": "TIFF"})
        decode_ms, decoded = timed(lambda: decode_image(render), arguments.runs)
        for resolution, size in (("1080p", (1920, 1080)), ("720p", (1280, 720))):
            fit_ms, fitted = timed(lambda: fit_image(decoded, "16:9", "crop", size), arguments.runs)
            lossless = encoded(fitted, {"format": "PNG", "compress_level": 1})
            for label, options in ENCODINGS.items():
                encode_ms, data = timed(lambda: encoded(fitted, options), arguments.runs)
                back = Image.open(io.BytesIO(data)).convert("RGB")
                difference = sum(ImageStat.Stat(ImageChops.difference(back, fitted)).mean) / 3
                seam = picture_difference(lossless, data)
                rows[f"{picture_name} {resolution} {label}"] = {"encode": encode_ms, "bytes": len(data)}
                print(
                    f"{picture_name:10s} {resolution:5s} {label:28s} decode {decode_ms:5.1f} ms, "
                    f"fit {fit_ms:5.1f} ms, encode {encode_ms:6.1f} ms, {len(data) / 1024:6.0f} KiB, "
                    f"mean difference {difference:4.2f}, seam measure {seam:5.3f}"
                )
    print_parallel_encoding(arguments.runs)
    if arguments.json:
        before = rows["photo-like 1080p PNG level 6 (former default)"]
        after = rows["photo-like 1080p JPEG 95 4:4:4 (default)"]
        sharp_before = rows["sharp 1080p PNG level 6 (former default)"]
        sharp_after = rows["sharp 1080p JPEG 95 4:4:4 (default)"]
        emit(
            [
                figure(
                    "#6 keyframe encoding, JPEG 95 (default) vs PNG level 6 (former)",
                    after["encode"] / before["encode"],
                    "ratio",
                    "(read it)",
                    (
                        f"PNG level 6 on the same 1080p keyframe, same run: {after['encode']:.1f} ms "
                        f"vs {before['encode']:.0f} ms; {after['bytes'] / 1024:.0f} KiB vs "
                        f"{before['bytes'] / 1024:.0f} KiB "
                        f"(sharp lines and text: {sharp_after['bytes'] / 1024:.0f} KiB vs "
                        f"{sharp_before['bytes'] / 1024:.0f} KiB)"
                    ),
                    COMMAND,
                    note=f"one photo-like 1920x1080 keyframe; median of {arguments.runs} runs; the per-step "
                    "table and the faithfulness figures are printed by the script",
                )
            ]
        )


if __name__ == "__main__":
    main()
