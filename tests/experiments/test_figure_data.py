"""Figure data (grids on ra.sweep) against independent oracles; the remedies study read from disk."""

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from rnnanalysis.experiments import Store, gradients, spectra, training


@pytest.fixture(scope="module")
def ex():
    with ThreadPoolExecutor(2) as pool:
        yield pool


def test_error_surface_clipping_bounds_every_step_and_the_plain_path_jumps():
    r = training.error_surface(w=np.linspace(1, 9, 9), b=np.linspace(-5, 2, 8))
    clipped = np.linalg.norm(np.diff(r.paths["clipping"], axis=0), axis=1)
    plain = np.linalg.norm(np.diff(r.paths["no clipping"], axis=0), axis=1)
    assert clipped.max() <= r.lr * r.threshold * (1 + 1e-12)
    assert plain.max() > 2 * r.lr * r.threshold  # the wall throws the plain path
    assert r.path_loss["clipping"][-1] < r.path_loss["no clipping"][-1]
    assert r.loss.shape == (8, 9)


def test_gain_profiles_lyapunov_and_mean_field_track_the_measured_rate(ex):
    r = gradients.gain_profiles(gains=(0.5, 2.0), hidden=48, T=120, batch=4, seed=3, executor=ex)
    assert r.log10_norms.shape == (2, 121, 4)
    assert np.allclose(r.log10_norms[:, 0], 0)  # lag 0: the unit direction itself
    assert r.measured[0] < 0 < r.measured[1]
    assert np.all(np.abs(r.predicted["lyapunov_lambda1"] - r.measured) < 0.05)
    assert np.all(r.predicted["pascanu_bound"] >= r.measured)  # an upper bound on the growth rate


def test_phase_diagram_chi_line_starts_at_one_and_signs_agree(ex):
    r = gradients.phase_diagram(sigma_w=(0.4, 2.5), sigma_b=(0.0,), hidden=40, T=150, batch=2, chi_points=1,
                                executor=ex)
    assert abs(r.chi_sigma_w[0] - 1) < 1e-6  # tanh, sigma_b = 0: chi = sigma_w^2
    assert r.log10_rate[0, 0] < 0 < r.log10_rate[0, 1]
    assert np.all(np.sign(r.lambda1_nats) == np.sign(r.log10_rate))
    assert r.log10_gamma_sigma_max[0, 0] < 0 < r.log10_gamma_sigma_max[0, 1]


def test_lyapunov_by_gain_subcritical_is_ln_g(ex):
    r = spectra.lyapunov_by_gain(spectrum_gains=(0.5,), gains=(0.5, 2.0), hidden=8, hidden_max=60, T=300,
                                 repeats=1, seed=2, executor=ex)
    i = int(np.argmin(np.abs(r.mean_field_gains - 0.5)))
    assert abs(r.lambda_max_mean_field[i] - math.log(0.5)) < 1e-9
    assert abs(r.lambda_max[0, 0] - math.log(0.5)) < 0.15
    assert r.lambda_max[1, 0] > 0
    assert r.spectra.shape == (1, 8) and np.all(np.diff(r.spectra[0]) <= 0)


def test_cell_flow_same_seed_same_data_and_a_store_resumes_it(ex, tmp_path):
    store = tmp_path / "e.jsonl"
    a = gradients.cell_flow(hidden=5, T=12, batch=2, seed=7, executor=ex, store=store)
    b = gradients.cell_flow(hidden=5, T=12, batch=2, seed=7, executor=ex, store=store)   # all resumed
    c = gradients.cell_flow(hidden=5, T=12, batch=2, seed=8, executor=ex)
    assert len(Store(store).read().records) == 6                  # one per grid point, none twice
    assert all(np.array_equal(a.log10_norms[k], b.log10_norms[k]) for k in a.log10_norms)
    assert not np.array_equal(a.log10_norms["elman|pytorch"], c.log10_norms["elman|pytorch"])
    assert set(a.log10_norms) == {f"{k}|{i}" for k in a.kinds for i in a.inits}
    assert all(v.shape == (13, 2) and np.allclose(v[0], 0) for v in a.log10_norms.values())


def test_cell_flow_step_factor_is_the_carry_gate(ex):
    """Zero recurrent and input weights: LSTM f = GRU z = sigmoid(0) = 1/2 exactly, Elman tanh'(0) = 1;
    with orthogonal init the gated cells' gate still sits near 1/2 and they vanish faster than Elman."""
    r = gradients.cell_flow(inits=("orthogonal",), hidden=32, T=200, batch=4, seed=0, executor=ex)
    for k in ("lstm", "gru"):
        assert abs(r.step_factor_log10[f"{k}|orthogonal"] - math.log10(0.5)) < 0.05
        assert r.rate[f"{k}|orthogonal"] < r.rate["elman|orthogonal"] < 0
    assert -0.2 < r.step_factor_log10["elman|orthogonal"] < 0


def test_load_remedy_study_counts_solved_runs(tmp_path):
    runs = [{"remedy": rem, "length": L, "seed": s, "solved": rem == "lstm" and s < 2}
            for rem in ("tanh", "lstm") for L in (10, 20) for s in range(4)]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"temporal_order": {"runs": runs}, "meta": {"budget_text": "B"}}))
    st = training.load_remedy_study(path, remedies=("lstm", "gru", "tanh"))
    assert st.remedies == ("lstm", "tanh") and st.tasks == ("temporal_order",) and st.seeds == 4
    assert np.array_equal(st.success[0], [[0.5, 0.5], [0.0, 0.0]]) and st.budget == "B"
    with pytest.raises(ValueError, match="not found"):
        training.load_remedy_study(tmp_path / "missing.json")
    path.write_text(json.dumps({"adding": {"runs": []}, "temporal_order": {"runs": runs}}))
    assert training.load_remedy_study(path).tasks == ("temporal_order",)         # no runs yet: left out
    path.write_text(json.dumps({"adding": {"runs": []}}))
    with pytest.raises(ValueError, match="no finished runs"):
        training.load_remedy_study(path)
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a study"):
        training.load_remedy_study(tmp_path / "bad.json")


def test_committed_study_loads():
    st = training.load_remedy_study()
    assert st.success.shape == (len(st.tasks), len(st.remedies), len(st.lengths))
    ran = ~np.isnan(st.success)                           # NaN: a point the study has not run yet
    assert np.all((st.success[ran] >= 0) & (st.success[ran] <= 1))


def test_remedy_study_recomputed_small():
    r = training.remedy_study(tasks=("temporal_order",), remedies=("tanh", "lstm"), lengths=(5,), seeds=1,
                              budget=10, hidden=4)
    assert r.success.shape == (1, 2, 1) and np.all((r.success >= 0) & (r.success <= 1))
    assert r.remedies == ("tanh", "lstm")
