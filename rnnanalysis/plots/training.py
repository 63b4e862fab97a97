"""Figures of training: remedies (curves and success over T), and Pascanu's error-surface wall."""

from __future__ import annotations

import numpy as np

from ._style import colour, legend, new_figure, styled

__all__ = ["plot_remedies", "plot_error_surface"]


@styled
def plot_remedies(result):
    """(f) training-loss curves at one length, and success rate vs T, one colour per remedy.

    result: a :class:`rnnanalysis.figures.training.RemedyStudy`. Curves: running mean over
    ``smooth`` logged values (the raw per-batch loss is noisy). Success points of different
    remedies are shifted slightly along T so that equal rates stay visible.
    """
    smooth = 5
    fig, (ax, ax2) = new_figure(2, width=3.4, height=3.0)
    R = len(result.remedies)
    for i, r in enumerate(result.remedies):
        loss = np.asarray(result.curve_loss[r], float)
        k = min(smooth, loss.size)
        ax.plot(
            np.asarray(result.curve_step[r])[k - 1 :],
            np.convolve(loss, np.ones(k) / k, mode="valid"),
            color=colour(i),
            ls=("-", "--", "-.", ":")[i % 4],
            label=r,
        )
        ax2.plot(
            np.asarray(result.lengths) * 2 ** (0.04 * (i - (R - 1) / 2)),
            100 * np.asarray(result.success[i]),
            color=colour(i),
            marker="os^D"[i % 4],
            ls=("-", "--", "-.", ":")[i % 4],
            label=r,
        )
    ax.axhline(result.baseline, color="0.4", lw=0.8, ls=(0, (1, 3)), label=f"chance ({result.baseline:.3f})")
    ax.set_xlabel(f"training step (Adam, lr = {result.lr:g})")
    ax.set_ylabel(f"training loss (nats, mean of {smooth} logs)")
    ax.set_title(f"{result.task}, T = {result.curve_length}, seed 0")
    legend(ax, loc="lower left")
    ax2.set_xscale("log", base=2)
    ax2.set_xticks(result.lengths, [str(int(v)) for v in result.lengths])
    ax2.set_ylim(-5, 105)
    ax2.set_xlabel("sequence length T")
    ax2.set_ylabel(f"success rate (% of {result.seeds} seeds)")
    ax2.set_title(f"solved within {result.budget} steps, n = {result.hidden}")
    legend(ax2, loc="lower left")
    return fig


@styled
def plot_error_surface(result):
    """(g) Pascanu's one-unit error surface over (w, b) with gradient-descent paths, with and
    without clipping; right: the loss along each path.

    result: a :class:`rnnanalysis.figures.training.ErrorSurface`.
    """
    fig, (ax, ax2) = new_figure(2, width=3.5, height=3.1)
    from matplotlib.colors import LogNorm

    loss = np.asarray(result.loss)
    mesh = ax.pcolormesh(
        result.w,
        result.b,
        loss,
        cmap="cividis",
        shading="nearest",
        rasterized=True,
        norm=LogNorm(max(float(loss.min()), 1e-5), float(loss.max())),
    )
    fig.colorbar(mesh, ax=ax, label=r"loss $(\sigma(x_{50}) - 0.7)^2$ (log scale)")
    styles = {"no clipping": (colour(3), "o", "-", 1.0, 4), "clipping": (colour(5), "s", "-", 2.6, 3)}
    for name, path in result.paths.items():
        c, m, ls, lw, z = styles.get(name, (colour(0), "o", "-", 1.0, 3))
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], color=c, marker=m, ms=2.5, lw=lw, ls=ls, label=name, zorder=z)
        ax.plot(*path[0], marker="*", color="w", ms=10, mec="k", mew=0.6, zorder=6)
        ax2.plot(
            np.arange(path.shape[0]),
            result.path_loss[name],
            color=c,
            ls=ls,
            marker=m,
            ms=2,
            lw=lw / 1.5,
            label=name,
            zorder=z,
        )
    ax.set_xlim(result.w.min(), result.w.max())
    ax.set_ylim(result.b.min(), result.b.max())
    ax.set_xlabel(r"recurrent weight $w$")
    ax.set_ylabel(r"bias $b$")
    ax.set_title(r"$x_t = w\,\sigma(x_{t-1}) + b$, $x_0 = 0.5$; start: star")
    legend(ax, loc="lower right", frameon=True, framealpha=0.85)
    ax2.set_yscale("log")
    ax2.set_xlabel("gradient-descent step")
    ax2.set_ylabel("loss")
    ax2.set_title(f"lr = {result.lr:g}, clipping threshold {result.threshold:g}")
    legend(ax2, loc="lower left")
    return fig
