"""Figures of spectra: eigenvalues against the circular law, singular values against the
quarter-circle law, and Lyapunov spectra with lambda_max(g) against the mean field."""

from __future__ import annotations

import numpy as np

from ..predict.random_matrix import quarter_circle_density
from ._style import colour, legend, new_figure, styled

__all__ = ["plot_random_matrix", "plot_lyapunov", "plot_singular_spectrum"]


@styled
def plot_random_matrix(result):
    """(c) eigenvalues in the complex plane vs the circle of radius g; singular values vs the
    quarter-circle density on [0, 2g] (Bai-Yin edge 2g marked).

    result: a :class:`rnnanalysis.experiments.spectra.RandomMatrixSpectrum`.
    """
    g, n = result.gain, result.n
    fig, (ax, ax2) = new_figure(2, width=3.3, height=3.1)
    ax.scatter(
        result.eigenvalues_real,
        result.eigenvalues_imag,
        s=4,
        color=colour(0),
        alpha=0.8,
        lw=0,
        label=f"eigenvalues ($\\rho$ = {result.spectral_radius:.3f})",
    )
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(g * np.cos(t), g * np.sin(t), color=colour(3), ls="--", label=f"circular law, radius $g$ = {g:g}")
    ax.set_aspect("equal")
    lim = 1.25 * g
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_title(f"eigenvalues of W, n = {n}, $W_{{ij}} \\sim \\mathcal{{N}}(0, g^2/n)$")
    legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=1)
    s = np.asarray(result.singular_values)
    ax2.hist(
        s,
        bins=max(10, int(np.sqrt(s.size))),
        density=True,
        color=colour(0),
        alpha=0.45,
        label="singular values (histogram)",
    )
    grid = np.linspace(0, 2 * g, 300)
    ax2.plot(grid, quarter_circle_density(grid, g), color=colour(3), ls="--", label="quarter-circle law")
    ax2.axvline(
        2 * g,
        color="k",
        ls=":",
        lw=1.0,
        label=f"Bai-Yin edge $2g$; measured $\\sigma_{{\\max}}$ = {result.sigma_max:.3f}",
    )
    ax2.set_xlabel(r"singular value $s$")
    ax2.set_ylabel("density")
    ax2.set_title("singular values of W")
    legend(ax2, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=1)
    return fig


@styled
def plot_lyapunov(result, published=None):
    """(d) Lyapunov spectra at a few gains, and lambda_max(g) measured vs mean field (nats/step).

    result: a :class:`rnnanalysis.experiments.spectra.LyapunovByGain`; published: optional
    ``{g: lambda_max}`` points to mark (e.g. the derived values of papers/published.md).
    """
    fig, (ax, ax2) = new_figure(2, width=3.4, height=3.0)
    spectra = np.asarray(result.spectra)
    idx = (np.arange(spectra.shape[1]) + 1) / spectra.shape[1]
    for i, g in enumerate(result.spectrum_gains):
        ax.plot(idx, spectra[i], color=colour(i), marker="os^Dv"[i % 5], ms=2.5, lw=1.0, label=f"$g = {g:g}$")
    ax.axhline(0, color="0.5", lw=0.7)
    ax.set_xlabel(r"exponent index $i / n$")
    ax.set_ylabel(r"Lyapunov exponent $\lambda_i$ (nats per step)")
    ax.set_title(f"spectra, n = {result.hidden}, T = {result.T}")
    legend(ax, loc="lower left")
    lam = np.asarray(result.lambda_max)
    ax2.axhline(0, color="0.5", lw=0.7)
    ax2.errorbar(
        result.gains,
        lam.mean(axis=1),
        yerr=lam.std(axis=1),
        fmt="o",
        color=colour(0),
        ms=3.5,
        capsize=2,
        label=f"measured $\\lambda_1$ (n = {result.hidden_max}, {lam.shape[1]} nets)",
    )
    ax2.plot(
        result.mean_field_gains,
        result.lambda_max_mean_field,
        color=colour(3),
        ls="--",
        label=r"mean field ($\ln g$ for $g \leq 1$)",
    )
    if published:
        gp = sorted(published)
        ax2.plot(gp, [published[k] for k in gp], "x", color="k", ms=6, label="published (derived) values")
    ax2.set_xlabel(r"gain $g$")
    ax2.set_ylabel(r"$\lambda_{\max}$ (nats per step)")
    ax2.set_title(r"$\lambda_{\max}(g)$ of $h_{t+1} = W \tanh(h_t)$")
    ax2.set_ylim(max(ax2.get_ylim()[0], -1.6), None)
    legend(ax2, loc="lower right")
    return fig


@styled
def plot_singular_spectrum(result):
    """(h) histograms of measured log10 singular values of J_T ... J_{T-L+1} per lag L, with the
    free-probability density drawn over them; one panel per network.

    result: a :class:`rnnanalysis.experiments.spectra.SingularSpectrumComparison`. Values more
    than 15 decades below the largest are rounding noise of the measurement and are left out.
    """
    N = len(result.gains)
    fig, axes = new_figure(N, width=3.4, height=2.9)
    for i, ax in enumerate(axes):
        for k, L in enumerate(result.lags):
            m = np.asarray(result.measured[i][k])
            m = m[np.isfinite(m) & (m > m.max() - 15)]
            ax.hist(m, bins=40, density=True, color=colour(k), alpha=0.35,
                    label=f"measured, L = {L}")
            g, d = np.asarray(result.log10_sigma[i][k]), np.asarray(result.density[i][k])
            keep = g > m.max() - 15
            ax.plot(g[keep], d[keep], color=colour(k), lw=1.3, label=f"free probability, L = {L}")
        ax.set_xlabel(r"$\log_{10}\sigma$ of $J_T \cdots J_{T-L+1}$")
        ax.set_ylabel("density")
        ax.set_title(f"tanh Elman, n = {result.hidden}, g = {result.gains[i]:g}, "
                     f"inputs N(0, {result.input_std[i]:g}$^2$)")
        legend(ax, loc="upper left", fontsize=6.5)
    return fig
