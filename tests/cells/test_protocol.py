"""A user's own cell written against the public protocol works with every sweep.

MinimalRNN (Chen 2017, "MinimalRNN: toward more interpretable and trainable recurrent neural
networks"): z_t = tanh(W_x x_t + b_z), u_t = sigma(U_h h_{t-1} + U_z z_t + b_u),
h_t = u_t h_{t-1} + (1 - u_t) z_t. It uses the base class's generic time loop
(``forward_step`` + ``cache_widths``) and its own parameter gradients; everything below is
checked against central finite differences of ``simulate``.
"""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.activations import sigmoid
from rnnanalysis.cells import PARAM_NAMES, Cell
from rnnanalysis.testing import check_jacobian, check_vjp, numeric_gradient, numeric_jacobian


class MinimalRNN(Cell):
    kind = "minimal"
    param_names = PARAM_NAMES + ("weight_z",)   # W_x, b_z, U_h, b_u and U_z
    separate_hh_grad = True

    @property
    def cache_widths(self):
        return (self.hidden, self.hidden)        # the gate u_t and h_{t-1} - z_t

    @property
    def grad_widths(self):
        return (2 * self.hidden, self.hidden)    # (dL/da_u, dL/dz through the mix), dL/da_u

    def _z(self, xs):
        return np.tanh(xs @ self.params["weight_ih"].T + self.params["bias_ih"])

    def project(self, xs):
        z = self._z(xs)
        return np.concatenate([z, z @ self.params["weight_z"].T + self.params["bias_hh"]], axis=-1)

    def forward_step(self, u_t, s_prev, s_next, gate, diff):
        n = self.hidden
        sigmoid(s_prev @ self.params["weight_hh"].T + u_t[..., n:], out=gate)
        np.subtract(s_prev, u_t[..., :n], out=diff)
        np.multiply(gate, diff, out=s_next)
        s_next += u_t[..., :n]

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        n, gate, diff = self.hidden, cache[0][j], cache[1][j]
        g_ih = np.empty(g.shape[:-1] + (2 * n,)) if out_ih is None else out_ih
        g_a = np.multiply(g, diff * gate * (1 - gate), out=g_ih[..., :n])
        np.multiply(g, 1 - gate, out=g_ih[..., n:])
        g_prev = np.matmul(g_a, self.params["weight_hh"], out=out)
        g_prev += g * gate
        return g_prev, g_ih, g_a

    def param_grads(self, xs, states, g_ih, g_hh, input_grads=True):
        n, p = self.hidden, self.params
        z = self._z(xs)
        g_a = g_ih[..., :n]
        g_pre = (g_ih[..., n:] + g_a @ p["weight_z"]) * (1 - z * z)

        def outer(a, b):
            return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])

        grads = {"weight_ih": outer(g_pre, xs), "bias_ih": g_pre.sum(axis=(0, 1)),
                 "weight_hh": outer(g_a, states[:-1]), "bias_hh": g_a.sum(axis=(0, 1)),
                 "weight_z": outer(g_a, z)}
        return grads, (g_pre @ p["weight_ih"] if input_grads else None)


def _cell(n=3, m=2, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = {"weight_ih": (n, m), "bias_ih": (n,), "weight_hh": (n, n), "bias_hh": (n,), "weight_z": (n, n)}
    return MinimalRNN.from_params({k: scale * rng.normal(size=s) for k, s in shapes.items()})


def _problem(T=6, B=2, m=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, m)), rng.normal(size=(B, 3)), rng.normal(size=3)


def test_step_jacobian_and_vjp():
    rng = np.random.default_rng(0)
    check_jacobian(_cell(), rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    assert set(check_vjp(_cell(), rtol=1e-7)) == {"state", "x", *PARAM_NAMES, "weight_z"}


@pytest.mark.parametrize("checkpoint", [None, 2])
def test_bptt_parameter_and_input_gradients(checkpoint):
    cell = _cell()
    xs, h0, v = _problem()
    res = ra.bptt(cell, xs, np.broadcast_to(v, (2, 3)), h0, checkpoint=checkpoint)

    def loss(c, x=xs):
        return float(np.sum(ra.simulate(c, x, h0).states[-1] * v))

    eps = 1e-6
    for name, value in cell.params.items():
        num = numeric_gradient(lambda v, name=name: loss(cell.with_params({**cell.params, name: v})), value)
        np.testing.assert_allclose(res.grads[name], num, rtol=1e-6, atol=1e-9, err_msg=name)
    d = np.random.default_rng(2).normal(size=xs.shape)
    fd = (loss(cell, xs + eps * d) - loss(cell, xs - eps * d)) / (2 * eps)
    np.testing.assert_allclose(np.sum(res.grad_xs * d), fd, rtol=1e-6)


def _state_map_jacobians(cell, xs, h0):
    """d h_T / d h_k for every k by central differences of simulate from step k: (T+1, B, n, n)."""
    T, eps = xs.shape[0], 1e-6
    states = ra.simulate(cell, xs, h0).states
    out = np.empty((T + 1,) + h0.shape + (h0.shape[-1],))
    for k in range(T + 1):
        for j in range(h0.shape[-1]):
            d = np.zeros_like(h0)
            d[:, j] = eps
            hp = ra.simulate(cell, xs[k:], states[k] + d).states[-1] if k < T else states[k] + d
            hm = ra.simulate(cell, xs[k:], states[k] - d).states[-1] if k < T else states[k] - d
            out[k, :, :, j] = (hp - hm) / (2 * eps)
    return out


def test_gradient_profile_and_jacobian_products():
    cell = _cell()
    xs, h0, v = _problem()
    J = _state_map_jacobians(cell, xs, h0)
    u = v / np.linalg.norm(v)
    want = np.log10(np.linalg.norm(np.einsum("i,tbij->tbj", u, J), axis=-1))
    np.testing.assert_allclose(ra.gradient_profile(cell, xs, h0, direction=v).log10_norms, want, atol=1e-8)
    sv = np.log10(np.linalg.svd(J, compute_uv=False))
    np.testing.assert_allclose(ra.jacobian_products(cell, xs, h0).log10_singular_values, sv, atol=1e-7)


def test_lyapunov_spectrum_sums_to_the_mean_log_determinant():
    # sum of all exponents (no warm-up) = (1/T) sum_t ln |det J_t|, whatever the initial system
    cell = _cell(scale=1.5)
    xs, h0, _ = _problem(T=40, B=2)
    states = ra.simulate(cell, xs, h0).states
    logdet = np.mean([np.linalg.slogdet(numeric_jacobian(cell, states[t], xs[t]))[1]
                      for t in range(xs.shape[0])], axis=0)
    spec = ra.lyapunov_spectrum(cell, xs, h0, warmup=0)
    np.testing.assert_allclose(spec.exponents.sum(axis=-1), logdet, rtol=1e-7)
