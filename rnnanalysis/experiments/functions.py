"""Built-in functions of one sweep point, and the summary of a gradient profile they share.

Each takes its parameters as keywords plus ``seed=`` and returns a JSON-safe dict, so it runs
on any executor and is named in ``rnnanalysis sweep`` configs (:data:`SWEEP_FUNCTIONS`).
"""

from __future__ import annotations

import numpy as np

from .._validate import finite_float, positive_int, rng_from
from ..cells import cell_class
from ..simulate import gradient_profile

__all__ = ["SWEEP_FUNCTIONS", "gradient_decay", "profile_summary"]

MAX_FLOATS = 10**9                                  # per array: 8 GB in float64


def profile_summary(profile) -> dict:
    """Per-lag statistics over the batch of a :class:`~rnnanalysis.GradientProfile`.

    ``lag`` = T - k; ``log10_norm_mean/min/max[lag]`` over the batch of
    ``log10 ||∂(v·h_T)/∂s_{T-lag}||``; ``rate_log10_per_step``: the mean over the batch of the
    least-squares slope of log10 norm against lag (negative: vanishing, positive: exploding).
    """
    logs = np.asarray(profile.log10_norms, dtype=np.float64)[::-1]      # (T+1, B), lag order
    logs = logs.reshape(logs.shape[0], -1)
    with np.errstate(invalid="ignore"):
        rates = np.asarray(profile.rate_log10_per_step(), dtype=np.float64).ravel()
        return {
            "lags": np.arange(logs.shape[0]),
            "log10_norm_mean": logs.mean(axis=1),
            "log10_norm_min": logs.min(axis=1),
            "log10_norm_max": logs.max(axis=1),
            "rate_log10_per_step": float(rates.mean()),
            "rate_log10_per_step_samples": rates,
        }


def gradient_decay(*, kind="elman", hidden=32, inputs=1, T=100, batch=8, gain=1.0, init="gaussian",
                   activation="tanh", input_scale=1.0, seed=None) -> dict:
    """Per-lag gradient norms of a random cell driven by Gaussian inputs, summarised.

    Draws a ``kind`` cell (``init`` at ``gain``; for ``"gaussian"`` W_hh has iid N(0, gain²/n)
    entries, spectral radius -> gain) and inputs ``x_t ~ N(0, input_scale²)`` of shape
    ``(T, batch, inputs)`` from one generator seeded by ``seed``, then returns
    :func:`profile_summary` of :func:`~rnnanalysis.gradient_profile`. For a linear Elman
    cell the per-lag norm is ``||v^T W^k||``: its rate tends to log10 of W's spectral radius
    as T grows, and that radius to ``gain`` as ``hidden`` grows (circular law).

    Example:
        >>> r = gradient_decay(gain=0.5, hidden=64, T=50, activation="linear", seed=1)
        >>> bool(abs(r["rate_log10_per_step"] - np.log10(0.5)) < 0.05)
        True
    """
    rng = rng_from(seed)
    T, batch, inputs, hidden = (positive_int(k, v) for k, v in
                                (("T", T), ("batch", batch), ("inputs", inputs), ("hidden", hidden)))
    gain = finite_float("gain", gain, above=0)
    input_scale = finite_float("input_scale", input_scale, at_least=0)
    for what, size in (("hidden x (hidden + inputs) weights", hidden * (hidden + inputs)),
                       ("T x batch x max(hidden, inputs) states", T * batch * max(hidden, inputs))):
        if size > MAX_FLOATS:
            raise ValueError(f"T={T}, batch={batch}, hidden={hidden}, inputs={inputs}: {size} {what}; "
                             f"at most {MAX_FLOATS}")
    cell = cell_class(kind)(hidden, inputs, activation, init=init, gain=gain, seed=rng)
    xs = float(input_scale) * rng.standard_normal((T, batch, inputs))
    return profile_summary(gradient_profile(cell, xs))


SWEEP_FUNCTIONS = {"gradient_decay": gradient_decay}
