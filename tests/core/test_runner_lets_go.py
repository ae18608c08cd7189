"""Once a job's request is built, its runner lets go of what it was built from: a capture's
pictures (8 MB a 1080p render) are not kept for the minutes the job then waits."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from localserver import LocalHighway
from tests.core.jobs_helpers import FAST_POLL, client_factory, make_request, new_job, wait_until
from veo_addon.core.journal import Journal
from veo_addon.core.request import GenerationRequest
from veo_addon.core.runner import JobRunner


class CapturedPictures:
    """Stands for the captured keyframes a real request is built from."""


def test_the_request_s_pictures_are_let_go_once_it_is_built(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    pictures = CapturedPictures()
    still_held = weakref.ref(pictures)

    def build(pictures: CapturedPictures = pictures) -> GenerationRequest:
        return make_request()

    runner = JobRunner(
        new_job(), client_factory(highway.base_url), journal, clips_dir, build, poll_policy=FAST_POLL
    ).start()
    del pictures, build
    wait_until(lambda: runner.job.task_id)
    gc.collect()
    assert still_held() is None
    assert runner.wait(60), runner.job.message
    assert highway.request_counts["submit"] == 1
