"""Regimes from per-step growth rates: one rule shared by every predictor and the measurement."""

from __future__ import annotations

import math

#: Rates within +-band (log10 per step) of 0 count as "critical": 0.002 decades per step is
#: one decade of gradient change in 500 steps.
CRITICAL_BAND_LOG10 = 0.002


def classify(rate_log10: float, band: float = CRITICAL_BAND_LOG10) -> str:
    """"vanishing" below -band, "exploding" above +band, else "critical"; NaN gives "undecided"."""
    if math.isnan(rate_log10):
        return "undecided"
    if rate_log10 < -band:
        return "vanishing"
    if rate_log10 > band:
        return "exploding"
    return "critical"
