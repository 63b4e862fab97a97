"""Figures of gradient flow: norms over lag with each predictor's slope, the phase diagram, cell kinds."""

from __future__ import annotations

import numpy as np

from ._style import PREDICTOR_STYLES, colour, legend, new_figure, styled

__all__ = ["plot_gain_profiles", "plot_phase_diagram", "plot_cell_flow"]

_KIND_NAMES = {"elman": "Elman (tanh)", "lstm": "LSTM", "gru": "GRU"}


@styled
def plot_gain_profiles(result, predictors=tuple(PREDICTOR_STYLES)):
    """(a) log10 gradient norm vs lag, one colour per gain, each predictor's slope overlaid.

    result: a :class:`rnnanalysis.figures.gradients.GainProfiles`. Left: the batch mean (band:
    min to max over the batch) with each predictor's line drawn from the measured value at lag
    ``skip``; right: rate per gain, measured and predicted (log10 per step).
    """
    from matplotlib.lines import Line2D

    fig, (ax, ax2) = new_figure(2, width=3.6, height=3.0)
    logs = np.asarray(result.log10_norms)
    lags = np.arange(logs.shape[1])
    lo, hi = np.inf, -np.inf
    for i, g in enumerate(result.gains):
        y = logs[i]
        mean = y.mean(axis=1)
        ax.fill_between(lags, y.min(axis=1), y.max(axis=1), color=colour(i), alpha=0.18, lw=0)
        ax.plot(lags, mean, color=colour(i), label=f"$g = {g:g}$")
        lo, hi = min(lo, y.min()), max(hi, y.max())
        anchor = mean[result.skip]
        for p in predictors:
            rate = result.predicted[p][i]
            if np.isfinite(rate):
                ax.plot(
                    lags[result.skip :],
                    anchor + rate * (lags[result.skip :] - result.skip),
                    color=colour(i),
                    ls=PREDICTOR_STYLES[p]["ls"],
                    lw=0.9,
                    alpha=0.9,
                )
    pad = 0.05 * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(r"lag $T - k$ (steps)")
    ax.set_ylabel(r"$\log_{10}\,\Vert \partial (v^\top h_T) / \partial h_k \Vert_2$")
    ax.set_title(f"Elman tanh, n = {result.hidden}: measured and predicted slopes")
    ax.add_artist(legend(ax, loc="lower left", ncols=2))
    styles = [Line2D([], [], color="k", label="measured (batch mean)")]
    styles += [
        Line2D([], [], color="k", lw=0.9, ls=PREDICTOR_STYLES[p]["ls"], label=PREDICTOR_STYLES[p]["label"])
        for p in predictors
    ]
    legend(
        ax, handles=styles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=7
    )
    ax2.axhline(0, color="0.6", lw=0.7)
    ax2.plot(result.gains, result.measured, "o-", color="k", mfc="none", ms=8, lw=0.8, label="measured (fit)")
    for j, p in enumerate(predictors):
        ax2.plot(
            result.gains,
            result.predicted[p],
            color=colour(j),
            ls=PREDICTOR_STYLES[p]["ls"],
            marker="s",
            ms=3,
            label=PREDICTOR_STYLES[p]["label"],
            zorder=3,
        )
    ax2.set_xlabel(r"gain $g$ ($W_{ij} \sim \mathcal{N}(0, g^2/n)$)")
    ax2.set_ylabel(r"rate ($\log_{10}$ per step)")
    ax2.set_title(f"rates; inputs $\\mathcal{{N}}(0, {result.input_scale:g}^2)$")
    legend(ax2, loc="upper left")
    return fig


@styled
def plot_phase_diagram(result):
    """(b) measured gradient rate over (sigma_w, sigma_b) with the predicted boundaries.

    result: a :class:`rnnanalysis.figures.gradients.PhaseDiagram`. Colour: measured rate
    (log10 per step, diverging map with 0 at its centre, each side scaled to its extreme);
    lines: Pascanu bound = 0, log10 rho = 0 (on the drawn W), mean-field chi = 1, measured lambda_1 = 0.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.lines import Line2D

    fig, (ax,) = new_figure(1, width=5.0, height=3.6)
    rate = np.asarray(result.log10_rate)
    lo, hi = min(float(np.nanmin(rate)), -1e-3), max(float(np.nanmax(rate)), 1e-3)
    mesh = ax.pcolormesh(
        result.sigma_w, result.sigma_b, rate, cmap="PuOr_r", shading="nearest", norm=TwoSlopeNorm(0.0, lo, hi)
    )
    fig.colorbar(mesh, ax=ax, label=r"measured gradient rate ($\log_{10}$ per step)")
    handles = []
    for field, c, ls, name in (
        ("log10_gamma_sigma_max", colour(3), ":", r"Pascanu bound $\gamma\sigma_{\max} = 1$"),
        ("log10_rho", colour(0), "--", r"$\rho(W) = 1$"),
        ("lambda1_nats", "k", "-", r"measured $\lambda_1 = 0$"),
    ):
        z = np.asarray(getattr(result, field))
        if np.nanmin(z) < 0 < np.nanmax(z):
            ax.contour(
                result.sigma_w, result.sigma_b, z, levels=[0.0], colors=[c], linestyles=[ls], linewidths=1.6
            )
        handles.append(Line2D([], [], color=c, ls=ls, lw=1.6, label=name))
    ax.plot(result.chi_sigma_w, result.chi_sigma_b, color=colour(2), ls="-.", lw=1.8)
    handles.insert(2, Line2D([], [], color=colour(2), ls="-.", lw=1.8, label=r"mean field $\chi = 1$"))
    ax.set_xlim(result.sigma_w.min(), result.sigma_w.max())
    ax.set_ylim(result.sigma_b.min(), result.sigma_b.max())
    ax.set_xlabel(r"$\sigma_w$ (recurrent weights $\mathcal{N}(0, \sigma_w^2/n)$)")
    ax.set_ylabel(r"$\sigma_b$ (biases $\mathcal{N}(0, \sigma_b^2)$)")
    ax.set_title(f"Elman tanh, n = {result.hidden}, T = {result.T}, no input")
    legend(ax, handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncols=2)
    return fig


@styled
def plot_cell_flow(result):
    """(e) Elman vs LSTM vs GRU: log10 gradient norm over lag, one panel per initialiser.

    result: a :class:`rnnanalysis.figures.gradients.CellFlow` (band: min to max over the batch).
    """
    fig, axes = new_figure(len(result.inits), width=3.4, height=2.9, sharey=True)
    for ax, init in zip(axes, result.inits, strict=False):
        for i, kind in enumerate(result.kinds):
            y = np.asarray(result.log10_norms[f"{kind}|{init}"])
            lags = np.arange(y.shape[0])
            ax.fill_between(lags, y.min(axis=1), y.max(axis=1), color=colour(i), alpha=0.2, lw=0)
            ax.plot(
                lags,
                y.mean(axis=1),
                color=colour(i),
                ls=("-", "--", "-.")[i % 3],
                label=_KIND_NAMES.get(kind, kind),
            )
        ax.set_title(f"init: {init}, n = {result.hidden}")
        ax.set_xlabel(r"lag $T - k$ (steps)")
    axes[0].set_ylabel(r"$\log_{10}\,\Vert \partial (v^\top h_T) / \partial s_k \Vert_2$")
    legend(axes[0], loc="lower left")
    return fig
