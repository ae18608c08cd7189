"""The seam check: after the clip is inserted, each cut is measured as it plays, stored on the
strip and in the job, and a clip that misses its keyframes is warned about."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest
from PIL import Image

from tests.blender.vse_helpers import BLUE, GREEN, RED, YELLOW, TimelineBuilder, set_frame_rate
from veo_addon.blender import compat, jobstore
from veo_addon.blender.provenance import PROP_SEAM_IN, PROP_SEAM_OUT
from veo_addon.core.job import JobState
from veo_addon.core.seams import DEFAULT_WARNING_DIFFERENCE

GENERATE = {"prompt": "the red room dissolves into the blue room", "duration": "4", "seed": 42}


def framed(outer: tuple[int, int, int], inner: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (320, 180), outer)
    image.paste(Image.new("RGB", (160, 90), inner), (80, 45))
    return image


def two_shots(timeline: TimelineBuilder) -> None:
    """Left frames 1-50, a gap 51-100 (2 s at 25 fps), right from 101."""
    set_frame_rate(timeline.scene, "25")
    timeline.image("Left", 1, 1, 50, framed(RED, YELLOW))
    timeline.image("Right", 1, 101, 50, framed(BLUE, GREEN))


def generate(tmp_path: Path, **overrides: object) -> None:
    """The blocking background path: its progress and summary lines go to stdout."""
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    result = bpy.ops.veo.generate_transition(
        left_strip="Left", right_strip="Right", **{**GENERATE, **overrides}
    )
    assert result == {"FINISHED"}


def printed(capsys: pytest.CaptureFixture[str], marker: str) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if marker in line]


def clips(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    return sorted((s for s in compat.strips_all(scene) if s.type == "MOVIE"), key=lambda s: s.channel)


@pytest.mark.parametrize("view", ["Standard", "AgX"])
def test_a_clip_that_starts_and_ends_on_its_keyframes_scores_low(veo, timeline, tmp_path, capsys, view):
    """With AgX (the General template's default) too: the clip gets the view transform once when
    it plays, like its neighbours, because its keyframes were taken without it."""
    timeline.scene.view_settings.view_transform = view
    two_shots(timeline)
    generate(tmp_path)
    [clip] = clips(timeline.scene)
    assert clip[PROP_SEAM_IN] < DEFAULT_WARNING_DIFFERENCE / 2
    assert clip[PROP_SEAM_OUT] < DEFAULT_WARNING_DIFFERENCE / 2
    [job] = jobstore.scene_jobs(timeline.scene)
    assert job.state is JobState.INSERTED
    assert job.seams == [{"take": 1, "in": clip[PROP_SEAM_IN], "out": clip[PROP_SEAM_OUT]}]
    assert "Seams in " in job.message and "SEAM WARNING" not in job.message
    assert printed(capsys, "SEAM WARNING") == []


def test_a_clip_that_drifts_scores_high_and_is_warned_about(veo, timeline, tmp_path, capsys):
    two_shots(timeline)
    veo.faults.add("submit", kind="drift", amount=1.0)
    generate(tmp_path)
    [clip] = clips(timeline.scene)
    assert clip[PROP_SEAM_IN] > 4 * DEFAULT_WARNING_DIFFERENCE
    assert clip[PROP_SEAM_OUT] > 4 * DEFAULT_WARNING_DIFFERENCE
    [job] = jobstore.scene_jobs(timeline.scene)
    assert "SEAM WARNING: The clip does not meet its keyframes at the cut in" in job.message
    lines = printed(capsys, "SEAM WARNING")
    assert any(f"job {job.job_id[:8]} SEAM WARNING" in line for line in lines)
    # The headless summary line carries it too.
    assert any(line.startswith("[veo] INSERTED job") for line in lines)


def test_a_slight_drift_is_above_the_default_warning_level(veo, timeline, tmp_path):
    two_shots(timeline)
    veo.faults.add("submit", kind="drift", amount=0.15)
    generate(tmp_path)
    [clip] = clips(timeline.scene)
    assert DEFAULT_WARNING_DIFFERENCE < clip[PROP_SEAM_IN] < 4 * DEFAULT_WARNING_DIFFERENCE
    [job] = jobstore.scene_jobs(timeline.scene)
    assert "SEAM WARNING" in job.message


def test_the_check_leaves_the_scene_as_it_was(veo, timeline, tmp_path):
    two_shots(timeline)
    scene = timeline.scene
    scene.frame_current = 77
    scene.render.resolution_percentage = 50
    scene.render.filepath = "//renders/shot_"
    generate(tmp_path, sample_count=2)
    assert scene.frame_current == 77
    assert scene.render.resolution_percentage == 50
    assert scene.render.filepath == "//renders/shot_"
    first, second = clips(scene)
    assert [first.mute, second.mute].count(False) == 1


# -- the headless script's --max-seam-difference -------------------------------------------------


@pytest.mark.parametrize(
    ("drifting_sample", "expected_status"),
    [(None, 3), (0, 0)],
    ids=["every-take-drifts", "one-take-meets-it"],
)
def test_max_seam_difference_exits_3_only_when_no_take_meets_it(
    edit, highway, tmp_path, drifting_sample, expected_status
):
    from tests.blender.test_headless_script import run_script

    highway.faults.add("submit", kind="drift", sample=drifting_sample, amount=1.0)
    finished = run_script(
        edit,
        highway.base_url,
        tmp_path / "user",
        "--prompt",
        "a dissolve",
        "--samples",
        "2",
        "--max-seam-difference",
        "8",
        "--save",
    )
    assert finished.returncode == expected_status, finished.stderr
    shortfalls = [line for line in finished.stdout.splitlines() if line.startswith("[veo] SEAMS")]
    if expected_status == 3:
        [line] = shortfalls
        assert "no take within --max-seam-difference 8; the best, take " in line
        assert "no take within --max-seam-difference 8" in finished.stderr
        assert "[veo] saved" in finished.stdout  # the paid clips are kept all the same
    else:
        assert shortfalls == []


def test_without_the_flag_a_drifting_clip_still_exits_0_with_a_warning(edit, highway, tmp_path):
    from tests.blender.test_headless_script import run_script

    highway.faults.add("submit", kind="drift", amount=1.0)
    finished = run_script(edit, highway.base_url, tmp_path / "user", "--prompt", "a dissolve")
    assert finished.returncode == 0, finished.stderr
    [summary] = [line for line in finished.stdout.splitlines() if line.startswith("[veo] INSERTED job")]
    assert "SEAM WARNING" in summary


def test_a_seam_limit_outside_0_to_255_is_a_command_line_mistake(edit, highway, tmp_path):
    from tests.blender.test_headless_script import run_script

    finished = run_script(
        edit, highway.base_url, tmp_path / "user", "--prompt", "a dissolve", "--max-seam-difference", "-1"
    )
    assert finished.returncode == 2
    assert "--max-seam-difference must be 0 to 255, got -1" in finished.stderr
    assert highway.submit_count == 0


@pytest.mark.parametrize("failing", ["seams.render_thumbnail", "finishing._record_cost"])
def test_a_check_that_cannot_run_leaves_the_clip_in_and_says_why(
    veo, timeline, tmp_path, monkeypatch, failing
):
    """The clip is in either way: a job left `downloaded` would put it in a second time."""

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Render error (stand-in)")

    monkeypatch.setattr(f"veo_addon.blender.{failing}", fail)
    two_shots(timeline)
    generate(tmp_path)
    [clip] = clips(timeline.scene)
    assert PROP_SEAM_IN not in clip
    [job] = jobstore.scene_jobs(timeline.scene)
    assert job.state is JobState.INSERTED
    assert "could not" in job.message and "Render error (stand-in)" in job.message
