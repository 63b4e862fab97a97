"""Make every figure from scratch (PNG and PDF), seeded: a thin wrapper of rnnanalysis.figures.

PYTHONPATH=. python3 scripts/make_figures.py                  # full, into figures/
PYTHONPATH=. python3 scripts/make_figures.py --quick --outdir /tmp/figs
PYTHONPATH=. python3 scripts/make_figures.py --only b g       # some of them (names or letters)
"""

import sys

from rnnanalysis.figures import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
