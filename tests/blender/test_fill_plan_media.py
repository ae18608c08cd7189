"""Fill All Gaps checks each gap's keyframe media in its plan, before it says what the fill costs.

A neighbour whose file is missing (an image, an offline movie) or whose picture is muted would
be refused at capture; the plan lists such a gap as skipped, naming the strip and the file or
the mute, and the cost line counts only the gaps that will really be sent.
"""

from __future__ import annotations

import re
from pathlib import Path

import bpy
import pytest

from tests.blender.test_headless_script import inspect_blend, run_script, save_edit
from tests.blender.test_jobs_blender import movie_strips
from tests.blender.vse_helpers import BLUE, GREEN, RED, YELLOW, TimelineBuilder, set_frame_rate, solid
from veo_addon.blender import gaps, presubmit
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.preferences import service_settings


def image_file(strip: bpy.types.Strip) -> Path:
    return Path(bpy.path.abspath(strip.directory)) / strip.elements[0].filename


def five_shots_two_offline(timeline: TimelineBuilder) -> tuple[Path, Path]:
    """25 fps; 'a' 1-20, 'b' 41-60 (its image deleted), 'c' 81-100, 'd' 121-140, 'e' 161-180
    (a movie whose file is gone): four 20-frame gaps, of which only c-d can be filled.
    Returns the two missing files."""
    set_frame_rate(timeline.scene, "25")
    timeline.image("a", 1, 1, 20, RED)
    b = timeline.image("b", 1, 41, 20, GREEN)
    timeline.image("c", 1, 81, 20, BLUE)
    timeline.image("d", 1, 121, 20, YELLOW)
    movie = timeline.clip("e_source", solid(RED), solid(BLUE), seconds=1.0)
    timeline.movie("e", 1, 161, movie, length=20)
    missing_image = image_file(b)
    missing_image.unlink()
    movie.unlink()
    return missing_image, movie


def test_all_gaps_headless_lists_gaps_with_missing_media_as_skipped_before_the_cost_of_the_rest(  # type: ignore[no-untyped-def]
    scene, timeline: TimelineBuilder, highway, tmp_path: Path
) -> None:
    missing_image, missing_movie = five_shots_two_offline(timeline)
    blend = save_edit(tmp_path / "offline.blend")

    result = run_script(
        blend, highway.base_url, tmp_path / "user", "--prompt", "p", "--all-gaps", "--duration", "6", "--save"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    said = [line for line in result.stdout.splitlines() if line.startswith("[veo] ")]
    skips = [index for index, line in enumerate(said) if line.startswith("[veo] Skipping the gap")]
    [cost] = [index for index, line in enumerate(said) if line.startswith("[veo] Filling")]
    assert skips and max(skips) < cost, "\n".join(said)
    # Only c-d is sent: 6 s × 1 sample × USD 0.20/s, not four gaps' USD 4.80.
    assert re.fullmatch(
        r"\[veo\] Filling 1 of 4 gaps: about USD 1\.20 in all \(estimate at list price: \(6 s\) × 1 sample × "
        r"USD 0\.20/s\)",
        said[cost],
    ), said[cost]
    skipped = {re.search(r"between ('\w' and '\w')", said[index]).group(1): said[index] for index in skips}  # type: ignore[union-attr]
    assert sorted(skipped) == ["'a' and 'b'", "'b' and 'c'", "'d' and 'e'"], "\n".join(said)
    for pair in ("'a' and 'b'", "'b' and 'c'"):
        assert f"strip 'b' shows missing media: file '{missing_image}' does not exist" in skipped[pair]
    assert f"strip 'e' shows missing media: file '{missing_movie}' does not exist" in skipped["'d' and 'e'"]
    assert highway.submit_count == 1
    assert result.stdout.count("[veo] INSERTED job") == 1
    movies = [(s["start"], s["end"]) for s in inspect_blend(blend)["strips"] if s["type"] == "MOVIE"]
    assert sorted(movies) == [(101, 121), (161, 181)]  # the new clip, and 'e' as it was


def test_fill_all_gaps_skips_a_gap_beside_a_muted_picture_and_counts_only_the_others(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """The panel's Fill All Gaps confirms `plan_fill`'s total: the muted neighbour's gap is out of it."""
    set_frame_rate(timeline.scene, "25")
    timeline.color("a", 1, 1, 20, RED)
    timeline.color("b", 1, 41, 20, GREEN).mute = True
    timeline.color("c", 1, 81, 20, BLUE)
    timeline.color("d", 1, 121, 20, YELLOW)
    scene = timeline.scene
    options = GenerationOptions(prompt="p", duration="4")

    plan = presubmit.plan_fill(scene, gaps.find_all_transitions(scene), options, service_settings())

    assert [(t.left_name, t.right_name) for t, _ in plan.to_fill] == [("c", "d")]
    assert [s.line() for s in plan.skipped] == [
        "Skipping the gap at frames 21–40 (20 frames, 0.80 s) between 'a' and 'b': "
        "Last keyframe: strip 'b' is muted, so the render of frame 41 is black",
        "Skipping the gap at frames 61–80 (20 frames, 0.80 s) between 'b' and 'c': "
        "First keyframe: strip 'b' is muted, so the render of frame 60 is black",
    ]
    assert plan.total_cost == 0.80  # one 4 s clip at USD 0.20/s

    assert bpy.ops.veo.fill_gaps(prompt="p", duration="4") == {"FINISHED"}

    said = capsys.readouterr().out
    assert said.index("Skipping the gap at frames 61–80") < said.index("Filling 1 of 3 gaps"), said
    assert veo.submit_count == 1
    assert [(strip.frame_final_start, strip.frame_final_end) for strip in movie_strips(scene)] == [(101, 121)]
