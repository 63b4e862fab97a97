"""Figures of gradient flow: norms over lag with each predictor's slope, the phase diagram, cell kinds."""

from __future__ import annotations

import numpy as np

from ._style import PREDICTOR_STYLES, colour, legend, new_figure, styled

__all__ = ["plot_gain_profiles", "plot_phase_diagram", "plot_cell_flow"]

_KIND_NAMES = {"elman": "Elman (tanh)", "lstm": "LSTM", "gru": "GRU"}
_FACTOR_NAMES = {"elman": r"$\tanh'(a_t)$", "lstm": r"forget gate $f_t$", "gru": r"update gate $z_t$"}
_PROFILE_YLABEL = r"$\log_{10}\,\Vert \partial (v^\top h_T) / \partial h_k \Vert_2$"


def _profile_panel(ax, result, i, predictors):
    """Gain i: batch mean (band: min to max over the batch) and each predictor's slope from lag ``skip``.

    The y-range is the measured one: a predictor's line that leaves it is cut at the frame.
    """
    y = np.asarray(result.log10_norms)[i]
    lags = np.arange(y.shape[0])
    mean = y.mean(axis=1)
    ax.fill_between(lags, y.min(axis=1), y.max(axis=1), color="0.75", lw=0)
    ax.plot(lags, mean, color="k", lw=1.8)
    tail = lags[result.skip:]
    for j, p in enumerate(predictors):
        rate = result.predicted[p][i]
        if np.isfinite(rate):
            ax.plot(tail, mean[result.skip] + rate * (tail - result.skip), color=colour(j),
                    ls=PREDICTOR_STYLES[p]["ls"], lw=1.2)
    lo, hi = float(y.min()), float(y.max())
    pad = 0.08 * max(hi - lo, 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(0, lags[-1])
    ax.set_title(f"$g = {result.gains[i]:g}$\nmeasured {round(float(result.measured[i]), 3) + 0.0:+.3f}/step")
    ax.set_xlabel(r"lag $T - k$ (steps)")


def _predictor_handles(predictors):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="k", lw=1.8, label="measured (batch mean; band: min to max)")]
    return handles + [Line2D([], [], color=colour(j), lw=1.2, ls=PREDICTOR_STYLES[p]["ls"],
                             label=PREDICTOR_STYLES[p]["label"]) for j, p in enumerate(predictors)]


@styled
def plot_gain_profiles(result, predictors=tuple(PREDICTOR_STYLES)):
    """(a) log10 gradient norm vs lag at each gain, with each predictor's slope; and the rates.

    result: a :class:`rnnanalysis.experiments.gradients.GainProfiles`. One small panel per gain
    (measured batch mean and band, each predictor's line drawn from the measured value at lag
    ``skip``, y-range the measured one); below, the rate per gain, measured (Theil-Sen fit) and
    predicted (log10 per step). With a single gain the rates are bars, one per predictor, beside
    the measured rate.
    """
    G = len(result.gains)
    handles = _predictor_handles(predictors)
    if G == 1:
        fig, (ax, ax2) = new_figure(2, width=3.7, height=3.1)
        _profile_panel(ax, result, 0, predictors)
        ax.set_title(f"Elman tanh, n = {result.hidden}, " + ax.get_title())
        ax.set_ylabel(_PROFILE_YLABEL)
        rates = [result.predicted[p][0] for p in predictors]
        ypos = np.arange(len(predictors))[::-1]
        ax2.barh(ypos, rates, color=[colour(j) for j in range(len(predictors))], height=0.6)
        ax2.axvline(result.measured[0], color="k", lw=1.8, label=f"measured {result.measured[0]:+.3f}")
        ax2.axvline(0, color="0.6", lw=0.7)
        ax2.set_yticks(ypos, [PREDICTOR_STYLES[p]["label"] for p in predictors])
        ax2.set_xlabel(r"rate ($\log_{10}$ per step; $< 0$: vanishing)")
        ax2.set_title("predicted rates and the measured one")
        legend(ax2, loc="lower right")
        legend(ax, handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncols=1, fontsize=7)
        return fig
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(7.5, 1.75 * G), 6.2), layout="constrained")
    axd = fig.subplot_mosaic([[f"g{i}" for i in range(G)], ["rates"] * G], height_ratios=[1, 1.3])
    for i in range(G):
        _profile_panel(axd[f"g{i}"], result, i, predictors)
    axd["g0"].set_ylabel(_PROFILE_YLABEL)
    ax2 = axd["rates"]
    ax2.axhline(0, color="0.6", lw=0.7)
    ax2.plot(result.gains, result.measured, "o-", color="k", mfc="none", ms=9, lw=1.0, label="measured (fit)")
    for j, p in enumerate(predictors):
        ax2.plot(result.gains, result.predicted[p], color=colour(j), ls=PREDICTOR_STYLES[p]["ls"], marker="s",
                 ms=3.5, label=PREDICTOR_STYLES[p]["label"], zorder=3)
    ax2.set_xlabel(r"gain $g$ ($W_{ij} \sim \mathcal{N}(0, g^2/n)$)")
    ax2.set_ylabel(r"rate ($\log_{10}$ per step; $< 0$: vanishing)")
    ax2.set_title(f"Elman tanh, n = {result.hidden}, inputs $\\mathcal{{N}}(0, {result.input_scale:g}^2)$: "
                  "rate per gain, measured and predicted")
    legend(ax2, loc="upper left")
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=7.5)
    return fig


@styled
def plot_phase_diagram(result):
    """(b) measured gradient rate over (sigma_w, sigma_b) with the predicted boundaries.

    result: a :class:`rnnanalysis.experiments.gradients.PhaseDiagram`. Colour: measured rate
    (log10 per step) on a scale symmetric about 0 (linear within +-0.01, logarithmic beyond, so
    slow and fast rates of either sign stay visible); lines: Pascanu bound = 0, log10 rho = 0
    (on the drawn W), mean-field chi = 1, and the measured lambda_1 = 0, smoothed over
    3 x 3 neighbouring cells (each cell is one finite network, whose lambda_1 scatters about the
    mean-field value).
    """
    from matplotlib.colors import SymLogNorm
    from matplotlib.lines import Line2D
    from scipy.ndimage import uniform_filter

    fig, (ax,) = new_figure(1, width=5.6, height=4.2)
    rate = np.asarray(result.log10_rate)
    v = max(float(np.nanmax(np.abs(rate))), 0.02)
    mesh = ax.pcolormesh(result.sigma_w, result.sigma_b, rate, cmap="PuOr_r", shading="nearest",
                         norm=SymLogNorm(linthresh=0.01, linscale=0.5, vmin=-v, vmax=v, base=10))
    fig.colorbar(mesh, ax=ax, label="measured gradient rate\n" r"($\log_{10}$ per step, symmetric log scale)")
    handles = []
    for fld, c, ls, name, smooth in (
        ("log10_gamma_sigma_max", colour(3), ":", r"Pascanu bound $\gamma\sigma_{\max} = 1$", False),
        ("log10_rho", colour(0), "--", r"$\rho(W) = 1$", False),
        ("lambda1_nats", "k", "-", r"measured $\lambda_1 = 0$ (mean over $3 \times 3$ cells)", True),
    ):
        z = np.asarray(getattr(result, fld))
        if smooth and min(z.shape) > 2:
            z = uniform_filter(z, size=3, mode="nearest")
        if np.nanmin(z) < 0 < np.nanmax(z):
            ax.contour(result.sigma_w, result.sigma_b, z, levels=[0.0], colors=[c], linestyles=[ls],
                       linewidths=1.8)
        handles.append(Line2D([], [], color=c, ls=ls, lw=1.8, label=name))
    ax.plot(result.chi_sigma_w, result.chi_sigma_b, color=colour(2), ls="-.", lw=2.0)
    handles.insert(2, Line2D([], [], color=colour(2), ls="-.", lw=2.0, label=r"mean field $\chi = 1$"))
    ax.set_xlim(result.sigma_w.min(), result.sigma_w.max())
    ax.set_ylim(result.sigma_b.min(), result.sigma_b.max())
    ax.set_xlabel(r"$\sigma_w$ (recurrent weights $\mathcal{N}(0, \sigma_w^2/n)$)")
    ax.set_ylabel(r"$\sigma_b$ (biases $\mathcal{N}(0, \sigma_b^2)$)")
    ax.set_title(f"Elman tanh, n = {result.hidden}, T = {result.T}, no input; one network per cell")
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    return fig


@styled
def plot_cell_flow(result):
    """(e) Elman vs LSTM vs GRU: log10 gradient norm over lag, one panel per initialiser, and why.

    result: a :class:`rnnanalysis.experiments.gradients.CellFlow` (band: min to max over the
    batch). The legend gives each line's fitted rate and the mean log10 of the factor each cell
    multiplies its state's gradient by on the direct path of one step (Elman tanh', LSTM forget
    gate f, GRU update gate z).
    """
    fig, axes = new_figure(len(result.inits), width=3.7, height=3.3, sharey=True)
    for ax, init in zip(axes, result.inits, strict=True):
        for i, kind in enumerate(result.kinds):
            key = f"{kind}|{init}"
            y = np.asarray(result.log10_norms[key])
            lags = np.arange(y.shape[0])
            ax.fill_between(lags, y.min(axis=1), y.max(axis=1), color=colour(i), alpha=0.2, lw=0)
            ax.plot(lags, y.mean(axis=1), color=colour(i), ls=("-", "--", "-.")[i % 3],
                    label=f"{_KIND_NAMES.get(kind, kind)}: {result.rate[key]:+.3f}; "
                          f"{_FACTOR_NAMES.get(kind, '')} {result.step_factor_log10[key]:+.2f}")
        ax.set_title(f"init: {init}, n = {result.hidden}")
        ax.set_xlabel(r"lag $T - k$ (steps)")
        legend(ax, loc="lower left", title_fontsize=7,
               title="fitted rate ($\\log_{10}$ per step);\nmean $\\log_{10}$ of the one-step factor")
    axes[0].set_ylabel(r"$\log_{10}\,\Vert \partial (v^\top h_T) / \partial s_k \Vert_2$")
    gated = [k for k in ("lstm", "gru") if k in result.kinds]
    if "orthogonal" in result.inits and "elman" in result.kinds and gated and all(
            result.rate[f"{k}|orthogonal"] < result.rate["elman|orthogonal"] for k in gated):
        gate = np.mean([result.step_factor_log10[f"{k}|orthogonal"] for k in gated])
        fig.supxlabel("Why gated cells vanish faster here: orthogonal $W_{hh}$ keeps every singular value "
                      "at 1, "
                      "so Elman loses only $\\tanh'$ per step;\nLSTM and GRU carry their state through a "
                      f"sigmoid gate near $\\sigma(0) = 0.5$ (mean $\\log_{{10}}$ {gate:+.2f} per step;\n"
                      "an LSTM forget-gate bias of 1 lifts $f$ to $\\sigma(1) \\approx 0.73$).", fontsize=8)
    return fig
