"""Polls spend the service's per-minute allowance, which every job of the process shares: a task
accepted a moment ago is not asked about at once."""

from pathlib import Path

import pytest
from PIL import Image

import localserver.service
from localserver import LocalHighway
from localserver.video import OUTPUT_SIZES, ClipSpec, encode_clip
from tests.core.jobs_helpers import client_factory, make_request, new_job
from veo_addon.core.delivery import PollPolicy
from veo_addon.core.job import Job, JobState
from veo_addon.core.journal import Journal
from veo_addon.core.runner import JobRunner

# The local server's task takes 0.5 s (the `highway` fixture); the first poll comes a full
# interval after the submit, when the task is done.
ONE_SECOND_POLLS = PollPolicy(min_interval=1.0, max_interval=1.0)


@pytest.fixture
def ready_made_clips(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local server's tasks get a clip encoded beforehand. Encoding one (720p, 4 s) takes
    0.7 s on an idle machine and 2-3 s under load: the task was then rightly still running at the
    first poll, a second poll followed, and the test failed for the server's sake, not the client's.
    Ready-made, the task is done at its 0.5 s, half a second before the poll can come."""
    request = make_request()
    width, height = OUTPUT_SIZES[(request.resolution, request.aspect_ratio)]
    spec = ClipSpec(width, height, request.duration_seconds, seed=0, with_audio=request.generate_audio)
    first, last = (Image.new("RGB", (16, 9), colour) for colour in ("red", "blue"))
    clip = encode_clip(first, last, spec)
    monkeypatch.setattr(localserver.service, "encode_clip", lambda *args, **kwargs: clip)


def run_to_end(highway: LocalHighway, journal: Journal, clips_dir: Path, job: Job, **options: object) -> Job:
    runner = JobRunner(
        job, client_factory(highway.base_url), journal, clips_dir, poll_policy=ONE_SECOND_POLLS, **options
    ).start()
    assert runner.wait(60), runner.job.message
    return runner.job


def test_a_fresh_task_is_not_polled_before_it_could_be_done(
    ready_made_clips: None, highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    job = run_to_end(highway, journal, clips_dir, new_job(), build_request=make_request)
    assert job.state is JobState.DOWNLOADED
    assert highway.request_counts["submit"] == 1
    assert highway.request_counts["result"] == 1  # not one at once (still processing) and one later
