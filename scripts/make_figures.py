"""Make every figure (PNG and PDF), seeded: ``rnnanalysis figures`` with the same options.

PYTHONPATH=. python3 scripts/make_figures.py                  # full sizes, into figures/
PYTHONPATH=. python3 scripts/make_figures.py --quick --outdir /tmp/figs
PYTHONPATH=. python3 scripts/make_figures.py --only b g       # some of them (names or letters)
PYTHONPATH=. python3 scripts/make_figures.py --recompute      # also retrain the remedies of (f)
"""

import sys

from rnnanalysis.cli import main

if __name__ == "__main__":
    sys.exit(main(["figures", *sys.argv[1:]]))
