"""The quarter-circle law: a density, and the singular values of a large Gaussian matrix follow it."""

import numpy as np
from scipy import integrate

from rnnanalysis.experiments.spectra import random_matrix_spectrum
from rnnanalysis.predict.random_matrix import quarter_circle_density


def test_quarter_circle_density_is_a_density_matching_a_large_matrix():
    g = 1.5
    total, _ = integrate.quad(lambda s: quarter_circle_density(s, g), 0, 2 * g)
    assert abs(total - 1) < 1e-9
    assert quarter_circle_density(2 * g + 0.1, g) == 0
    r = random_matrix_spectrum(400, gain=g, seed=1)
    # empirical CDF of the singular values vs the integrated density (Kolmogorov distance)
    s = np.sort(r.singular_values)
    cdf = np.array([integrate.quad(lambda x: quarter_circle_density(x, g), 0, v)[0] for v in s[::20]])
    emp = (np.arange(s.size)[::20] + 0.5) / s.size
    assert np.max(np.abs(cdf - emp)) < 0.03
    assert abs(r.sigma_max / (2 * g) - 1) < 0.05 and abs(r.spectral_radius / g - 1) < 0.1
    assert r.eigenvalues_real.shape == (400,)
