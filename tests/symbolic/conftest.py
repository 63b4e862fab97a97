"""Shared fixtures of the symbolic tests."""

import pytest

from rnnanalysis.symbolic import CellSpec, hadamard


@pytest.fixture
def minimal_rnn():
    """minimalRNN (Chen, Mishra & Schoenholz 2018), defined by a user in a few lines."""
    spec = CellSpec("minimalRNN")
    h, x = spec.state("h"), spec.input("x")
    W_x, U_h, U_z = spec.weight("W_x", cols="m"), spec.weight("U_h"), spec.weight("U_z")
    b_z, b_u = spec.bias("b_z"), spec.bias("b_u")
    tanh, sigma = spec.activation("phi", "tanh"), spec.activation("sigma", "sigmoid")
    z = spec.define("z", tanh(W_x * x + b_z))
    u = spec.define("u", sigma(U_h * h + U_z * z + b_u))
    spec.update(h, hadamard(u, h) + hadamard(spec.ones - u, z))
    return spec
