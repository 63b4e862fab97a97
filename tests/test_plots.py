"""Plot functions: each takes a result and returns a Figure with the labels and legends it promises.

Results here are small synthetic instances of the figure-data classes, so these tests check the
drawing, not the numerics (tests/test_figures.py checks those).
"""

import math

import numpy as np
import pytest

from rnnanalysis import plots
from rnnanalysis.experiments.gradients import PREDICTORS, CellFlow, GainProfiles, PhaseDiagram
from rnnanalysis.experiments.spectra import LyapunovByGain, RandomMatrixSpectrum
from rnnanalysis.experiments.training import ErrorSurface, RemedyStudy

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def legend_texts(ax):
    texts = []
    for child in ax.get_children():
        if isinstance(child, matplotlib.legend.Legend):
            texts += [t.get_text() for t in child.get_texts()]
    return texts


def _gain_profiles(rng, gains):
    G, T, B = len(gains), 20, 2
    lags = np.arange(T + 1)
    rates = np.linspace(-0.2, 0.1, G)
    logs = rates[:, None, None] * lags[None, :, None] + 0.01 * rng.standard_normal((G, T + 1, B))
    return GainProfiles(gains=np.array(gains), log10_norms=logs, measured=rates,
                        predicted={p: rates + 0.01 * i for i, p in enumerate(PREDICTORS)}, skip=2, hidden=16,
                        input_scale=0.5)


def test_gain_profiles_one_panel_per_gain_within_the_measured_range(rng):
    res = _gain_profiles(rng, [0.5, 1.0, 2.0])
    fig = plots.plot_gain_profiles(res)
    assert isinstance(fig, Figure)
    *panels, rates = fig.axes
    assert len(panels) == 3
    for i, ax in enumerate(panels):
        assert "lag" in ax.get_xlabel() and f"$g = {res.gains[i]:g}$" in ax.get_title()
        lo, hi = ax.get_ylim()
        assert lo <= res.log10_norms[i].min() and hi >= res.log10_norms[i].max()
        assert hi - lo < 1.2 * (np.ptp(res.log10_norms[i]) + 1)   # the measured range, not the predictors'
        assert len(ax.get_lines()) == 1 + len(PREDICTORS)
    assert "log_{10}" in panels[0].get_ylabel()
    assert "gain" in rates.get_xlabel() and "per step" in rates.get_ylabel()
    assert legend_texts(rates)[0] == "measured (fit)"
    assert all(plots.PREDICTOR_STYLES[p]["label"] in [t.get_text() for t in fig.legends[0].get_texts()]
               for p in PREDICTORS)


def test_gain_profiles_single_gain_draws_rate_bars(rng):
    res = _gain_profiles(rng, [1.2])
    ax, bars = plots.plot_gain_profiles(res).axes
    assert len(bars.patches) == len(PREDICTORS)
    widths = sorted(p.get_width() for p in bars.patches)
    assert np.allclose(widths, sorted(res.predicted[p][0] for p in PREDICTORS))
    assert [t.get_text() for t in bars.get_yticklabels()][0] == plots.PREDICTOR_STYLES[PREDICTORS[0]]["label"]
    assert "per step" in bars.get_xlabel()


def test_phase_diagram():
    sw, sb = np.linspace(0.3, 3.0, 6), np.linspace(0.0, 1.0, 4)
    W, _ = np.meshgrid(sw, sb)
    rate = np.log10(W) / 2
    res = PhaseDiagram(sigma_w=sw, sigma_b=sb, log10_rate=rate, lambda1_nats=rate * math.log(10),
                       log10_gamma_sigma_max=np.log10(2 * W), log10_rho=np.log10(W), chi_sigma_b=sb,
                       chi_sigma_w=1 + 0.8 * sb, hidden=16, T=50)
    fig = plots.plot_phase_diagram(res)
    ax = fig.axes[0]
    assert "sigma_w" in ax.get_xlabel() and "sigma_b" in ax.get_ylabel()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        r"Pascanu bound $\gamma\sigma_{\max} = 1$",
        r"$\rho(W) = 1$",
        r"mean field $\chi = 1$",
        r"measured $\lambda_1 = 0$ (mean over $3 \times 3$ cells)",
    ]
    assert "per step" in fig.axes[1].get_ylabel()  # the colour bar
    norm = ax.collections[0].norm
    assert norm.vmin == -norm.vmax == -np.abs(rate).max()  # centred on zero


def test_cell_flow():
    lags = np.arange(11)[:, None] * np.ones((1, 3))
    keys = ("elman|orthogonal", "lstm|orthogonal", "gru|orthogonal")
    res = CellFlow(kinds=("elman", "lstm", "gru"), inits=("orthogonal",),
                   log10_norms={k: -r * lags for k, r in zip(keys, (0.1, 0.2, 0.2), strict=True)},
                   rate=dict(zip(keys, (-0.1, -0.2, -0.2), strict=True)),
                   step_factor_log10=dict(zip(keys, (-0.12, -0.3, -0.3), strict=True)),
                   hidden=8, T=10)
    fig = plots.plot_cell_flow(res)
    assert len(fig.axes) == 1
    assert legend_texts(fig.axes[0]) == ["Elman (tanh): -0.100; $\\tanh'(a_t)$ -0.12",
                                         "LSTM: -0.200; forget gate $f_t$ -0.30",
                                         "GRU: -0.200; update gate $z_t$ -0.30"]
    assert "orthogonal" in fig.axes[0].get_title()
    assert "Why gated cells vanish faster" in fig._supxlabel.get_text()
    faster = CellFlow(**{**res.__dict__, "rate": dict(zip(keys, (-0.3, -0.2, -0.2), strict=True))})
    assert plots.plot_cell_flow(faster)._supxlabel is None                  # no "why" when it is not so


def test_random_matrix(rng):
    ev = rng.standard_normal(50) + 1j * rng.standard_normal(50)
    res = RandomMatrixSpectrum(1.0, 50, ev.real, ev.imag, np.sort(rng.uniform(0, 2, 50))[::-1], 1.02, 1.98)
    fig = plots.plot_random_matrix(res)
    ax, ax2 = fig.axes
    assert ax.get_xlabel() == r"Re $\lambda$" and ax.get_ylabel() == r"Im $\lambda$"
    assert any("circular law" in t for t in legend_texts(ax))
    assert any("quarter-circle" in t for t in legend_texts(ax2))
    assert any("1.980" in t for t in legend_texts(ax2))  # measured sigma_max shown


def test_lyapunov():
    gains = np.array([0.5, 1.0, 2.0])
    res = LyapunovByGain(
        gains,
        -np.arange(8.0)[None, :] * gains[:, None] / 8,
        gains,
        np.log(gains)[:, None] * np.ones((1, 2)),
        gains,
        np.log(gains),
        8,
        16,
        100,
    )
    fig = plots.plot_lyapunov(res, published={2.0: 0.155})
    ax, ax2 = fig.axes
    assert "nats per step" in ax.get_ylabel() and "nats per step" in ax2.get_ylabel()
    assert "published (derived) values" in legend_texts(ax2)
    assert len(legend_texts(ax)) == 3


def test_remedies():
    res = RemedyStudy(tasks=("adding", "temporal_order"), remedies=("tanh", "lstm"),
                      labels=("tanh RNN", "LSTM"),
                      lengths=np.array([10, 20]),
                      success=np.array([[[1.0, 0.0], [1.0, 0.5]], [[0.0, 0.0], [1.0, 1.0]]]), seeds=2,
                      budget="50 steps", source="test")
    fig = plots.plot_remedies(res)
    ax, ax2 = fig.axes
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["tanh RNN", "LSTM"]
    assert "success rate" in ax.get_ylabel() and ax2.get_xlabel() == "sequence length T"
    assert [ax.get_title(), ax2.get_title()] == ["adding", "temporal order"]
    assert np.allclose(ax.get_lines()[1].get_ydata(), [100, 50])
    assert "50 steps" in fig._supxlabel.get_text()


def test_error_surface():
    w, b = np.linspace(1, 9, 5), np.linspace(-5, 2, 4)
    path = np.array([[6.0, -2.0], [5.0, -2.5]])
    res = ErrorSurface(
        w,
        b,
        np.full((4, 5), 0.1),
        {"no clipping": path, "clipping": path},
        {"no clipping": np.array([0.1, 0.2]), "clipping": np.array([0.1, 0.05])},
        2.0,
        0.5,
    )
    fig = plots.plot_error_surface(res)
    ax, ax2 = fig.axes[:2]
    assert legend_texts(ax) == ["no clipping", "clipping"]
    assert ax.get_xlabel() == "recurrent weight $w$" and ax.get_ylabel() == "bias $b$"
    assert ax2.get_yscale() == "log"
