"""``python -m rnnanalysis`` runs the command line (see :mod:`rnnanalysis.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
