"""The Veo tab's view of the active strip and the job list's insert button, headless: the takes of a
Veo clip (seams with warnings, which plays, show / keep, provenance, the sound's channel), the job
behind a placeholder (state, reason, retry / resume), and Insert / Re-insert in the job list."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.test_jobs_blender import movie_strips, start_job, two_shots, wait_for_task_id
from tests.blender.test_panel_draw import CheckedLayout, draw, labels, operators
from tests.blender.test_seams import clips, generate
from tests.blender.test_seams import two_shots as framed_shots
from tests.blender.test_sound_fades import HAS_AUDIO, shots_with_music
from veo_addon.blender import compat, jobstore, placeholder
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.provenance import PROP_TAKE_INDEX
from veo_addon.blender.ui import job_list, takes_panel
from veo_addon.core.job import JobState
from veo_addon.core.seams import DEFAULT_WARNING_DIFFERENCE


def take_clip(scene: bpy.types.Scene, take_index: int) -> bpy.types.Strip:
    return next(strip for strip in clips(scene) if strip[PROP_TAKE_INDEX] == take_index)


@pytest.fixture
def two_takes(veo, timeline, tmp_path):  # type: ignore[no-untyped-def]
    """Two samples; sample 0 (take 1) misses its keyframes, sample 1 (take 2) meets them."""
    framed_shots(timeline)
    veo.faults.add("submit", kind="drift", sample=0, amount=1.0)
    generate(tmp_path, sample_count=2)
    return timeline.scene


def test_the_takes_rows_list_the_best_take_first_with_its_seams_and_which_plays(two_takes) -> None:  # type: ignore[no-untyped-def]
    scene = two_takes
    drifting = take_clip(scene, 0)

    rows = takes_panel.take_rows(scene, drifting, DEFAULT_WARNING_DIFFERENCE)

    assert [(row.index, row.plays) for row in rows] == [(1, True), (0, False)]
    good, bad = rows
    assert good.seam_in is not None and good.seam_in < DEFAULT_WARNING_DIFFERENCE
    assert not (good.warn_in or good.warn_out)
    assert bad.warn_in and bad.warn_out and bad.seam_in is not None and bad.seam_in > 30
    assert bad.clip_name == drifting.name
    # A sound or speed strip of a take lists the same takes; any other strip lists none.
    assert takes_panel.take_rows(scene, compat.strip_collection(scene.sequence_editor)["Left"], 8) == []

    assert bpy.ops.veo.show_take(strip=bad.clip_name) == {"FINISHED"}
    assert [(row.index, row.plays) for row in takes_panel.take_rows(scene, drifting, 8)] == [
        (1, False),
        (0, True),
    ]


def test_the_takes_panel_draws_seams_buttons_and_provenance_of_the_active_take(two_takes) -> None:  # type: ignore[no-untyped-def]
    scene = two_takes
    drifting = take_clip(scene, 0)
    scene.sequence_editor.active_strip = drifting
    context = type("Context", (), {"scene": scene, "sequence_editor": scene.sequence_editor})
    assert takes_panel.VEO_PT_takes.poll(context)
    assert not takes_panel.VEO_PT_placeholder.poll(context)

    calls = draw(takes_panel.VEO_PT_takes, scene)

    text = labels(calls)
    assert "Seam in" in text and "1 (active)" in text
    [job] = jobstore.scene_jobs(scene)
    assert f"Task: {job.task_id}" in text and "Seed: 42" in text and "Sample: 1" in text
    assert "Prompt: the red room dissolves" in text and "Cost: about USD" in text
    assert "Take 1 of 2: what made it" in text
    assert "Keys: Ctrl+Shift+Page Up / Ctrl+Shift+Page Down" in text
    assert "Keeps take 1, removes the other 1" in text
    warnings = [kwargs for name, kwargs in calls if name == "label" and kwargs.get("icon") == "ERROR"]
    assert len(warnings) >= 2  # take 1's two seams (and the sentence under the list)
    assert operators(calls).count("veo.show_take") == 2
    assert {"veo.keep_take", "veo.next_take", "veo.previous_take"} <= set(operators(calls))

    assert bpy.ops.veo.keep_take(strip=drifting.name) == {"FINISHED"}
    assert [row.index for row in takes_panel.take_rows(scene, drifting, 8)] == [0]
    assert "veo.keep_take" not in operators(draw(takes_panel.VEO_PT_takes, scene))


@pytest.mark.skipif(not HAS_AUDIO, reason="the 4.2 bpy wheel is built without audio (Audaspace)")
def test_the_takes_panel_names_the_channel_the_sound_went_to(veo, timeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shots_with_music(timeline, tmp_path)
    bpy.ops.veo.generate_transition(
        left_strip="Left", right_strip="Right", generate_audio=True, prompt="a dissolve", duration="4", seed=4
    )
    scene = timeline.scene
    [clip] = [strip for strip in compat.top_level_strips(scene) if strip.type == "MOVIE"]
    note = "Its sound went to channel 3, above the neighbours' sound on channel 2."
    assert takes_panel.sound_note(scene, clip) == note
    scene.sequence_editor.active_strip = clip
    assert note in labels(draw(takes_panel.VEO_PT_takes, scene)).replace("\n", " ")


def test_a_take_without_sound_names_no_channel(two_takes) -> None:  # type: ignore[no-untyped-def]
    assert takes_panel.sound_note(two_takes, take_clip(two_takes, 0)) == ""


def test_a_failed_jobs_placeholder_shows_the_reason_and_retry_that_pays(veo, timeline, tmp_path) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    veo.faults.add("submit", kind="safety")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    job = start_job(timeline.scene)
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.FAILED
    held = placeholder.find(timeline.scene, job.job_id)
    timeline.scene.sequence_editor.active_strip = held

    status = takes_panel.placeholder_status(timeline.scene, held)

    assert status is not None and status.state == "failed" and not status.can_resume
    assert status.reason == done.message and status.reason
    calls = draw(takes_panel.VEO_PT_placeholder, timeline.scene)
    assert "veo.retry_job" in operators(calls) and "veo.resume_jobs" not in operators(calls)
    text = labels(calls).replace("\n", " ")
    assert "Retry is a new, paid generation." in text and f"Job {job.job_id[:8]}: Failed" in text
    assert takes_panel.placeholder_status(timeline.scene, timeline.strips["Left"]) is None


def test_a_stopped_jobs_placeholder_offers_resume(veo, timeline, tmp_path) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 30
    two_shots(timeline)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    manager.stop(job.job_id)
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.STOPPED
    held = placeholder.find(timeline.scene, job.job_id)
    timeline.scene.sequence_editor.active_strip = held

    status = takes_panel.placeholder_status(timeline.scene, held)

    assert status is not None and status.state == "stopped" and status.can_resume, status
    assert {"veo.resume_jobs", "veo.retry_job"} <= set(
        operators(draw(takes_panel.VEO_PT_placeholder, timeline.scene))
    )


def test_the_job_list_offers_insert_then_re_insert_once_the_clip_was_removed(veo, timeline, tmp_path) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 1
    two_shots(timeline)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene = timeline.scene
    job = start_job(scene)
    strips = compat.strip_collection(scene.sequence_editor)
    strips.remove(placeholder.find(scene, job.job_id))  # "do not insert"
    [done] = manager.wait_for([job.job_id])
    entry = scene.veo_jobs[0]
    assert done.state is JobState.DOWNLOADED
    assert job_list.insert_action(scene, entry) == "Insert Clip"
    assert "veo.insert_job" in operators(draw(job_list.VEO_PT_jobs, scene, draw_actions=None))

    assert bpy.ops.veo.insert_job(job_id=entry.job_id) == {"FINISHED"}
    assert entry.state == "inserted" and len(movie_strips(scene)) == 1
    assert job_list.insert_action(scene, entry) == ""  # its clip is on the timeline

    own = [strip for strip in compat.top_level_strips(scene) if strip.get("veo_job_id") == job.job_id]
    for strip in sorted(own, key=lambda strip: strip.channel, reverse=True):  # effects before inputs
        strips.remove(strip)
    assert movie_strips(scene) == []
    assert job_list.insert_action(scene, entry) == "Re-insert"

    assert bpy.ops.veo.insert_job(job_id=entry.job_id) == {"FINISHED"}
    [clip] = movie_strips(scene)
    assert (compat.visible_start(clip), compat.visible_end(clip)) == (51, 101)
    assert entry.state == "inserted" and veo.submit_count == 1


def test_a_seam_warning_shows_an_alert_in_the_job_row_and_details(two_takes) -> None:  # type: ignore[no-untyped-def]
    entry = two_takes.veo_jobs[0]
    assert job_list.has_seam_warning(entry)
    row = CheckedLayout()
    job_list.VEO_UL_jobs.draw_item(None, None, row, None, entry, None, None, None)
    assert ("label", {"text": "Seams", "icon": "ERROR", "args": ()}) in row.calls
    details = draw(job_list.VEO_PT_jobs, two_takes, draw_actions=None)
    assert "Seam warning: a cut does not meet its keyframe" in labels(details)
