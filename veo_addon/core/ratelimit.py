"""A rate limiter shared by every request of every job in the process.

The service allows about 50 requests a minute per model (submits and task results; result
files come from a storage host and are not counted); several jobs polling at once must stay
under that together, so there is one limiter per process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

DEFAULT_REQUESTS_PER_MINUTE = 50
# The service counts a request when it arrives, the limiter when it is sent: one sent quickly
# after a slow one could arrive less than a window after it. A slot comes free this much later.
DEFAULT_MARGIN_SECONDS = 1.0
# Polls leave this many slots of the window to submits: a poll that waits costs a moment of
# latency, a submit that waits delays a whole generation.
POLL_HEADROOM = 2


class RateLimiter:
    """Sliding window: at most `requests_per_minute` acquisitions in any 60 s (plus the margin).

    Up to the limit at once, then each waits until the oldest request leaves the window."""

    def __init__(
        self,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        *,
        window_seconds: float = 60.0,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._stamps: deque[float] = deque()
        self._window = window_seconds + margin_seconds
        self._clock = clock
        self._sleep = sleep
        self.requests_per_minute = requests_per_minute

    @property
    def requests_per_minute(self) -> int:
        return self._limit

    @requests_per_minute.setter
    def requests_per_minute(self, value: int) -> None:
        if value < 1:
            raise ValueError("requests_per_minute must be at least 1")
        with self._lock:
            self._limit = int(value)

    def acquire(self, cancelled: Callable[[], bool] | None = None, *, leave_free: int = 0) -> None:
        """Block until a request may be sent. Waits in short slices so a cancel is seen.

        `leave_free` slots stay for other requests (never more than the limit allows: at least
        one request per window always gets through)."""
        while True:
            with self._lock:
                now = self._clock()
                while self._stamps and now - self._stamps[0] >= self._window:
                    self._stamps.popleft()
                allowed = max(self._limit - leave_free, 1)
                if len(self._stamps) < allowed:
                    self._stamps.append(now)
                    return
                # The slot this caller may use comes free when the stamp that blocks it leaves.
                blocking = self._stamps[len(self._stamps) - allowed]
                wait = self._window - (now - blocking)
            if cancelled is not None and cancelled():
                return
            self._sleep(min(max(wait, 0.01), 0.5))


_shared: RateLimiter | None = None
_shared_lock = threading.Lock()


def shared_rate_limiter() -> RateLimiter:
    """The process-wide limiter (created on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RateLimiter()
        return _shared


def configure(requests_per_minute: int) -> RateLimiter:
    """Set the process-wide limit (the user's preference); returns the shared limiter.

    The one place that changes it: a client made with `ClientSettings.requests_per_minute`
    calls this, so the limit follows the settings a job runs with and nothing else."""
    limiter = shared_rate_limiter()
    limiter.requests_per_minute = requests_per_minute
    return limiter
