"""The process-wide request limiter: a burst up to the limit, then each request waits until the
oldest leaves the window (plus a margin for the time a request takes to arrive); polls leave
room for submits; result-file downloads are not counted. A fake clock, no timed assertions."""

from pathlib import Path

from tests.core.file_host import ServeFiles
from veo_addon.core.client import HighwayClient
from veo_addon.core.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(limit: int, time: FakeTime, margin: float = 1.0) -> RateLimiter:
    return RateLimiter(limit, margin_seconds=margin, clock=time.clock, sleep=time.sleep)


def test_a_burst_up_to_the_limit_goes_at_once_then_waits_for_the_oldest_plus_the_margin():
    time = FakeTime()
    limited = limiter(5, time)
    for _ in range(5):
        limited.acquire()
    assert time.slept == []  # the whole window's allowance at once, not one every 12 s
    limited.acquire()
    assert 61.0 <= time.now < 61.6  # the oldest left the 60 s window, plus the 1 s margin


def test_each_request_waits_only_for_the_one_that_leaves_the_window():
    time = FakeTime()
    limited = limiter(3, time)
    for sent_at in (0.0, 10.0, 20.0):
        time.now = sent_at
        limited.acquire()
    time.now = 30.0
    limited.acquire()
    assert 61.0 <= time.now < 61.6  # the one sent at 0 s left
    limited.acquire()
    assert 71.0 <= time.now < 71.6  # then the one sent at 10 s


def test_the_margin_holds_a_request_that_would_arrive_inside_the_services_window():
    # Sent at 0 s and slow to arrive, the first request may be counted by the service at 0.5 s:
    # a request sent exactly 60 s after the first could be the 3rd in the service's window.
    time = FakeTime()
    limited = limiter(2, time)
    limited.acquire()
    limited.acquire()
    time.now = 60.0
    limited.acquire()
    assert time.now >= 61.0


def test_polls_leave_room_for_submits():
    time = FakeTime()
    limited = limiter(5, time)
    for _ in range(3):
        limited.acquire(leave_free=2)
    assert time.slept == []
    limited.acquire()  # a submit still goes at once
    limited.acquire()
    assert time.slept == []
    limited.acquire(leave_free=2)  # a 4th poll waits for the window
    assert time.now >= 61.0


def test_polls_are_never_held_for_ever_by_a_small_limit():
    time = FakeTime()
    limited = limiter(1, time)
    limited.acquire(leave_free=2)
    assert time.slept == []


def test_downloading_result_files_uses_none_of_the_request_limit(serve_files: ServeFiles, tmp_path: Path):
    file_server = serve_files({"clip.bin": b"x" * 1000})

    def never_wait(seconds: float) -> None:
        raise AssertionError("a download waited for the request limit")

    one_a_minute = RateLimiter(1, sleep=never_wait)
    with HighwayClient("key", file_server, rate_limiter=one_a_minute) as client:
        for index in range(3):
            client.download(f"{file_server}/clip.bin", tmp_path / f"out{index}.bin", expect_mp4=False)
    assert (tmp_path / "out2.bin").read_bytes() == b"x" * 1000
    one_a_minute.acquire()  # the submit or poll that comes next still has its slot
