"""The "drift" fault: the server delivers a clip whose ends miss the keyframes (for the seam
check's tests), for every sample or only the one named."""

from __future__ import annotations

import numpy as np
import pytest

from localserver import LocalHighway
from localserver.faults import FaultSpecError, parse_fault_spec
from tests.server.highway_helpers import (
    FIRST_COLOUR,
    LAST_COLOUR,
    decoded_frames,
    download,
    generate,
    mean_colour,
)
from tests.server.test_localserver_media import assert_colour_close


def ends(server: LocalHighway, **overrides: object) -> list[tuple[np.ndarray, np.ndarray]]:
    payload = generate(server, **overrides)
    clips = [decoded_frames(download(video["video_url"])) for video in payload["videos"]]
    return [(frames[0], frames[-1]) for frames in clips]


def test_a_full_drift_swaps_the_clip_s_ends(highway: LocalHighway) -> None:
    fault = highway.faults.add("submit", kind="drift")
    [(first, last)] = ends(highway)
    assert fault.hits == 1
    assert_colour_close(first, LAST_COLOUR)
    assert_colour_close(last, FIRST_COLOUR)


def test_only_the_named_sample_drifts_and_partly(highway: LocalHighway) -> None:
    highway.faults.add("submit", kind="drift", sample=0, amount=0.5)
    (drifted_first, _), (clean_first, clean_last) = ends(highway, sample_count=2)
    halfway = (np.array(FIRST_COLOUR) + np.array(LAST_COLOUR)) / 2
    assert np.abs(mean_colour(drifted_first) - halfway).max() <= 6
    assert_colour_close(clean_first, FIRST_COLOUR)
    assert_colour_close(clean_last, LAST_COLOUR)


def test_the_drift_fault_has_a_spec_form_and_only_applies_to_submit() -> None:
    [fault] = parse_fault_spec("submit=drift:sample=1:amount=0.25")
    assert (fault.kind, fault.param("sample"), fault.param("amount")) == ("drift", 1, 0.25)
    with pytest.raises(FaultSpecError, match="does not apply to 'download'"):
        parse_fault_spec("download=drift")
