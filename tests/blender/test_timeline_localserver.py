"""End to end through the local Highway server: capture, prepare, submit, download, insert."""

from __future__ import annotations

import bpy
import pytest
from PIL import Image

from tests.blender.vse_helpers import BLUE, GREEN, RED, YELLOW, load_png, mean_difference, set_frame_rate
from veo_addon.blender import capture, compat
from veo_addon.blender.gaps import find_transition
from veo_addon.blender.insert import insert_clip
from veo_addon.blender.provenance import ClipProvenance, read_provenance
from veo_addon.blender.takes import set_live_take
from veo_addon.core.client import HighwayClient
from veo_addon.core.images import prepare_keyframe
from veo_addon.core.request import GenerationRequest, ImageInput

IS_5 = bpy.app.version >= (5, 0, 0)


def framed(outer: tuple[int, int, int], inner: tuple[int, int, int]) -> Image.Image:
    """A picture with a centred panel: a clip that is not scaled to the output shows only the panel."""
    image = Image.new("RGB", (320, 180), outer)
    image.paste(Image.new("RGB", (160, 90), inner), (80, 45))
    return image


def test_clip_from_the_local_server_fills_the_gap(scene, timeline, highway, tmp_path):
    set_frame_rate(scene, "25")
    left = timeline.image("left", 1, 1, 50, framed(RED, YELLOW))
    right = timeline.image("right", 1, 151, 30, framed(BLUE, GREEN))
    transition = find_transition(scene, left, right)
    assert transition.gap.auto_duration_seconds("720p") == 4
    first, last = capture.capture_transition_keyframes(scene, transition)
    aspect = capture.resolve_aspect_ratio(scene, "auto")
    request = GenerationRequest(
        image=ImageInput.from_bytes(prepare_keyframe(first.data, aspect, "720p").data),
        last_image=ImageInput.from_bytes(
            prepare_keyframe(last.data, aspect, "720p").data, field_name="last_image"
        ),
        prompt="the red room turns blue",
        seed=7,
        aspect_ratio=aspect.value,
        duration_seconds=4,
        sample_count=2,
        generate_audio=True,
    )
    with HighwayClient("test-key", base_url=highway.base_url) as client:
        task_id = client.submit(request)
        highway.wait_for_task(task_id)
        result = client.task_result(task_id)
        clips = [
            client.download(video.url, tmp_path / f"sample{index}.mp4")
            for index, video in enumerate(result.videos)
        ]
    assert len(clips) == 2

    provenance = ClipProvenance(
        task_id=task_id,
        prompt=request.prompt,
        seed=result.seed,
        request_params={"duration_seconds": 4, "sample_count": 2, "generate_audio": True, "seed": 7},
        first_keyframe_source=first.description,
        last_keyframe_source=last.description,
    )
    inserted = insert_clip(scene, transition, clips, provenance)
    assert (inserted.start, inserted.end) == (51, 151)
    # Channel 1: clip; 2: its speed effect (24 fps into 25); 3: its sound (none on the 4.2 wheel).
    assert [take.clip_channel for take in inserted.takes] == [1, 4 if IS_5 else 3]
    assert (inserted.live.sound_name is not None) == IS_5
    movie = timeline.strips[inserted.live.clip_name]
    assert (compat.visible_start(movie), compat.visible_end(movie)) == (51, 151)
    assert read_provenance(movie)["veo_task_id"] == task_id

    # The 1280x720 clip is scaled to the 320x180 output: its ends look like the keyframes.
    tolerance = 8.0
    assert mean_difference(load_png(capture.render_frame(scene, 51)), load_png(first.data)) <= tolerance
    assert mean_difference(load_png(capture.render_frame(scene, 150)), load_png(last.data)) <= tolerance
    set_live_take(scene, inserted.group, 1)
    assert mean_difference(load_png(capture.render_frame(scene, 150)), load_png(last.data)) <= tolerance


@pytest.fixture
def highway(highway):
    # The root fixture, with generation made quick.
    highway.gen_seconds = 0.1
    return highway
