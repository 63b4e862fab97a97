"""The tour runs end to end on the default network and writes what it promises."""

import numpy as np

from rnnanalysis.cli import main
from rnnanalysis.tour import run


def test_tour_writes_every_file_and_agrees_with_itself(tmp_path):
    lines = []
    res = run(tmp_path, quick=True, progress=lines.append)
    for name in ("derivation.tex", "check.txt", "check.tex", "profile.png", "spectrum.png", "report.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert [s.split("]")[0][1:] for s in lines] == ["network", "derive", "predict", "measure", "compare",
                                                     "draw", "report"]
    chk = res["check"]
    # the default network is the instructive case: rho > 1 yet gradients vanish (inputs saturate tanh)
    assert res["prediction"].spectral_radius > 1 and chk.measured_regime == "vanishing"
    assert chk.row("linear_rho").regime == "exploding"
    assert abs(chk.row("lyapunov_lambda1").error_log10) < 0.01
    assert chk.row("pascanu_bound").bound_held
    report = (tmp_path / "report.md").read_text()
    assert "\\operatorname{diag}" in report and "lyapunov_lambda1" in report
    assert np.all(np.isfinite(res["profile"].log10_norms))


def test_tour_from_the_command_line(tmp_path, capsys):
    assert main(["tour", "--outdir", str(tmp_path / "t"), "--quick"]) in (0, None)
    assert (tmp_path / "t" / "report.md").exists()
