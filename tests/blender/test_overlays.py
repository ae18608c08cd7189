"""Titles, logos and grades stacked over a gap play over the clip too, so Render keyframes leave them out.

Were they in the keyframes as well, Veo would paint them into the clip, under the real ones: a
doubled title, a grade applied twice. What ends at the cut, or sits below the clip's channel,
stays in: it will not play over the clip.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import bpy
from PIL import Image

from tests.blender.test_headless_script import run_script
from tests.blender.vse_helpers import (
    BLUE,
    GREEN,
    RED,
    TimelineBuilder,
    assert_colour,
    load_png,
    timeline_snapshot,
)
from veo_addon.blender import capture
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.preferences import service_settings

GENERATE = {"prompt": "the red room dissolves into the blue room", "duration": "4", "seed": 42}


def shots_with_a_gap(timeline: TimelineBuilder) -> None:
    """Red 1-50 and blue 71-100 on channel 1: the gap is frames 51-70."""
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 71, 30, BLUE)


def captured_pair(timeline: TimelineBuilder) -> tuple[capture.CapturedKeyframe, capture.CapturedKeyframe]:
    return capture.capture_transition_keyframes(
        timeline.scene, choose_transition(timeline.scene, "Left", "Right")
    )


def sent_picture(body: dict, field: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(body[field].split(",", 1)[-1]))).convert("RGB")


def test_a_title_over_the_gap_is_left_out_of_both_keyframes(timeline: TimelineBuilder) -> None:
    shots_with_a_gap(timeline)
    timeline.color("Title", 3, 41, 50, GREEN)  # frames 41-90: over both cuts and the gap
    before = timeline_snapshot(timeline.scene)

    first, last = captured_pair(timeline)

    # The preview shows the title on top; the keyframes show the shots under it.
    assert_colour(load_png(capture.render_frame(timeline.scene, 50)), GREEN)
    assert_colour(load_png(first.data), RED)
    assert_colour(load_png(last.data), BLUE)
    assert first.left_out == last.left_out == ("Title",)
    assert first.description == "render of frame 50 without Title"
    assert timeline_snapshot(timeline.scene) == before  # the title is not left muted


def test_what_ends_at_a_cut_stays_in_its_keyframe(timeline: TimelineBuilder) -> None:
    shots_with_a_gap(timeline)
    timeline.color("Lower third", 3, 41, 10, GREEN)  # frames 41-50: gone before the gap
    timeline.color("Logo", 4, 71, 20, GREEN)  # frames 71-90: starts after the gap

    first, last = captured_pair(timeline)

    assert_colour(load_png(first.data), GREEN)
    assert_colour(load_png(last.data), GREEN)
    assert first.left_out == last.left_out == ()


def test_an_overlay_below_the_clip_channel_stays_in(timeline: TimelineBuilder) -> None:
    shots_with_a_gap(timeline)
    timeline.color("Grade", 2, 41, 50, GREEN)  # over the gap, on channel 2
    timeline.lock_channel(1)  # the clip cannot go on channel 1, nor on 2: it goes on 3, over the grade

    first, last = captured_pair(timeline)

    assert_colour(load_png(first.data), GREEN)
    assert first.left_out == last.left_out == ()


def test_an_overlay_with_missing_media_over_the_gap_refuses_nothing(
    timeline: TimelineBuilder, tmp_path: Path
) -> None:
    shots_with_a_gap(timeline)
    timeline.image("Logo", 3, 41, 50, GREEN)
    (tmp_path / "Logo.png").unlink()  # it would render as magenta "missing media", but it is left out

    first, last = captured_pair(timeline)

    assert_colour(load_png(first.data), RED)
    assert_colour(load_png(last.data), BLUE)


def test_the_user_is_told_what_the_keyframes_left_out(veo, timeline: TimelineBuilder) -> None:  # type: ignore[no-untyped-def]
    shots_with_a_gap(timeline)
    timeline.color("Title", 3, 41, 50, GREEN)
    transition = choose_transition(timeline.scene, "Left", "Right")

    plan = plan_generation(timeline.scene, transition, GenerationOptions(**GENERATE), service_settings())

    assert "First keyframe rendered without 'Title': it plays over the clip as well" in plan.warnings
    assert "Last keyframe rendered without 'Title': it plays over the clip as well" in plan.warnings


def test_the_clip_goes_in_under_the_title_without_a_copy_of_it(veo, timeline: TimelineBuilder) -> None:  # type: ignore[no-untyped-def]
    shots_with_a_gap(timeline)
    timeline.color("Title", 3, 41, 50, GREEN)

    assert bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE) == {"FINISHED"}

    # What Veo was sent has no title in it; the title still plays over the clip.
    assert_colour(sent_picture(veo.last_submit_body, "image"), RED, tolerance=4)
    assert_colour(sent_picture(veo.last_submit_body, "last_image"), BLUE, tolerance=4)
    [clip] = [strip for strip in timeline.strips if strip.type == "MOVIE"]
    assert clip.channel == 1 and veo.submit_count == 1
    assert clip["veo_first_keyframe"] == "render of frame 50 without Title"
    assert_colour(load_png(capture.render_frame(timeline.scene, 60)), GREEN)


def test_a_headless_run_says_what_was_left_out_before_it_waits(
    highway, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    shots_with_a_gap(timeline)
    timeline.color("Title", 3, 41, 50, GREEN)
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)

    result = run_script(
        blend,
        highway.base_url,
        tmp_path / "user",
        "--prompt",
        "red to blue",
        "--left",
        "Left",
        "--right",
        "Right",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    told = lines.index("[veo] First keyframe rendered without 'Title': it plays over the clip as well")
    downloaded = next(index for index, line in enumerate(lines) if " downloaded: " in line)
    assert told < downloaded and highway.submit_count == 1
