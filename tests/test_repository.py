"""The repository stands alone: nothing in it points at files outside it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = "shared" + "/"          # the team's notes beside the repository (spelled apart so this file passes)


def test_nothing_refers_to_files_outside_the_repository():
    places = [ROOT / "README.md"] + [p for d in ("papers", "scripts", "rnnanalysis", "docs", "tests")
                                     for p in (ROOT / d).rglob("*") if p.is_file()]
    hits = []
    for path in places:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue                                  # images, PDFs
        lines = enumerate(text.splitlines(), 1)
        hits += [f"{path.relative_to(ROOT)}:{i}" for i, line in lines if OUTSIDE in line]
    assert not hits, f"references outside the repository: {hits}"


def test_the_docs_define_every_term_the_outputs_print():
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    for term in ("log10 per step", "critical band", "Theil–Sen", "`error`", "nats per step",
                 "Numerator layout", "Time-major", "seed"):
        assert term in text, term
