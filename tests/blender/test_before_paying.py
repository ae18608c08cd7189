"""What the interface decides before anything is captured or paid (before_paying.py), and what
a waiting operator reads and shows (the job manager's progress, the status-bar line).

The dialogs and the modal wait themselves need a window: tests/window/test_modal_generate.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import before_paying, jobstore, modal_wait, operators
from veo_addon.blender.generation_properties import REQUEST_PROPERTY_NAMES, scene_request
from veo_addon.blender.jobmanager import JobProgress, manager
from veo_addon.blender.preferences import DEFAULT_CONFIRM_ABOVE, service_settings
from veo_addon.core.errors import VeoError
from veo_addon.core.job import JobState


def two_shots(timeline: TimelineBuilder, tmp_path: Path, gap_start: int = 51) -> None:
    """Left 1-50, Right from `gap_start + 50` at 25 fps: a 50-frame (2 s) gap by default."""
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, gap_start + 50, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))


def asked(scene: bpy.types.Scene, **changes: Any) -> SimpleNamespace:
    """An operator's properties as invoke() sees them after taking the scene's request."""
    request = scene_request(scene)
    values = {name: getattr(request, name) for name in REQUEST_PROPERTY_NAMES}
    values |= {"left_strip": "Left", "right_strip": "Right", "new_generation": False}
    return SimpleNamespace(**(values | changes))


# -- the request: the caller's own values win, the rest comes from the scene -----------------------


def test_invoking_takes_the_scenes_request_except_what_the_caller_set(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    request = scene_request(timeline.scene)
    request.prompt, request.duration, request.seed = "from the sidebar", "4", 1234
    # invoke() needs a window (background mode executes directly): its first step, on the
    # properties Blender keeps for the operator, as a caller leaves them after setting `seed`.
    properties = bpy.context.window_manager.operator_properties_last("veo.generate_transition")
    for name in REQUEST_PROPERTY_NAMES:
        properties.property_unset(name)
    properties.seed = 7

    copied = before_paying.take_unset_from_scene(properties, request)

    assert "seed" not in copied and {"prompt", "duration", "negative_prompt"} <= set(copied)
    assert (properties.prompt, properties.duration, properties.seed) == ("from the sidebar", "4", 7)
    arguments = {name: getattr(properties, name) for name in REQUEST_PROPERTY_NAMES}
    for name in REQUEST_PROPERTY_NAMES:
        properties.property_unset(name)
    # And the job asks for exactly that.
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **arguments)
    [job] = jobstore.scene_jobs(timeline.scene)
    assert (job.parameters["prompt"], job.parameters["duration_seconds"]) == ("from the sidebar", 4)
    assert job.parameters["seed"] == 7


def test_executing_from_a_script_ignores_the_scenes_request(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    scene_request(timeline.scene).prompt = "from the sidebar"

    with pytest.raises(RuntimeError, match="prompt"):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right")
    assert veo.submit_count == 0


# -- refusals and the estimate, before the dialog -----------------------------------------------


def test_the_estimate_is_known_before_anything_is_captured(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    settings = service_settings()

    checked = before_paying.check_request(
        timeline.scene, asked(timeline.scene, prompt="a dissolve"), settings
    )

    assert checked.duration_seconds == 4  # auto: the shortest clip covering a 2 s gap
    assert checked.estimate.cost.amount == pytest.approx(0.80)
    assert "estimate" in before_paying.estimate_line(checked)
    assert jobstore.scene_jobs(timeline.scene) == [] and veo.submit_count == 0


def test_the_sidebar_gets_the_same_estimate_from_the_scenes_request(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    timeline.scene.frame_current = 70  # in the gap: nothing selected, so the playhead decides
    request = scene_request(timeline.scene)
    request.sample_count = 2

    checked = before_paying.check_request(timeline.scene, request, service_settings(), prompt_to_come=True)

    assert (checked.transition.left_name, checked.transition.right_name) == ("Left", "Right")
    assert checked.estimate.cost.amount == pytest.approx(1.60)


def test_an_empty_prompt_waits_for_the_dialog_but_every_other_mistake_is_refused_first(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    settings = service_settings()
    scene = timeline.scene

    before_paying.check_request(scene, asked(scene, prompt=""), settings, prompt_to_come=True)
    with pytest.raises(VeoError, match="prompt"):
        before_paying.check_request(scene, asked(scene, prompt=""), settings)
    with pytest.raises(VeoError, match="Nope"):
        before_paying.check_request(scene, asked(scene, left_strip="Nope"), settings, prompt_to_come=True)
    with pytest.raises(VeoError, match="seed"):
        before_paying.check_request(scene, asked(scene, prompt="", seed=-5), settings, prompt_to_come=True)
    with pytest.raises(VeoError, match="sample"):
        before_paying.check_request(scene, asked(scene, sample_count=9), settings, prompt_to_come=True)
    assert jobstore.scene_jobs(scene) == [] and veo.submit_count == 0


def test_touching_strips_are_refused_before_the_dialog(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path, gap_start=1)  # Right starts where Left ends

    with pytest.raises(VeoError, match="touch"):
        before_paying.check_request(
            timeline.scene, asked(timeline.scene), service_settings(), prompt_to_come=True
        )


def test_above_the_threshold_the_confirmation_states_the_amount(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    settings = service_settings()
    scene = timeline.scene
    cheap = before_paying.check_request(scene, asked(scene, prompt="x"), settings)
    dear = before_paying.check_request(scene, asked(scene, prompt="x", sample_count=3), settings)

    threshold = before_paying.confirm_above(bpy.context)
    assert threshold == DEFAULT_CONFIRM_ABOVE == 2.0  # the preference's default
    assert not before_paying.needs_confirmation(cheap.estimate, threshold)  # USD 0.80
    assert before_paying.needs_confirmation(dear.estimate, threshold)  # USD 2.40
    assert "about USD 2.40" in before_paying.confirmation_message(dear)
    assert "'Left'" in before_paying.confirmation_message(dear)
    assert before_paying.confirm_button(dear) == "Generate (USD 2.40)"
    assert before_paying.needs_confirmation(cheap.estimate, 0.0)  # 0 asks every time


# -- what a waiting operator reads and shows ----------------------------------------------------------


def test_the_job_manager_keeps_each_jobs_progress_until_it_is_forgotten(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", prompt="a dissolve", duration="4")
    [job] = jobstore.scene_jobs(timeline.scene)

    progress = manager.progress(job.job_id)
    assert progress is not None
    assert progress.state is JobState.INSERTED and not progress.pending
    assert progress.message == job.message

    bpy.ops.veo.forget_job(job_id=job.job_id)
    assert manager.progress(job.job_id) is None


def test_the_status_line_says_state_percent_eta_and_time_waited() -> None:
    running = JobProgress(JobState.PROCESSING, 40, 25, "Generating", pending=True)
    queued = JobProgress(JobState.QUEUED, None, None, "Queued", pending=True)

    one = modal_wait.status_text([running], elapsed_seconds=72.4)
    several = modal_wait.status_text([running, queued, None], elapsed_seconds=3)

    assert one == "Veo: processing 40% about 25 s left · 1:12 elapsed · Esc stops waiting"
    assert several == "Veo: 2 jobs: 1 processing, 1 queued (40%) · 3 s elapsed · Esc stops waiting"


def test_the_ui_report_says_where_progress_shows() -> None:
    line = operators.running_line(1)

    assert line.startswith("1 generation job started")
    assert "status bar" in line and "Veo tab" in line
