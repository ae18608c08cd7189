"""What a generation costs, said once its fate is known (or as an upper bound before).

The UI operator returns before its worker knows whether an identical earlier request is
reused, so the line it shows is an upper bound ("up to"). In background mode the operator
reports after the jobs ended: then each job says what it cost — a reused clip or task is
"reused, no charge" — and several jobs get a total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.job import Charge, Job
from ..core.pricing import CostEstimate, PriceRates, estimate_cost


@dataclass(frozen=True)
class Estimate:
    """A job's cost estimate as the request was made."""

    what: str  # "1 × 4 s at 720p"
    cost: CostEstimate


def estimate_request(
    duration_seconds: int,
    sample_count: int,
    generate_audio: bool,
    resolution: str,
    rates: PriceRates,
) -> Estimate:
    """What a request will cost at most, known before anything is captured or sent: the
    operator's confirmation, the panel and the job's own report all use this one figure."""
    return Estimate(
        what=f"{sample_count} × {duration_seconds} s at {resolution}",
        cost=estimate_cost(duration_seconds, sample_count, generate_audio, rates),
    )


def started_lines(estimates: Sequence[Estimate]) -> list[str]:
    """Before the jobs' fate is known: what each may cost at most, and the total."""
    lines = [
        f"Generating {estimate.what}: up to {estimate.cost.label()}; no charge if an identical "
        "earlier clip is reused"
        for estimate in estimates
    ]
    if len(estimates) > 1:
        lines.append(
            f"Up to {_amount(estimates, [e.cost.amount for e in estimates])} in all for {len(estimates)} jobs"
        )
    return lines


def outcome_line(job: Job, estimate: Estimate) -> str:
    """After the job ended: what it cost (an estimate at list price)."""
    return f"job {job.job_id[:8]}: {estimate.what}, {_outcome(job, estimate)}"


def charged_amount(job: Job, estimate: Estimate) -> float:
    """What the job was (or may have been) billed: nothing when reused or never sent."""
    return estimate.cost.amount if job.charge in (Charge.SUBMITTED, Charge.UNKNOWN) else 0.0


def total_line(estimated: Sequence[tuple[Job, Estimate]]) -> str:
    """Several jobs: what they cost together."""
    amounts = [charged_amount(job, estimate) for job, estimate in estimated]
    reused = sum(1 for job, _ in estimated if job.charge is Charge.REUSED)
    note = f" ({reused} reused, no charge)" if reused else ""
    estimates = [estimate for _, estimate in estimated]
    return f"Total for {len(estimated)} jobs: {_amount(estimates, amounts)}{note}"


def _outcome(job: Job, estimate: Estimate) -> str:
    charge = job.charge
    if charge is Charge.REUSED:
        return "reused, no charge"
    if charge is Charge.UNKNOWN:
        return f"may have been charged {estimate.cost.label()}"
    if charge is Charge.NONE:
        return "nothing sent, no charge"
    return estimate.cost.label()


def _amount(estimates: Sequence[Estimate], amounts: Sequence[float]) -> str:
    currency = estimates[0].cost.currency if estimates else "USD"
    return f"about {currency} {sum(amounts):.2f} (estimate at list price)"
