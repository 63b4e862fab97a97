"""Figures of training: remedies (success over T), and Pascanu's error-surface wall."""

from __future__ import annotations

import numpy as np

from ._style import colour, legend, new_figure, styled

__all__ = ["plot_remedies", "plot_error_surface", "plot_divergence"]


@styled
def plot_remedies(result):
    """(f) success rate against the sequence length T, one panel per task, one line per remedy.

    result: a :class:`rnnanalysis.experiments.training.RemedyStudy`. Points of different
    remedies are shifted slightly along T so that equal rates stay visible.
    """
    import textwrap

    K, R = len(result.tasks), len(result.remedies)
    fig, axes = new_figure(K, width=3.7, height=3.4, sharey=True)
    lengths = np.asarray(result.lengths)
    for ax, task, success in zip(axes, result.tasks, np.asarray(result.success), strict=True):
        for i, label in enumerate(result.labels):
            ax.plot(lengths * 2 ** (0.05 * (i - (R - 1) / 2)), 100 * success[i], color=colour(i),
                    marker="os^Dv<>PX"[i % 9], ls=("-", "--", "-.", ":")[i % 4], label=label)
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(int(v)) for v in lengths])
        ax.minorticks_off()
        ax.set_ylim(-5, 105)
        ax.set_xlabel("sequence length T")
        ax.set_title(task.replace("_", " "))
    axes[0].set_ylabel(f"success rate (% of {result.seeds} seeds)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False, fontsize=7.5)
    fig.supxlabel("\n".join(textwrap.wrap(f"Budget: {result.budget}", 45 * K + 15)), fontsize=7)
    return fig


@styled
def plot_error_surface(result):
    """(g) Pascanu's one-unit error surface over (w, b) with gradient-descent paths, with and
    without clipping; right: the loss along each path.

    result: a :class:`rnnanalysis.experiments.training.ErrorSurface`.
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


@styled
def plot_divergence(result):
    """Fraction of runs that diverge against the SGD learning rate, without and with clipping
    (one panel per task); the fraction that solved the task as thin lines.

    result: a :class:`rnnanalysis.experiments.remedies.ClippingStudy`.
    """
    K = len(result.tasks)
    fig, axes = new_figure(K, width=3.4, height=3.0, sharey=True)
    div_ok = zip(np.asarray(result.divergence), np.asarray(result.success), strict=True)
    for ax, task, (div, ok) in zip(axes, result.tasks, div_ok, strict=True):
        for i, name in enumerate(("no clipping", "clipping")):
            ax.plot(result.lrs, 100 * div[i], color=colour(3 if i == 0 else 5), marker="os"[i], lw=1.8,
                    label=f"diverged, {name}")
            ax.plot(result.lrs, 100 * ok[i], color=colour(3 if i == 0 else 5), marker="os"[i], ms=3, lw=0.8,
                    ls=":", label=f"solved, {name}")
        ax.set_xscale("log")
        ax.set_ylim(-5, 105)
        ax.set_xlabel("SGD learning rate")
        ax.set_title(f"{task.replace('_', ' ')}, T = {result.length}")
    axes[0].set_ylabel(f"% of {result.seeds} seeds")
    legend(axes[-1], loc="center left", fontsize=7)
    if result.budget:
        fig.supxlabel(f"{result.remedy} RNN; {result.budget}", fontsize=7)
    return fig
