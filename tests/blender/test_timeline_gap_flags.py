"""scripts/veo_generate.py --all-gaps with the gap limits: the skipped gaps and the cost are printed
before anything is sent; --min-gap / --max-stretch change the limits; all skipped pays nothing."""

from __future__ import annotations

import pytest

from tests.blender.test_headless_script import movie_strips, run_script, save_edit
from tests.blender.vse_helpers import BLUE, GREEN, RED, set_frame_rate


@pytest.fixture
def three_gaps(scene, timeline, tmp_path):
    """At 25 fps: a 1-frame gap (21), a 19-frame gap (42-60), a 419-frame gap (81-499)."""
    set_frame_rate(scene, "25")
    timeline.image("a", 1, 1, 20, RED)
    timeline.image("b", 1, 22, 20, GREEN)
    timeline.image("c", 1, 61, 20, BLUE)
    timeline.image("d", 1, 500, 20, RED)
    return save_edit(tmp_path / "gaps.blend")


def test_all_gaps_lists_the_skipped_gaps_and_the_cost_first(three_gaps, highway, tmp_path):
    result = run_script(
        three_gaps, highway.base_url, tmp_path / "user", "--prompt", "p", "--all-gaps", "--save"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    short = lines.index(
        "[veo] Skipping the gap at frames 21–21 (1 frame, 0.04 s) between 'a' and 'b': it is shorter than "
        'the minimum of 0.5 s: the 4 s clip would be squeezed 100x (the "Minimum Gap" preference or '
        "--min-gap changes the minimum)"
    )
    long = next(
        index
        for index, line in enumerate(lines)
        if line.startswith("[veo] Skipping the gap at frames 81–499")
    )
    assert "would slow the 8 s clip down 2.10x, more than the maximum stretch of 2x" in lines[long]
    cost = lines.index(
        "[veo] Filling 1 of 3 gaps: about USD 0.80 in all "
        "(estimate at list price: (4 s) × 1 sample × USD 0.20/s)"
    )
    first_job_line = next(index for index, line in enumerate(lines) if line.startswith("[veo] job "))
    assert max(short, long, cost) < first_job_line
    assert highway.submit_count == 1
    assert [(strip["start"], strip["end"]) for strip in movie_strips(three_gaps)] == [(42, 61)]


def test_flags_change_the_limits_and_all_skipped_pays_nothing(three_gaps, highway, tmp_path):
    before = three_gaps.read_bytes()
    result = run_script(
        three_gaps,
        highway.base_url,
        tmp_path / "user",
        "--prompt",
        "p",
        "--all-gaps",
        "--min-gap",
        "1",
        "--save",
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "it is shorter than the minimum of 1 s" in result.stdout  # the 19-frame gap too, now
    assert "Every one of the 3 gaps was skipped; nothing was sent and nothing is paid for" in result.stderr
    assert highway.submit_count == 0
    assert three_gaps.read_bytes() == before

    refused = run_script(
        three_gaps,
        highway.base_url,
        tmp_path / "user",
        *("--prompt", "p", "--left", "c", "--right", "d", "--max-stretch", "2.05"),
    )
    assert refused.returncode == 1
    assert "would slow the 8 s clip down 2.10x, more than the maximum stretch of 2.05x" in refused.stderr
    assert highway.submit_count == 0


@pytest.mark.parametrize(
    ("flag", "value"), [("--min-gap", "-1"), ("--max-stretch", "0.5"), ("--max-stretch", "x")]
)
def test_nonsense_limits_are_command_line_mistakes(three_gaps, highway, tmp_path, flag, value):
    result = run_script(three_gaps, highway.base_url, tmp_path / "user", "--prompt", "p", flag, value)
    assert result.returncode == 2
    assert flag in result.stderr
    assert highway.submit_count == 0
