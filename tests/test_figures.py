"""The figure registry: files from scratch, the committed study by default, one command line."""

import json

import pytest

from rnnanalysis import figures


def test_run_writes_files_and_rejects_unknown_names(tmp_path):
    made = figures.run(tmp_path, quick=True, only=["c", "g_wall", "f"], progress=None)
    assert set(made) == {"c_random_matrix", "g_wall", "f_remedies"}
    for name in made:
        for ext in ("png", "pdf", "json"):
            assert (tmp_path / f"{name}.{ext}").stat().st_size > 0
    data = json.loads((tmp_path / "g_wall.json").read_text())
    assert data["type"] == "ErrorSurface" and len(data["w"]) == 81
    assert made["f_remedies"][0].source == "papers/remedies/results.json"  # the committed study, no training
    with pytest.raises(ValueError, match="only: unknown figure"):
        figures.run(tmp_path, quick=True, only=["z"], progress=None)


def test_registry_names_are_unique_and_lettered():
    names = [s.name for s in figures.FIGURES]
    assert len(set(names)) == len(names) == 8
    assert [n[0] for n in names] == list("abcdefgh")


def test_make_figures_script_is_the_cli(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script, env = str(root / "scripts" / "make_figures.py"), {"PYTHONPATH": str(root), "PATH": ""}
    proc = subprocess.run([sys.executable, script, "--only", "g", "--quick", "--formats", "png", "--outdir",
                           str(tmp_path), "--no-data"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["g_wall.png"]
    bad = subprocess.run([sys.executable, script, "--only", "z", "--outdir", str(tmp_path)],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "only: unknown figure" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_cli_figures_quick(tmp_path):
    from rnnanalysis.cli import main

    assert main(["figures", "--quick", "--recompute", "--outdir", str(tmp_path)]) in (0, None)
    assert {p.stem for p in tmp_path.glob("*.png")} == {s.name for s in figures.FIGURES}
