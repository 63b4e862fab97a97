"""Cell construction, parameter layouts, ensembles, dtypes and bad input."""

import numpy as np
import pytest

import rnnanalysis as ra

CELLS = [(ra.Elman, 1), (ra.LSTM, 4), (ra.GRU, 3)]


@pytest.mark.parametrize("cls,G", CELLS)
def test_pytorch_layouts(cls, G):
    cell = cls(hidden=6, inputs=4, seed=0)
    shapes = {k: v.shape for k, v in cell.params.items()}
    assert shapes == {"weight_ih": (G * 6, 4), "weight_hh": (G * 6, 6),
                      "bias_ih": (G * 6,), "bias_hh": (G * 6,)}
    assert cell.params["weight_hh"].dtype == np.float64


def test_same_seed_same_parameters_bitwise():
    a, b = ra.LSTM(5, 2, seed=7), ra.LSTM(5, 2, seed=7)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["weight_hh"], ra.LSTM(5, 2, seed=8).params["weight_hh"])


def test_initialisers_and_forget_bias():
    cell = ra.Elman(8, 2, init="orthogonal", gain=0.9, seed=0)
    w = cell.params["weight_hh"]
    np.testing.assert_allclose(w @ w.T, 0.81 * np.eye(8), atol=1e-12)
    sparse = ra.Elman(16, 2, init="sparse", spectral_radius=0.95, seed=0)
    rho = ra.init.spectral_radius(sparse.params["weight_hh"])
    assert rho == pytest.approx(0.95, rel=1e-12)
    lstm = ra.LSTM(4, 2, init="xavier", forget_bias=1.0, seed=0)
    np.testing.assert_array_equal(lstm.params["bias_ih"][4:8], np.ones(4))
    np.testing.assert_array_equal(lstm.params["bias_ih"][:4], np.zeros(4))


@pytest.mark.parametrize("cls,G", CELLS)
def test_state_dict_round_trip_with_and_without_suffix(cls, G):
    cell = cls(3, 2, seed=1)
    sd = cell.state_dict()
    assert set(sd) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    for d in (sd, {k[:-3]: v for k, v in sd.items()}):
        back = ra.from_state_dict(cls.kind, d)
        assert type(back) is cls
        for k in cell.params:
            np.testing.assert_array_equal(back.params[k], cell.params[k])


def test_state_dict_key_errors():
    sd = ra.GRU(3, 2, seed=1).state_dict()
    with pytest.raises(ValueError, match=r"missing \['bias_hh_l0'\]"):
        ra.from_state_dict("gru", {k: v for k, v in sd.items() if k != "bias_hh_l0"})
    with pytest.raises(ValueError, match=r"missing \['weight_ih_l1', 'bias_ih_l1', "
                                         r"'bias_hh_l1'\] \(layer 1\)"):
        ra.from_state_dict("gru", {**sd, "weight_hh_l1": sd["weight_hh_l0"]})
    with pytest.raises(ValueError, match="unknown cell kind 'transformer'"):
        ra.from_state_dict("transformer", sd)
    with pytest.raises(ValueError, match=r"weight_hh: expected shape \(12, 3\).*got \(9, 3\)"):
        ra.from_state_dict("lstm", sd)


@pytest.mark.parametrize("cls,G", CELLS)
def test_ensemble_equals_loop(cls, G, rng):
    E = 4
    ens = cls(5, 3, ensemble=E, seed=2)
    xs = rng.normal(size=(12, 2, 3))
    prof = ra.gradient_profile(ens, xs)
    traj = ra.simulate(ens, xs)
    res = ra.bptt(ens, xs, np.ones((E, 2, 5)))
    assert prof.log10_norms.shape == (E, 13, 2)
    for e in range(E):
        one = cls.from_params({k: v[e] for k, v in ens.params.items()})
        np.testing.assert_allclose(traj.states[e], ra.simulate(one, xs).states, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(prof.log10_norms[e], ra.gradient_profile(one, xs).log10_norms,
                                   rtol=1e-12, atol=1e-12)
        r1 = ra.bptt(one, xs, np.ones((2, 5)))
        for k in r1.grads:
            np.testing.assert_allclose(res.grads[k][e], r1.grads[k], rtol=1e-12, atol=1e-14)


def test_ensemble_with_per_member_inputs(rng):
    ens = ra.Elman(3, 2, ensemble=2, seed=0)
    xs = rng.normal(size=(2, 5, 4, 2))
    states = ra.simulate(ens, xs).states
    one = ra.Elman.from_params({k: v[1] for k, v in ens.params.items()})
    np.testing.assert_allclose(states[1], ra.simulate(one, xs[1]).states, rtol=1e-13)


@pytest.mark.parametrize("cls,G", CELLS)
def test_float32_agrees_with_float64(cls, G, rng):
    c64 = cls(16, 4, seed=3)
    c32 = c64.astype(np.float32)
    xs = rng.normal(size=(200, 3, 4))
    h64, h32 = ra.simulate(c64, xs).states, ra.simulate(c32, xs.astype(np.float32)).states
    assert h32.dtype == np.float32
    assert np.max(np.abs(h64 - h32)) < 1e-4
    p64, p32 = ra.gradient_profile(c64, xs).log10_norms, ra.gradient_profile(c32, xs).log10_norms
    assert np.max(np.abs(p64 - p32)) < 1e-3          # log10 norms: float32 accuracy


def test_bad_inputs_are_named(rng):
    cell = ra.Elman(4, 3, seed=0)
    xs = rng.normal(size=(5, 2, 3))
    with pytest.raises(ValueError, match=r"xs: expected \(T, B, m\) with m=3 inputs, got shape \(5, 2, 4\)"):
        ra.simulate(cell, rng.normal(size=(5, 2, 4)))
    with pytest.raises(ValueError, match="xs: expected 3 dimensions"):
        ra.simulate(cell, rng.normal(size=(5, 3)))
    with pytest.raises(ValueError, match="T must be >= 1"):
        ra.simulate(cell, np.zeros((0, 2, 3)))
    bad = xs.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="xs: contains 1 NaN"):
        ra.gradient_profile(cell, bad)
    with pytest.raises(ValueError, match="h0: contains"):
        ra.simulate(cell, xs, h0=np.full((2, 4), np.inf))
    with pytest.raises(ValueError, match=r"h0: expected shape \(2, 4\)"):
        ra.simulate(cell, xs, h0=np.zeros((3, 4)))
    with pytest.raises(TypeError, match="xs: expected a real floating-point array, got integer"):
        ra.simulate(cell, np.zeros((5, 2, 3), dtype=int))
    with pytest.raises(TypeError, match="complex"):
        ra.simulate(cell, np.zeros((5, 2, 3), dtype=complex))
    with pytest.raises(TypeError, match="cell: expected an rnnanalysis cell"):
        ra.simulate("elman", xs)
    with pytest.raises(ValueError, match="unknown activation 'tanhh'"):
        ra.Elman(4, 3, activation="tanhh")
    with pytest.raises(ValueError, match="hidden: expected an integer >= 1, got 0"):
        ra.Elman(0, 3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        ra.Elman(4, 3, dtype=np.int32)
    w = dict(cell.params)
    w["weight_hh"] = w["weight_hh"].copy()
    w["weight_hh"][0, 0] = np.nan
    with pytest.raises(ValueError, match="weight_hh: contains 1 NaN"):
        cell.with_params(w)
    with pytest.raises(ValueError, match=r"weight_hh: expected shape"):
        cell.with_params({**cell.params, "weight_hh": np.zeros((4, 5))})
    with pytest.raises(ValueError, match=r"grad_h: expected shape \(5, 2, 4\) for at='every'"):
        ra.bptt(cell, xs, np.zeros((2, 4)), at="every")
    with pytest.raises(ValueError, match="direction: must be a non-zero vector"):
        ra.gradient_profile(cell, xs, direction=np.zeros(4))
    with pytest.raises(ValueError, match="top: expected at most the state size 4"):
        ra.jacobian_products(cell, xs, top=5)


@pytest.mark.parametrize("kwargs, name", [
    (dict(gain=float("nan"), init="orthogonal"), "gain"),        # was OverflowError inside NumPy
    (dict(gain=-1.0, init="orthogonal"), "gain"),                # was 'high - low < 0'
    (dict(spectral_radius=float("nan")), "spectral_radius"),     # was NaN weights, silently
    (dict(gain=1e200, init="orthogonal", dtype=np.float32), "gain"),   # was inf weights, silently
])
def test_initialisation_arguments_that_make_no_finite_weights_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: "):
        ra.Elman(3, 2, **kwargs)
    assert np.isfinite(ra.Elman(3, 2, gain=1e200, init="orthogonal").params["weight_hh"]).all()


@pytest.mark.parametrize("cls", [ra.Elman, ra.LSTM, ra.GRU])
def test_weights_fixed_reuses_the_derived_weights_and_drops_them_on_leaving(cls):
    """Inside ``weights_fixed`` the transposed / gate-major recurrent weights are made once and
    the states stay the same bit for bit; on leaving the outermost block they are dropped, so
    weights written into ``params`` afterwards are used (a copy kept too long would not)."""
    cell = cls(6, 2, seed=0)
    xs = np.random.default_rng(1).standard_normal((7, 3, 2))
    s0 = np.zeros((3, cell.state_size))
    before = cell.forward(cell.project(xs), s0)[0].copy()
    derived = cell._gate_weights if cls is ra.LSTM else lambda: cell._wT("weight_hh")
    assert derived() is not derived()
    with cell.weights_fixed():
        first = derived()
        with cell.weights_fixed():                 # re-entrant: the inner block keeps the outer's
            assert derived() is first
        assert derived() is first
        inside = [cell.forward(cell.project(xs), s0)[0].copy() for _ in range(2)]
    assert all(np.array_equal(s, before) for s in inside)
    cell.params["weight_hh"][...] *= 0.5
    fresh = cell.with_params(cell.params)
    with cell.weights_fixed():
        halved = cell.forward(cell.project(xs), s0)[0]
    assert not np.array_equal(halved, before)
    assert np.array_equal(halved, fresh.forward(fresh.project(xs), s0)[0])
