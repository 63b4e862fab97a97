"""``python -m rnnanalysis.figures``: see :func:`rnnanalysis.figures.main`."""

from . import main

raise SystemExit(main())
