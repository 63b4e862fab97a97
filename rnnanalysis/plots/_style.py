"""Shared look of every figure: the Okabe-Ito colour-blind-safe palette, line styles, lazy matplotlib.

matplotlib is imported inside :func:`pyplot` (never at ``import rnnanalysis``), and figures are
made with :class:`matplotlib.figure.Figure` directly, so no global pyplot state or GUI backend is
involved: callers save them with ``fig.savefig``.

References:
    Okabe & Ito (2008), "Color Universal Design": a palette distinguishable under the common
    forms of colour-vision deficiency.
"""

from __future__ import annotations

import functools

#: Okabe-Ito, in the order used for series (black last, for reference lines).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: One line style per predictor, so predictors stay apart without relying on colour.
PREDICTOR_STYLES = {
    "pascanu_bound": {"ls": ":", "label": r"Pascanu bound $\log_{10}(\gamma\,\sigma_{\max})$"},
    "linear_rho": {"ls": "--", "label": r"linear $\log_{10}\rho(W)$"},
    "mean_field_chi": {"ls": "-.", "label": r"mean field $\frac{1}{2}\log_{10}\chi$"},
    "stochastic_linearisation": {"ls": (0, (3, 1)), "label": r"stochastic linearisation (ra.predict)"},
    "lyapunov_lambda1": {"ls": (0, (5, 1, 1, 1, 1, 1)), "label": r"Lyapunov $\lambda_1/\ln 10$"},
}
RC = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.4,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
}


def colour(i: int) -> str:
    """The i-th series colour (cycles through the eight Okabe-Ito colours)."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def styled(plot):
    """Run a plot function under :data:`RC` (fonts, spines), importing matplotlib only then."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(RC):
            return plot(*args, **kwargs)

    return wrapper


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 3.4, height: float = 2.8, **kw):
    """A constrained-layout Figure with ``nrows x ncols`` axes of about ``width x height`` inches each.

    Returns ``(fig, axes)`` with ``axes`` a flat list. Call it inside a :func:`styled` function.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw).ravel().tolist()
    return fig, axes


def legend(ax, **kw):
    """A small frameless legend."""
    kw.setdefault("frameon", False)
    return ax.legend(**kw)
