"""Helpers for the command-line tests: run main() in-process and split its output."""

import pytest

from rnnanalysis.cli import main


@pytest.fixture
def run(capsys):
    def _run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return _run
