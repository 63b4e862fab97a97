"""Expected growth of the state Jacobian under the stationary Gaussian statistics (stochastic linearisation).

Each step's Jacobian ``J_t`` (over (h, c) for LSTM) is a fixed matrix (the real ``W_hh``) times
random diagonal factors: gate values and derivatives at Gaussian pre-activations drawn from
:func:`~rnnanalysis.predict.stationary_statistics`, independently per unit and per step. The
gradient rate is the top Lyapunov exponent of this random product,

.. math::
    \\lambda = \\lim_{T\\to\\infty} \\frac{1}{T}\\,\\mathbb{E}\\log_{10}\\lVert v\\,J_T \\cdots J_1\\rVert,

estimated by a seeded Monte-Carlo product of ``steps`` draws after ``warmup`` (renormalised every
step). Why E[log] and not log E: the measured per-lag slope of ``log10 ||dh_T/dh_k||`` is
itself an average of logs; the second-moment rate ``(1/2) log10 lambda_max(E[J^T M J])`` is
larger by the Jensen gap, which is O(1/n) and so matters most for small networks, while
``lambda_max(E[J^T J])`` is a one-step worst case (for i.i.d. W it sits near log10 2 above the
rate, since sigma_max -> 2 sigma_w while the typical growth is sigma_w). When nothing is random (no input
noise and an attracting fixed point, or a linear Elman cell) the product is a power of one
matrix and the rate is ``log10 rho`` of it, exactly.

References:
    Furstenberg & Kesten (1960) (products of random matrices); Pennington, Schoenholz &
    Ganguli (2017); Gilboa et al. (2019), "Dynamical isometry and a mean field theory of
    LSTMs and GRUs"; Chen, Pennington & Schoenholz (2018).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .._buffers import empty
from ..activations import get_activation, sigmoid
from .stationary import _is_homogeneous, _ratio, gaussian_moments

__all__ = ["random_product_rate", "mean_jacobian", "constant_jacobian", "homogeneous_growth"]

_BLOCK_ELEMENTS = 1 << 18         # normals drawn per block: steps x chains x state size
#: factors formed from them per part of a block: steps x chains x state size. Why: an LSTM's
#: factors for 50 steps at n = 256 (5 arrays of 400 KB and their temporaries) ran from beyond the
#: core's 512 KB L2 cache; formed 8 steps at a time its Monte-Carlo product (150 steps) took
#: 27.7 -> 24.7 ms of CPU, a GRU's (16 steps at a time) 20.2 -> 16.8 ms (AMD EPYC, medians of 7
#: on the busy machine; 2^12 elements: 25.7 / 17.8, the calls' overhead). The rates are the same
#: bit for bit (the factors are elementwise functions of the same normals).
_FACTOR_ELEMENTS = 1 << 14
_JACOBIAN_ROWS = 32              # mean_jacobian: rows formed at a time
_DENSE_EIG_MAX = 1024            # homogeneous_growth: dense eigenvalues up to this n
_CHECK = 50                       # steps per block at most; stop= is asked every _CHECK steps
#: the vectors are renormalised (and their growth summed) every _RENORMALISE steps, a divisor
#: of _CHECK, and at the end of the warm-up and of the product. Why not every step: the norm
#: and its logarithm are ~10 us of numpy calls a step (LSTM / GRU at n = 256: ~1 ms of ~15 and
#: ~12; Elman at n = 24: 2.9 -> 1.6 ms). 5 steps multiply a vector by up to 10^(5 rate), and
#: its squared norm must stay in range: float32 holds rates within about +-3.8 log10/step,
#: float64 +-30; beyond, :func:`random_product_rate` reruns in float64, then every step
_RENORMALISE = 5
_SINGLE_MIN_BYTES = 1 << 20       # the Monte-Carlo product in float32 from this size of W (:func:`_dtype`)
#: a product of a few rows with a W over this size runs over row blocks of W of at most this size
#: (:func:`_blocked`)
_GEMM_BYTES = 3 << 18


def _standard_normal(rng, shape):
    """Standard normal draws (float32 precision, returned as float32) by the Box-Muller transform
    of float32 uniforms: ``sqrt(-2 ln(1 - u1)) (cos, sin)(2 pi u2)``. Exact in distribution up to
    float32 resolution (|z| <= 5.77: the largest uniform is 1 - 2^-24). Why not NumPy's ziggurat
    (``rng.standard_normal``): ~9 ns a draw here against ~3 ns (SIMD logarithm, sine and cosine
    in float32; AMD EPYC), and the LSTM's Monte-Carlo product draws five Gaussians per unit,
    chain and step: two fifths of its time went to them at n = 256
    (``scripts/benchmarks/predict_cost.py``, the "rate" column). A stream other than NumPy's moves
    each rate within its standard error: the accuracy of ``scripts/benchmarks/predictions.py`` moved
    as much between seeds of predict (docs/predictions.md)."""
    size = math.prod(shape)
    half = (size + 1) // 2
    u = rng.random(2 * half, dtype=np.float32)
    radius = np.log1p(-u[:half])
    radius *= -2.0
    np.sqrt(radius, out=radius)
    angle = u[half:]
    angle *= np.float32(2.0 * math.pi)
    z = np.empty(2 * half, dtype=np.float32)
    np.cos(angle, out=z[:half])
    np.sin(angle, out=z[half:])
    z[:half] *= radius
    z[half:] *= radius
    return z[:size].reshape(shape)


def _normal(moments, z, lead):
    """Gaussian pre-activations ``mean + sd z`` from standard normals z, or the means
    (shape ``lead + mean.shape``) for z None; moments: (mean, sd), see :func:`_moments`."""
    mean, sd = moments
    if z is None:
        return np.broadcast_to(mean, lead + np.shape(mean)).copy()
    return mean + sd * z


def _moments(means, variances, dtype):
    """(mean, standard deviation) in ``dtype`` of each pre-activation: name -> pair."""
    return {k: (np.asarray(means[k], dtype=np.float64).astype(dtype),
                np.sqrt(variances[k]).astype(dtype)) for k in means}


def _noise(count, n):
    """``noise(rng, lead)``: ``count`` arrays ``lead + (n,)`` of standard normals, drawn in turn
    (the stream of one draw of the model's random factors)."""
    return lambda rng, lead: [_standard_normal(rng, lead + (n,)) for _ in range(count)]


def _dsig(s):
    return s * (1.0 - s)


def _blocked(W):
    """``x -> x @ W`` (x with a few rows) as a sum over blocks of W's rows of at most
    _GEMM_BYTES each. Why: OpenBLAS's product of 4 rows with a W of 1 MB or more ran ~2.5x
    slower per byte than with one of 768 KB or less (AMD EPYC, SkylakeX kernel, one thread:
    (4 x 1024)(1024 x 256) float32 72 us whole, 29 us in two blocks; float64 142 us, 53 us in
    four), the LSTM's Monte-Carlo product at n = 256 (``scripts/benchmarks/predict_cost.py``,
    the "rate" column)."""
    k = -(-W.nbytes // _GEMM_BYTES)
    if k <= 1:
        return lambda x: x @ W
    edges = np.linspace(0, W.shape[0], k + 1).astype(int)
    blocks = [(a, b, W[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def product(x):
        y = x[..., :edges[1]] @ blocks[0][2]
        for a, b, block in blocks[1:]:
            y += x[..., a:b] @ block
        return y
    return product


def _right_product(W, mode="double"):
    """``x -> x @ W`` for a dense or sparse W (n columns), by mode:

    "double": float64. "single": float32 (a dense W, see :func:`_dtype`). "diagonal_blocks": each
    row of x has its n x n blocks' entries at one unit (rows of diagonal blocks: the rows of the
    identity :func:`mean_jacobian` feeds vjp), so ``x @ W`` is a sum of rows of W scaled: O(n^2)
    instead of a GEMM's O(n^3); float64 for a sparse W. Dense products of a large W run over row
    blocks of it (:func:`_blocked`).
    """
    dense = not sp.issparse(W)
    if mode == "diagonal_blocks" and dense:
        n = W.shape[1]
        blocks = W.reshape(-1, n, n)

        def product(x):
            # row r's n x n blocks hold their one entry at the same unit u_r (a zero row: any u)
            parts = x.reshape(x.shape[0], blocks.shape[0], n)
            unit = np.argmax(np.abs(parts).sum(axis=1), axis=1)
            rows = np.arange(x.shape[0])
            return np.einsum("rb,brj->rj", parts[rows, :, unit], blocks[:, unit])
        return product
    if not dense:
        return lambda x: x @ W
    return _blocked(single_copy(W) if mode == "single" else W)


def _dtype(W, product):
    """The Monte-Carlo product's precision: float32 for ``product`` "single" and a dense W of at
    least _SINGLE_MIN_BYTES whose entries float32 holds (max |W_ij| within 1e+-20), else float64.
    Why float32: half the memory traffic of W, which dominates a product with a few rows, and
    of the factors, with no casts per step; :func:`random_product_rate` reruns in float64 where
    float32 over- or underflows."""
    if product != "single" or sp.issparse(W) or W.nbytes < _SINGLE_MIN_BYTES:
        return np.float64
    scale = max_abs(W)
    return np.float32 if 1e-20 < scale < 1e20 else np.float64


def max_abs(W):
    """max |W_ij| of a dense or sparse W (0 for no entries; NaN if one is), without forming |W|.
    Why: a fresh 2 MB temporary (W at n = 256) costs its page faults on every call, ~0.5 ms
    inside predict on the busy machine (``scripts/benchmarks/predict_cost.py``)."""
    data = W.data if sp.issparse(W) else W
    return max(float(data.max()), -float(data.min())) if data.size else 0.0


def single_copy(W):
    """``W.astype(np.float32)`` in memory reused across calls (:func:`rnnanalysis._buffers.empty`:
    no fresh pages to fault in), the same numbers."""
    out = empty(W.shape, np.float32)
    np.copyto(out, W, casting="same_kind")
    return out


def _elman(W, act, st, mode, dtype):
    m = _moments({"a": st.means["a"]}, {"a": st.variances["a"]}, dtype)["a"]
    Wt = W.T.tocsr() if sp.issparse(W) else None
    times_W = _right_product(W, mode)

    def draw(z, lead=()):
        return act.df(_normal(m, z and z[0], lead))

    def vjp(d, g):
        x = g * d
        return (Wt @ x.T).T if Wt is not None else times_W(x)
    return _noise(1, W.shape[0]), draw, vjp


def _lstm(W, act, st, mode, dtype):
    n = W.shape[1]
    times_W = _right_product(W, mode)
    m = _moments(st.means, st.variances, dtype)

    def draw(z, lead=()):
        a = {k: _normal(m[k], z and z[j], lead) for j, k in enumerate("ifgoc")}
        i, f, o = (sigmoid(a[k]) for k in "ifo")
        g, c_prev = act.f(a["g"]), a["c"]
        c = f * c_prev + i * g
        phi_c = act.f(c)
        return (_dsig(i) * g, _dsig(f) * c_prev, i * act.df(a["g"]), _dsig(o) * phi_c, o * act.df(c), f)

    def vjp(k, g):
        k_i, k_f, k_g, k_o, k_hc, f = k
        g_h, g_c = g[..., :n], g[..., n:]
        g_ct = g_c + g_h * k_hc
        g_a = np.concatenate([g_ct * k_i, g_ct * k_f, g_ct * k_g, g_h * k_o], axis=-1)
        return np.concatenate([times_W(g_a), g_ct * f], axis=-1)
    return _noise(5, n), draw, vjp


def _gru(W, act, st, mode, dtype):
    """GRU factors; the previous state is drawn correlated with the candidate as the
    statistics say (``Cov(n_t, h_{t-1})``, key "nh"): at a slow state h_{t-1} ~ n_t and the
    update gate's factor ``(h_{t-1} - n_t) sigma'(z)`` is small."""
    n = W.shape[1]
    en, en2 = gaussian_moments(act, st.means["n"], st.variances["n"])
    vn = np.maximum(en2 - en * en, 0.0)
    c_nh = st.means.get("nh", np.zeros(n))
    beta = _ratio(c_nh, vn)
    rest = np.maximum(st.variances["h"] - beta * c_nh, 0.0)
    m = _moments(st.means, st.variances, dtype)
    state = _moments({"h": np.zeros(n)}, {"h": rest}, dtype)["h"]   # h's part not from the candidate
    mean_h, beta, en = (np.asarray(v, dtype=np.float64).astype(dtype) for v in (st.means["h"], beta, en))
    times_W = _right_product(W, mode)

    def draw(noise, lead=()):
        a = {k: _normal(m[k], noise and noise[j], lead) for j, k in enumerate(("r", "z", "hn", "u_n"))}
        r, z = sigmoid(a["r"]), sigmoid(a["z"])
        a_n = a["u_n"] + r * a["hn"]
        cand = act.f(a_n)
        h = mean_h + beta * (cand - en) + _normal(state, noise and noise[4], lead)
        return ((1.0 - z) * act.df(a_n), (h - cand) * _dsig(z), a["hn"] * _dsig(r), r, z)

    def vjp(k, g):
        k_n, k_z, k_r, r, z = k
        g_an = g * k_n
        return times_W(np.concatenate([g_an * k_r, g * k_z, g_an * r], axis=-1)) + g * z
    return _noise(5, n), draw, vjp


def _model(model, stats, product="double"):
    """(noise, draw, vjp, state size, dtype) for a cell or a bare (W, activation):
    ``noise(rng, lead)`` the standard normals of ``lead`` steps' random factors, ``draw(z)`` the
    factors from them (``draw(None, lead)``: at the stationary means), ``vjp(factors, g)`` one
    step of the product (``g J``) in ``dtype``; product: how vjp multiplies by W
    (:func:`_right_product`; "single" in float32 where :func:`_dtype` allows, else "double")."""
    W, act = model if isinstance(model, tuple) else (
        np.asarray(model.params["weight_hh"], dtype=np.float64), model.activation)
    dtype = _dtype(W, product)
    mode = "single" if dtype == np.float32 else "double" if product == "single" else product
    if isinstance(model, tuple):
        return (*_elman(W, get_activation(act), stats, mode, dtype), W.shape[0], dtype)
    build = {"elman": _elman, "lstm": _lstm, "gru": _gru}[model.kind]
    return (*build(W, act, stats, mode, dtype), model.state_size, dtype)


def _elman_model(model):
    return isinstance(model, tuple) or model.kind == "elman"


def constant_jacobian(model, stats) -> bool:
    """True when every step's Jacobian is the same matrix: a deterministic fixed point, or a
    linear Elman cell (phi' constant)."""
    if stats.deterministic:
        return True
    act = get_activation(model[1]) if isinstance(model, tuple) else model.activation
    elman = _elman_model(model)
    probe = act.df(np.array([-3.0, -0.5, 0.0, 0.5, 3.0]))
    return elman and bool(np.all(probe == probe[0]))


def mean_jacobian(model, stats):
    """The step Jacobian at the stationary means (numerator layout; sparse for a sparse bare W):
    the rows of the identity through vjp, _JACOBIAN_ROWS at a time. Why not all at once: the
    temporaries of a 512 x 512 LSTM Jacobian (4 MB each) cost ~4.5 ms of CPU inside predict
    against ~2.3 ms in parts that stay in cache (n = 256); the same numbers, bit for bit."""
    _, draw, vjp, S, _ = _model(model, stats, product="diagonal_blocks")
    factors = draw(None, (1,))                    # one row of factors, broadcast
    if isinstance(model, tuple) and sp.issparse(model[0]):
        return sp.diags(factors[0]) @ model[0]
    J = np.empty((S, S))
    for a in range(0, S, _JACOBIAN_ROWS):
        rows = np.arange(min(_JACOBIAN_ROWS, S - a))
        eye = np.zeros((rows.size, S))
        eye[rows, a + rows] = 1.0
        J[a:a + rows.size] = vjp(factors, eye)
    return J


def _at(factors, j):
    return factors[j] if isinstance(factors, np.ndarray) else tuple(f[j] for f in factors)


def _power_rate(W, d, v, warmup, steps):
    """Mean log10 growth per step of ``v -> d * (W v)`` over ``steps`` steps after ``warmup``."""
    total = 0.0
    for t in range(warmup + steps):
        v = d * (W @ v)
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            return -math.inf
        v = v / norm
        if t >= warmup:
            total += math.log10(norm)
    return total / steps


def homogeneous_growth(W, act, *, steps=300, warmup=200, tol=1e-12):
    """(activity rate, gradient rate), log10 per step, of the zero-drive map ``h -> phi(W h)``
    of a positively homogeneous activation (ReLU, leaky ReLU), from ``h = (1, ..., 1)``.

    Where the activity of such a network grows without bound, inputs and biases become
    negligible beside it and the network follows this map: its direction settles on a
    nonlinear eigenvector ``phi(W h*) = lambda h*`` (the fixed pattern of active units D*, so
    every step's Jacobian is ``D* W`` and the gradient rate is ``log10 rho(D* W)`` exactly),
    or wanders among patterns (the gradient rate is then the growth along the map of the
    tangent vector started at ``h``, after ``warmup`` steps). The activity rate, the mean
    log10 growth of ``||h||`` per step, says whether the activity grows at all (> 0). The
    independent-step statistics miss this: the active pattern is selected by the dynamics,
    not drawn afresh each step (e.g. ReLU at gain 1.3, below the independent-pattern critical
    gain sqrt(2): for some W the activity and the gradients grow, at the rate simulated to
    1e-5 log10/step, ``tests/predict/test_inputs.py``).
    The tangent started at ``h`` is ``h`` itself at every step: a homogeneous phi has
    ``phi(a) = phi'(a) a`` (Euler), so ``D(W h) W h = phi(W h)``; its growth is the activity's,
    and it is not carried separately (one matrix-vector product per step).
    """
    n = W.shape[0]
    h = np.full(n, 1.0 / math.sqrt(n))
    grow = 0.0
    for t in range(warmup + steps):
        a = W @ h
        g = act.f(a)
        norm = float(np.linalg.norm(g))
        if norm == 0.0:
            return -math.inf, -math.inf
        g /= norm
        if np.max(np.abs(g - h)) <= tol:            # a nonlinear eigenvector: the Jacobian is fixed
            d = act.df(a)
            if sp.issparse(W) or n > _DENSE_EIG_MAX:   # its radius by power iteration on D* W
                return math.log10(norm), _power_rate(W, d, h, warmup, steps)
            rho = float(np.max(np.abs(np.linalg.eigvals(d[:, None] * W))))
            return math.log10(norm), math.log10(rho) if rho > 0 else -math.inf
        if t >= warmup:
            grow += math.log10(norm)
        h = g
    return grow / steps, grow / steps


def random_product_rate(model, stats, *, steps=300, warmup=50, chains=4, seed=0, stop=None):
    """(rate, standard error), log10 per step: the top Lyapunov exponent of the random product.

    ``chains`` independent unit vectors are carried through ``warmup + steps`` draws; the rate
    is the mean over chains of the average log10 growth after the warm-up, the standard error
    their spread over sqrt(chains). A chain whose vector becomes exactly zero has rate -inf.
    An Elman cell (or bare W) with a positively homogeneous activation whose zero-drive map
    grows (:func:`homogeneous_growth`) has that map's gradient rate instead (standard error 0).
    stop: optional ``stop(rate, se, steps_done) -> bool``, asked every 50 steps after the warm-up
    (se: the larger of the chains' and the 50-step block means' standard error, see
    :func:`_stop_estimate`); True ends the product there, with the rate and standard error of
    the steps done (factors are drawn 50 steps at a time: with the default warm-up, stopping
    after k steps gives ``steps=k``).
    With a W of 1 MB or more (an LSTM from n = 181, a GRU from n = 209) the product runs in
    float32 throughout (W, the factors, the vectors; :func:`_dtype`), and again in float64 if
    a sum is not finite or a vector became zero there: the rate moves by ~1e-8 log10/step,
    far inside its standard error (``tests/predict/test_cost.py``).
    """
    if _elman_model(model):
        W, act = model if isinstance(model, tuple) else (
            np.asarray(model.params["weight_hh"], dtype=np.float64), model.activation)
        act = get_activation(act)
        if _is_homogeneous(act):
            activity, gradient = homogeneous_growth(W, act)
            if activity > 0:
                return gradient, 0.0
    # float64 where float32 over- or underflows, renormalised every step where that does too
    for product, every in (("single", _RENORMALISE), ("double", _RENORMALISE), ("double", 1)):
        noise, draw, vjp, S, dtype = _model(model, stats, product=product)
        if product == "single" and dtype == np.float64:
            continue
        total, done, dead = _product(noise, draw, vjp, S, dtype, steps, warmup, chains, seed, stop, every)
        if every == 1 or np.all(np.isfinite(total)) and not np.any(dead):
            break
    if np.any(dead):
        return -math.inf, 0.0
    return _mean_and_se(total / done)


def _product(noise, draw, vjp, S, dtype, steps, warmup, chains, seed, stop, every):
    """The Monte-Carlo product of :func:`random_product_rate` in ``dtype``, renormalised every
    ``every`` steps (see _RENORMALISE): (per-chain sums of log10 growth after the warm-up, steps
    summed, chains whose vector became zero)."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((chains, S))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    g = g.astype(dtype, copy=False)
    total = np.zeros(chains)
    dead = np.zeros(chains, dtype=bool)
    block = max(1, min(_CHECK, _BLOCK_ELEMENTS // (chains * S)))
    part = max(1, min(block, _FACTOR_ELEMENTS // (chains * S)))
    done, blocks, before = 0, [], np.zeros(chains)   # blocks: per-chain sums of each _CHECK steps
    for t in range(warmup + steps):
        if t % block == 0:                           # draw many steps' normals at once: fewer calls
            z = noise(rng, (min(block, warmup + steps - t), chains))
        if t % block % part == 0:                    # their factors a few steps at a time (cache)
            factors = draw([a[t % block:t % block + part] for a in z])
        g = vjp(_at(factors, t % block % part), g)
        since = t + 1 - warmup if t >= warmup else t + 1
        if since % every and t + 1 not in (warmup, warmup + steps):
            continue
        norm = np.sqrt(np.add.reduce(g * g, axis=-1))     # np.linalg.norm's sum, fewer calls
        if not norm.all():
            zero = norm == 0
            dead |= zero
            norm[zero] = 1.0
        g /= norm[:, None]
        if t >= warmup:
            total += np.log10(norm)
            done = since
            if stop is not None and done % _CHECK == 0:
                blocks.append(total - before)
                before = total.copy()
                if done < steps and not np.any(dead) and stop(*_stop_estimate(total / done, blocks), done):
                    break
    return total, done, dead


def _stop_estimate(rates, blocks):
    """(rate, standard error) stop= is asked with: the larger of the chains' standard error and
    that of the _CHECK-step block means (chains x blocks samples). Why: 4 chains' spread is a
    3-degree-of-freedom estimate that can come out several times too small (an 8-unit Elman cell
    at 100 steps: 0.0081 +- 0.00065 against a long-run 0.002), and a stop on it ends the product
    at an outlier; the block means of each chain see the same noise with more samples."""
    rate, se = _mean_and_se(rates)
    means = np.concatenate(blocks) / _CHECK
    return rate, max(se, float(np.std(means) / math.sqrt(means.size)))


def _mean_and_se(rates):
    """(mean over chains, its standard error: spread / sqrt(chains); NaN for one chain)."""
    chains = rates.size
    return float(np.mean(rates)), float(np.std(rates) / math.sqrt(chains)) if chains > 1 else math.nan
