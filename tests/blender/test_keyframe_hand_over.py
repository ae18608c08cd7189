"""Each keyframe is handed to the background preparation as soon as it can be: the first just as
Blender starts rendering the last (rendering lets go of Python's lock, so its encoding runs beside
the render), the last once captured. What the request then sends is still the first keyframe as
the first image and the last as the last."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import bpy
import pytest
from PIL import Image

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, assert_colour
from veo_addon.blender import capture
from veo_addon.blender.capture import KeyframeSource, SourceKind
from veo_addon.blender.gaps import choose_transition, find_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.preferences import service_settings
from veo_addon.core import alpha_reading, keyframe_preparation


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The renders Blender starts and the hand-overs, in the order they happen."""
    happened: list[str] = []
    real_render = capture._render_still

    def noting(scene: bpy.types.Scene) -> None:
        happened.append(f"render {scene.frame_current}")
        real_render(scene)

    monkeypatch.setattr(capture, "_render_still", noting)
    return happened


def shots(timeline: TimelineBuilder) -> object:
    left = timeline.color("Left", 1, 1, 50, RED)
    right = timeline.color("Right", 1, 71, 30, BLUE)
    return find_transition(timeline.scene, left, right)


RENDERED = KeyframeSource()


def capture_noting(timeline: TimelineBuilder, events: list[str], last: KeyframeSource = RENDERED):  # type: ignore[no-untyped-def]
    return capture.capture_transition_keyframes(
        timeline.scene,
        shots(timeline),
        last=last,
        hand_over=lambda side, keyframe: events.append(f"{side} handed over ({keyframe.description})"),
    )


def test_the_first_keyframe_is_handed_over_as_the_last_starts_rendering(timeline, events):
    capture_noting(timeline, events)
    assert events == [
        "render 50",
        "First handed over (render of frame 50)",
        "render 71",
        "Last handed over (render of frame 71)",
    ]


def test_with_no_render_for_the_last_both_are_handed_over_once_captured(timeline, events, tmp_path: Path):
    picture = tmp_path / "last.png"
    Image.new("RGB", (64, 36), BLUE).save(picture)
    capture_noting(timeline, events, last=KeyframeSource(SourceKind.FILE, path=str(picture)))
    assert events == [
        "render 50",
        "First handed over (render of frame 50)",
        f"Last handed over (file '{picture}')",
    ]


def test_a_see_through_last_frame_rendered_twice_hands_the_first_over_once(timeline, events):
    timeline.scene.render.resolution_x, timeline.scene.render.resolution_y = 320, 180
    right = timeline.color("Right", 1, 71, 30, BLUE)
    left = timeline.color("Left", 1, 1, 50, RED)
    right.transform.scale_x = 0.5  # leaves the sides of frame 71 see-through
    capture.capture_transition_keyframes(
        timeline.scene,
        find_transition(timeline.scene, left, right),
        hand_over=lambda side, keyframe: events.append(f"{side} handed over"),
    )
    assert events == ["render 50", "First handed over", "render 71", "render 71", "Last handed over"]


def test_the_plan_sends_the_keyframes_prepared_during_the_capture(veo, timeline, events, monkeypatch):
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    started: list[str] = []
    real_start = keyframe_preparation.KeyframePreparation.start

    def noting(self, side, data, description, opaque_pixels=None):  # type: ignore[no-untyped-def]
        started.append(side)
        real_start(self, side, data, description, opaque_pixels)

    monkeypatch.setattr(keyframe_preparation.KeyframePreparation, "start", noting)
    options = GenerationOptions(prompt="red to blue", duration="4", seed=3)
    plan = plan_generation(
        timeline.scene, choose_transition(timeline.scene, "Left", "Right"), options, service_settings()
    )
    assert started == ["First", "Last"]  # both begun before the job even exists
    request = plan.request()
    assert_colour(Image.open(io.BytesIO(request.image.data)), RED)
    assert_colour(Image.open(io.BytesIO(request.last_image.data)), BLUE)


def test_the_first_frame_s_alpha_is_read_beside_the_last_render_not_between_renders(
    timeline, events, monkeypatch
):
    readers: list[str] = []
    real_read = alpha_reading.opaque_rgba_pixels
    real_start = alpha_reading.AlphaReading.start

    def reading(data):  # type: ignore[no-untyped-def]
        readers.append(threading.current_thread().name)
        return real_read(data)

    def starting(self):  # type: ignore[no-untyped-def]
        events.append("first's alpha read from now")
        real_start(self)

    monkeypatch.setattr(alpha_reading, "opaque_rgba_pixels", reading)
    monkeypatch.setattr(alpha_reading.AlphaReading, "start", starting)
    first, _ = capture_noting(timeline, events)
    assert events == [
        "render 50",
        "first's alpha read from now",
        "First handed over (render of frame 50)",
        "render 71",
        "Last handed over (render of frame 71)",
    ]
    assert len(readers) == 1 and readers[0] != threading.main_thread().name
    assert first.opaque_pixels is not None  # read once: the preparation need not read it again


def test_a_see_through_first_frame_is_rendered_again_flattened_after_the_last(timeline, events):
    timeline.scene.render.resolution_x, timeline.scene.render.resolution_y = 320, 180
    left = timeline.color("Left", 1, 1, 50, RED)
    right = timeline.color("Right", 1, 71, 30, BLUE)
    left.transform.scale_x = 0.5  # leaves the sides of frame 50 see-through
    handed: dict[str, list[capture.CapturedKeyframe]] = {"First": [], "Last": []}

    def hand_over(side: str, keyframe: capture.CapturedKeyframe) -> None:
        events.append(f"{side} handed over")
        handed[side].append(keyframe)

    first, _ = capture.capture_transition_keyframes(
        timeline.scene, find_transition(timeline.scene, left, right), hand_over=hand_over
    )
    assert events == [
        "render 50",
        "First handed over",
        "render 71",
        "Last handed over",
        "render 50",
        "First handed over",
    ]
    assert handed["First"][-1] is first and first.opaque_pixels is None
    flattened = Image.open(io.BytesIO(first.data))
    assert flattened.mode == "RGB"  # Blender flattened it: nothing see-through is sent
    assert_colour(flattened.crop((140, 80, 180, 100)), RED)
    assert_colour(flattened.crop((0, 0, 40, 180)), (0, 0, 0))
