"""Seam scores from pictures (no Blender): 0 for the same picture, large for another one, the same
whatever the pictures' size or format; takes ordered by their worse seam; the warning sentence."""

from __future__ import annotations

import io
import sys

import pytest
from PIL import Image, ImageDraw

from veo_addon.core.job import Job
from veo_addon.core.seams import (
    SeamImageError,
    SeamScores,
    any_take_meets,
    order_takes,
    picture_difference,
    seam_scores,
    seam_warning,
)


def picture(
    size: tuple[int, int] = (320, 180), colour: tuple[int, int, int] = (200, 40, 40), fmt: str = "PNG"
) -> bytes:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=(20, 220, 60))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_the_same_picture_scores_0_at_any_size_and_in_any_format():
    assert picture_difference(picture(), picture()) == 0.0
    # The renders come as SGI; a different size of the same picture is the same picture.
    assert picture_difference(picture(fmt="SGI"), picture((1280, 720))) < 1.0


def test_another_picture_scores_its_mean_colour_difference_on_0_to_255():
    black = picture(colour=(0, 0, 0))
    white_image = io.BytesIO()
    Image.new("RGB", (320, 180), (255, 255, 255)).save(white_image, "PNG")
    plain_black = io.BytesIO()
    Image.new("RGB", (320, 180), (0, 0, 0)).save(plain_black, "PNG")
    assert picture_difference(plain_black.getvalue(), white_image.getvalue()) == pytest.approx(255.0)
    assert 0 < picture_difference(black, picture()) < 255


def test_seam_scores_pair_each_keyframe_with_the_clip_end_beside_it():
    red, blue = picture(colour=(200, 40, 40)), picture(colour=(40, 40, 200))
    assert seam_scores(red, red, blue, blue) == SeamScores(0.0, 0.0)
    swapped = seam_scores(red, blue, red, blue)
    assert swapped.cut_in > 50 and swapped.cut_out > 50


def test_takes_are_ordered_by_their_worse_seam_and_unmeasured_ones_go_last():
    scores = {0: SeamScores(1.0, 40.0), 1: None, 2: SeamScores(5.0, 6.0), 3: SeamScores(6.0, 5.0)}
    assert order_takes(scores) == [2, 3, 0, 1]
    assert any_take_meets(scores, 6.0) and not any_take_meets(scores, 4.0)


def test_the_warning_names_the_take_and_the_cut_above_the_level():
    assert seam_warning(SeamScores(3.0, 4.0), 8.0) == ""
    warning = seam_warning(SeamScores(3.0, 20.5), 8.0, take_number=2)
    assert warning.startswith("Take 2 does not meet its keyframes at the cut out (right keyframe): ")
    assert "in 3.0, out 20.5 (warning above 8)" in warning


def test_a_picture_that_is_no_picture_is_one_sentence():
    with pytest.raises(SeamImageError, match=r"^A picture of the cut could not be read: "):
        picture_difference(b"not an image", picture())


def test_jobs_written_before_seams_read_with_none_and_keep_them_once_set():
    old = Job.new().to_dict()
    del old["seams"]
    assert Job.from_dict(old).seams == []
    measured = Job.new(seams=[{"take": 1, "in": 1.5, "out": 2.0}])
    assert Job.from_dict(measured.to_dict()).seams == [{"take": 1, "in": 1.5, "out": 2.0}]
    assert Job.from_dict({**old, "seams": "garbage"}).seams == []


def test_pillow_is_imported_on_first_use_only():
    import subprocess

    code = "import sys, veo_addon.core.seams; print('PIL' in sys.modules)"
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert finished.stdout.strip() == "False"
