"""One simulated generation task: its status over time, its clips, and the faults that change its fate."""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .faults import Fault
from .validation import SubmitParams

QUEUED = "TASK_STATUS_QUEUED"
PROCESSING = "TASK_STATUS_PROCESSING"
SUCCEED = "TASK_STATUS_SUCCEED"
FAILED = "TASK_STATUS_FAILED"

DEFAULT_SAFETY_REASON = (
    "The video could not be generated because the input images or prompt may violate "
    "the usage guidelines. Support codes: 58061214"
)


@dataclass
class Task:
    """One generation. Its status is worked out from the clock, so polling never changes it."""

    task_id: str
    params: SubmitParams
    body: dict[str, Any]
    created_at: float  # time.monotonic()
    submit_time_ms: int  # wall clock, for extra.debug_info
    gen_seconds: float
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    # Fate decided by task faults: "succeed", "safety", "unknown_status".
    fate: str = "succeed"
    fate_detail: str = ""
    keep_videos: int | None = None  # "filtered": how many of sample_count come back
    videos: list[bytes] = field(default_factory=list)
    audios: list[bytes] = field(default_factory=list)
    encode_error: str | None = None
    encoded_at: float | None = None  # time.monotonic() when every clip exists
    force_expired: bool = False
    gone: bool = False  # "gone": the service has forgotten the task (result and files 404)
    # "drift": sample index (or -1 for every sample) -> how far its ends miss the keyframes.
    drift: dict[int, float] = field(default_factory=dict)
    encoded: threading.Event = field(default_factory=threading.Event)

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def queue_seconds(self) -> float:
        # QUEUED briefly before PROCESSING, as the real service does.
        return min(1.0, self.gen_seconds * 0.1)

    @property
    def video_count(self) -> int:
        count = self.params.sample_count
        return count if self.keep_videos is None else max(0, min(count, self.keep_videos))

    def completed_at(self) -> float | None:
        """Monotonic time the task reached its end state, or None while it is still running."""
        if self.encoded_at is None and self.fate == "succeed":
            return None
        finished = self.created_at + self.gen_seconds
        return finished if self.encoded_at is None else max(finished, self.encoded_at)

    def status_at(self, now: float) -> tuple[str, int, int, str]:
        """(status, progress_percent, eta_seconds, reason) at monotonic time `now`."""
        elapsed = now - self.created_at
        if elapsed < self.queue_seconds:
            return QUEUED, 0, math.ceil(self.gen_seconds), ""
        completed = self.completed_at()
        if completed is None or now < completed:
            span = max(self.gen_seconds - self.queue_seconds, 1e-6)
            progress = min(99, max(0, int(99 * (elapsed - self.queue_seconds) / span)))
            eta = max(1, math.ceil(self.gen_seconds - elapsed))
            return PROCESSING, progress, eta, ""
        if self.fate == "safety":
            return FAILED, 100, 0, self.fate_detail
        if self.fate == "unknown_status":
            return self.fate_detail, 100, 0, ""
        if self.encode_error is not None:
            return FAILED, 100, 0, f"internal error while generating: {self.encode_error}"
        return SUCCEED, 100, 0, ""

    @property
    def status(self) -> str:
        return self.status_at(time.monotonic())[0]

    def expired_at(self, now: float, ttl_seconds: float) -> bool:
        completed = self.completed_at()
        return self.force_expired or (completed is not None and now >= completed + ttl_seconds)

    def apply_fault(self, fault: Fault) -> None:
        """Let a task fault (faults.TASK_KINDS) decide how this task ends; other kinds change nothing."""
        if fault.kind == "safety":
            self.fate = "safety"
            self.fate_detail = fault.param("reason") or DEFAULT_SAFETY_REASON
        elif fault.kind == "unknown_status":
            self.fate = "unknown_status"
            self.fate_detail = str(fault.param("status"))
        elif fault.kind == "gone":
            self.gone = True
        elif fault.kind == "drift":
            sample = fault.param("sample")
            self.drift[-1 if sample is None else int(sample)] = float(fault.param("amount"))
        elif fault.kind == "filtered":
            keep = fault.param("keep")
            self.keep_videos = max(0, self.params.sample_count - 1) if keep is None else int(keep)

    def drift_of(self, sample_index: int) -> float:
        """How far this sample's ends miss the keyframes (0: they are the keyframes)."""
        return self.drift.get(sample_index, self.drift.get(-1, 0.0))
