"""When to ask the service about a task again.

Far from the end, polls are spread out: half the eta the service gives, or a growing backoff when
it gives none, never closer than `min_interval` (each poll spends the per-minute allowance every
job of the process shares). Near the end, halving the eta would poll once in the middle and once
more up to `min_interval` late; instead the next poll lands just after the end the eta promises.
The service's eta is whole seconds rounded up, so each answer puts the end in a window one
second wide ("after asked + eta - 1, by answered + eta"); the windows of all answers together are
narrower, and the polls far from the end are moved by under half a second so that they split it.
Near the end one poll may go to the window's middle (when that is no sooner than the normal pace);
the landing poll comes just after the window. One that finds the task still running gets a few
short re-polls, then the normal pace again. Never more polls than the plain pace (tests).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    """How often a task's result is asked for. Adapts to the server's eta and progress."""

    min_interval: float = 2.0
    max_interval: float = 15.0
    # Without an eta, each poll that brings no news waits this much longer than the last.
    backoff_factor: float = 1.5
    # With an eta, ask again after this fraction of it (so the end is not missed by much).
    eta_fraction: float = 0.5
    # When the promised end is at most this far off, the next poll lands on it rather than halfway
    # (at the defaults: where halving would be held to min_interval anyway).
    landing_within: float = 4.0
    # How long after the promised end the landing poll comes (the answer's own travel time).
    landing_margin: float = 0.25
    # The shortest wait between two polls of one task, for landings and the re-polls after them.
    shortest_interval: float = 0.5
    # Short re-polls after a landing that found the task still running, before the normal pace.
    late_repolls: int = 3

    def next_interval(self, eta_seconds: int | None, polls_without_news: int) -> float:
        """The normal pace, far from the end (or with no eta at all)."""
        if eta_seconds:
            wanted = eta_seconds * self.eta_fraction
        else:
            wanted = self.min_interval * (self.backoff_factor ** max(polls_without_news, 0))
        return min(max(wanted, self.min_interval), self.max_interval)

    def pacer(self) -> PollPacer:
        return PollPacer(self)


class PollPacer:
    """The waits between one task's polls; remembers when its answers said it would end."""

    def __init__(self, policy: PollPolicy) -> None:
        self._policy = policy
        # (earliest, latest) end every answer so far allows, on the clock of `answered_at`.
        self._window: tuple[float, float] | None = None
        self._overdue_polls = 0  # polls since the window's end passed with the task still running

    def wait_after(
        self,
        answered_at: float,
        eta_seconds: int | None,
        polls_without_news: int,
        asked_at: float | None = None,
    ) -> float:
        """Seconds to wait after an answer that said "not done yet", asked at `asked_at` and
        received at `answered_at`."""
        policy = self._policy
        if not eta_seconds:
            # No estimate (a service may not give one): the backoff alone decides.
            self._window, self._overdue_polls = None, 0
            return policy.next_interval(None, polls_without_news)
        window = self._narrow(answered_at if asked_at is None else asked_at, answered_at, eta_seconds)
        shortest = min(policy.shortest_interval, policy.min_interval)
        if self._overdue_polls:
            if self._overdue_polls <= policy.late_repolls:
                return shortest
            return policy.next_interval(eta_seconds, polls_without_news)
        earliest, latest = window
        middle = (earliest + latest) / 2
        if latest - answered_at <= policy.landing_within:
            if latest - earliest > 2 * policy.landing_margin and middle - answered_at >= policy.min_interval:
                # Time for one poll in the window's middle (no sooner than the normal pace would
                # poll): it sees the end, or halves the window.
                return middle - answered_at
            return min(max(latest + policy.landing_margin - answered_at, shortest), policy.max_interval)
        # Far from the end: move the poll by under half a second so that its answer, whole seconds
        # before the end, splits the window in two (the landing then needs no extra poll).
        wait = policy.next_interval(eta_seconds, polls_without_news)
        offset = middle - (answered_at + wait)
        shifted = wait + offset - round(offset)
        return max(shifted - 1.0 if shifted > policy.max_interval else shifted, shortest)

    def _narrow(self, asked_at: float, answered_at: float, eta_seconds: int) -> tuple[float, float]:
        # The eta is the time left rounded up to whole seconds, as the service saw it between
        # asking and answering: the end is after asked + eta - 1 and by answered + eta.
        earliest, latest = asked_at + eta_seconds - 1, answered_at + eta_seconds
        if self._overdue_polls or (self._window is not None and answered_at >= self._window[1]):
            self._overdue_polls += 1  # the end the answers allowed has passed: they were wrong
            self._window = (earliest, latest)
        elif self._window is None:
            self._window = (earliest, latest)
        else:
            narrowed = (max(self._window[0], earliest), min(self._window[1], latest))
            # Answers that disagree (an estimate, not a countdown): the newest one counts.
            self._window = narrowed if narrowed[0] < narrowed[1] else (earliest, latest)
        if eta_seconds > self._policy.landing_within:
            self._overdue_polls = 0  # far from the end again (slowed or requeued): trusted afresh
        return self._window
