"""Write the derivation of every built-in cell as a standalone LaTeX document.

    python3 papers/derivations/generate.py        # -> papers/derivations/<cell>.tex

Each file is ``rnnanalysis.derive(kind).to_tex(...)`` (tanh; article + amsmath only);
tests/symbolic/test_symbolic_tex.py checks they are current and compile with pdflatex.
"""

from pathlib import Path

import rnnanalysis as ra

CELLS = ("elman", "lstm", "gru", "ln_elman", "ln_lstm")
HERE = Path(__file__).resolve().parent


def main():
    for kind in CELLS:
        path = ra.derive(kind).to_tex(HERE / f"{kind}.tex")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
