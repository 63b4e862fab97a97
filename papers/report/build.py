"""Build the report: derivations, prediction tables, reproductions and figures, from the toolkit.

    PYTHONPATH=. python3 papers/report/build.py            # full sizes -> papers/report/report.tex (+ .pdf)
    PYTHONPATH=. python3 papers/report/build.py --quick    # small sizes (CI); the document says so
    PYTHONPATH=. python3 papers/report/build.py --figures DIR   # reuse figures made by
                                                           # scripts/make_figures.py (PDF or PNG)
    PYTHONPATH=. python3 papers/report/build.py --recompute     # also retrain the remedies study

Every number of ours is computed here at build time, except the remedies study, which is read
from its committed results (papers/remedies/) unless --recompute; published numbers are those
of papers/published.md, with their citation beside them. pdflatex (texlive-latex-base)
compiles the document if it is on PATH.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import rnnanalysis as ra
from rnnanalysis import figures
from rnnanalysis.experiments.pool import one_blas_thread
from rnnanalysis.experiments.training import RemedyStudy
from rnnanalysis.symbolic import one_unit_gradient, scalar_rnn_product
from rnnanalysis.train import Adam, cross_entropy, evaluate, get_task, parse_remedy, train

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

FULL = dict(
    check_n=200,
    check_T=1000,
    rm_sizes=(100, 400, 1000),
    rm_seeds=3,
    ly_n=200,
    ly_T=2000,
    ly_nets=3,
    hs_lengths=(20, 50),
    hs_budget=800,
    hs_seeds=2,
)
QUICK = dict(
    check_n=32,
    check_T=100,
    rm_sizes=(50, 100, 200),
    rm_seeds=2,
    ly_n=40,
    ly_T=300,
    ly_nets=2,
    hs_lengths=(10,),
    hs_budget=30,
    hs_seeds=1,
)


def tex(s) -> str:
    """Escape text for LaTeX (underscores, percent, ampersand, hash)."""
    return re.sub(r"([_%&#])", r"\\\1", str(s))


_SYMBOL = re.compile(r"\blog10\b|\bT\b|"
                     r"\b(alpha|beta|gamma|lambda|rho|sigma|chi|phi)_([A-Za-z0-9]+)(\([a-z]\))?")


def caption(s) -> str:
    """Caption text for LaTeX: escaped, with log10, T and symbols such as sigma_w, lambda_max(g) as math."""
    out, last = [], 0
    for m in _SYMBOL.finditer(s):
        sub = f"\\{m[2]}" if m[2] in ("max", "min") else m[2]
        math_ = {"log10": "\\log_{10}", "T": "T"}.get(m[0]) or f"\\{m[1]}_{{{sub}}}{m[3] or ''}"
        out += [tex(s[last:m.start()]), f"${math_}$"]
        last = m.end()
    return "".join(out + [tex(s[last:])])


def natural_width(path: Path) -> float:
    """The width in pt at which pdflatex places a PDF (MediaBox) or PNG (pixels and pHYs dpi)."""
    data = Path(path).read_bytes()
    if data.startswith(b"\x89PNG"):
        px = int.from_bytes(data[16:20], "big")
        at = data.find(b"pHYs")
        per_metre = int.from_bytes(data[at + 4:at + 8], "big") if at > 0 and data[at + 12] == 1 else 0
        return px * 72.27 / (per_metre * 0.0254) if per_metre else float(px)
    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+[-\d.]+\s+([-\d.]+)", data)
    if box is None:
        raise ValueError(f"figures: no page size in {path}")
    return (float(box[2]) - float(box[1])) * 72.27 / 72


def num(x, fmt="+.4f") -> str:
    return "--" if x is None or (isinstance(x, float) and math.isnan(x)) else f"${x:{fmt}}$"


def table(head, rows, align) -> str:
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule", " & ".join(head) + " \\\\", "\\midrule"]
    lines += [" & ".join(r) + " \\\\" for r in rows]
    return "\n".join(lines + ["\\bottomrule", "\\end{tabular}"])


# ---- sections ------------------------------------------------------------------------------


def derivations() -> str:
    """The Elman derivation and Pascanu's one-unit closed forms, checked against BPTT."""
    parts = [
        "The per-step Jacobian and the BPTT product of the Elman cell, derived by "
        '\\texttt{ra.derive("elman")} (matrix-calculus rules over SymPy, numerator layout):',
        ra.derive("elman").latex(),
        'For a scalar RNN the product has a closed form (\\texttt{scalar\\_rnn\\_product("tanh")}):',
        "\\[" + scalar_rnn_product("tanh").latex() + "\\]",
        "Pascanu, Mikolov \\& Bengio (2013, sec.~2.3) give, for the one-unit linear RNN "
        "$x_t = w x_{t-1}$, $\\partial x_t/\\partial w = t x_0 w^{t-1}$ and "
        "$\\partial^2 x_t/\\partial w^2 = t(t-1) x_0 w^{t-2}$. The symbolic module solves the recursion "
        "and sums the BPTT double sum (\\texttt{one\\_unit\\_gradient}):",
        "\\begin{align*}\n"
        + " \\\\\n".join(one_unit_gradient(k).latex().replace(" = ", " &= ", 1) for k in (1, 2))
        + "\n\\end{align*}",
    ]
    rows = []
    for w, t in ((0.9, 50), (1.1, 50), (0.5, 20)):
        x0 = 0.7
        cell = ra.Elman.from_params(
            {
                "weight_ih": np.zeros((1, 1)),
                "weight_hh": np.array([[w]]),
                "bias_ih": np.zeros(1),
                "bias_hh": np.zeros(1),
            },
            "linear",
        )
        g = ra.bptt(cell, np.zeros((t, 1, 1)), np.ones((1, 1)), np.full((1, 1), x0)).grads["weight_hh"][0, 0]
        closed = t * x0 * w ** (t - 1)
        rows.append(
            [
                f"${w:g}$",
                f"${t}$",
                f"${closed:.10g}$",
                f"${g:.10g}$",
                f"${abs(g - closed) / abs(closed):.1e}$",
            ]
        )
    parts += [
        "The closed form against the simulator's BPTT (\\texttt{ra.bptt}, $x_0 = 0.7$):",
        "\\begin{center}",
        table(["$w$", "$t$", "$t x_0 w^{t-1}$ (closed form)", "BPTT", "rel.\\ error"], rows, "rrrrr"),
        "\\end{center}",
    ]
    return "\n\n".join(parts)


def accuracy_table() -> list:
    """The committed predictions benchmark (papers/predictions/accuracy.json) as a LaTeX table."""
    path = HERE.parent / "predictions" / "accuracy.json"
    data = json.loads(path.read_text())

    def pct(a):
        return "--" if not a["decided"] else f"{100 * a['accuracy']:.1f}\\%"

    rows = [[tex(r["cells"]), str(r["configs"]), pct(r["predict"]), f"{r['predict']['error']:.4f}",
             pct(r["linear_rho"]), f"{r['linear_rho']['error']:.4f}",
             f"{r['pascanu_bound']['decided']} / {pct(r['pascanu_bound'])}",
             pct(r["lyapunov_lambda1"]), f"{r['lyapunov_lambda1']['error']:.4f}"] for r in data["rows"]]
    return [
        "\\paragraph{Accuracy over random and trained networks.} "
        "\\texttt{scripts/benchmarks/predictions.py} (" + tex(data["run"]) + "): regime accuracy and mean "
        "absolute rate error ($\\log_{10}$/step) of \\texttt{ra.predict(cell, input\\_std=s)} (trained "
        "networks: \\texttt{inputs=xs}) beside $\\log_{10}\\rho$, the Pascanu bound (decides only "
        "\\emph{vanishing}) and $\\lambda_1$ (a simulation of the same sequence). Targets: 95\\% and 0.01.",
        "\\begin{center}\\small",
        table(["cells", "$N$", "predict", "err.", "$\\rho$", "err.", "Pascanu", "$\\lambda_1$", "err."], rows,
              "lrrrrrrrr"),
        "\\end{center}",
    ] + accuracy_notes(data)


def accuracy_notes(data) -> list:
    """The benchmark's shortfalls and the trained networks' independent-steps ceiling, as text."""
    ceiling = [f"{tex(r['cells'])} {100 * r['independent_steps']['accuracy']:.1f}\\% / "
               f"{r['independent_steps']['error']:.4f}" for r in data["rows"] if "independent_steps" in r]
    notes = []
    if data.get("shortfalls"):
        notes.append("Short of the targets: " + "; ".join(tex(s) for s in data["shortfalls"]) + ".")
    if ceiling:
        notes.append("The trained networks' own step Jacobians multiplied in shuffled order (the best any "
                     "predictor that draws the steps independently could do) reach " + ", ".join(ceiling)
                     + " (regime accuracy / mean abs. error).")
    return notes


def predictions(cfg) -> str:
    n, T = cfg["check_n"], cfg["check_T"]
    out = [
        f"Each table runs \\texttt{{ra.check\\_predictions}} on an Elman tanh cell with $n = {n}$, "
        f"$W_{{ij}} \\sim \\mathcal{{N}}(0, g^2/n)$, inputs $x_t \\sim \\mathcal{{N}}(0, 0.5^2)$, "
        f"$T = {T}$, 4 sequences. Rates are $\\log_{{10}}$ per step of the per-lag gradient norm "
        "(negative: vanishing); the error is predicted minus measured; the Pascanu bound must hold at every "
        "step."
    ]
    out += accuracy_table()
    rng = np.random.default_rng(0)
    for g in (0.5, 1.0, 2.0):
        cell = ra.Elman(n, 1, "tanh", init="gaussian", gain=g, seed=rng)
        check = ra.check_predictions(cell, 0.5 * rng.standard_normal((T, 4, 1)), seed=0)
        out += [f"\\paragraph{{Gain $g = {g:g}$.}}", "\\begin{center}", check.to_latex(), "\\end{center}"]
    return "\n\n".join(out)


def _matrix_radii(job):
    n, s = job
    p = ra.predict(ra.init.gaussian((n, n), np.random.default_rng([n, s]), gain=1.0), horizon=0)
    return p.spectral_radius, p.sigma_max


def random_matrix_rows(cfg, executor=None):
    rows = []
    jobs = [(n, s) for n in cfg["rm_sizes"] for s in range(cfg["rm_seeds"])]
    radii = dict(zip(jobs, (executor.map if executor else map)(_matrix_radii, jobs), strict=True))
    for n in cfg["rm_sizes"]:
        rho, smax = np.array([radii[n, s] for s in range(cfg["rm_seeds"])]).T
        rows.append((n, float(np.mean(rho)), float(np.std(rho)), float(np.mean(smax)), float(np.std(smax))))
    return rows


def lambda_rows(cfg):
    rows = []
    published = {0.5: (math.log(0.5), "$\\ln g$ (formula)"), 1.0: (0.0, "$\\ln g$ (formula)")}
    published.update({g: (v, "derived") for g, v in figures.PUBLISHED_LAMBDA_MAX.items()})
    rng = np.random.default_rng(1)
    xs = np.zeros((cfg["ly_T"], 1, 1))
    for g, (pub, kind) in sorted(published.items()):
        lam = [
            ra.lyapunov_spectrum(
                ra.Elman(cfg["ly_n"], 1, "tanh", init="gaussian", gain=g, seed=rng),
                xs,
                rng.standard_normal((1, cfg["ly_n"])),
                k=1,
            ).lambda_max[0]
            for _ in range(cfg["ly_nets"])
        ]
        rows.append(
            (
                g,
                pub,
                kind,
                ra.mean_field("tanh", g).rate_nats_per_step,
                float(np.mean(lam)),
                float(np.std(lam)),
            )
        )
    return rows


def _hs_run(job):
    T, seed, budget = job
    net = parse_remedy("lstm").build("adding_hs", 32, np.random.SeedSequence([seed, T, 0]))
    res = train(
        net,
        "adding_hs",
        T,
        steps=budget,
        batch=20,
        optimizer=Adam(0.01),
        eval_every=max(budget // 4, 1),
        eval_size=500,
        seed=np.random.default_rng(np.random.SeedSequence([seed, T, 1])),
    )
    ev = evaluate(res.network, "adding_hs", T, size=2560, seed=10_000 + seed)
    seen = (res.steps_to_solve or res.steps) * 20
    return T, seed, res.solved, seen, int(round(ev.error_rate * 2560))


def hs_adding(cfg, executor=None):
    """LSTM on Hochreiter & Schmidhuber's adding problem under a small stated budget."""
    jobs = [(T, seed, cfg["hs_budget"]) for T in cfg["hs_lengths"] for seed in range(cfg["hs_seeds"])]
    return list((executor.map if executor else map)(_hs_run, jobs))


def copy_rows(T_values=(100, 200, 500), size=200):
    """Memoryless copy-memory baseline: formula in the toolkit and the cross-entropy of the
    input-blind predictor (blank, then uniform over the 8 symbols) on sampled sequences."""
    task = get_task("copy")
    published = {100: 0.1733, 200: 0.0945, 500: 0.0400}
    rows = []
    for T in T_values:
        b = task.sample(T, size, seed=T)
        L = T + 20
        logits = np.full((L, size, 10), -60.0)
        logits[: T + 10, :, 8] = 0.0
        logits[T + 10 :, :, :8] = 0.0
        ce = cross_entropy(logits, b.targets)[0]
        rows.append((T, published[T], task.baseline(T), ce))
    return rows


def reproductions(cfg, study, executor=None) -> str:
    parts = []
    # circular law and Bai-Yin
    rows = [
        [f"${n}$", "$1$", f"${r:.3f} \\pm {rs:.3f}$", "$2$", f"${s:.3f} \\pm {ss:.3f}$"]
        for n, r, rs, s, ss in random_matrix_rows(cfg, executor)
    ]
    parts += [
        "\\subsection{Circular law and Bai--Yin}",
        "For $W$ with iid $\\mathcal{N}(0, g^2/n)$ entries the spectral radius tends to $g$ (circular law; "
        "Ginibre 1965, Girko 1984) and the largest singular value to $2g$ (Bai \\& Yin 1988), so at $g = 1$ "
        "the sufficient condition $\\sigma_{\\max} < 1$ of Pascanu et al.\\ (2013) fails although "
        f"$\\rho \\approx 1$. Ours: \\texttt{{ra.predict}} at $g = 1$, mean $\\pm$ s.d.\\ "
        f"over {cfg['rm_seeds']} "
        "draws.",
        "\\begin{center}",
        table(
            [
                "$n$",
                "$\\rho$ published (limit)",
                "$\\rho$ ours",
                "$\\sigma_{\\max}$ published (limit)",
                "$\\sigma_{\\max}$ ours",
            ],
            rows,
            "rrrrr",
        ),
        "\\end{center}",
    ]
    # lambda_max(g)
    rows = [
        [f"${g:g}$", f"${p:+.3f}$ ({k})", f"${round(mf, 3) + 0.0:+.3f}$", f"${lm:+.3f} \\pm {ls:.3f}$"]
        for g, p, k, mf, lm, ls in lambda_rows(cfg)
    ]
    parts += [
        "\\subsection{$\\lambda_{\\max}(g)$ of $h_{t+1} = W \\tanh(h_t)$}",
        "Published (Sompolinsky, Crisanti \\& Sommers 1988, with the mean field of "
        "Poole et al.\\ 2016): $\\lambda_{\\max} = \\ln g$ for $g \\le 1$; for $g > 1$, "
        "$D^* = g^2 E[\\tanh^2(\\sqrt{D^*} z)]$ and "
        "$\\lambda_{\\max} = \\tfrac12 \\ln(g^2 E[(1 - \\tanh^2(\\sqrt{D^*} z))^2])$ (values marked derived "
        "are computed from this formula, not printed in a paper). Ours: \\texttt{ra.mean\\_field} and the "
        f"measured top exponent (\\texttt{{ra.lyapunov\\_spectrum}}, $n = {cfg['ly_n']}$, "
        f"$T = {cfg['ly_T']}$, "
        f"zero input, mean $\\pm$ s.d.\\ over {cfg['ly_nets']} networks) of the Elman map "
        "$h_t = \\tanh(W h_{t-1})$, which is conjugate to $h_{t+1} = W \\tanh(h_t)$ through "
        "$y_t = W h_{t-1}$ and so has the same exponents. Nats per step.",
        "\\begin{center}",
        table(["$g$", "published", "mean field (ours)", "measured (ours)"], rows, "rlrr"),
        "\\end{center}",
    ]
    # temporal order (and adding), from the remedies study
    k = study.tasks.index("temporal_order") if "temporal_order" in study.tasks else 0
    rows = [
        [tex(study.labels[i])]
        + ["--" if np.isnan(v) else f"{study.seeds * v:.0f}/{study.seeds}" for v in study.success[k, i]]
        for i in range(len(study.remedies))
    ]
    parts += [
        "\\subsection{Pascanu et al.\\ (2013): temporal order with clipping}",
        "Published (Pascanu, Mikolov \\& Bengio 2013, Fig.~7 and sec.~4.1): 50 tanh units, SGD (lr 0.01, "
        "batch 20), clipping at 1 and the regulariser $\\Omega$: 100\\% success up to $T = 200$; plain SGD "
        "fails as $T$ grows; success means $< 1\\%$ errors on 10\\,000 fresh sequences, after millions of "
        "training sequences.",
        f"Ours (the remedies study, \\texttt{{{tex(study.source)}}}; figure~\\ref{{fig:f_remedies}}): "
        f"{tex(study.budget)} Success means fewer than 1\\% errors on fresh sequences. Runs solved / seeds "
        "on "
        f"{tex(study.tasks[k])}. Our budget is orders of magnitude below theirs, so this is not a "
        "reproduction of their $T = 200$ result; it shows the trend with $T$.",
        "\\begin{center}",
        table(["remedy"] + [f"$T = {L}$" for L in study.lengths], rows, "l" + "r" * len(study.lengths)),
        "\\end{center}",
    ]
    # H&S adding
    rows = [
        [f"${T}$", f"${s}$", "yes" if ok else "no", f"${seen}$", f"${wrong}$/2560"]
        for T, s, ok, seen, wrong in hs_adding(cfg, executor)
    ]
    parts += [
        "\\subsection{Hochreiter \\& Schmidhuber (1997): adding problem}",
        "Published (Hochreiter \\& Schmidhuber 1997, Exp.~4, Table~7; LSTM; pairs $(U[-1,1]$, marker$)$, "
        "target $0.5 + (X_1 + X_2)/4$, correct if $|\\text{error}| < 0.04$): $T = 100$: 74\\,000 training "
        "sequences, 1 wrong of 2560; $T = 500$: 209\\,000, 0 wrong; $T = 1000$: 853\\,000, 1 wrong.",
        f"Ours (run by this build): LSTM, 32 units, forget-gate bias 1, Adam (lr 0.01, batch 20), at most "
        f"{cfg['hs_budget']} steps; sequences seen until solved (or the whole budget), and errors on "
        "2560 fresh sequences. Shorter $T$ and a far smaller budget than the paper's: not a reproduction "
        "of Table~7's lengths.",
        "\\begin{center}",
        table(["$T$", "seed", "solved", "training sequences", "wrong"], rows, "rrlrr"),
        "\\end{center}",
    ]
    # copy memory
    rows = [[f"${T}$", f"${p:.4f}$", f"${f:.4f}$", f"${c:.4f}$"] for T, p, f, c in copy_rows()]
    parts += [
        "\\subsection{Copy memory: the memoryless baseline}",
        "Published (Arjovsky, Shah \\& Bengio 2016): an input-blind predictor scores "
        '$10 \\ln 8 / (T + 20)$ nats. Ours: the toolkit\'s formula (\\texttt{get\\_task("copy").baseline}) '
        "and the cross-entropy of that predictor (blank, then uniform over the 8 symbols) on 200 "
        "sequences drawn by the task generator.",
        "\\begin{center}",
        table(["$T$", "published", "formula (ours)", "measured (ours)"], rows, "rrrr"),
        "\\end{center}",
    ]
    return "\n\n".join(parts)


def figure_section(figdir: Path, outdir: Path, quick: bool, recompute: bool = False) -> str:
    out, sources = [], []
    for spec in figures.FIGURES:
        src = next(
            (
                figdir / f"{spec.name}.{ext}"
                for ext in ("pdf", "png")
                if (figdir / f"{spec.name}.{ext}").exists()
            ),
            None,
        )
        if src is None:
            raise FileNotFoundError(f"figures: {spec.name}.pdf/.png not found in {figdir}")
        rel = (
            Path(src).resolve().relative_to(outdir.resolve())
            if Path(src).resolve().is_relative_to(outdir.resolve())
            else Path(src).resolve()
        )
        sources.append((spec, src, rel))
    widest = max(natural_width(src) for _, src, _ in sources)
    for spec, src, rel in sources:          # one scale for all: the widest figure fills the line
        size = "quick-mode sizes" if quick else "full sizes"
        fn = spec.compute
        if spec.committed is not None and not recompute:
            size, fn = "from the committed study", spec.committed
        out += [
            "\\begin{figure}[p]",
            "\\centering",
            f"\\includegraphics[width={natural_width(src) / widest:.3f}\\linewidth]{{{rel.as_posix()}}}",
            f"\\caption{{({spec.name[0]}) {caption(spec.what)}. Made by \\texttt{{rnnanalysis.figures}} "
            f"({size}; \\texttt{{{tex(fn.__name__)}}} then \\texttt{{{tex(spec.plot)}}}).}}",
            f"\\label{{fig:{spec.name}}}",
            "\\end{figure}",
        ]
    return "\n".join(out)


def compile_pdf(tex_path: Path) -> Path | None:
    exe = shutil.which("pdflatex")
    if exe is None:
        print("build: pdflatex not found; wrote the .tex only", file=sys.stderr)
        return None
    for _ in range(2):
        proc = subprocess.run(
            [exe, "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
            cwd=tex_path.parent,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pdflatex failed on {tex_path}:\n{proc.stdout[-3000:]}")
    return tex_path.with_suffix(".pdf")


def build(outdir=HERE, quick=False, figdir=None, pdf=True, progress=True, recompute=False) -> Path:
    """Write ``report.tex`` to ``outdir`` (and ``report.pdf`` if pdflatex is present); return its path.

    recompute: retrain the remedies study instead of reading its committed results.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    cfg = QUICK if quick else FULL
    t0 = time.perf_counter()

    def say(msg):
        if progress:
            print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    if figdir is None:
        figdir = outdir / "figures"
        figures.run(figdir, quick=quick, recompute=recompute, formats=("pdf",),
                    progress=say if progress else None)
    figdir = Path(figdir)
    study_json = figdir / "f_remedies.json"
    if study_json.exists():
        d = {k: v for k, v in json.loads(study_json.read_text()).items() if k != "type"}
        study = RemedyStudy(**{**d, "tasks": tuple(d["tasks"]), "remedies": tuple(d["remedies"]),
                               "labels": tuple(d["labels"]),
                               "lengths": np.array(d["lengths"]), "success": np.array(d["success"], float)})
    else:  # figures made with --no-data
        study = figures.run(figdir, quick, only="f", recompute=recompute, formats=(), data=False,
                            progress=None)["f_remedies"][0]
    mode = (
        (
            "\\noindent\\textbf{Quick build.} Small networks and short runs (for CI): numbers are "
            "noisier than in the full build (\\texttt{python3 papers/report/build.py})."
        )
        if quick
        else "\\noindent Full build (\\texttt{python3 papers/report/build.py})."
    )
    sections = {"MODE": mode}
    sections["DERIVATIONS"] = derivations()
    say("derivations")
    sections["PREDICTIONS"] = predictions(cfg)
    say("prediction tables")
    with ProcessPoolExecutor(2, initializer=one_blas_thread) as ex:      # training runs and big LAPACK
        sections["REPRODUCTIONS"] = reproductions(cfg, study, ex)
    say("reproductions")
    sections["FIGURES"] = figure_section(figdir, outdir, quick, recompute)
    text = (HERE / "template.tex").read_text()
    for key, value in sections.items():
        text = text.replace(f"%%{key}%%", value)
    tex_path = outdir / "report.tex"
    tex_path.write_text(text)
    if pdf:
        compile_pdf(tex_path)
        say(f"compiled {tex_path.with_suffix('.pdf')}")
    return tex_path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI)")
    ap.add_argument("--outdir", default=str(HERE))
    ap.add_argument("--figures", help="directory with figures already made (default: make them)")
    ap.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    ap.add_argument("--recompute", action="store_true",
                    help="retrain the remedies study (default: read papers/remedies)")
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    build(args.outdir, args.quick, args.figures, pdf=not args.no_pdf, recompute=args.recompute)
    return 0


if __name__ == "__main__":
    sys.exit(main())
