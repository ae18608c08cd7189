"""The placeholder's pictures fill the frame. They are written in a thread after the placeholder
is made, and Blender fits an image strip to the frame only when it is made (the file did not
exist then), so without fitting them when they arrive a 960 px picture in a 1280x720 edit showed
as a smaller picture on black, in the window's preview and in renders."""

from __future__ import annotations

from pathlib import Path

from tests.blender.test_jobs_blender import save, start_job, two_shots
from tests.blender.test_placeholder import placeholders
from tests.blender.vse_helpers import TimelineBuilder, load_png, mean_rgb
from veo_addon.blender import compat, placeholder_images
from veo_addon.blender.capture import render_frame
from veo_addon.blender.jobmanager import manager


def test_the_placeholders_pictures_fill_a_frame_larger_than_they_are(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 30  # the clip stays away while the gap is rendered
    scene = timeline.scene
    two_shots(timeline)
    scene.render.resolution_x, scene.render.resolution_y = 1280, 720  # pictures are at most 960 px
    scene.render.resolution_percentage = 100
    save(tmp_path / "edit.blend")
    start_job(scene)
    placeholder_images.wait_until_written()
    manager.pump()  # the placeholder reads its pictures now that they are on disk
    [held] = placeholders(scene)
    inner = [strip for strip in compat.strip_collection(held) if strip.type == "IMAGE"]
    assert len(inner) == 2 and all(strip.elements[0].orig_width in (0, 960) for strip in inner)

    first, last = (mean_rgb(load_png(render_frame(scene, frame))) for frame in (51, 100))

    # The whole frame is the shot's colour (a smaller picture leaves black around it).
    assert first[0] > 200 and first[2] < 70, first
    assert last[2] > 190 and last[0] < 70, last
