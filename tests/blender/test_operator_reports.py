"""What the operators tell the user: the cost once a job's fate is known, the job operators'
refusal of an id nobody knows, and a UI report that points only at what exists."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import cost_report, jobstore, operators
from veo_addon.core.pricing import estimate_cost

GENERATE = {"left_strip": "Left", "right_strip": "Right", "prompt": "red to blue", "duration": "4", "seed": 5}


def two_shots(timeline: TimelineBuilder, tmp_path: Path) -> None:
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))


def info_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Info:")]


# -- cost ------------------------------------------------------------------------------------------


def test_a_reused_job_says_reused_no_charge_instead_of_a_price(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    two_shots(timeline, tmp_path)
    bpy.ops.veo.generate_transition(**GENERATE)
    paid = info_lines(capfd.readouterr().out)
    bpy.ops.veo.generate_transition(**GENERATE)
    reused = info_lines(capfd.readouterr().out)

    assert veo.submit_count == 1
    assert any("1 × 4 s at 720p, about USD 0.80" in line for line in paid), paid
    second = jobstore.scene_jobs(timeline.scene)[1]
    assert f"Info: job {second.job_id[:8]}: 1 × 4 s at 720p, reused, no charge" in reused
    assert not any("USD" in line or "Generating" in line for line in reused), reused


def test_several_jobs_show_their_total(veo, timeline: TimelineBuilder, tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline, tmp_path)
    timeline.color("Third", 2, 201, 25, RED)  # a second gap, 151-200
    bpy.ops.wm.save_mainfile()

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    lines = info_lines(capfd.readouterr().out)
    assert "Info: Total for 2 jobs: about USD 1.60 (estimate at list price)" in lines, lines


def test_before_the_fate_is_known_the_cost_is_an_upper_bound() -> None:
    estimates = [cost_report.Estimate("1 × 4 s at 720p", estimate_cost(4)) for _ in range(2)]

    lines = cost_report.started_lines(estimates)

    assert lines[0].startswith("Generating 1 × 4 s at 720p: up to about USD 0.80")
    assert "no charge if an identical earlier clip is reused" in lines[0]
    assert lines[-1] == "Up to about USD 1.60 (estimate at list price) in all for 2 jobs"


# -- job ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["stop_job", "forget_job", "adopt_job", "resume_jobs"])
@pytest.mark.parametrize(
    ("job_id", "words"),
    [("", "No job id given"), ("abc", "No job 'abc' in this file or the journal")],
)
def test_job_operators_refuse_an_empty_or_unknown_job_id(  # type: ignore[no-untyped-def]
    veo, tmp_path: Path, operator: str, job_id: str, words: str
) -> None:
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    if operator == "resume_jobs" and not job_id:
        assert bpy.ops.veo.resume_jobs(job_id=job_id) == {"FINISHED"}  # no id: every job of the file
        return
    with pytest.raises(RuntimeError, match=words):
        getattr(bpy.ops.veo, operator)(job_id=job_id)


def test_a_job_is_named_by_the_first_8_characters_the_messages_show(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    bpy.ops.veo.generate_transition(**GENERATE)
    [job] = jobstore.scene_jobs(timeline.scene)

    assert bpy.ops.veo.forget_job(job_id=job.job_id[:8]) == {"FINISHED"}
    assert jobstore.scene_jobs(timeline.scene) == []


# -- the UI's report -------------------------------------------------------------------------------


def test_the_ui_report_points_only_at_what_exists() -> None:
    line = operators.running_line(2)

    assert line.startswith("2 generation jobs started")
    if not any(name.startswith("VEO_PT") for name in dir(bpy.types)):
        assert "panel" not in line.lower()
