"""The tour: derive, predict, measure, compare and draw on one default network, in under a minute.

    python -m rnnanalysis tour [--outdir tour] [--quick] [--seed S]

The default network is an Elman tanh RNN, n = 64, m = 8, with W_hh ~ N(0, 1.2^2/n) (spectral
radius ~1.2) driven by N(0, 1) inputs: the linear prediction (rho > 1) says "explode", the
measurement says "vanish" (the inputs saturate tanh), and the mean-field and Lyapunov
predictors say why. Everything lands in ``outdir``: the derivation (``derivation.tex``), the
comparison table (``check.txt``, ``check.tex``), two figures (PNG) and a one-page
``report.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_NETWORK", "default_network", "run"]

DEFAULT_NETWORK = {"hidden": 64, "inputs": 8, "activation": "tanh", "init": "gaussian", "gain": 1.2}


def default_network(seed=0):
    """The tour's network: ``ra.Elman(**DEFAULT_NETWORK, seed=seed)``."""
    from .cells import Elman

    return Elman(**DEFAULT_NETWORK, seed=seed)


def _say(progress, stage, text):
    if progress:
        progress(f"[{stage}] {text}")


def run(outdir="tour", quick=False, *, seed=0, progress=print) -> dict:
    """Run the five stages on the default network; write the files; return what was computed.

    ``quick`` uses T = 200 instead of 1000 time steps. ``progress``: a function of one string
    (None for silence). Returns a dict with the derivation, prediction, profile, check and
    the paths written.
    """
    import matplotlib

    matplotlib.use("Agg")
    from . import derive, gradient_profile, plots, predict
    from .experiments.gradients import GainProfiles
    from .experiments.spectra import RandomMatrixSpectrum
    from .predict import check_predictions

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    T, B = (200, 16) if quick else (1000, 16)
    cell = default_network(seed)
    xs = np.random.default_rng(seed).standard_normal((T, B, cell.inputs))
    spec = ", ".join(f"{k}={v}" for k, v in DEFAULT_NETWORK.items())
    _say(progress, "network", f"Elman({spec}, seed={seed}); inputs N(0, 1), T={T}, B={B}")

    d = derive("elman", "tanh")
    d.to_tex(out / "derivation.tex")
    _say(progress, "derive", f"J_t = {d.latex_of('jacobian')}   (LaTeX; full derivation in derivation.tex)")

    p = predict(cell, inputs=xs)
    _say(progress, "predict", f"rho = {p.spectral_radius:.3f}, sigma_max = {p.sigma_max:.3f}, "
         f"gamma = {p.gamma:g}; "
         f"Pascanu bound log10(gamma sigma_max) = {p.log10_rate_bound:+.3f}/step (inconclusive above 0), "
         f"linear log10(rho) = {p.log10_rate_linear:+.3f}/step; from the weights and the inputs' "
         f"moments {p.log10_rate_estimate:+.3f}/step -> {p.regime} (decided by {p.predictor})")

    prof = gradient_profile(cell, xs)
    final = prof.log10_norms[0]
    _say(progress, "measure", f"log10 ||d(v.h_T)/dh_0|| over T = {T} steps: median {np.median(final):+.1f} "
         f"(range {final.min():+.1f} .. {final.max():+.1f}), finite in log space")

    chk = check_predictions(cell, xs, skip=T // 10, seed=seed)
    (out / "check.txt").write_text(chk.to_text() + "\n")
    (out / "check.tex").write_text(chk.to_latex(document=True) + "\n")
    _say(progress, "compare", "predictions against the measurement (log10 per step):\n" + chk.to_text())

    rows = {r.predictor: np.array([r.log10_rate]) for r in chk.rows}
    profile_fig = plots.plot_gain_profiles(GainProfiles(
        gains=np.array([DEFAULT_NETWORK["gain"]]), log10_norms=prof.log10_norms[::-1][None],
        measured=np.array([chk.measured_log10_rate]), predicted=rows, skip=chk.skip, hidden=cell.hidden,
        input_scale=1.0))
    ev = np.linalg.eigvals(cell.params["weight_hh"])
    spectrum_fig = plots.plot_random_matrix(RandomMatrixSpectrum(
        gain=float(DEFAULT_NETWORK["gain"]), n=cell.hidden, eigenvalues_real=ev.real,
        eigenvalues_imag=ev.imag,
        singular_values=p.singular_values, spectral_radius=p.spectral_radius, sigma_max=p.sigma_max))
    paths = {"profile": out / "profile.png", "spectrum": out / "spectrum.png"}
    profile_fig.savefig(paths["profile"], dpi=120)
    spectrum_fig.savefig(paths["spectrum"], dpi=120)
    _say(progress, "draw", f"{paths['profile']}, {paths['spectrum']}")

    report = out / "report.md"
    report.write_text(_report(spec, seed, T, B, d, p, chk, time.perf_counter() - t_start))
    _say(progress, "report", f"{report} ({time.perf_counter() - t_start:.1f} s in all)")
    return {"derivation": d, "prediction": p, "profile": prof, "check": chk,
            "paths": {**paths, "report": report, "derivation": out / "derivation.tex"}}


def _report(spec, seed, T, B, d, p, chk, seconds):
    return f"""# rnnanalysis tour

Network: `ra.Elman({spec}, seed={seed})`, inputs N(0, 1), T = {T}, batch {B}.

## Derive
Per-step Jacobian (numerator layout), from `ra.derive("elman")`:

$$J_t = {d.latex_of('jacobian')}$$

and over k steps $\\partial h_t/\\partial h_k = J_t J_{{t-1}} \\cdots J_{{k+1}}$
(full derivation: `derivation.tex`).

## Predict (`ra.predict(cell, inputs=xs)`)
spectral radius {p.spectral_radius:.4f}; largest singular value {p.sigma_max:.4f}; gamma = {p.gamma:g};
Pascanu et al. (2013) bound {p.log10_rate_bound:+.4f} log10/step
(vanishing guaranteed: {p.vanishing_guaranteed});
linear rate log10(rho) = {p.log10_rate_linear:+.4f}/step; from the weights and the inputs' mean and
covariance {p.log10_rate_estimate:+.4f}/step; regime **{p.regime}** (by {p.predictor}).

## Measure and compare (`ra.check_predictions`)
```
{chk.to_text()}
```

## Figures
![gradient norm over lag](profile.png)
![spectrum of W_hh](spectrum.png)

Made by `python -m rnnanalysis tour` in {seconds:.1f} s.
"""
