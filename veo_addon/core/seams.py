"""How well a clip meets its keyframes: one number per cut, and the takes ordered by it.

A seam's difference is the mean absolute difference of two pictures reduced to a thumbnail
`THUMBNAIL_WIDTH` pixels wide, averaged over R, G and B, on the 0..255 scale of 8-bit colour:
0 means identical, 255 black against white. The two pictures are what the timeline plays on
either side of a cut (the neighbour's frame and the clip's), rendered by the Blender layer
at the same size and through the same colour management; the thumbnail keeps codec noise
and a stray pixel or two from counting, while a picture that slid, changed colour or shows
something else still does.

`DEFAULT_WARNING_DIFFERENCE` comes from measurements written down in
docs/fitting-and-takes.md ("How the seam warning's default was chosen").
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import VeoError
from .lazy_import import lazy_module

if TYPE_CHECKING:
    from PIL import Image, ImageChops, ImageStat
else:
    Image = lazy_module("PIL.Image")
    ImageChops = lazy_module("PIL.ImageChops")
    ImageStat = lazy_module("PIL.ImageStat")

THUMBNAIL_WIDTH = 64
DEFAULT_WARNING_DIFFERENCE = 8.0


class SeamImageError(VeoError):
    """A picture of a cut could not be read, so its seam is not measured."""

    code = "seam_image_unreadable"


@dataclass(frozen=True)
class SeamScores:
    """The differences at the clip's two cuts: `cut_in` (left keyframe against the clip's first
    frame) and `cut_out` (the clip's last frame against the right keyframe)."""

    cut_in: float
    cut_out: float

    @property
    def worse(self) -> float:
        return max(self.cut_in, self.cut_out)

    def meets(self, max_difference: float) -> bool:
        return self.worse <= max_difference

    def label(self) -> str:
        return f"in {self.cut_in:.1f}, out {self.cut_out:.1f}"


def thumbnail(data: bytes, width: int = THUMBNAIL_WIDTH, height: int | None = None) -> Image.Image:
    """Any picture Pillow reads (SGI, PNG, ...) as an RGB thumbnail `width` wide (keeping its
    shape unless `height` is given)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            picture = opened.convert("RGB")
    except Exception as error:  # Pillow raises several kinds for bad bytes
        raise SeamImageError(f"A picture of the cut could not be read: {error}") from error
    if height is None:
        height = max(1, round(picture.height * width / picture.width))
    # BOX averages every source pixel: a fair mean whatever the picture's size.
    return picture.resize((width, height), Image.Resampling.BOX)


def picture_difference(first: bytes, second: bytes) -> float:
    """Mean absolute difference (0..255) of two pictures as thumbnails of the first one's shape."""
    a = thumbnail(first)
    b = thumbnail(second, a.width, a.height)
    per_band = ImageStat.Stat(ImageChops.difference(a, b)).mean
    return float(sum(per_band) / len(per_band))


def seam_scores(
    left_keyframe: bytes, clip_first: bytes, clip_last: bytes, right_keyframe: bytes
) -> SeamScores:
    return SeamScores(
        cut_in=picture_difference(left_keyframe, clip_first),
        cut_out=picture_difference(clip_last, right_keyframe),
    )


def order_takes(scores: Mapping[int, SeamScores | None]) -> list[int]:
    """Take indices best first: by the worse of their two seams; takes not measured go last;
    equal takes keep their sample order."""

    def rank(index: int) -> tuple[bool, float, int]:
        score = scores[index]
        return (score is None, score.worse if score is not None else 0.0, index)

    return sorted(scores, key=rank)


def any_take_meets(scores: Mapping[int, SeamScores | None], max_difference: float) -> bool:
    return any(score is not None and score.meets(max_difference) for score in scores.values())


def seam_warning(score: SeamScores, max_difference: float, take_number: int | None = None) -> str:
    """One sentence for a take whose cut is above the warning level, else ""."""
    cuts = [
        name
        for name, value in (("in (left keyframe)", score.cut_in), ("out (right keyframe)", score.cut_out))
        if value > max_difference
    ]
    if not cuts:
        return ""
    which = f"Take {take_number}" if take_number is not None else "The clip"
    return (
        f"{which} does not meet its keyframes at the cut {' and '.join(cuts)}: seam difference "
        f"{score.label()} (warning above {max_difference:g}); look at it before using it."
    )
