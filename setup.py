"""Build configuration beyond pyproject.toml: the optional compiled time-loop runner.

``rnnanalysis._kernel._runner`` replays NumPy's own inner loops over the steps of a time loop from C
(see rnnanalysis/_kernel/). It is optional: without a C compiler the install still succeeds
and the package runs the same loops from Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("rnnanalysis._kernel._runner", ["rnnanalysis/_kernel/_runner.c"], optional=True)])
