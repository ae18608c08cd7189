"""The placeholder at submit, in real Blender against the local server: it holds the gap from
the start, plays a crossfade of the keyframes, shows the job's state, and the clip takes its
place (wherever the editor moved it) exactly once; deleting it means "do not insert"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import bpy
import pytest

from tests.blender.test_jobs_blender import (
    GENERATE,
    jobs_in_scene,
    movie_strips,
    save,
    start_job,
    two_shots,
    wait_for_task_id,
)
from tests.blender.vse_helpers import RED, TimelineBuilder, load_png, mean_rgb, timeline_snapshot
from veo_addon.blender import compat, placeholder, placeholder_images
from veo_addon.blender.capture import render_frame
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.blender.presubmit import check_before_submit
from veo_addon.core.job import JobState


def pump_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        manager.pump()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the condition never came true")


def placeholders(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    return [strip for strip in compat.strips_all(scene) if placeholder.is_placeholder(strip)]


def frames(strip: bpy.types.Strip) -> tuple[int, int]:
    return compat.visible_start(strip), compat.visible_end(strip)


def test_the_placeholder_holds_the_gap_from_the_start_until_the_clip_replaces_it(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")

    job = start_job(timeline.scene)

    [held] = placeholders(timeline.scene)
    assert frames(held) == (51, 101) and held.channel == 1 and held.type == "META"
    assert held["veo_job_id"] == job.job_id and held.name.startswith("Veo ⋯")
    assert jobs_in_scene()[0].placement[placeholder.PLACEHOLDER] == held.name
    assert not held.select  # the editor's selection (how a gap is chosen) stays the shots
    assert movie_strips(timeline.scene) == []
    # While the task runs its name follows the job's progress.
    pump_until(lambda: "%" in placeholders(timeline.scene)[0].name)
    assert movie_strips(timeline.scene) == []

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.INSERTED, done.message
    assert placeholders(timeline.scene) == []
    [clip] = movie_strips(timeline.scene)
    assert frames(clip) == (51, 101) and clip.channel == 1


def test_the_placeholder_plays_a_crossfade_of_the_keyframes(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, monkeypatch
) -> None:
    veo.gen_seconds = 30  # the clip stays away while the gap is rendered
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    written = threading.Event()
    write_png = placeholder_images._write_png
    monkeypatch.setattr(placeholder_images, "_write_png", lambda *args: (written.wait(10), write_png(*args)))
    start_job(timeline.scene)
    render_frame(timeline.scene, 75)  # drawn before its pictures are on disk (the UI draws at once)
    written.set()
    placeholder_images.wait_until_written()
    manager.pump()  # the placeholder reads its pictures now that they are on disk

    first, middle, last = (mean_rgb(load_png(render_frame(timeline.scene, frame))) for frame in (51, 75, 100))

    assert first[0] > 200 and first[2] < 70  # the left shot's red
    assert last[2] > 190 and last[0] < 70  # the right shot's blue
    # Half-way: a mix of both, neither black nor one keyframe.
    assert 90 < middle[0] < 180 and 90 < middle[2] < 180, middle


def test_a_moved_and_retimed_placeholder_takes_the_clip_with_it(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 2
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    [held] = placeholders(timeline.scene)
    held.channel = 3
    compat.move_strip(held, 10)
    compat.set_visible_duration(held, 60)  # frames 61-120 on channel 3
    timeline.strips["Right"].frame_start += 30  # the neighbours moved too: the recorded gap is stale

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.INSERTED, done.message
    [clip] = movie_strips(timeline.scene)
    assert frames(clip) == (61, 121) and clip.channel == 3
    assert placeholders(timeline.scene) == []
    assert "placeholder, moved to frames 61-120" in done.message


def test_deleting_the_placeholder_means_the_clip_is_kept_but_not_inserted(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 2
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    [held] = placeholders(timeline.scene)
    compat.strip_collection(timeline.scene.sequence_editor).remove(held)

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.DOWNLOADED
    assert "placeholder was deleted" in done.message
    assert movie_strips(timeline.scene) == [] and placeholders(timeline.scene) == []
    assert all(Path(path).is_file() for path in done.clip_paths)
    assert [listed.job_id for listed in jobs_in_scene()] == [job.job_id]

    assert bpy.ops.veo.insert_job(job_id=job.job_id) == {"FINISHED"}

    [clip] = movie_strips(timeline.scene)
    assert frames(clip) == (51, 101)
    assert jobs_in_scene()[0].state is JobState.INSERTED
    assert veo.submit_count == 1


def test_with_the_preference_off_there_is_no_placeholder_and_the_clip_still_goes_in(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 1
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene, placeholder=False)
    assert placeholders(timeline.scene) == []

    [done] = manager.wait_for([job.job_id])

    # No placeholder was made, so none was deleted: the clip goes to the recorded gap.
    assert done.state is JobState.INSERTED, done.message
    assert [frames(clip) for clip in movie_strips(timeline.scene)] == [(51, 101)]


def test_a_failed_job_leaves_its_placeholder_marked_with_the_reason(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    veo.faults.add("result", kind="unknown_status")
    job = start_job(timeline.scene)

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.FAILED
    [held] = placeholders(timeline.scene)
    assert held.name.startswith("Veo failed") and held[placeholder.PROP_REASON] == done.message
    assert "TASK_STATUS_CANCELED" in held[placeholder.PROP_REASON]
    assert frames(held) == (51, 101)


def test_a_stopped_job_leaves_its_placeholder_marked_stopped(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)

    manager.stop(job.job_id)
    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.STOPPED
    [held] = placeholders(timeline.scene)
    assert held.name.startswith("Veo stopped") and held[placeholder.PROP_REASON] == done.message


@pytest.mark.parametrize("refusal", ["no key", "bad input", "offline"])
def test_a_request_refused_before_sending_adds_nothing_to_the_timeline(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, monkeypatch, refusal: str
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    before = timeline_snapshot(timeline.scene)
    arguments = dict(GENERATE)
    if refusal == "no key":
        monkeypatch.setenv("VEO_API_KEY", "")
    elif refusal == "bad input":
        arguments["duration"] = "4"
        arguments["resolution"] = "1080p"  # the service offers 1080p with 8 s clips only
    else:
        monkeypatch.setenv("VEO_BASE_URL", "https://api.highwayapi.ai")

    with pytest.raises(RuntimeError):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **arguments)

    assert timeline_snapshot(timeline.scene) == before
    assert jobs_in_scene() == [] and veo.submit_count == 0


def test_the_placeholder_goes_on_the_channel_the_check_before_paying_chose(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 1
    two_shots(timeline)
    timeline.lock_channel(1)  # locked: the clip cannot go on the shots' own channel
    timeline.color("Title", 2, 70, 10, RED)  # channel 2 is taken in the middle of the gap
    save(tmp_path / "edit.blend")
    options = GenerationOptions(prompt="a dissolve", duration="4")
    transition = choose_transition(timeline.scene, "Left", "Right")
    checked = check_before_submit(timeline.scene, transition, 4, options, service_settings().gap_limits)

    job = start_job(timeline.scene)

    [held] = placeholders(timeline.scene)
    assert held.channel == checked.clip_channel == 3
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED, done.message
    assert [clip.channel for clip in movie_strips(timeline.scene)] == [3]


def test_twins_sharing_one_clip_leave_no_placeholder_behind(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 2
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    first = start_job(timeline.scene)
    second = start_job(timeline.scene)  # a second press: it follows the first one's task
    assert len(placeholders(timeline.scene)) == 2

    manager.wait_for([first.job_id, second.job_id])

    assert veo.submit_count == 1
    assert placeholders(timeline.scene) == [] and len(movie_strips(timeline.scene)) == 1
