"""Plot functions: each takes a result and returns a Figure with the labels and legends it promises.

Results here are small synthetic instances of the figure-data classes, so these tests check the
drawing, not the numerics (tests/test_figures.py checks those).
"""

import math

import numpy as np
import pytest

from rnnanalysis import plots
from rnnanalysis.figures.gradients import PREDICTORS, CellFlow, GainProfiles, PhaseDiagram
from rnnanalysis.figures.spectra import LyapunovByGain, RandomMatrixSpectrum
from rnnanalysis.figures.training import ErrorSurface, RemedyStudy

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def legend_texts(ax):
    texts = []
    for child in ax.get_children():
        if isinstance(child, matplotlib.legend.Legend):
            texts += [t.get_text() for t in child.get_texts()]
    return texts


def test_gain_profiles(rng):
    G, T, B = 3, 20, 2
    lags = np.arange(T + 1)
    rates = np.array([-0.2, 0.0, 0.1])
    logs = rates[:, None, None] * lags[None, :, None] + 0.01 * rng.standard_normal((G, T + 1, B))
    res = GainProfiles(
        np.array([0.5, 1.0, 2.0]),
        logs,
        rates,
        {p: rates + 0.01 * i for i, p in enumerate(PREDICTORS)},
        2,
        16,
        0.5,
    )
    fig = plots.plot_gain_profiles(res)
    assert isinstance(fig, Figure)
    ax, ax2 = fig.axes
    assert "lag" in ax.get_xlabel() and "log_{10}" in ax.get_ylabel()
    assert "gain" in ax2.get_xlabel() and "per step" in ax2.get_ylabel()
    left = legend_texts(ax)
    assert {"$g = 0.5$", "$g = 1$", "$g = 2$"} <= set(left)
    assert all(plots.PREDICTOR_STYLES[p]["label"] in left for p in PREDICTORS)
    assert legend_texts(ax2)[0] == "measured (fit)"
    # one measured line per gain plus one line per predictor and gain
    assert len(ax.get_lines()) == G * (1 + len(PREDICTORS))


def test_phase_diagram():
    sw, sb = np.linspace(0.3, 3.0, 6), np.linspace(0.0, 1.0, 4)
    W, _ = np.meshgrid(sw, sb)
    rate = np.log10(W) / 2
    res = PhaseDiagram(
        sw, sb, rate, rate * math.log(10), np.log10(2 * W), np.log10(W), sb, 1 + 0.8 * sb, 16, 50
    )
    fig = plots.plot_phase_diagram(res)
    ax = fig.axes[0]
    assert "sigma_w" in ax.get_xlabel() and "sigma_b" in ax.get_ylabel()
    assert set(legend_texts(ax)) == {
        r"Pascanu bound $\gamma\sigma_{\max} = 1$",
        r"$\rho(W) = 1$",
        r"mean field $\chi = 1$",
        r"measured $\lambda_1 = 0$",
    }
    assert "per step" in fig.axes[1].get_ylabel()  # the colour bar


def test_cell_flow():
    lags = np.arange(11)[:, None] * np.ones((1, 3))
    res = CellFlow(
        ("elman", "lstm", "gru"),
        ("pytorch",),
        {"elman|pytorch": -0.3 * lags, "lstm|pytorch": -0.2 * lags, "gru|pytorch": -0.1 * lags},
        8,
        10,
    )
    fig = plots.plot_cell_flow(res)
    assert len(fig.axes) == 1
    assert legend_texts(fig.axes[0]) == ["Elman (tanh)", "LSTM", "GRU"]
    assert "pytorch" in fig.axes[0].get_title()


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
    steps = {r: np.arange(0, 50, 5) for r in ("tanh", "lstm")}
    loss = {r: np.linspace(1.4, 0.1, 10) for r in ("tanh", "lstm")}
    res = RemedyStudy(
        "temporal_order",
        ("tanh", "lstm"),
        np.array([10, 20]),
        np.array([[1.0, 0.0], [1.0, 0.5]]),
        2,
        50,
        8,
        0.01,
        20,
        steps,
        loss,
        math.log(4),
    )
    fig = plots.plot_remedies(res)
    ax, ax2 = fig.axes
    assert legend_texts(ax) == ["tanh", "lstm", "chance (1.386)"]
    assert "success rate" in ax2.get_ylabel() and ax2.get_xlabel() == "sequence length T"
    assert np.allclose(ax2.get_lines()[1].get_ydata(), [100, 50])


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
