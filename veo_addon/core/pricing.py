"""Cost estimate shown before a generation is submitted.

The provider publishes no price; Google's list price for Veo 3.1 (standard) is about
USD 0.40 per second with audio and 0.20 per second without. The rates are parameters
(the preferences hold them) and every text says it is an estimate at list price.

    estimate = estimate_cost(duration_seconds=8, sample_count=2, generate_audio=False)
    estimate.amount   -> 3.2
    estimate.label()  -> "about USD 3.20 (estimate at list price: 8 s × 2 samples × USD 0.20/s)"
"""

from __future__ import annotations

from dataclasses import dataclass

LIST_RATE_WITH_AUDIO = 0.40
LIST_RATE_WITHOUT_AUDIO = 0.20
# The names the preferences use for their defaults.
DEFAULT_RATE_WITH_AUDIO = LIST_RATE_WITH_AUDIO
DEFAULT_RATE_WITHOUT_AUDIO = LIST_RATE_WITHOUT_AUDIO


@dataclass(frozen=True)
class PriceRates:
    with_audio_per_second: float = LIST_RATE_WITH_AUDIO
    without_audio_per_second: float = LIST_RATE_WITHOUT_AUDIO
    currency: str = "USD"

    def per_second(self, generate_audio: bool) -> float:
        return self.with_audio_per_second if generate_audio else self.without_audio_per_second


@dataclass(frozen=True)
class CostEstimate:
    amount: float
    currency: str
    rate_per_second: float
    duration_seconds: int
    sample_count: int

    def label(self) -> str:
        samples = "sample" if self.sample_count == 1 else "samples"
        return (
            f"about {self.currency} {self.amount:.2f} (estimate at list price: "
            f"{self.duration_seconds} s × {self.sample_count} {samples} × "
            f"{self.currency} {self.rate_per_second:.2f}/s)"
        )


def estimate_cost(
    duration_seconds: int,
    sample_count: int = 1,
    generate_audio: bool = False,
    rates: PriceRates | None = None,
) -> CostEstimate:
    """rate × duration × samples, at the given (list price by default) rates."""
    rates = rates or PriceRates()
    if duration_seconds < 0 or sample_count < 0:
        raise ValueError("duration and sample count must not be negative")
    rate = rates.per_second(generate_audio)
    return CostEstimate(
        amount=round(rate * duration_seconds * sample_count, 2),
        currency=rates.currency,
        rate_per_second=rate,
        duration_seconds=duration_seconds,
        sample_count=sample_count,
    )
