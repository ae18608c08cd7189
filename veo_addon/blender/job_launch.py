"""A job's worker: its HTTP client and runner, made on the main thread.

Imported by the job manager at the first job, not at enable: the runner, the client and
what only they use (submission, delivery, httpx's and Pillow's own modules) stay unloaded
until something is sent or resumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from ..core.client import HighwayClient, RetryPolicy
from ..core.delivery import PollPolicy
from ..core.job import Job
from ..core.journal import Journal
from ..core.request import GenerationRequest
from ..core.runner import JobRunner
from ..core.worker_imports import import_worker_modules
from .preferences import ServiceSettings


def new_runner(
    job: Job,
    settings: ServiceSettings,
    journal: Journal,
    clips_dir: Path,
    build_request: Callable[[], GenerationRequest] | None,
    *,
    force_new: bool,
    poll_policy: PollPolicy | None,
    retry_policy: RetryPolicy | None,
) -> JobRunner:
    """A runner for the job, not started yet; `None` policies: the service's own guidance."""
    client_settings = settings.client_settings
    if retry_policy is not None:
        client_settings = dataclasses.replace(client_settings, retry=retry_policy, submit_retry=retry_policy)

    # Before any worker runs: a worker importing while the main thread renders can crash Blender.
    import_worker_modules()

    def client_factory() -> HighwayClient:
        return HighwayClient(settings.api_key, settings.base_url, settings=client_settings)

    return JobRunner(
        job,
        client_factory,
        journal,
        clips_dir,
        build_request,
        force_new=force_new,
        poll_policy=poll_policy,
    )
