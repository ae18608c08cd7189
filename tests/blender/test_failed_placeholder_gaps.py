"""A failed job's placeholder is no content: its gap is open to Fill All Gaps, to the playhead and
to a new job, which takes the placeholder away. A placeholder whose clip may still come keeps
its gap, and says which job holds it."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.test_headless_script import inspect_blend, run_script, three_shots
from tests.blender.test_jobs_blender import (
    GENERATE,
    movie_strips,
    save,
    start_job,
    two_shots,
    wait_for_task_id,
)
from tests.blender.test_placeholder import frames, placeholders
from tests.blender.vse_helpers import TimelineBuilder
from veo_addon.blender import compat, jobstore
from veo_addon.blender.jobmanager import manager
from veo_addon.core.job import Job, JobState


def failed_job_saved_and_reopened(veo, timeline: TimelineBuilder, tmp_path: Path) -> Job:  # type: ignore[no-untyped-def]
    """Left and Right with a gap at 51-100, held by the placeholder of a job that failed for good
    (the service cancelled its task), saved and opened again."""
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    veo.faults.add("result", kind="unknown_status")
    [failed] = manager.wait_for([start_job(timeline.scene).job_id])
    assert failed.state is JobState.FAILED and failed.task_id and not failed.can_resume
    veo.faults.clear()
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    [held] = placeholders(bpy.context.scene)
    assert held.name.startswith("Veo failed") and frames(held) == (51, 101)
    assert veo.submit_count == 1
    return failed


def playhead_alone_at(scene: bpy.types.Scene, frame: int) -> None:
    """Nothing selected, so Generate takes the gap under the playhead."""
    for strip in compat.top_level_strips(scene):
        strip.select = False
    scene.frame_current = frame


def assert_new_clip_alone_in_the_gap(scene: bpy.types.Scene, failed: Job) -> None:
    assert placeholders(scene) == []
    assert [frames(clip) for clip in movie_strips(scene)] == [(51, 101)]
    # The failed job stays in the list, with its reason; only its strip gave way.
    still_listed = jobstore.load_job(scene, failed.job_id)
    assert still_listed is not None and still_listed.state is JobState.FAILED


def test_fill_all_gaps_fills_the_gap_of_a_failed_placeholder_and_replaces_it(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    failed = failed_job_saved_and_reopened(veo, timeline, tmp_path)

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    assert veo.submit_count == 2  # exactly one new submit
    assert_new_clip_alone_in_the_gap(bpy.context.scene, failed)


def test_generate_at_the_playhead_in_a_failed_placeholder_replaces_it(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    failed = failed_job_saved_and_reopened(veo, timeline, tmp_path)
    scene = bpy.context.scene
    playhead_alone_at(scene, 70)  # inside the failed placeholder

    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}

    assert veo.submit_count == 2
    assert_new_clip_alone_in_the_gap(scene, failed)


def test_a_selected_failed_placeholder_is_no_shot_so_generate_takes_the_gap_under_the_playhead(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    """Clicking the placeholder (to read its job's reason in the Veo tab) selects it."""
    failed = failed_job_saved_and_reopened(veo, timeline, tmp_path)
    scene = bpy.context.scene
    playhead_alone_at(scene, 70)
    placeholders(scene)[0].select = True

    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}

    assert veo.submit_count == 2
    assert_new_clip_alone_in_the_gap(scene, failed)


def test_a_running_jobs_placeholder_keeps_its_gap_from_fill_all_gaps_and_says_which_job(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    running = wait_for_task_id(start_job(timeline.scene).job_id)

    with pytest.raises(RuntimeError, match="The only gap was skipped; nothing was sent"):
        bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4")

    said = capsys.readouterr().out
    assert "between 'Left' and 'Right': Placeholder 'Veo ⋯ queued" in said, said
    assert f"job {running.job_id[:6]} is still generating a clip for it" in said, said
    assert veo.submit_count == 1
    [done] = manager.wait_for([running.job_id])
    assert done.state is JobState.INSERTED and len(movie_strips(timeline.scene)) == 1


def test_the_playhead_in_a_running_jobs_placeholder_is_refused_with_which_job(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    running = wait_for_task_id(start_job(timeline.scene).job_id)
    playhead_alone_at(timeline.scene, 70)

    with pytest.raises(RuntimeError, match=f"job {running.job_id[:6]} is still generating a clip for it"):
        bpy.ops.veo.generate_transition(**GENERATE)

    assert veo.submit_count == 1


def test_a_stopped_jobs_placeholder_keeps_its_gap_until_resumed_or_forgotten(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    stopped = wait_for_task_id(start_job(timeline.scene).job_id)
    manager.stop(stopped.job_id)
    manager.wait_for([stopped.job_id])

    with pytest.raises(RuntimeError, match="The only gap was skipped"):
        bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4")
    assert veo.submit_count == 1

    assert bpy.ops.veo.forget_job(job_id=stopped.job_id) == {"FINISHED"}
    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}
    assert veo.submit_count == 2
    assert placeholders(timeline.scene) == [] and len(movie_strips(timeline.scene)) == 1


def test_all_gaps_headless_fills_the_gap_a_failed_job_left_and_only_that_one(  # type: ignore[no-untyped-def]
    scene, timeline: TimelineBuilder, highway, tmp_path: Path
) -> None:
    """scripts/veo_generate.py --all-gaps run twice on a file: in the first run one gap's task is
    cancelled (a failure for good), saved with its placeholder; the second run fills that gap once."""
    blend = three_shots(scene, timeline, tmp_path)
    user_dir = tmp_path / "user"
    highway.faults.add("result", nth=2, kind="unknown_status")  # one of the two tasks is cancelled

    first = run_script(blend, highway.base_url, user_dir, "--prompt", "p", "--all-gaps", "--save")

    assert first.returncode == 1, first.stdout + first.stderr
    assert highway.submit_count == 2
    strips = inspect_blend(blend)["strips"]
    [failed_gap] = [(s["start"], s["end"]) for s in strips if s["name"].startswith("Veo failed")]
    [filled_gap] = [(s["start"], s["end"]) for s in strips if s["type"] == "MOVIE"]
    highway.faults.clear()

    second = run_script(blend, highway.base_url, user_dir, "--prompt", "p", "--all-gaps", "--save")

    assert second.returncode == 0, second.stdout + second.stderr
    assert highway.submit_count == 3  # one new submit, for the failed gap only
    assert second.stdout.count("[veo] INSERTED job") == 1 and "Skipping" not in second.stdout
    strips = inspect_blend(blend)["strips"]
    assert not [s for s in strips if s["type"] == "META"]  # no placeholder left
    movies = sorted((s["start"], s["end"]) for s in strips if s["type"] == "MOVIE")
    assert movies == sorted([failed_gap, filled_gap]) == [(21, 41), (61, 91)]
