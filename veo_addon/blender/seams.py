"""The seam check: after a clip is inserted, how closely each take meets the pictures around it.

Each cut is measured as it plays: the sequencer renders the frame before the clip, the take's
first and last frames (that take made the live one for the moment, so its speed strip and
anything on the channels above count), and the frame after it, all at the same small size and
through the scene's colour management; `core.seams` turns those into one number per cut.
The renders are thumbnails (`RENDER_WIDTH` pixels wide), so the check costs the main thread
little; every setting and mute it changes is put back. The scores go on the take's clip strip
(`PROP_SEAM_IN`, `PROP_SEAM_OUT`) and into the job (`Job.seams`); the best take is made the
live one (`takes.order_takes`).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from ..core.seams import SeamImageError, SeamScores, order_takes, seam_scores, seam_warning
from . import compat
from .capture import RENDER_FILE_FORMAT
from .capture import _SettingsGuard as SettingsGuard  # the one way render settings are put back
from .insert import InsertedTransition
from .provenance import PROP_SEAM_IN, PROP_SEAM_OUT, PROP_TAKE_GROUP, PROP_TAKE_RANK

if TYPE_CHECKING:
    from bpy.types import Scene

RENDER_WIDTH = 128  # pixels; core.seams reduces to 64 more, so this is only what Blender renders


@dataclass(frozen=True)
class SeamCheck:
    scores: dict[int, SeamScores | None]  # take index -> scores (None: not measured)
    ranking: list[int]  # take indices, best first
    warnings: tuple[str, ...]
    not_measured: str = ""  # why nothing was measured, if so

    @property
    def best(self) -> int:
        return self.ranking[0]


def render_percentage(scene: Scene) -> int:
    return max(1, min(100, math.ceil(100 * RENDER_WIDTH / max(1, scene.render.resolution_x))))


@contextmanager
def _thumbnail_renderer(scene: Scene) -> Iterator[Any]:
    """A function frame -> SGI bytes of the sequencer's output there, at thumbnail size."""
    guard = SettingsGuard()
    render = scene.render
    saved_frame, saved_subframe = scene.frame_current, scene.frame_subframe
    guard.on_restore(lambda: scene.frame_set(saved_frame, subframe=saved_subframe))
    saved_output = compat.image_output_state(render.image_settings)
    guard.on_restore(lambda: compat.restore_image_output(render.image_settings, saved_output))
    with tempfile.TemporaryDirectory(prefix="veo_seams_") as folder:
        try:
            guard.set_attribute(render, "resolution_percentage", render_percentage(scene))
            guard.set_attribute(render, "use_sequencer", True)
            guard.set_attribute(render, "use_stamp", False)
            compat.set_image_output(render.image_settings, RENDER_FILE_FORMAT)
            guard.set_attribute(render, "filepath", str(Path(folder) / "seam_"))
            count = 0

            def render_at(frame: int) -> bytes:
                nonlocal count
                count += 1
                # No extension: Blender adds the format's own.
                render.filepath = str(Path(folder) / f"seam_{count}")
                scene.frame_set(frame)
                bpy.ops.render.render(write_still=True, scene=scene.name)
                written = sorted(Path(folder).glob(f"seam_{count}.*"))
                if not written:
                    raise SeamImageError(f"Rendering frame {frame} for the seam check wrote no image")
                return written[0].read_bytes()

            yield render_at
        finally:
            guard.restore()


def _plays_next_to(scene: Scene, frame: int, own_group: str) -> bool:
    """Whether a picture of someone else's plays at `frame` (what the seam is measured against)."""
    for strip in compat.top_level_strips(scene):
        if strip.mute or strip.type == "SOUND" or strip.get(PROP_TAKE_GROUP) == own_group:
            continue
        if compat.visible_start(strip) <= frame < compat.visible_end(strip):
            return True
    return False


def measure(scene: Scene, inserted: InsertedTransition) -> SeamCheck:
    """Render and score every take's two cuts; the timeline is left as it was (mutes included)."""
    editor = scene.sequence_editor
    collection = compat.strip_collection(editor)
    before, after = inserted.start - 1, inserted.end
    take_indices = [take.index for take in inserted.takes]
    if not (_plays_next_to(scene, before, inserted.group) and _plays_next_to(scene, after, inserted.group)):
        reason = "nothing plays right before or after the clip, so its seams were not measured"
        return SeamCheck({index: None for index in take_indices}, take_indices, (), reason)
    take_strips = {
        take.index: [collection[name] for name in (take.clip_name, take.speed_name, take.sound_name) if name]
        for take in inserted.takes
    }
    mutes = {strip.name: strip.mute for strips in take_strips.values() for strip in strips}
    scores: dict[int, SeamScores | None] = {}
    try:
        with _thumbnail_renderer(scene) as render_at:
            left, right = render_at(before), render_at(after)
            for index in take_strips:
                for other, other_strips in take_strips.items():
                    for strip in other_strips:
                        strip.mute = other != index
                scores[index] = seam_scores(
                    left, render_at(inserted.start), render_at(inserted.end - 1), right
                )
    finally:
        for name, mute in mutes.items():
            collection[name].mute = mute
    ranking = order_takes(scores)
    return SeamCheck(scores, ranking, ())


def record(scene: Scene, inserted: InsertedTransition, check: SeamCheck, warn_above: float) -> SeamCheck:
    """Put the scores and ranks on the clip strips; the warnings for takes above `warn_above`."""
    collection = compat.strip_collection(scene.sequence_editor)
    warnings = []
    numbered = len(inserted.takes) > 1
    for take in inserted.takes:
        clip = collection[take.clip_name]
        clip[PROP_TAKE_RANK] = check.ranking.index(take.index)
        score = check.scores.get(take.index)
        if score is None:
            continue
        clip[PROP_SEAM_IN] = round(score.cut_in, 2)
        clip[PROP_SEAM_OUT] = round(score.cut_out, 2)
    for index in check.ranking:
        score = check.scores.get(index)
        if score is not None:
            warning = seam_warning(score, warn_above, index + 1 if numbered else None)
            if warning:
                warnings.append(warning)
    return SeamCheck(check.scores, check.ranking, tuple(warnings), check.not_measured)


def stored_scores(strip: Any) -> SeamScores | None:
    """The scores a clip strip carries, if it was measured."""
    if PROP_SEAM_IN not in strip or PROP_SEAM_OUT not in strip:
        return None
    return SeamScores(float(strip[PROP_SEAM_IN]), float(strip[PROP_SEAM_OUT]))
