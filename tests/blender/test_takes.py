"""Several samples: every take goes in, the one whose seams are closest plays and is listed
first; the editor can show another take, step through them, or keep one; provenance stays."""

from __future__ import annotations

import bpy
import pytest

from tests.blender.test_seams import clips, generate, two_shots
from veo_addon.blender import compat, jobstore
from veo_addon.blender.provenance import PROP_SEAM_IN, PROP_SEAM_OUT, read_provenance
from veo_addon.blender.takes import live_take, ordered_takes, take_group_of
from veo_addon.core.seams import DEFAULT_WARNING_DIFFERENCE


def take_clip(scene: bpy.types.Scene, take_index: int) -> bpy.types.Strip:
    return next(strip for strip in clips(scene) if strip["veo_take_index"] == take_index)


@pytest.fixture
def two_takes_first_drifting(veo, timeline, tmp_path):  # type: ignore[no-untyped-def]
    """Two samples; sample 0 (take 1) misses its keyframes, sample 1 (take 2) meets them."""
    two_shots(timeline)
    veo.faults.add("submit", kind="drift", sample=0, amount=1.0)
    generate(tmp_path, sample_count=2)
    return timeline.scene


def test_the_take_that_meets_its_keyframes_plays_and_is_listed_first(two_takes_first_drifting):
    scene = two_takes_first_drifting
    drifting, good = take_clip(scene, 0), take_clip(scene, 1)
    assert drifting[PROP_SEAM_IN] > 4 * DEFAULT_WARNING_DIFFERENCE
    assert good[PROP_SEAM_IN] < DEFAULT_WARNING_DIFFERENCE / 2
    assert good[PROP_SEAM_OUT] < DEFAULT_WARNING_DIFFERENCE / 2
    group = take_group_of(good)
    assert live_take(scene, group) == 1
    assert (good.mute, drifting.mute) == (False, True)
    assert ordered_takes(scene, group) == [1, 0]
    [job] = jobstore.scene_jobs(scene)
    assert [entry["take"] for entry in job.seams] == [2, 1]
    assert "Take 2 plays: its seams are the closest" in job.message
    assert "SEAM WARNING: Take 1 does not meet its keyframes" in job.message


def test_show_take_makes_the_named_take_play_and_mutes_the_other(two_takes_first_drifting):
    scene = two_takes_first_drifting
    drifting = take_clip(scene, 0)
    assert bpy.ops.veo.show_take(strip=drifting.name) == {"FINISHED"}
    assert live_take(scene, take_group_of(drifting)) == 0
    assert (take_clip(scene, 0).mute, take_clip(scene, 1).mute) == (False, True)


def test_next_and_previous_take_step_through_the_takes_and_wrap(two_takes_first_drifting):
    scene = two_takes_first_drifting
    group = take_group_of(take_clip(scene, 0))
    name = take_clip(scene, 1).name
    assert bpy.ops.veo.next_take(strip=name) == {"FINISHED"}
    assert live_take(scene, group) == 0
    assert bpy.ops.veo.next_take(strip=name) == {"FINISHED"}
    assert live_take(scene, group) == 1
    assert bpy.ops.veo.previous_take(strip=name) == {"FINISHED"}
    assert live_take(scene, group) == 0


def test_keep_take_removes_the_other_take_and_keeps_provenance(two_takes_first_drifting):
    scene = two_takes_first_drifting
    good = take_clip(scene, 1)
    good_name, before = good.name, read_provenance(good)
    assert bpy.ops.veo.keep_take(strip=good_name) == {"FINISHED"}
    [kept] = clips(scene)
    assert kept.name == good_name and kept.mute is False
    provenance = read_provenance(kept)
    assert provenance["veo_take_index"] == 1  # the sample it was
    assert provenance["veo_take_count"] == 1
    for key in ("veo_prompt", "veo_seed", "veo_task_id", "veo_cost_estimate", "veo_seam_in"):
        assert provenance[key] == before[key]
    assert provenance["veo_cost_estimate"].startswith("about USD ")
    # Nothing of take 1 is left: no muted strips above, no speed strip without its clip.
    assert all(
        strip.get("veo_take_index") == 1 for strip in compat.top_level_strips(scene) if "veo_role" in strip
    )


def test_a_strip_that_is_no_take_is_refused_in_one_sentence(veo, timeline, tmp_path):
    two_shots(timeline)
    with pytest.raises(RuntimeError, match="Strip 'Left' is not a take of a Veo clip"):
        bpy.ops.veo.show_take(strip="Left")
    with pytest.raises(RuntimeError, match="There is no strip 'Nope' on the timeline"):
        bpy.ops.veo.keep_take(strip="Nope")
    timeline.scene.sequence_editor.active_strip = None
    with pytest.raises(RuntimeError, match="No strip given and no active strip: choose a take's strip"):
        bpy.ops.veo.next_take()


def test_a_job_resumed_in_a_later_session_still_gets_its_cost_on_the_strips():
    """The session's own estimate is gone after a restart: it is worked out from the request."""
    from veo_addon.blender.finishing import list_price_estimate
    from veo_addon.core.job import Job
    from veo_addon.core.pricing import estimate_cost

    job = Job.new(parameters={"duration_seconds": 6, "sample_count": 2, "generate_audio": True})
    assert list_price_estimate(job) == estimate_cost(6, 2, True)
