"""Build configuration beyond pyproject.toml: the optional compiled time-loop runner.

``rnnanalysis._kernels`` replays NumPy's own inner loops over the steps of a time loop from C
(see rnnanalysis/_kernel.py). It is optional: without a C compiler the install still succeeds
and the package runs the same loops from Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("rnnanalysis._kernels", ["rnnanalysis/_kernels.c"], optional=True)])
