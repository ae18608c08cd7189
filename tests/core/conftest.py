"""Fixtures of the core tests: a journal, a clips folder, a runner driven to its end, and a plain
file host (file_host.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localserver import LocalHighway
from tests.core.file_host import serve_files  # noqa: F401  (the fixture)
from tests.core.jobs_helpers import FAST_POLL, RunJob, client_factory, make_request, new_job
from veo_addon.core.job import Job
from veo_addon.core.journal import Journal
from veo_addon.core.request import GenerationRequest
from veo_addon.core.runner import JobRunner
from veo_addon.core.runner_base import JobEvent


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "user" / "journal.json")


@pytest.fixture
def clips_dir(tmp_path: Path) -> Path:
    return tmp_path / "veo_clips"


@pytest.fixture
def run_job(highway: LocalHighway, journal: Journal, clips_dir: Path) -> RunJob:
    """Run one job to its end in a worker thread, the way the headless path does."""

    def run(
        job: Job | None = None,
        build: Callable[[], GenerationRequest] | None = make_request,
        *,
        force_new: bool = False,
        timeout: float = 60.0,
        folder: Path | None = None,
    ) -> tuple[Job, list[JobEvent]]:
        runner = JobRunner(
            job or new_job(),
            client_factory(highway.base_url),
            journal,
            folder or clips_dir,
            build_request=build,
            force_new=force_new,
            poll_policy=FAST_POLL,
        ).start()
        events: list[JobEvent] = []
        deadline = time.monotonic() + timeout
        while not runner.wait(0.05):
            events.extend(runner.drain_events())
            assert time.monotonic() < deadline, f"job still running: {runner.job.message}"
        events.extend(runner.drain_events())
        return runner.job, events

    return run
