"""Shared fixtures: every random draw in the tests comes from a fixed seed."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20130216)  # Pascanu et al. 2013 arXiv date, a fixed seed


def pytest_collection_modifyitems(config, items):
    np.random.seed(0)  # legacy global state, in case a dependency draws from it
