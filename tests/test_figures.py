"""Figure data against independent oracles, and the registry making files from scratch."""

import json
import math

import numpy as np
import pytest
from scipy import integrate

from rnnanalysis import figures
from rnnanalysis.figures import gradients, spectra, training


def test_quarter_circle_density_is_a_density_matching_a_large_matrix(rng):
    g = 1.5
    total, _ = integrate.quad(lambda s: spectra.quarter_circle_density(s, g), 0, 2 * g)
    assert abs(total - 1) < 1e-9
    assert spectra.quarter_circle_density(2 * g + 0.1, g) == 0
    r = spectra.random_matrix_spectrum(400, gain=g, seed=1)
    # empirical CDF of the singular values vs the integrated density (Kolmogorov distance)
    s = np.sort(r.singular_values)
    cdf = np.array([integrate.quad(lambda x: spectra.quarter_circle_density(x, g), 0, v)[0] for v in s[::20]])
    emp = (np.arange(s.size)[::20] + 0.5) / s.size
    assert np.max(np.abs(cdf - emp)) < 0.03
    assert abs(r.sigma_max / (2 * g) - 1) < 0.05 and abs(r.spectral_radius / g - 1) < 0.1
    assert r.eigenvalues_real.shape == (400,)


def test_one_unit_gradient_matches_finite_differences():
    w, b = np.array([6.0, 2.0, 5.0]), np.array([-2.0, 0.5, -2.6])
    loss, grad = training.one_unit_loss(w, b)
    h = 1e-6
    for k, (dw, db) in enumerate(((h, 0), (0, h))):
        fd = (training.one_unit_loss(w + dw, b + db)[0] - training.one_unit_loss(w - dw, b - db)[0]) / (2 * h)
        assert np.allclose(grad[:, k], fd, rtol=1e-5, atol=1e-10)
    # the recursion by hand: x_t = w sigma(x_{t-1}) + b, x_0 = 0.5
    x = 0.5
    for _ in range(50):
        x = w[0] / (1 + math.exp(-x)) + b[0]
    assert abs(loss[0] - (1 / (1 + math.exp(-x)) - 0.7) ** 2) < 1e-12


def test_error_surface_clipping_bounds_every_step_and_the_plain_path_jumps():
    r = training.error_surface(w=np.linspace(1, 9, 9), b=np.linspace(-5, 2, 8))
    clipped = np.linalg.norm(np.diff(r.paths["clipping"], axis=0), axis=1)
    plain = np.linalg.norm(np.diff(r.paths["no clipping"], axis=0), axis=1)
    assert clipped.max() <= r.lr * r.threshold * (1 + 1e-12)
    assert plain.max() > 2 * r.lr * r.threshold  # the wall throws the plain path
    assert r.path_loss["clipping"][-1] < r.path_loss["no clipping"][-1]
    assert r.loss.shape == (8, 9)


def test_gain_profiles_lyapunov_and_mean_field_track_the_measured_rate():
    r = gradients.gain_profiles(gains=(0.5, 2.0), hidden=48, T=120, batch=4, seed=3)
    assert r.log10_norms.shape == (2, 121, 4)
    assert np.allclose(r.log10_norms[:, 0], 0)  # lag 0: the unit direction itself
    assert r.measured[0] < 0 < r.measured[1]
    assert np.all(np.abs(r.predicted["lyapunov_lambda1"] - r.measured) < 0.05)
    assert np.all(r.predicted["pascanu_bound"] >= r.measured)  # an upper bound on the growth rate


def test_phase_diagram_chi_line_starts_at_one_and_signs_agree():
    r = gradients.phase_diagram(sigma_w=(0.4, 2.5), sigma_b=(0.0,), hidden=40, T=150, batch=2, chi_points=1)
    assert abs(r.chi_sigma_w[0] - 1) < 1e-6  # tanh, sigma_b = 0: chi = sigma_w^2
    assert r.log10_rate[0, 0] < 0 < r.log10_rate[0, 1]
    assert np.all(np.sign(r.lambda1_nats) == np.sign(r.log10_rate))
    assert r.log10_gamma_sigma_max[0, 0] < 0 < r.log10_gamma_sigma_max[0, 1]


def test_lyapunov_by_gain_subcritical_is_ln_g():
    r = spectra.lyapunov_by_gain(
        spectrum_gains=(0.5,), gains=(0.5, 2.0), hidden=8, hidden_max=60, T=300, repeats=1, seed=2
    )
    i = int(np.argmin(np.abs(r.mean_field_gains - 0.5)))
    assert abs(r.lambda_max_mean_field[i] - math.log(0.5)) < 1e-9
    assert abs(r.lambda_max[0, 0] - math.log(0.5)) < 0.15
    assert r.lambda_max[1, 0] > 0
    assert r.spectra.shape == (1, 8) and np.all(np.diff(r.spectra[0]) <= 0)


def test_same_seed_same_data_other_seed_other_data():
    a, b = (gradients.cell_flow(hidden=5, T=12, batch=2, seed=7) for _ in range(2))
    c = gradients.cell_flow(hidden=5, T=12, batch=2, seed=8)
    assert all(np.array_equal(a.log10_norms[k], b.log10_norms[k]) for k in a.log10_norms)
    assert not np.array_equal(a.log10_norms["elman|pytorch"], c.log10_norms["elman|pytorch"])


def test_cell_flow_shapes():
    r = gradients.cell_flow(hidden=6, T=15, batch=2, seed=0)
    assert set(r.log10_norms) == {f"{k}|{i}" for k in r.kinds for i in r.inits}
    assert all(v.shape == (16, 2) and np.allclose(v[0], 0) for v in r.log10_norms.values())


def test_remedy_study_small():
    r = training.remedy_study(
        remedies=("tanh", "lstm"), lengths=(5,), seeds=1, budget=10, hidden=4, workers=1
    )
    assert r.success.shape == (2, 1) and np.all((r.success >= 0) & (r.success <= 1))
    assert abs(r.baseline - math.log(4)) < 1e-12
    assert all(abs(r.curve_loss[k][0] - math.log(4)) < 0.5 for k in r.remedies)


def test_run_writes_files_and_rejects_unknown_names(tmp_path):
    made = figures.run(tmp_path, quick=True, only=["c", "g_wall"], progress=None)
    assert set(made) == {"c_random_matrix", "g_wall"}
    for name in made:
        for ext in ("png", "pdf", "json"):
            assert (tmp_path / f"{name}.{ext}").stat().st_size > 0
    data = json.loads((tmp_path / "g_wall.json").read_text())
    assert data["type"] == "ErrorSurface" and len(data["w"]) == 81
    with pytest.raises(ValueError, match="only: unknown figure"):
        figures.run(tmp_path, quick=True, only=["z"], progress=None)


def test_registry_names_are_unique_and_lettered():
    names = [s.name for s in figures.FIGURES]
    assert len(set(names)) == len(names) == 7
    assert [n[0] for n in names] == list("abcdefg")


@pytest.mark.slow
def test_cli_figures_quick(tmp_path):
    from rnnanalysis.cli import main

    assert main(["figures", "--quick", "--outdir", str(tmp_path)]) in (0, None)
    assert {p.stem for p in tmp_path.glob("*.png")} == {s.name for s in figures.FIGURES}
