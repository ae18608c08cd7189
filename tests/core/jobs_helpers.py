"""Helpers for the job and journal tests; also the targets of child processes (spawn)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from localserver import LocalHighway
from veo_addon.core.client import ClientSettings, HighwayClient, RetryPolicy
from veo_addon.core.delivery import PollPolicy
from veo_addon.core.job import Job, JobState
from veo_addon.core.journal import Journal
from veo_addon.core.ratelimit import RateLimiter
from veo_addon.core.request import GenerationRequest, ImageInput
from veo_addon.core.runner import JobRunner
from veo_addon.core.runner_base import JobEvent

# Distinctive, so a leak anywhere is easy to find.
FAKE_API_KEY = "sk-FAKE-veo-test-key-7f3a9c1e5b"
FAST_POLL = PollPolicy(min_interval=0.2, max_interval=0.5)
FAST_SETTINGS = ClientSettings(
    connect_timeout=2.0,
    read_timeout=5.0,
    retry=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.2, max_retry_after=1.5),
    submit_retry=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.2, max_retry_after=1.5),
)


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (128, 72)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_request(prompt: str = "a slow dolly from red into blue", **overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "image": ImageInput.from_bytes(png_bytes((200, 40, 40))),
        "last_image": ImageInput.from_bytes(png_bytes((40, 40, 200))),
        "prompt": prompt,
        "resolution": "720p",
        "duration_seconds": 4,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def client_factory(base_url: str, api_key: str = FAKE_API_KEY) -> Callable[[], HighwayClient]:
    # Own limiter: the test suite must not be throttled by (or throttle) the shared one.
    limiter = RateLimiter(10_000)

    def make() -> HighwayClient:
        return HighwayClient(api_key, base_url, settings=FAST_SETTINGS, rate_limiter=limiter)

    return make


def new_job(**fields: object) -> Job:
    defaults: dict[str, object] = {
        "scene_name": "Scene",
        "frame_start": 100,
        "frame_end": 196,
        "channel": 2,
        "blend_path": "/projects/edit.blend",
        "keyframe_sources": {"image": "strip A last frame", "last_image": "strip B first frame"},
    }
    defaults.update(fields)
    return Job.new(**defaults)


# run_job(job=None, build=make_request, *, force_new=False, timeout=60, folder=None) -> (job, events)
RunJob = Callable[..., tuple[Job, list[JobEvent]]]


def start_runner(highway: LocalHighway, journal: Journal, clips_dir: Path, **options: Any) -> JobRunner:
    return JobRunner(
        new_job(),
        client_factory(highway.base_url),
        journal,
        clips_dir,
        make_request,
        poll_policy=FAST_POLL,
        **options,
    ).start()


def wait_until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def assert_clean(clips_dir: Path) -> None:
    """No partial download left behind."""
    if clips_dir.exists():
        assert [p.name for p in clips_dir.iterdir() if p.name.endswith(".part")] == []


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and FAKE_API_KEY not in message


# -- child process targets -----------------------------------------------------------------------


def write_jobs_in_process(journal_path: str, prefix: str, count: int) -> None:
    journal = Journal(journal_path)
    for index in range(count):
        journal.upsert(
            Job.new(scene_name=f"{prefix}-{index}", state=JobState.QUEUED, task_id=f"{prefix}-{index}")
        )


def run_job_in_process(journal_path: str, clips_dir: str, base_url: str, job_id: str, prompt: str) -> None:
    """Start a new job and run it; the parent kills this process mid-poll."""
    journal = Journal(journal_path)
    job = Job(job_id=job_id, scene_name="Scene")
    runner = JobRunner(
        job,
        client_factory(base_url),
        journal,
        Path(clips_dir),
        build_request=lambda: make_request(prompt),
        poll_policy=FAST_POLL,
    )
    runner.run()


def run_identical_request_in_process(
    journal_path: str, clips_dir: str, base_url: str, prompt: str, report_path: str
) -> None:
    """Another Blender process asks for a request: write its job as it ended to `report_path`."""
    runner = JobRunner(
        new_job(),
        client_factory(base_url),
        Journal(journal_path),
        Path(clips_dir),
        build_request=lambda: make_request(prompt),
        poll_policy=FAST_POLL,
    )
    runner.run()
    Path(report_path).write_text(json.dumps(runner.job.to_dict()))
