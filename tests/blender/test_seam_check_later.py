"""The seam check comes after the clip is in: the tick that places the clip renders nothing, the
clip plays at once, and the check's thumbnails follow one per tick. Once the scores are in, the
best take plays (unless the editor picked one meanwhile), and a clip deleted meanwhile is not
checked. Driven the way the UI's timer drives the job manager: `manager.pump()`, tick by tick."""

from __future__ import annotations

import time
from collections.abc import Iterator

import bpy
import pytest

from tests.blender.test_jobs_blender import start_job
from tests.blender.test_seams import clips, two_shots
from veo_addon.blender import compat, finishing, jobstore, seams
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.provenance import PROP_SEAM_IN
from veo_addon.blender.takes import live_take, set_live_take, take_group_of
from veo_addon.core.job import Job, JobState


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The frame of every seam thumbnail rendered, in order."""
    frames: list[int] = []
    original = seams.render_thumbnail

    def counted(scene: bpy.types.Scene, frame: int) -> bytes:
        frames.append(frame)
        return original(scene, frame)

    monkeypatch.setattr(seams, "render_thumbnail", counted)
    return frames


def the_job(scene: bpy.types.Scene, job_id: str) -> Job:
    job = jobstore.load_job(scene, job_id)
    assert job is not None
    return job


def pump_until_inserted(scene: bpy.types.Scene, job_id: str, renders: list[int]) -> None:
    """Tick until the clip is placed; that tick must render no seam thumbnail."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        before = len(renders)
        manager.pump()
        job = jobstore.load_job(scene, job_id)
        if job is not None and job.state is JobState.INSERTED:
            assert len(renders) == before, "the insertion's tick rendered seam thumbnails"
            return
        time.sleep(0.05)
    raise AssertionError("the clip never went in")


def ticks(renders: list[int]) -> Iterator[int]:
    """One pump per step; yields how many thumbnails that tick rendered."""
    for _ in range(50):
        if not finishing.seam_check_pending():
            return
        before = len(renders)
        manager.pump()
        yield len(renders) - before
    raise AssertionError("the seam check never ended")


def test_the_clip_plays_before_its_seams_are_measured_one_thumbnail_per_tick(veo, timeline, renders):
    two_shots(timeline)
    scene = timeline.scene
    job = start_job(scene)
    pump_until_inserted(scene, job.job_id, renders)
    [clip] = clips(scene)
    assert not clip.mute and PROP_SEAM_IN not in clip  # in the timeline, playing, not yet measured
    assert finishing.SEAMS_PENDING in the_job(scene, job.job_id).message
    assert manager.busy  # the UI's timer keeps ticking for the check
    per_tick = list(ticks(renders))
    assert per_tick and max(per_tick) <= 1
    assert len(renders) == 4  # before, after, the take's first and last frames
    done = the_job(scene, job.job_id)
    assert PROP_SEAM_IN in clip and done.seams and done.seams[0]["in"] == clip[PROP_SEAM_IN]
    assert "Seams in " in done.message and finishing.SEAMS_PENDING not in done.message
    recorded = manager.journal.get(job.job_id)
    assert recorded is not None and recorded.seams == done.seams  # the journal has the scores too
    assert manager.progress(job.job_id) is not None and not manager.progress(job.job_id).pending


def test_with_two_takes_the_best_plays_once_the_scores_are_in(veo, timeline, renders):
    two_shots(timeline)
    scene = timeline.scene
    veo.faults.add("submit", kind="drift", sample=0, amount=1.0)  # take 1 misses its keyframes
    job = start_job(scene, sample_count=2)
    pump_until_inserted(scene, job.job_id, renders)
    group = take_group_of(clips(scene)[0])
    assert live_take(scene, group) == 0  # as inserted, until the check says otherwise
    for _ in ticks(renders):
        if finishing.seam_check_pending():
            assert live_take(scene, group) == 0  # between ticks the mutes are the inserted ones
    assert live_take(scene, group) == 1
    assert len(renders) == 6
    assert "Take 2 plays: its seams are the closest" in the_job(scene, job.job_id).message


def test_a_take_the_editor_picked_during_the_check_keeps_playing(veo, timeline, renders):
    two_shots(timeline)
    scene = timeline.scene
    veo.faults.add("submit", kind="drift", sample=1, amount=1.0)  # take 2 misses its keyframes
    job = start_job(scene, sample_count=2)
    pump_until_inserted(scene, job.job_id, renders)
    group = take_group_of(clips(scene)[0])
    manager.pump()
    set_live_take(scene, group, 1)  # the editor shows take 2 while the check runs
    list(ticks(renders))
    assert live_take(scene, group) == 1
    assert "Take 1 has the closest seams" in the_job(scene, job.job_id).message


def test_a_clip_deleted_during_the_check_is_not_measured_and_the_job_says_so(veo, timeline, renders):
    two_shots(timeline)
    scene = timeline.scene
    job = start_job(scene)
    pump_until_inserted(scene, job.job_id, renders)
    manager.pump()
    group = take_group_of(clips(scene)[0])
    collection = compat.strip_collection(scene.sequence_editor)
    for strip in sorted(compat.strips_all(scene), key=lambda strip: strip.type == "MOVIE"):
        if take_group_of(strip) == group:  # the editor deletes the take: effects, sound, clip
            collection.remove(strip)
    list(ticks(renders))
    assert len(renders) <= 1
    message = the_job(scene, job.job_id).message
    assert "The seam check could not run: the clip left the timeline" in message
    assert finishing.SEAMS_PENDING not in message


def test_a_job_that_left_the_file_during_the_check_is_no_longer_waited_for(veo, timeline, renders):
    """As after an undo past the insertion: the modal wait must not wait for a check that ended."""
    two_shots(timeline)
    scene = timeline.scene
    job = start_job(scene)
    pump_until_inserted(scene, job.job_id, renders)
    progress = manager.progress(job.job_id)
    assert progress is not None and progress.pending
    jobstore.remove_job(scene, job.job_id)
    list(ticks(renders))
    progress = manager.progress(job.job_id)
    assert progress is not None and not progress.pending
