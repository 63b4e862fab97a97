"""Random-matrix laws for W with iid N(0, g^2/n) entries: where its eigenvalues and singular values lie.

The eigenvalues fill the disc of radius ``g`` (circular law; spectral radius -> g) and the
singular values follow the quarter-circle law on ``[0, 2g]`` (largest -> ``2g``, Bai-Yin):

.. math::
    p(s) = \\frac{1}{\\pi g^2}\\sqrt{4g^2 - s^2}, \\quad 0 \\le s \\le 2g.

So at g = 1 the sufficient condition sigma_max < 1 of Pascanu et al. (2013) fails although rho ~ 1.

References:
    Ginibre (1965), Girko (1984) (circular law); Marchenko & Pastur (1967) (square case: the
    quarter circle); Bai & Yin (1988) (the largest singular value).
"""

from __future__ import annotations

import numpy as np

__all__ = ["quarter_circle_density"]


def quarter_circle_density(s, gain=1.0):
    """Density (shape of ``s``) of the singular values of an n x n matrix of N(0, gain^2/n) entries, n -> inf.

    Example:
        >>> round(float(quarter_circle_density(0.0, 1.0)), 6)     # 2 / pi
        0.63662
    """
    s = np.asarray(s, float)
    return np.sqrt(np.clip(4 * gain**2 - s**2, 0.0, None)) / (np.pi * gain**2)
