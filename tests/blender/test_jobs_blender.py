"""Generation jobs in real Blender against the local server: the operators' blocking
background path, save/reload, stop/resume/forget, reuse, faults, and the key kept out."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import bpy
import pytest

from tests.blender.conftest import SECRET_KEY
from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, timeline_snapshot
from veo_addon.blender import compat, jobstore, placeholder
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.blender.provenance import read_provenance
from veo_addon.core.job import Job, JobState

GENERATE = {"prompt": "the red room dissolves into the blue room", "duration": "4", "seed": 42}


def two_shots(timeline: TimelineBuilder) -> None:
    """Red frames 1-50, a gap 51-100, blue from 101: at 25 fps the gap is 2 s, so 'auto' is 4 s."""
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)


def save(path: Path) -> Path:
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def jobs_in_scene() -> list[Job]:
    return jobstore.scene_jobs(bpy.context.scene)


def movie_strips(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    return [strip for strip in compat.strips_all(scene) if strip.type == "MOVIE"]


def start_job(scene: bpy.types.Scene, **overrides: object) -> Job:
    """A generation started without waiting (what the UI does), for tests that act mid-job."""
    return start_job_with_lines(scene, **overrides)[0]


def start_job_with_lines(scene: bpy.types.Scene, **overrides: object) -> tuple[Job, list[str]]:
    settings = dataclasses.replace(service_settings(), placeholder=bool(overrides.pop("placeholder", True)))
    options = GenerationOptions(prompt=GENERATE["prompt"], duration="4", seed=42, **overrides)  # type: ignore[arg-type]
    plan = plan_generation(scene, choose_transition(scene, "Left", "Right"), options, settings)
    return manager.start(plan), list(plan.warnings)


def wait_for_task_id(job_id: str) -> Job:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        manager.pump()
        job = manager.current_job(job_id)
        if job is not None and job.task_id:
            return job
        time.sleep(0.05)
    raise AssertionError("the job never got a task id")


def temp_leftovers(*folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        if folder.exists():
            found += [path for path in folder.rglob("*") if path.suffix in (".part", ".tmp")]
    return found


# -- the whole job -------------------------------------------------------------------------------


def test_the_operator_runs_a_whole_job_in_background_mode(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    save(tmp_path / "edit.blend")

    assert bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE) == {"FINISHED"}

    assert veo.submit_count == 1
    [clip] = movie_strips(timeline.scene)
    assert (clip.frame_final_start, clip.frame_final_end) == (51, 101)
    assert clip.channel == 1
    provenance = read_provenance(clip)
    assert provenance["veo_prompt"] == GENERATE["prompt"] and provenance["veo_seed"] == "42"
    [job] = jobs_in_scene()
    assert job.state is JobState.INSERTED and job.task_id == provenance["veo_task_id"]
    assert manager.journal.get(job.job_id).state is JobState.INSERTED  # type: ignore[union-attr]
    # The clip lives beside the .blend, named from the task id only; the strip points there relatively.
    assert Path(job.clip_paths[0]).parent == tmp_path / "veo_clips"
    assert Path(job.clip_paths[0]).name.startswith(job.task_id.replace("/", "_")[:8])  # type: ignore[union-attr]
    assert clip.filepath.startswith("//")


def test_fill_gaps_generates_one_clip_per_gap(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    timeline.color("Third", 2, 201, 25, RED)  # a second gap, 151-200, on another channel
    save(tmp_path / "edit.blend")

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    assert veo.submit_count == 2
    ranges = sorted(
        (strip.frame_final_start, strip.frame_final_end) for strip in movie_strips(timeline.scene)
    )
    assert ranges == [(51, 101), (151, 201)]


def test_an_unsaved_file_keeps_clips_in_the_user_folder_and_says_so(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    job, lines = start_job_with_lines(timeline.scene)
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED
    assert Path(done.clip_paths[0]).is_relative_to(tmp_path / "user")
    assert any("not saved" in line and str(tmp_path / "user") in line for line in lines)
    assert [unclaimed.job_id for unclaimed in manager.journal.unclaimed()] == [job.job_id]


# -- durable jobs: reload, stop, resume, forget, reuse ---------------------------------------------


def test_save_mid_job_then_reload_resumes_and_inserts_without_a_second_submit(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    bpy.ops.wm.save_mainfile()  # the job, with its task id, is in the .blend
    manager.stop_all()  # as if Blender quit: stop waiting, the task goes on at the service
    manager.wait_for([job.job_id])

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    [reloaded] = jobs_in_scene()
    assert reloaded.task_id and reloaded.state is JobState.STOPPED
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}

    assert veo.submit_count == 1
    assert [s.frame_final_start for s in movie_strips(bpy.context.scene)] == [51]
    assert jobs_in_scene()[0].state is JobState.INSERTED


def test_a_job_the_file_never_saw_is_adopted_from_the_journal(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 3
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    manager.stop_all()
    manager.wait_for([job.job_id])

    # Reopen without saving: the .blend on disk has no job; the journal has it, for this file.
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert [found.job_id for found in jobs_in_scene()] == [job.job_id]
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}
    assert veo.submit_count == 1
    assert len(movie_strips(bpy.context.scene)) == 1


def test_stop_then_resume_keeps_the_task(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    task_id = wait_for_task_id(job.job_id).task_id

    assert bpy.ops.veo.stop_job(job_id=job.job_id) == {"FINISHED"}
    manager.wait_for([job.job_id])
    [stopped] = jobs_in_scene()
    assert stopped.state is JobState.STOPPED and stopped.task_id == task_id
    assert movie_strips(timeline.scene) == []

    assert bpy.ops.veo.resume_jobs(job_id=job.job_id) == {"FINISHED"}
    assert jobs_in_scene()[0].state is JobState.INSERTED
    assert veo.submit_count == 1


def test_forget_removes_the_job_from_file_and_journal(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    [job] = jobs_in_scene()

    assert bpy.ops.veo.forget_job(job_id=job.job_id) == {"FINISHED"}
    assert jobs_in_scene() == []
    assert manager.journal.get(job.job_id) is None
    assert all(Path(path).is_file() for path in job.clip_paths)  # paid-for files stay on disk


def test_forgetting_a_running_job_sticks(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)

    assert bpy.ops.veo.forget_job(job_id=job.job_id) == {"FINISHED"}
    manager.wait_for([job.job_id])  # the worker stops and writes its last state

    assert manager.journal.get(job.job_id) is None
    assert jobs_in_scene() == []


def test_two_identical_requests_started_together_pay_once(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 2
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    first = start_job(timeline.scene)
    second = start_job(timeline.scene)  # a second press before the first was accepted

    manager.wait_for([first.job_id, second.job_id])

    assert veo.submit_count == 1
    assert {job.state for job in jobs_in_scene()} == {JobState.INSERTED}


def test_an_identical_request_after_a_failed_poll_follows_the_paid_task(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    veo.faults.add("result", kind="500")
    with pytest.raises(RuntimeError, match="unavailable"):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    veo.faults.clear()

    assert bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE) == {"FINISHED"}
    assert veo.submit_count == 1


def test_a_clip_inserted_into_an_unsaved_session_goes_in_again_on_reopen(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 1
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    bpy.ops.wm.save_mainfile()  # saved while the job was queued
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED and len(movie_strips(bpy.context.scene)) == 1

    bpy.ops.wm.open_mainfile(filepath=str(blend))  # Blender quit without saving the insert
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}

    assert len(movie_strips(bpy.context.scene)) == 1
    assert veo.submit_count == 1


def test_a_strip_the_editor_deleted_and_saved_stays_deleted(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    strips = compat.strip_collection(timeline.scene.sequence_editor)
    for name in [strip.name for strip in compat.strips_all(timeline.scene) if strip.get("veo_job_id")]:
        if strips.get(name) is not None:  # an effect goes away with the strip it works on
            strips.remove(strips[name])
    assert movie_strips(timeline.scene) == []
    bpy.ops.wm.save_mainfile()

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    bpy.ops.veo.resume_jobs()
    assert movie_strips(bpy.context.scene) == []


def test_save_as_mid_job_inserts_into_the_open_file(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 2
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    renamed = save(tmp_path / "edit_v2.blend")  # File > Save As while the job runs

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.INSERTED
    assert len(movie_strips(bpy.context.scene)) == 1
    assert Path(manager.journal.get(job.job_id).blend_path) == renamed  # type: ignore[union-attr]


def test_resume_jobs_leaves_a_running_job_of_an_unsaved_file_alone(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder
) -> None:
    veo.gen_seconds = 2
    two_shots(timeline)
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)

    bpy.ops.veo.resume_jobs()
    manager.wait_for([job.job_id])

    assert len(movie_strips(timeline.scene)) == 1


def test_a_make_room_clip_whose_strips_moved_still_goes_in(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 2
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 51, 50, BLUE)  # touching: no gap
    save(tmp_path / "edit.blend")
    job = start_job(timeline.scene, make_room=True)
    wait_for_task_id(job.job_id)
    timeline.strips["Right"].frame_start += 10

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.INSERTED, done.message
    [clip] = movie_strips(timeline.scene)
    assert (clip.frame_final_start, clip.frame_final_end) == (51, 151)  # 4 s at 25 fps


def test_an_identical_request_reuses_the_clip_unless_a_new_one_is_asked_for(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    assert veo.submit_count == 1
    first, second = jobs_in_scene()
    assert second.reused_from == first.job_id and second.state is JobState.INSERTED
    assert len(movie_strips(timeline.scene)) == 2  # the reused clip went in on a free channel

    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", new_generation=True, **GENERATE)
    assert veo.submit_count == 2


def test_a_clip_whose_gap_moved_goes_to_its_recorded_frames(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    veo.gen_seconds = 2
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    # Without a placeholder: with one, the clip goes where the placeholder is (test_placeholder.py).
    job = start_job(timeline.scene, placeholder=False)
    wait_for_task_id(job.job_id)
    timeline.strips["Right"].frame_start += 20  # the editor keeps working meanwhile

    [done] = manager.wait_for([job.job_id])

    assert done.state is JobState.INSERTED
    assert "recorded frames 51-100" in done.message
    [clip] = movie_strips(timeline.scene)
    assert (clip.frame_final_start, clip.frame_final_end) == (51, 101)


# -- refusals and faults: a clear message, the timeline unchanged, nothing left behind -----------


def test_bad_settings_are_refused_before_anything_is_rendered_or_sent(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    before = timeline_snapshot(timeline.scene)
    for bad, words in (
        ({"prompt": " "}, "prompt"),
        ({"seed": -5}, "seed: -5 is not a seed"),
        ({"resolution": "1080p", "duration": "4"}, "1080p"),
    ):
        arguments = {**GENERATE, **bad}
        with pytest.raises(RuntimeError, match=words):
            bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **arguments)
    # Blender itself refuses what its integer property cannot hold, or a text seed.
    for bad_seed, error in ((4294967296, ValueError), ("abc", TypeError)):
        with pytest.raises(error, match="seed"):
            bpy.ops.veo.generate_transition(
                left_strip="Left", right_strip="Right", **{**GENERATE, "seed": bad_seed}
            )
    assert timeline_snapshot(timeline.scene) == before
    assert veo.request_counts["submit"] == 0
    assert jobs_in_scene() == []


def test_a_missing_key_is_refused_with_where_to_put_it(veo, timeline: TimelineBuilder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    monkeypatch.delenv("VEO_API_KEY")
    with pytest.raises(RuntimeError, match="VEO_API_KEY"):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    assert jobs_in_scene() == []


def test_with_online_access_off_a_remote_service_is_refused(
    veo, timeline: TimelineBuilder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    assert bpy.app.online_access is False  # the wheel cannot be given --online-mode
    monkeypatch.setenv("VEO_BASE_URL", "https://api.highwayapi.ai")
    with pytest.raises(RuntimeError, match="--online-mode"):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    assert jobs_in_scene() == []


@pytest.mark.parametrize(
    ("endpoint", "kind", "params", "state", "words"),
    [
        ("submit", "429", {"retry_after": 0}, JobState.FAILED, "rate limiting"),
        ("submit", "503", {}, JobState.FAILED, "unavailable"),
        ("submit", "500", {"after_create": True}, JobState.UNKNOWN_OUTCOME, "not sent again"),
        ("submit", "reset", {}, JobState.UNKNOWN_OUTCOME, "not sent again"),
        ("submit", "401", {}, JobState.FAILED, "API key"),
        ("submit", "no_balance", {}, JobState.FAILED, "balance"),
        ("submit", "safety", {}, JobState.FAILED, "Support codes"),
        ("result", "500", {}, JobState.FAILED, "unavailable"),
        ("result", "malformed", {}, JobState.FAILED, "unreadable"),
        ("result", "unknown_status", {}, JobState.FAILED, "TASK_STATUS_CANCELED"),
        ("download", "truncate", {}, JobState.FAILED, "Download"),
        ("download", "expired", {}, JobState.FAILED, "expired"),
    ],
)
def test_each_fault_ends_in_a_clear_state_with_the_timeline_unchanged(  # type: ignore[no-untyped-def]
    veo,
    timeline: TimelineBuilder,
    tmp_path: Path,
    endpoint: str,
    kind: str,
    params: dict,
    state: JobState,
    words: str,
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    before = timeline_snapshot(timeline.scene)
    veo.faults.add(endpoint, kind=kind, **params)

    with pytest.raises(RuntimeError) as caught:
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)

    [job] = jobs_in_scene()
    assert job.state is state, job.message
    assert words.lower() in job.message.lower() and words.lower() in str(caught.value).lower()
    assert "\n" not in job.message
    # A job with a task keeps its placeholder, saying why no clip comes; one that ended before
    # a task existed (nothing paid) leaves none. Nothing else on the timeline changed.
    marker = placeholder.find(timeline.scene, job.job_id)
    if job.task_id or job.state is not JobState.FAILED:
        assert marker is not None and marker[placeholder.PROP_REASON] == job.message
        placeholder.remove(timeline.scene, job.job_id)
    else:
        assert marker is None
    assert timeline_snapshot(timeline.scene) == before
    assert temp_leftovers(tmp_path) == []
    assert veo.submit_count <= 1
    if job.task_id:  # the paid task stays known: in the file and in the journal
        assert manager.journal.get(job.job_id).task_id == job.task_id  # type: ignore[union-attr]


@pytest.mark.parametrize(("endpoint", "kind"), [("submit", "429"), ("result", "503"), ("download", "reset")])
def test_a_passing_fault_is_ridden_out(
    veo, timeline: TimelineBuilder, tmp_path: Path, endpoint: str, kind: str
) -> None:  # type: ignore[no-untyped-def]
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    veo.faults.add(endpoint, nth=1, kind=kind, retry_after=0) if kind == "429" else veo.faults.add(
        endpoint, nth=1, kind=kind
    )
    assert bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE) == {"FINISHED"}
    assert veo.submit_count == 1


# -- the key stays out of files, journal and reports ----------------------------------------------


def test_no_api_key_in_the_blend_the_journal_or_any_report(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    veo.faults.add("submit", kind="401")
    with pytest.raises(RuntimeError) as refused:
        bpy.ops.veo.generate_transition(
            left_strip="Left", right_strip="Right", new_generation=True, **GENERATE
        )
    bpy.ops.wm.save_mainfile()

    secret = SECRET_KEY.encode()
    assert secret not in blend.read_bytes()
    journal_text = (Path(os.environ["VEO_USER_DIR"]) / "journal.json").read_text()
    assert SECRET_KEY not in journal_text
    assert all(SECRET_KEY not in json.dumps(job.to_dict()) for job in jobs_in_scene())
    output = capfd.readouterr()
    assert SECRET_KEY not in output.out + output.err + caplog.text + str(refused.value)


# -- the seed is an integer for Python callers ------------------------------------------------------


def test_python_callers_pass_the_seed_as_an_integer_and_minus_one_asks_for_a_random_one(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    arguments = {"left_strip": "Left", "right_strip": "Right", "prompt": GENERATE["prompt"], "duration": "4"}

    assert bpy.ops.veo.generate_transition(seed=7, **arguments) == {"FINISHED"}
    assert bpy.ops.veo.generate_transition(seed=-1, new_generation=True, **arguments) == {"FINISHED"}
    assert bpy.ops.veo.generate_transition(seed=2**31 - 1, **arguments) == {"FINISHED"}

    sent = [body.get("seed") for body in veo.submit_bodies]
    assert sent == [7, None, 2**31 - 1]
    seven, random, largest = jobs_in_scene()
    assert seven.seed == 7 and largest.seed == 2**31 - 1
    assert random.seed is not None  # the service picked one, and the job records it
