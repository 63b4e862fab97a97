"""Mean-field theory of a random recurrent network: fixed point q*, gradient factor chi, critical line.

For ``W_ij ~ N(0, sigma_w^2 / n)`` and biases of variance ``sigma_b^2`` the pre-activation variance
follows the map below; at its fixed point ``q*`` one step multiplies squared gradient norms by chi:

.. math::
    q_{t+1} = \\sigma_w^2\\,\\mathbb{E}_z[\\phi(\\sqrt{q_t}\\,z)^2] + \\sigma_b^2 + \\sigma_x^2,
    \\qquad \\chi = \\sigma_w^2\\,\\mathbb{E}_z[\\phi'(\\sqrt{q^*}\\,z)^2],
    \\qquad \\xi = -1/\\ln\\chi

with ``z ~ N(0, 1)``; the gradient rate is ``ln(chi)/2`` nats per step and ``chi = 1`` is the
critical line (edge of chaos).

References:
    Poole et al. (2016), "Exponential expressivity in deep neural networks through transient
    chaos"; Schoenholz et al. (2017), "Deep information propagation" (xi = -1/ln chi);
    Chen, Pennington & Schoenholz (2018), "Dynamical isometry and a mean field theory of RNNs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from .._results import Result
from .._validate import finite_float
from ..activations import get_activation
from ._regime import CRITICAL_BAND_LOG10, classify
from .stationary import _is_homogeneous

__all__ = ["MeanField", "mean_field", "critical_sigma_w", "gaussian_expectation"]

_SCALE_MIN, _SCALE_MAX = 1e-100, 1e100      # q = 0 and q = inf are evaluated as these limits
_Q_MIN, _Q_MAX = 1e-200, 1e200


_Z_MAX = 40.0                        # phi(40) ~ 1e-349: the Gaussian weight beyond is zero
_RULE, _CHECK_RULE = (np.polynomial.legendre.leggauss(k) for k in (24, 16))


def _panels(s):
    """Panel edges on z in [0, _Z_MAX], doubling from min(1, 1/s)/64 (fine where phi's features at
    |a| ~ 1, a = s z, or the Gaussian's at z ~ 1 lie; a = 1 is an edge), with z = 0 the first."""
    lo = min(1.0, 1.0 / s) / 64.0
    edges = lo * 2.0 ** np.arange(math.ceil(math.log2(_Z_MAX / lo)))
    return np.unique(np.concatenate([[0.0], edges[edges < _Z_MAX], [min(1.0 / s, _Z_MAX), _Z_MAX]]))


def _composite(f, s, rule):
    """Composite Gauss-Legendre ``E[f(s z)]`` over |z| <= _Z_MAX, f called once on all nodes."""
    edges = _panels(s)
    x, w = rule
    half = 0.5 * np.diff(edges)[:, None]
    z = (half * x + (edges[:-1, None] + half)).ravel()
    weights = (half * w).ravel() * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    values = np.asarray(f(np.concatenate([s * z, -s * z])), dtype=np.float64)
    return float(weights @ (values[:z.size] + values[z.size:]))


def gaussian_expectation(f, q: float) -> float:
    """``E[f(sqrt(q) z)]`` for z ~ N(0, 1), split at 0 (kinks of ReLU-like f).

    A composite 24-point Gauss-Legendre rule on panels doubling in z and in ``a = sqrt(q) z``
    (one vectorised call of f), accepted when a 16-point rule on the same panels agrees to
    1e-13 relative; otherwise (e.g. a custom f with a kink away from a = 0, +-1) adaptive
    quadrature on each half-line. Accurate to ~1e-12 absolute for bounded or polynomially
    growing f (the rule agrees with adaptive quadrature to 3e-16 relative for tanh, sigmoid,
    ReLU, leaky ReLU, linear and their derivatives, q = 1e-6..1e6: the grid of
    ``tests/predict/test_meanfield.py``, which asserts 1e-10; beyond, the rule still resolves the
    narrow peak of tanh'(sqrt(q) z) that quadrature misses, tested at q = 1e8). ``q = 0`` and
    ``q = inf`` are taken as limits (scale 1e-100 and 1e100), so ``E[relu'(sqrt(q) z)^2] -> 1/2``
    at q = 0.
    """
    s = min(max(math.sqrt(q), _SCALE_MIN), _SCALE_MAX)
    with np.errstate(over="ignore", invalid="ignore"):
        value, check = _composite(f, s, _RULE), _composite(f, s, _CHECK_RULE)
    if math.isfinite(value) and abs(value - check) <= 1e-13 * max(1.0, abs(value)):
        return value
    norm = 1.0 / math.sqrt(2.0 * math.pi)

    def integrand(z):
        return float(f(np.array([s * z]))[0]) * norm * math.exp(-0.5 * z * z)

    opts = dict(epsabs=1e-14, epsrel=1e-13, limit=200)
    lo = integrate.quad(integrand, -np.inf, 0.0, **opts)[0]
    hi = integrate.quad(integrand, 0.0, np.inf, **opts)[0]
    return lo + hi


@dataclass(frozen=True)
class MeanField(Result):
    """Mean-field prediction for ``W_ij ~ N(0, sigma_w^2/n)``; rates from chi (squared-norm factor).

    q_star: stable fixed point of the variance map (inf if it diverges, e.g. ReLU with
    sigma_w^2/2 >= 1); chi: gradient factor per step; depth_scale: xi = -1/ln chi (steps per
    e-fold of the squared gradient; negative when chi > 1, inf at chi = 1). The critical line is
    :func:`critical_sigma_w`.
    """

    activation: str
    sigma_w: float
    sigma_b: float
    input_variance: float
    q_star: float
    chi: float
    depth_scale: float

    @property
    def rate_nats_per_step(self) -> float:
        """Gradient-norm growth per step, ln(chi)/2 (nats); the mean-field lambda_max."""
        return 0.5 * math.log(self.chi) if self.chi > 0 else -math.inf

    @property
    def log10_rate_per_step(self) -> float:
        """Gradient-norm growth per step, log10(chi)/2."""
        return self.rate_nats_per_step / math.log(10.0)

    @property
    def regime(self) -> str:
        """"vanishing", "critical" or "exploding" from the rate (band: CRITICAL_BAND_LOG10)."""
        return classify(self.log10_rate_per_step, CRITICAL_BAND_LOG10)


def _fixed_point(act, sigma_w, offset, q0):
    """Stable fixed point of q -> sigma_w^2 E[phi^2] + offset reached from q0 (F is increasing).

    Positively homogeneous phi (ReLU, linear): the map is affine, ``q -> slope q + offset``
    with ``slope = sigma_w^2 E[phi(z)^2]``, solved in closed form.
    """
    if _is_homogeneous(act):
        slope = sigma_w ** 2 * gaussian_expectation(lambda a: act.f(a) ** 2, 1.0)
        if slope < 1.0:
            return offset / (1.0 - slope)
        if offset == 0.0 and (slope == 1.0 or q0 == 0.0):
            return q0
        return math.inf

    def F(q):
        return sigma_w ** 2 * gaussian_expectation(lambda a: act.f(a) ** 2, q) + offset

    def excess(q):
        return F(q) - q

    e0 = excess(q0)
    if e0 == 0.0:
        return q0
    if e0 > 0:                                    # q grows: bracket upwards
        lo, hi = q0, 2.0 * q0 + 1.0
        while excess(hi) > 0:
            lo, hi = hi, 100.0 * hi
            if hi > _Q_MAX:
                return math.inf
    else:                                         # q shrinks: largest root below q0
        if excess(_Q_MIN) < 0:                    # F(0) = 0 and q decays to the fixed point 0
            return 0.0
        hi, lo = q0, q0 / 4.0
        while lo > _Q_MIN and excess(lo) < 0:
            hi, lo = lo, lo / 4.0
        lo = max(lo, _Q_MIN)
    return optimize.brentq(excess, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


def _chi(act, sigma_w, q):
    return sigma_w ** 2 * gaussian_expectation(lambda a: act.df(a) ** 2, q)


def mean_field(activation, sigma_w, sigma_b=0.0, *, input_variance=0.0, q0=1.0) -> MeanField:
    """Mean-field fixed point, gradient factor chi and time scale of a random RNN.

    ``input_variance`` is the variance ``sigma_x^2`` the inputs add to each pre-activation
    (``mean((W_ih x)^2)``); ``q0`` the initial variance the map starts from (the fixed point
    reported is the one reached from it).

    Example:
        >>> import rnnanalysis as ra
        >>> round(ra.mean_field("tanh", 1.0).chi, 10)
        1.0
        >>> round(ra.mean_field("tanh", 2.0).rate_nats_per_step, 3)
        0.155
    """
    act = get_activation(activation)
    sigma_w = finite_float("sigma_w", sigma_w, at_least=0)
    sigma_b = finite_float("sigma_b", sigma_b, at_least=0)
    input_variance = finite_float("input_variance", input_variance, at_least=0)
    q0 = finite_float("q0", q0, at_least=0)
    offset = sigma_b ** 2 + input_variance
    q_star = _fixed_point(act, sigma_w, offset, q0)
    chi = _chi(act, sigma_w, q_star)
    log_chi = math.log(chi) if chi > 0 else -math.inf
    xi = math.inf if log_chi == 0 else -1.0 / log_chi
    return MeanField(act.name, sigma_w, sigma_b, input_variance, q_star, chi, xi)


def critical_sigma_w(activation, sigma_b=0.0, *, input_variance=0.0):
    """The sigma_w on the critical line chi(sigma_w, sigma_b) = 1 (NaN if chi never reaches 1).

    ``sigma_b`` may be an array: the line sigma_w(sigma_b) comes back with its shape.

    Example:
        >>> round(critical_sigma_w("relu"), 12)  # chi = sigma_w^2 / 2 for ReLU
        1.414213562373
        >>> critical_sigma_w("tanh", [0.0, 0.3]).round(4)
        array([1.    , 1.3956])
    """
    act = get_activation(activation)
    if np.ndim(sigma_b) > 0:
        grid = np.asarray(sigma_b)
        if grid.dtype.kind not in "iuf":
            raise TypeError(f"sigma_b: expected real numbers, got dtype {grid.dtype}")
        line = [critical_sigma_w(act, float(b), input_variance=input_variance) for b in grid.ravel()]
        return np.array(line).reshape(grid.shape)
    sigma_b = finite_float("sigma_b", sigma_b, at_least=0)
    input_variance = finite_float("input_variance", input_variance, at_least=0)
    offset = sigma_b ** 2 + input_variance

    def log_chi(log_sw):
        sw = math.exp(log_sw)
        c = _chi(act, sw, _fixed_point(act, sw, offset, 1.0))
        return math.log(c) if c > 0 else -1e3

    lo, hi = math.log(1e-3), math.log(2.0)
    if log_chi(lo) >= 0:
        return math.nan
    while log_chi(hi) < 0:
        lo, hi = hi, hi + math.log(4.0)
        if hi > math.log(1e6):
            return math.nan
    return math.exp(optimize.brentq(log_chi, lo, hi, xtol=1e-14, rtol=1e-14))
