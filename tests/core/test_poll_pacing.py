"""When a task is polled: the poll after the end comes shortly after it (the eta says when), the
service's allowance is not spent faster than before, and without an eta the backoff is as it was.

A simulated service answers like the real one and the local server: status plus the remaining
time rounded up to whole seconds. No real clock: the waits are what the pacer returns."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest

from veo_addon.core.delivery import PollPolicy
from veo_addon.core.polling import PollPacer

ANSWER_TRAVEL = 0.01  # seconds between the service computing its eta and the answer arriving
FIRST_POLL = PollPolicy().min_interval  # the runner's first poll comes one interval after the submit

Waits = Callable[[float, int | None, int, float], float]


def follow(task_seconds: float, wait_after: Waits, with_eta: bool = True) -> tuple[int, float]:
    """(polls, lateness): how many polls until the one that saw the task done, and how long
    after the task's end that poll was answered."""
    now, polls = FIRST_POLL, 0
    while True:
        polls += 1
        answered = now + ANSWER_TRAVEL
        if now >= task_seconds:
            return polls, answered - task_seconds
        eta = max(1, math.ceil(task_seconds - now)) if with_eta else None
        now = answered + wait_after(answered, eta, 0 if with_eta else polls - 1, now)


def old_pace(answered_at: float, eta: int | None, polls_without_news: int, asked_at: float) -> float:
    """The pace before landings: half the eta, never under min_interval (kept as the far rule)."""
    return PollPolicy().next_interval(eta, polls_without_news)


TASK_LENGTHS = [3.0, 4.6, 5.0, 7.3, 9.9, 12.0, 31.7, 60.0, 61.4, 90.0]


def test_a_task_whose_eta_says_one_second_left_is_polled_again_within_one_and_a_half_seconds() -> None:
    wait = PollPolicy().pacer().wait_after(100.0, 1, 0, 100.0)
    assert 1.0 <= wait <= 1.5  # just after the promised end, not the 2 s floor


@pytest.mark.parametrize("task_seconds", TASK_LENGTHS)
def test_the_poll_that_sees_the_end_comes_shortly_after_it(task_seconds: float) -> None:
    _, lateness = follow(task_seconds, PollPolicy().pacer().wait_after)
    # The eta is rounded up to whole seconds; the polls on the way narrow that second down.
    assert lateness <= 0.75


def test_landing_on_the_end_is_on_average_much_sooner_than_before() -> None:
    new = [follow(seconds, PollPolicy().pacer().wait_after)[1] for seconds in TASK_LENGTHS]
    old = [follow(seconds, old_pace)[1] for seconds in TASK_LENGTHS]
    assert sum(new) / len(new) < 0.4
    assert sum(new) < 0.5 * sum(old)


def test_over_many_task_lengths_polls_are_fewer_and_never_more_for_any_task() -> None:
    lengths = [3.0 + 0.37 * step for step in range(236)]  # 3 s to 90 s, every phase of a second
    new = [follow(seconds, PollPolicy().pacer().wait_after)[0] for seconds in lengths]
    old = [follow(seconds, old_pace)[0] for seconds in lengths]
    assert sum(new) < 0.95 * sum(old)
    assert all(a <= b for a, b in zip(new, old, strict=True))


def test_a_sixty_second_generation_spends_fewer_polls_than_before() -> None:
    assert follow(60.0, PollPolicy().pacer().wait_after)[0] < follow(60.0, old_pace)[0]


def test_without_an_eta_the_backoff_is_unchanged() -> None:
    pacer = PollPolicy().pacer()
    waits = [pacer.wait_after(10.0 * n, None, n) for n in range(6)]
    assert waits == [PollPolicy().next_interval(None, n) for n in range(6)]
    assert waits[:4] == [2.0, 3.0, 4.5, 6.75]
    for seconds in (5.0, 60.0):
        assert follow(seconds, pacer.wait_after, with_eta=False) == follow(seconds, old_pace, with_eta=False)


def test_a_task_that_outlives_its_eta_gets_a_few_short_repolls_then_the_normal_pace() -> None:
    policy = PollPolicy()
    pacer = PollPacer(policy)
    now = 100.0
    polled = []
    for _ in range(9):  # the service keeps saying "1 s left" (as while it finishes the file)
        now += pacer.wait_after(now, 1, 0, now)
        polled.append(now)
    promised_end = 101.0  # the first answer's
    landing = next(index for index, at in enumerate(polled) if at > promised_end)
    assert polled[landing] <= promised_end + policy.landing_margin + 1e-9
    waits = [later - earlier for earlier, later in itertools.pairwise(polled)][landing:]
    repolls = policy.late_repolls
    assert waits[:repolls] == pytest.approx([policy.shortest_interval] * repolls)
    assert waits[repolls:] == pytest.approx([policy.min_interval] * len(waits[repolls:]))
    assert len(waits[repolls:]) >= 2


def test_far_from_the_end_the_pace_is_half_the_eta_as_before_within_half_a_second() -> None:
    pacer = PollPolicy().pacer()
    assert 5.5 <= pacer.wait_after(0.0, 12, 0, 0.0) <= 6.5
    assert 14.0 <= PollPolicy().pacer().wait_after(0.0, 360, 0, 0.0) <= PollPolicy().max_interval


def test_a_task_slowed_after_a_missed_landing_is_trusted_again_once_far_from_its_end() -> None:
    pacer = PollPolicy().pacer()
    now = 0.0
    for _ in range(7):  # a landing missed, its re-polls used up
        now += pacer.wait_after(now, 1, 0, now)
    assert pacer.wait_after(now, 1, 0, now) == PollPolicy().min_interval
    wait = pacer.wait_after(now, 20, 0, now)  # requeued: about half the new eta
    assert 9.5 <= wait <= 10.5
    now += wait
    left = math.ceil(20 - wait)
    assert left / 2 - 0.5 <= pacer.wait_after(now, left, 0, now) <= left / 2 + 0.5  # not a re-poll
