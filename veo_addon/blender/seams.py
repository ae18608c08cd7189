"""The seam check: after a clip is inserted, how closely each take meets the pictures around it.

Each cut is measured as it plays: the sequencer renders the frame before the clip, the take's
first and last frames (that take made the live one for the moment, so its speed strip and
anything on the channels above count), and the frame after it, all at the same small size and
through the scene's colour management; `core.seams` turns those into one number per cut.
The renders are thumbnails (`RENDER_WIDTH` pixels wide), and the job manager makes one per tick
after the clip is in (`SeamMeasurement`), so no tick holds the main thread for the whole check;
every setting and mute a render changes is put back before it returns. The scores go on the take's clip strip
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
from .insert import InsertedTransition
from .provenance import PROP_SEAM_IN, PROP_SEAM_OUT, PROP_TAKE_GROUP, PROP_TAKE_RANK
from .settings_guard import SettingsGuard

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


def render_thumbnail(scene: Scene, frame: int) -> bytes:
    """The sequencer's output at `frame`, thumbnail-sized, as SGI bytes. Every setting it changes
    (frame, size, output format and path) is put back before it returns."""
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
            # No extension: Blender adds the format's own.
            guard.set_attribute(render, "filepath", str(Path(folder) / "seam"))
            scene.frame_set(frame)
            bpy.ops.render.render(write_still=True, scene=scene.name)
            written = sorted(Path(folder).glob("seam.*"))
            if not written:
                raise SeamImageError(f"Rendering frame {frame} for the seam check wrote no image")
            return written[0].read_bytes()
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


class SeamMeasurement:
    """The seam check one thumbnail render at a time: each `step()` is one render, so the job
    manager can spread the check over its ticks and the clip plays meanwhile. Between steps the
    timeline is as the user left it (a take's mutes are set for its own render only)."""

    def __init__(self, scene: Scene, inserted: InsertedTransition) -> None:
        self.inserted = inserted
        before, after = inserted.start - 1, inserted.end
        self._images: dict[tuple[str, int], bytes] = {}
        self._renders: list[tuple[str, int, int]] = []  # (what, take index or -1, frame)
        self.not_measured = ""
        group = inserted.group
        if not (_plays_next_to(scene, before, group) and _plays_next_to(scene, after, group)):
            self.not_measured = "nothing plays right before or after the clip, so its seams were not measured"
            return
        self._renders = [("before", -1, before), ("after", -1, after)]
        for take in inserted.takes:
            self._renders += [("in", take.index, inserted.start), ("out", take.index, inserted.end - 1)]

    @property
    def done(self) -> bool:
        return len(self._images) == len(self._renders)

    @property
    def renders_left(self) -> int:
        return len(self._renders) - len(self._images)

    def still_on_timeline(self, scene: Scene) -> bool:
        """Whether every strip of the takes is still there (not deleted or undone meanwhile)."""
        collection = compat.strip_collection(scene.sequence_editor) if scene.sequence_editor else None
        if collection is None:
            return False
        for take in self.inserted.takes:
            for name in filter(None, (take.clip_name, take.speed_name, take.sound_name)):
                strip = collection.get(name)
                if strip is None or strip.get(PROP_TAKE_GROUP) != self.inserted.group:
                    return False
        return True

    def step(self, scene: Scene) -> None:
        """Render the next thumbnail."""
        what, take_index, frame = self._renders[len(self._images)]
        with _only_take_playing(scene, self.inserted, take_index):
            self._images[(what, take_index)] = render_thumbnail(scene, frame)

    def result(self) -> SeamCheck:
        indices = [take.index for take in self.inserted.takes]
        if self.not_measured:
            return SeamCheck({index: None for index in indices}, indices, (), self.not_measured)
        left, right = self._images[("before", -1)], self._images[("after", -1)]
        scores: dict[int, SeamScores | None] = {
            index: seam_scores(left, self._images[("in", index)], self._images[("out", index)], right)
            for index in indices
        }
        return SeamCheck(scores, order_takes(scores), ())


@contextmanager
def _only_take_playing(scene: Scene, inserted: InsertedTransition, take_index: int) -> Iterator[None]:
    """Take `take_index` plays, the others are muted, inside the block (-1: mutes left alone)."""
    if take_index < 0:
        yield
        return
    collection = compat.strip_collection(scene.sequence_editor)
    strips = {
        take.index: [collection[name] for name in (take.clip_name, take.speed_name, take.sound_name) if name]
        for take in inserted.takes
    }
    mutes = {strip.name: strip.mute for take_strips in strips.values() for strip in take_strips}
    try:
        for index, take_strips in strips.items():
            for strip in take_strips:
                strip.mute = index != take_index
        yield
    finally:
        for name, mute in mutes.items():
            collection[name].mute = mute


def measure(scene: Scene, inserted: InsertedTransition) -> SeamCheck:
    """Render and score every take's two cuts at once; the timeline is left as it was."""
    measurement = SeamMeasurement(scene, inserted)
    while not measurement.done:
        measurement.step(scene)
    return measurement.result()


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
