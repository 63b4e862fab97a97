"""table.md, results.json and the two figures of the remedies study, from its store alone.

Reads every record of ``store.jsonl`` (whatever has finished so far), prints nothing it did
not measure, and lists the grid points still missing, so a partial store gives an honest
partial table. Used by ``run.py``; ``python3 papers/remedies/run.py --table-only`` calls it.
"""

from __future__ import annotations

import json
import platform

import numpy as np

from rnnanalysis.experiments import Store
from rnnanalysis.experiments.remedies import ClippingStudy
from rnnanalysis.experiments.training import RemedyStudy
from rnnanalysis.train import get_task, parse_remedy

LENGTHS = (25, 50, 100, 200)
SUCCESS = {"adding": "MSE < 0.01 on 500 fresh sequences (chance 1/6 = 0.167)",
           "temporal_order": "< 1% wrong on 500 fresh sequences (chance: 75% wrong, ln 4 nats)",
           "copy": "< 1% of the 10 recalled symbols wrong on 500 fresh sequences (the memoryless baseline "
                   "scores 10 ln 8 / (T + 20) nats per step and 87.5% of them wrong)"}
#: the tasks of figure (f) and results.json (copy memory is in the table only)
FIGURE_TASKS = ("adding", "temporal_order")


def _points(records):
    """(task, remedy, length, optimizer, lr) -> (params, result, elapsed_s) of every finished point."""
    out = {}
    for rec in records:
        p = rec["params"]
        out[(p["task"], p["remedy"], p["length"], p["optimizer"], float(p["lr"]))] = (p, rec["result"],
                                                                                       rec["elapsed_s"])
    return out


def _num(v):
    return float(v) if v is not None else float("nan")


def _cell(res, seeds):
    if res is None:
        return "–"
    ok = [s for s, solved in zip(res["steps_to_solve"], res["solved"], strict=True) if solved]
    text = f"{len(ok)}/{seeds}"
    if ok:
        text += f" ({int(np.median(ok))})"
    div = sum(res["diverged"])
    return text + (f" d{div}" if div else "")


def _median(res, key):
    vals = [_num(v) for v in res[key]] if res else []
    vals = [v for v in vals if np.isfinite(v)]
    return f"{np.median(vals):.3g}" if vals else "–"


def _rate(res):
    return sum(res["solved"]) / len(res["solved"]) if res else float("nan")


def _longest(points, task, remedy, opt, lr):
    """Longest T with at least 3 of 5 seeds solved (None: none), and whether all T ran."""
    solved = [L for L in LENGTHS if (task, remedy, L, opt, lr) in points
              and _rate(points[(task, remedy, L, opt, lr)][1]) >= 0.6]
    return max(solved) if solved else None


def _unsolved_losses(r):
    """The final losses of the seeds that did not solve, as text."""
    return ", ".join(f"{_num(v):.3g}" for v, ok in zip(r["final_loss"], r["solved"], strict=True) if not ok)


def _solved_text(r):
    """``3/5 seeds (median 4750 steps)``."""
    ok = [s for s, solved in zip(r["steps_to_solve"], r["solved"], strict=True) if solved]
    text = f"{len(ok)}/{len(r['solved'])} seeds"
    return text + (f" (median {int(np.median(ok))} steps)" if ok else "")


# What the papers report, in our words, and the check against our numbers: (claim, check).
def _published(points, task, steps, batch):
    adam, sgd = ("adam", 1e-3), ("sgd", 0.01)
    seqs = f"{steps * batch:,}"

    def res(remedy, L, opt):
        got = points.get((task, remedy, L) + opt)
        return got[1] if got else None

    def rate(remedy, L, opt):
        r = res(remedy, L, opt)
        return None if r is None else _rate(r)

    rows = {}
    if task == "temporal_order":
        om = [rate("smart_tanh+clip+omega", L, sgd) for L in LENGTHS]
        have = [r for r in om if r is not None]
        r100 = res("smart_tanh+clip+omega", 100, sgd)
        verdict = ("not run yet" if not have else
                   "reproduced" if all(r >= 0.8 for r in have) and len(have) == len(LENGTHS) else
                   f"not reproduced: success {', '.join(f'{r:.0%}' for r in om if r is not None)} at "
                   f"T = {', '.join(str(L) for L, r in zip(LENGTHS, om, strict=True) if r is not None)}"
                   + (f"; at T = 100 the final losses were {_unsolved_losses(r100)} nats against chance "
                      f"ln 4 = 1.386 ({sum(_num(v) < 0.9 * np.log(4) for v in r100['final_loss'])} of "
                      f"{len(r100['final_loss'])} seeds below 0.9x chance): {seqs} sequences of SGD at lr "
                      f"0.01 are too few to leave the plateau, where their runs had millions"
                      if r100 else ""))
        rows["smart_tanh+clip+omega@sgd"] = (
            "Pascanu et al. 2013 (sec. 4.1, Fig. 7): SGD (lr 0.01) + clipping + Omega, sparse init at "
            "rho 0.95, 50 units: 100% success up to T = 200, after millions of training sequences", verdict)
        plain = [rate("tanh", L, sgd) for L in LENGTHS]
        have = [(L, r) for L, r in zip(LENGTHS, plain, strict=True) if r is not None]
        verdict = ("not run yet" if not have else
                   f"reproduced ({have[-1][1]:.0%} at T = {have[-1][0]})" if have[-1][1] <= 0.2 else
                   f"not reproduced: {have[-1][1]:.0%} at T = {have[-1][0]}")
        rows["tanh@sgd"] = ("Pascanu et al. 2013: plain SGD on a tanh RNN fails as T grows", verdict)
        lstm = [(L, rate("lstm", L, adam)) for L in LENGTHS]
        have = [(L, r) for L, r in lstm if r is not None]
        verdict = ("not run yet" if not have else "reproduced" if all(r >= 0.6 for _, r in have) else
                   "not reproduced: " + ", ".join(f"{r:.0%} at T = {L}" for L, r in have if r < 0.6))
        rows["lstm@adam"] = ("Hochreiter & Schmidhuber 1997 (Exp. 6a): LSTM solves the temporal-order task "
                             "(T about 100)", verdict)
    elif task == "adding":
        r100 = res("lstm", 100, adam)
        verdict = ("not run yet" if r100 is None else "reproduced" if _rate(r100) >= 0.8 else
                   f"not reproduced: {_solved_text(r100)} at T = 100 within {seqs} sequences; the other "
                   f"seeds ended at MSE {_unsolved_losses(r100)}. Why: the "
                   f"solving seeds needed nearly the whole budget (H&S needed 74 000 sequences on their "
                   f"easier variant: targets 0.5 + (X1 + X2)/4, a sequence right if |error| < 0.04; ours "
                   f"is the sum, solved at MSE < 0.01 over all sequences)")
        mse_ok = [(L, _median(res("lstm", L, adam), "final_loss")) for L in LENGTHS if res("lstm", L, adam)]
        below = ("not run yet" if not mse_ok else
                 "reproduced" if all(m != "–" and float(m) < 1 / 6 for _, m in mse_ok) else
                 "not reproduced") + (" (median MSE " + ", ".join(f"{m} at T = {L}" for L, m in mse_ok) + ")"
                                      if mse_ok else "")
        rows["lstm@adam"] = ("Hochreiter & Schmidhuber 1997 (Exp. 4, Table 7; their variant of the task): "
                             "LSTM solves T = 100 after 74 000 training sequences; Arjovsky et al. 2016 "
                             "(Fig. 2, this variant): LSTM goes below the chance MSE 1/6 at every length "
                             "they try (100-750)", verdict + "; below chance: " + below)
        claim = ("Le et al. 2015 (sec. 4.1): IRNN (ReLU, identity init; SGD with clipping, 100 units, "
                 "training to about 10^6 steps) reaches near-zero MSE on this adding task at T = 150-400, "
                 "where the tanh RNN stays at chance")
        ir, tanh = res("irnn", 100, adam), res("tanh", 100, adam)
        if ir is None or tanh is None:
            verdict = "not run yet"
        elif _rate(ir) >= 0.6 and _rate(tanh) <= 0.2:
            verdict = "reproduced"
        else:
            stops = [int(d) for d in ir["diverged_at"] if d is not None]
            verdict = (f"not reproduced at T = 100 under Adam 1e-3: IRNN {_solved_text(ir)}, tanh "
                       f"{_rate(tanh):.0%}; {len(stops)} IRNN seeds stopped as diverged (training loss > 10x "
                       f"its first) at steps {', '.join(map(str, stops))} (with W_hh = I and ReLU the state "
                       f"sums the inputs, so the output starts far from the target and the loss jumps); Le "
                       f"et al. used SGD with clipping and no such stop: see the row IRNN + clipping, SGD")
        rows["irnn@adam"] = (claim, verdict)
        le = [(L, res("irnn+clip", L, sgd)) for L in (100, 200)]
        le = [(L, r) for L, r in le if r is not None]
        verdict = ("not run yet" if not le else
                   "reproduced" if all(_rate(r) >= 0.6 for _, r in le) else
                   "not reproduced within our budget: " + "; ".join(
                       f"T = {L}: {_solved_text(r)}, {sum(r['diverged'])} diverged, median final MSE "
                       f"{_median(r, 'final_loss')} (chance 0.167)" for L, r in le)
                   + f". Why: {steps:,} steps of {batch} sequences and 32 units against their "
                     f"~10^6 steps and 100 units")
        rows["irnn+clip@sgd"] = ("Le et al. 2015 (sec. 4.1), their protocol: SGD with gradient clipping, "
                                 "no early stop on a growing loss", verdict)
    elif task == "copy":
        base = get_task("copy").baseline(100)
        got = [(rem, res(rem, 100, adam)) for rem in ("tanh", "orthogonal", "lstm")]
        got = [(rem, r) for rem, r in got if r is not None]
        verdict = ("not run yet" if not got else
                   "; ".join(f"{parse_remedy(rem).label}: median final loss {_median(r, 'final_loss')} "
                             f"({_solved_text(r)} solved)" for rem, r in got)
                   + f" against the memoryless baseline {base:.4f} nats per step. "
                   + ("Reproduced: no remedy gets clearly below the baseline (< 0.9x)"
                      if all(float(_median(r, "final_loss")) >= 0.9 * base for _, r in got) else
                      "Below the baseline (< 0.9x): " + ", ".join(
                          parse_remedy(rem).label for rem, r in got
                          if float(_median(r, "final_loss")) < 0.9 * base)))
        rows["lstm@adam"] = ("Arjovsky et al. 2016 (sec. 4.1, Fig. 1): on copy memory the LSTM and the tanh "
                             "RNN stay at the memoryless baseline 10 ln 8 / (T + 20) (0.1733 at T = 100) for "
                             "long delays, where their unitary RNN goes below it", verdict)
    return rows


def _answers(points, clip):
    """The study's two questions, answered from the points run so far."""
    out = ["## What the study shows so far", ""]
    for task in ("adding", "temporal_order"):
        for L in (100, 200):
            base = points.get((task, "tanh", L, "adam", 1e-3))
            if base is None:
                out.append(f"- {task.replace('_', ' ')}, T = {L}: not run yet.")
                continue
            wins = [(rem, o, lr, _rate(res)) for (tk, rem, LL, o, lr), (_, res, _) in points.items()
                    if tk == task and LL == L and _rate(res) >= 0.6]
            text = ", ".join(f"{parse_remedy(r).label} ({v:.0%}{f', SGD {lr:g}' if o == 'sgd' else ''})"
                             for r, o, lr, v in wins) or "nothing"
            out.append(f"- {task.replace('_', ' ')}, T = {L}: the tanh RNN (Adam) solves "
                       f"{_rate(base[1]):.0%} of seeds; solved by at least 3 of 5 seeds: {text}.")
    copy = [(rem, got[1]) for (tk, rem, L, o, _), got in points.items() if tk == "copy" and L == 100]
    base = get_task("copy").baseline(100)
    out.append("- copy memory, T = 100: " + ("not run yet." if not copy else "median final loss " + ", ".join(
        f"{parse_remedy(rem).label} {float(_median(res, 'final_loss')) / base:.2f}x" for rem, res in copy)
        + f" the memoryless baseline ({base:.4f} nats per step); solved by at least 3 of 5 seeds: "
        + (", ".join(parse_remedy(rem).label for rem, res in copy if _rate(res) >= 0.6) or "nothing") + "."))
    out += [f"- Clipping under plain SGD (T = 50): {_clip_verdict(clip)}", ""]
    return out


def _clip_verdict(clip):
    """Does clipping lower the divergence rate at the learning rates where plain SGD diverges?"""
    parts, better, worse = [], 0, 0
    for k, task in enumerate(clip.tasks):
        for j, lr in enumerate(clip.lrs):
            plain, clipped = clip.divergence[k, 0, j], clip.divergence[k, 1, j]
            if np.isnan(plain) or np.isnan(clipped) or plain == 0:
                continue
            parts.append(f"{task} lr {lr:g}: {plain:.0%} -> {clipped:.0%}")
            better += clipped < plain
            worse += clipped > plain
    if not parts:
        return "no learning rate made plain SGD diverge among the points run so far."
    verdict = ("reproduced" if better and not worse else "not reproduced" if not better else "mixed")
    return f"{verdict} (diverged without -> with clipping: {'; '.join(parts)})."


def _machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, Python {platform.python_version()}, NumPy {np.__version__}"


def write_all(store, out, blocks, seeds, steps, settings):
    """table.md, results.json, clipping.png/.pdf and success.png/.pdf into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    records = Store(store).read().records
    points = _points(records)
    expected = []
    for _, task, lengths, remedies, opt, _ in blocks:
        for rem in remedies:
            for L in lengths:
                expected.append((task, rem, L, type(opt).__name__.lower(), float(opt.lr)))
    expected = list(dict.fromkeys(expected))                   # a point may sit in two blocks
    missing = [k for k in expected if k not in points]
    cpu_s = sum(e for _, _, e in points.values())
    lines = ["# Remedies on the classic long-range tasks: what each buys, measured", "",
             "Made by `PYTHONPATH=. python3 papers/remedies/run.py` (resumable: the runs are in "
             "[`store.jsonl`](store.jsonl); `--table-only` rewrites this page from it).", "",
             f"**Budget per run:** at most {steps} steps of batch {settings['batch']} "
             f"({steps * settings['batch']:,} training sequences), {settings['hidden']} hidden "
             f"units, float64, "
             f"{seeds} seeds trained together; evaluation every {settings['eval_every']} steps on "
             f"{settings['eval_size']} fresh sequences, stopping at success; a run *diverges* when its loss "
             f"or gradient is NaN/Inf or its training loss exceeds {settings['max_loss_ratio']:g}x its first "
             f"(it then stops). Clipping: global norm 1; Omega weight 2.", "",
             f"**Wall time:** {cpu_s / 3600:.1f} h, the sum over the {len(points)} finished points of "
             f"each point's wall time (one or two points at a time, one BLAS thread each, niced, on a "
             f"2-core machine shared with other work: {_machine()}). "
             f"{len(missing)} of {len(expected)} points are still missing (listed at the end).", "",
             "Cells: `solved/seeds (median steps to solve)`, `dK`: K runs diverged, `–`: not run yet. "
             "Runs are paired: for a seed and T every remedy sees the same training sequences, and the plain "
             "Elman remedies start from weights drawn with the same seed.", ""]
    # 1. clipping
    clip = ClippingStudy.from_records(records, length=50, budget=f"at most {steps} SGD steps of batch "
                                      f"{settings['batch']}, {seeds} seeds per point")
    lines += ["## Clipping under plain SGD (Pascanu et al. 2013, Algorithm 1)", "",
              "tanh RNN (Xavier init), T = 50, SGD at each learning rate, without and with "
              "clipping: fraction of "
              "the seeds that diverged, and that solved the task.", "",
              "| task | learning rate | diverged, no clipping | diverged, clipping | solved, no clipping "
              "| solved, clipping |", "|---|---|---|---|---|---|"]
    for k, task in enumerate(clip.tasks):
        for j, lr in enumerate(clip.lrs):
            d, s = clip.divergence[k, :, j], clip.success[k, :, j]
            fmt = [("–" if np.isnan(v) else f"{v:.0%}") for v in (*d, *s)]
            lines.append(f"| {task} | {lr:g} | " + " | ".join(fmt) + " |")
    lines += ["", "Published: Pascanu et al. (2013, sec. 3.2) clip because a step taken on the wall of an "
              "exploding gradient throws SGD far away and clipping bounds that step, so clipping "
              "should lower "
              "the divergence rate at high learning rates. Ours: " + _clip_verdict(clip), ""]
    at = lines.index("## Clipping under plain SGD (Pascanu et al. 2013, Algorithm 1)")
    lines[at:at] = _answers(points, clip)
    # 2. per task
    results = {}
    for task in dict.fromkeys(b[1] for b in blocks if b[1] in SUCCESS):
        t = get_task(task)
        lines += [f"## {task.replace('_', ' ')} ({t.reference})", "",
                  f"Success: {SUCCESS[task]}. Columns 'rate at step 0' and 'rho': median over seeds at "
                  f"T = 100 of the least-squares slope of log10 ||dL/ds_k|| against the lag T - k "
                  f"on the first "
                  f"batch (log10 per step; negative = vanishing towards the past) and of the "
                  f"spectral radius of "
                  f"W_hh (largest gate block) at the start.", "",
                  "| remedy | optimiser | " + " | ".join(f"T = {L}" for L in LENGTHS)
                  + " | longest T solved (>= 3/5) | rate at step 0 | rho start | published | ours |",
                  "|---|---|" + "---|" * len(LENGTHS) + "---|---|---|---|---|"]
        pub = _published(points, task, steps, settings['batch'])
        rows = []
        for _, btask, _, remedies, opt, _ in blocks:
            if btask != task:
                continue
            o, lr = type(opt).__name__.lower(), float(opt.lr)
            for rem in remedies:
                if (rem, o, lr) not in rows and not (o == "sgd" and lr != 0.01):
                    rows.append((rem, o, lr))
        rows.sort(key=lambda r: r[1] != "adam")                     # Adam rows, then SGD rows
        for rem, o, lr in rows:
            got = {L: points.get((task, rem, L, o, lr)) for L in LENGTHS}
            r100 = got[100][1] if got[100] else None
            longest = _longest(points, task, rem, o, lr) or ("none" if any(got.values()) else "–")
            claim, verdict = pub.get(f"{rem}@{o}", ("", ""))
            lines.append(f"| {parse_remedy(rem).label} | {'Adam' if o == 'adam' else 'SGD'} {lr:g} | "
                         + " | ".join(_cell(got[L][1] if got[L] else None, seeds) for L in LENGTHS)
                         + f" | {longest} | {_median(r100, 'grad_rate_start')} | "
                           f"{_median(r100, 'rho_start')} | {claim} | {verdict} |")
        lines.append("")
        if task not in FIGURE_TASKS:
            continue
        results[task] = {"runs": [
            {"remedy": rem, "length": L, "seed": i, "solved": res["solved"][i],
             "steps_to_solve": res["steps_to_solve"][i], "diverged": res["diverged"][i]}
            for (tk, rem, L, o, lr), (_, res, _) in points.items()
            if tk == task and ((o, lr) == ("adam", 1e-3) or rem == "smart_tanh+clip+omega")
            for i in range(len(res["solved"]))]}
    lines += ["## Why, and what is not reproduced", "",
              f"- Budget: ours is {steps:,} steps of batch {settings['batch']} "
              f"({steps * settings['batch']:,} sequences), {settings['hidden']} units, Adam 1e-3 (SGD 0.01 "
              f"for Pascanu's recipe and Le et al.'s protocol) per run; the published runs trained longer "
              f"and larger: Pascanu et al. 2013 50 units and millions of sequences, Le et al. 2015 100 "
              f"units and about 10^6 SGD steps, "
              f"Hochreiter & Schmidhuber 1997 74 000 sequences at T = 100 on their easier adding variant. "
              f"A 'not reproduced' means not within this budget, not that the remedy fails.",
              "- Success needs < 1% errors (temporal order, copy) or MSE < 0.01 (adding) on fresh sequences; "
              "a run that is learning but not there yet counts as a failure.",
              "- A run also stops as diverged when its training loss exceeds 10x its first (except in Le et "
              "al.'s protocol, which has no such stop), which ends some IRNN runs whose loss jumps early.",
              ""]
    if missing:
        lines += ["## Points still missing", "",
                  "Run `PYTHONPATH=. python3 papers/remedies/run.py` to compute them (the store "
                  "resumes):", ""]
        lines += [f"- {t}, {r}, T = {L}, {o} lr {lr:g}" for t, r, L, o, lr in missing]
        lines.append("")
    (out / "table.md").write_text("\n".join(lines))
    meta = {"budget_text": f"at most {steps} steps of batch {settings['batch']} "
                           f"({steps * settings['batch']:,} "
                           f"sequences) per run, {settings['hidden']} hidden units, Adam 1e-3 "
                           f"(smart_tanh+clip+omega: SGD 0.01)"}
    (out / "results.json").write_text(json.dumps({**results, "meta": meta}, indent=0))
    _figures(points, clip, out, seeds, steps, settings)
    return out / "table.md"


def _figures(points, clip, out, seeds, steps, settings):
    from rnnanalysis.plots.training import plot_divergence, plot_remedies

    shown = ["tanh", "orthogonal", "irnn", "smart_tanh", "lstm", "gru", "tanh+ln", "tanh+bn"]
    tasks = ("temporal_order", "adding")
    success = np.full((2, len(shown) + 1, len(LENGTHS)), np.nan)
    for k, task in enumerate(tasks):
        for i, rem in enumerate(shown + ["smart_tanh+clip+omega"]):
            opt = ("sgd", 0.01) if rem.startswith("smart_tanh+") else ("adam", 1e-3)
            for j, L in enumerate(LENGTHS):
                got = points.get((task, rem, L) + opt)
                if got:
                    success[k, i, j] = _rate(got[1])
    labels = [parse_remedy(r).label for r in shown] + ["Pascanu's recipe: sparse init + clipping + "
                                                       "Omega (SGD)"]
    study = RemedyStudy(tasks=tasks, remedies=tuple(shown + ["smart_tanh+clip+omega"]),
                        labels=tuple(labels), lengths=np.array(LENGTHS), success=success,
                        seeds=seeds, budget=f"at most {steps} steps of batch {settings['batch']} per run, "
                        f"{settings['hidden']} units; Adam 1e-3 except Pascanu's recipe (SGD 0.01)",
                        source="papers/remedies/store.jsonl")
    for name, fig in (("success", plot_remedies(study)), ("clipping", plot_divergence(clip))):
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", dpi=150,
                        metadata={"CreationDate": None} if ext == "pdf" else None)
