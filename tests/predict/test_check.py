"""check_predictions: the Pascanu bound never fails (hypothesis), exact agreement on linear maps, tables."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnanalysis as ra
from rnnanalysis.predict import fit_log10_rate


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activation=st.sampled_from(["tanh", "sigmoid", "relu", "linear"]),
       init=st.sampled_from(["gaussian", "orthogonal", "xavier", "pytorch"]),
       gain=st.floats(0.2, 4.0), n=st.integers(1, 12), scale=st.floats(0.0, 3.0),
       T=st.integers(2, 60), seed=st.integers(0, 2 ** 31 - 1))
def test_pascanu_bound_holds_at_every_step(activation, init, gain, n, scale, T, seed):
    rng = np.random.default_rng(seed)
    cell = ra.Elman(n, 2, activation=activation, init=init, gain=gain, seed=rng)
    xs = scale * rng.standard_normal((T, 2, 2))
    h0 = rng.standard_normal((2, n))
    table = ra.check_predictions(cell, xs, h0, skip=0, fit="mean")
    assert table.row("pascanu_bound").bound_held, table
    # and independently of check_predictions: every one-step growth of the exact profile
    prof = ra.gradient_profile(cell, xs, h0).log10_norms
    with np.errstate(invalid="ignore"):
        growth = prof[:-1] - prof[1:]
    bound = math.log10(cell.activation.gamma * np.linalg.norm(cell.params["weight_hh"], 2))
    assert np.all(growth[np.isfinite(growth)] <= bound + 1e-9)


def test_linear_orthogonal_map_every_predictor_is_exact(rng):
    g = 0.9
    cell = ra.Elman(10, 1, activation="linear", init="orthogonal", gain=g, seed=0)
    table = ra.check_predictions(cell, rng.standard_normal((300, 2, 1)))
    assert table.measured_log10_rate == pytest.approx(math.log10(g), abs=1e-10)
    for name in ("pascanu_bound", "linear_rho", "mean_field_chi", "lyapunov_lambda1"):
        row = table.row(name)
        assert abs(row.error_log10) < 1e-9, row
    assert table.row("pascanu_bound").bound_held and table.row("pascanu_bound").regime == "vanishing"
    assert table.measured_regime == "vanishing"


def test_chaotic_tanh_network_lyapunov_matches_measurement(rng):
    cell = ra.Elman(100, 2, init="gaussian", gain=2.5, seed=1)
    table = ra.check_predictions(cell, 0.2 * rng.standard_normal((1000, 2, 2)), fit="mean")
    ly = table.row("lyapunov_lambda1")
    assert ly.regime == "exploding" and table.measured_regime == "exploding"
    assert abs(ly.error_log10) * math.log(10) < 0.01                 # nats per step
    assert table.row("pascanu_bound").regime == "undecided"


def test_gated_cells_have_no_mean_field_and_no_bound(rng):
    table = ra.check_predictions(ra.GRU(8, 2, seed=0), rng.standard_normal((100, 2, 2)))
    assert table.row("mean_field_chi").regime == "n/a" and math.isnan(table.row("mean_field_chi").log10_rate)
    assert table.row("pascanu_bound").bound_held is None


def test_tables_print_and_serialise(rng):
    table = ra.check_predictions(ra.Elman(6, 1, seed=0), rng.standard_normal((50, 1, 1)))
    text = str(table)
    assert text.splitlines()[0].startswith("predictor") and "lyapunov_lambda1" in text and "measured" in text
    latex = table.to_latex()
    assert latex.startswith("\\begin{tabular}") and latex.endswith("\\end{tabular}")
    assert "pascanu\\_bound" in latex
    d = json.loads(json.dumps(table.to_dict()))
    assert [r["predictor"] for r in d["rows"]] == ["pascanu_bound", "linear_rho", "mean_field_chi",
                                                    "stochastic_linearisation", "lyapunov_lambda1"]
    with pytest.raises(KeyError, match="predictor"):
        table.row("oracle")


def test_fits(rng):
    lag = np.arange(201.0)
    y = (-0.01 * lag)[::-1].copy()                             # index k = 0..T, lag T - k
    prof = np.stack([y, y], axis=1)
    for fit in ("theil-sen", "mean", "lstsq"):
        np.testing.assert_allclose(fit_log10_rate(prof, 10, fit), -0.01, rtol=1e-10)
    spiky = prof.copy()
    spiky[rng.choice(200, 15, replace=False), 0] += 3.0         # outliers: Theil-Sen shrugs them off
    assert fit_log10_rate(spiky, 0, "theil-sen")[0] == pytest.approx(-0.01, rel=1e-6)
    dead = prof.copy()
    dead[:5, 1] = -np.inf
    for fit in ("theil-sen", "mean", "lstsq"):
        assert fit_log10_rate(dead, 0, fit).tolist() == [pytest.approx(-0.01, rel=1e-10), -np.inf]
    with pytest.raises(ValueError, match="fit"):
        fit_log10_rate(prof, 0, "huber")


def test_bad_input(rng):
    cell = ra.Elman(3, 1, seed=0)
    xs = rng.standard_normal((10, 1, 1))
    with pytest.raises(ValueError, match="skip: expected fewer lags than the sequence length T=10"):
        ra.check_predictions(cell, xs, skip=10)
    with pytest.raises(ValueError, match="band"):
        ra.check_predictions(cell, xs, band=-1.0)
    with pytest.raises(ValueError, match="ensemble"):
        ra.check_predictions(ra.Elman(3, 1, ensemble=2, seed=0), xs)
    with pytest.raises(ValueError, match="xs"):
        ra.check_predictions(cell, xs[:, :, :0])
