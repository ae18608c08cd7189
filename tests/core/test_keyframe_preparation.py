"""Keyframes handed over during the capture are prepared in a background thread; the job's
worker gets the same keyframe it would have prepared itself, and the same failure."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from veo_addon.core import keyframe_preparation
from veo_addon.core.images import ImageError, prepare_keyframe
from veo_addon.core.keyframe_preparation import KeyframePreparation


def png(colour: tuple[int, int, int], size: tuple[int, int] = (640, 360)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_started_keyframe_is_prepared_off_the_calling_thread(monkeypatch):
    threads: list[str] = []
    real = keyframe_preparation.prepare_keyframe

    def noting(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(keyframe_preparation, "prepare_keyframe", noting)
    preparation = KeyframePreparation("16:9", "720p", "crop")
    data = png((200, 10, 10))
    preparation.start("First", data, "render of frame 50")
    prepared = preparation.result("First", data, "render of frame 50")
    assert threads and threads[0] != threading.current_thread().name
    assert prepared.data == prepare_keyframe(data, "16:9", "720p").data


def test_a_keyframe_never_started_is_prepared_when_asked():
    preparation = KeyframePreparation("9:16", "720p", "letterbox")
    data = png((10, 10, 200))
    prepared = preparation.result("Last", data, "file 'b.png'")
    assert (prepared.width, prepared.height) == (720, 1280)
    assert prepared.data == prepare_keyframe(data, "9:16", "720p", "letterbox").data


def test_each_side_keeps_its_own_keyframe():
    preparation = KeyframePreparation("16:9", "720p", "crop")
    first, last = png((250, 0, 0)), png((0, 0, 250))
    preparation.start("First", first, "a")
    preparation.start("Last", last, "b")
    colours = [
        Image.open(io.BytesIO(preparation.result(side, data, "x").data)).convert("RGB").getpixel((5, 5))
        for side, data in (("First", first), ("Last", last))
    ]
    assert colours[0][0] > 200 and colours[1][2] > 200


def test_a_truncated_keyframe_fails_when_the_worker_asks_for_it_naming_the_side():
    preparation = KeyframePreparation("16:9", "720p", "crop")
    cut = png((1, 2, 3))[:-40]
    preparation.start("Last", cut, "file 'cut.png'")  # no error here: the capture goes on
    with pytest.raises(ImageError, match=r"^Last keyframe \(file 'cut\.png'\) cannot be decoded"):
        preparation.result("Last", cut, "file 'cut.png'")


def test_pillow_is_imported_on_the_capturing_thread_before_any_keyframe_is_started(monkeypatch):
    """A thread importing while Blender renders can crash Blender: the background preparation
    must find everything imported already."""
    calls: list[str] = []
    monkeypatch.setattr(
        keyframe_preparation, "import_worker_modules", lambda: calls.append(threading.current_thread().name)
    )
    preparation = KeyframePreparation("16:9", "720p", "crop")
    assert calls == [threading.current_thread().name]
    preparation.start("First", png((9, 9, 9)), "x")
    preparation.result("First", b"", "x")
    assert len(calls) == 1
