"""Build configuration beyond pyproject.toml: the optional compiled time-loop runner.

``rnnanalysis._kernel._runner`` replays NumPy's own inner loops over the steps of a time loop from C
(see rnnanalysis/_kernel/). It is optional: without a C compiler the install still succeeds
and the package runs the same loops from Python.
"""

import sys

from setuptools import Extension, setup

# -ffp-contract=off: the fused steps must round every operation as NumPy's loops do (no FMA).
FLAGS = [] if sys.platform == "win32" else ["-ffp-contract=off"]

setup(ext_modules=[Extension("rnnanalysis._kernel._runner", ["rnnanalysis/_kernel/_runner.c"], optional=True,
                             extra_compile_args=FLAGS)])
