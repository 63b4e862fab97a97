"""How often the predictions from the weights get the measured gradient regime and rate right.

Usage:

    nice python scripts/benchmarks/predictions.py [--configs 300] [--trained 60] [--T 300] [--seed 0]
                                                  [--kinds gru,trained] [--misses]
                                                  [--out results.json] [--summary accuracy.json]

(The committed table papers/predictions/accuracy.json, which the report prints, is
``--summary papers/predictions/accuracy.json`` with the defaults: about 4 minutes on 2 busy cores;
papers/predictions/accuracy_seed1.json is the same with ``--seed 1``; accuracy_seed2.json and
accuracy_seed3.json with ``--seed 2`` and ``--seed 3`` are held-out checks, measured after the
predictors were settled.)

Random design, ``--configs`` per cell kind (Elman tanh, Elman ReLU, LSTM, GRU; all seeded):
recurrent blocks i.i.d. N(0, gain^2/n) with gain ~ U(0.3, 3); n log-uniform in [16, 256];
m = 4 inputs i.i.d. N(0, s^2) with s ~ U(0, 2) (one configuration in ten: s = 0); biases zero
in half the configurations, else N(0, sigma_b^2) on ``bias_ih`` with sigma_b ~ U(0.1, 1).
Trained networks (``--trained``): Elman tanh, LSTM and GRU, n = 24, trained with
``rnnanalysis.train`` (Adam 1e-3, 150 steps, length 30) on the adding and temporal-order
tasks from initial gains 0.8-1.8, then measured on fresh task sequences; their prediction is
``ra.predict(cell, inputs=xs)`` (the task inputs' mean and covariance: they are not
zero-mean Gaussians).

Measured rate: Theil-Sen slope of ``log10 ||d(v.h_T)/ds_k||`` over the lag (first T/10 lags
skipped), median over B = 2 sequences of length T; regime with the critical band +-0.002
log10/step. Predictors: ``ra.predict(cell, input_std=s)`` (the stochastic linearisation;
weights and input moments only), linear ``log10 rho`` (of W_hh; of the state Jacobian at the
stationary means for gated cells), the Pascanu bound (decides "vanishing" only when it is
negative, Elman only) and the Lyapunov exponent lambda_1 (a simulation of the same sequence).
For trained networks also the independent-steps ceiling (:func:`shuffled_rate`): the
network's own step Jacobians along the measured trajectory, multiplied in shuffled order —
what any predictor that treats the steps as independent draws could reach at best.
Rate errors are absolute, log10 per step, over configurations where both rates are finite.

Quick mode: ``--kinds`` measures only some groups (elman-tanh, elman-relu, lstm, gru,
trained) of the same seeded design; ``--misses`` lists every configuration whose regime
``ra.predict`` misses, with its gain, n, input std and bias. ``--remeasure T2`` measures each
miss again on two fresh draws of its inputs (Gaussian of its std, or fresh task sequences) at
the benchmark's T and at T2: whether the short measurement or the prediction misses.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import machine  # noqa: E402

import rnnanalysis as ra  # noqa: E402
from rnnanalysis.predict import CRITICAL_BAND_LOG10, fit_log10_rate  # noqa: E402

KINDS = [("elman", "tanh"), ("elman", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
CELLS = {"elman": ra.Elman, "lstm": ra.LSTM, "gru": ra.GRU}
LN10 = math.log(10.0)
ROWS = ("predict", "linear_rho", "pascanu_bound", "lyapunov_lambda1")
TARGET_ACCURACY, TARGET_ERROR = 0.95, 0.01     # the targets for ra.predict, per group
EXTRA_ROWS = ("independent_steps",)          # trained networks only: see shuffled_rate


def classify(rate):
    """The project's regime rule: critical within +-CRITICAL_BAND_LOG10 of 0."""
    if rate > CRITICAL_BAND_LOG10:
        return "exploding"
    return "vanishing" if rate < -CRITICAL_BAND_LOG10 else "critical"


def measure(cell, xs, prediction, seconds):
    """The measured rate and every predictor's rate and regime for one (cell, xs)."""
    skip = xs.shape[0] // 10
    rate = float(np.median(fit_log10_rate(ra.gradient_profile(cell, xs).log10_norms, skip)))
    lam = float(np.median(ra.lyapunov_spectrum(cell, xs, k=1, warmup=skip, seed=0).lambda_max)) / LN10
    p = prediction
    pascanu = "vanishing" if p.vanishing_guaranteed else "undecided"
    return {"measured": rate, "measured_regime": classify(rate),
            "rows": {"predict": (p.log10_rate_estimate, p.regime),
                     "linear_rho": (p.log10_rate_linear, classify(p.log10_rate_linear)),
                     "pascanu_bound": (p.log10_rate_bound, pascanu),
                     "lyapunov_lambda1": (lam, classify(lam))},
            "predictor": p.predictor, "predict_seconds": seconds, "converged": p.stationary_converged}


def draw_random(i, rng, T):
    """Random configuration i of the design: its description, the cell and the measured inputs."""
    kind, act = KINDS[i % len(KINDS)]
    gain = float(rng.uniform(0.3, 3.0))
    n = int(round(math.exp(rng.uniform(math.log(16), math.log(256)))))
    std = 0.0 if rng.random() < 0.1 else float(rng.uniform(0.0, 2.0))
    sigma_b = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.1, 1.0))
    seed = int(rng.integers(2 ** 31))
    cell = CELLS[kind](n, 4, activation=act, init="gaussian", gain=gain, seed=seed)
    if sigma_b:
        p = {k: np.array(v) for k, v in cell.params.items()}
        p["bias_ih"] = sigma_b * rng.standard_normal(p["bias_ih"].shape)
        cell = cell.with_params(p)
    xs = std * rng.standard_normal((T, 2, 4))
    return {"kind": f"{kind} {act}", "gain": gain, "n": n, "input_std": std, "sigma_b": sigma_b,
            "cell": cell, "xs": xs}


def random_config(config):
    """``ra.predict(cell, input_std=s)`` and the measurement for one drawn configuration."""
    config = dict(config)
    cell, xs = config.pop("cell"), config.pop("xs")
    t0 = time.perf_counter()
    prediction = ra.predict(cell, input_std=config["input_std"], horizon=0)
    seconds = time.perf_counter() - t0
    return {**config, **measure(cell, xs, prediction, seconds)}


def draw_trained(i, rng, T, train_it=True):
    """Trained network i: its description, the trained cell and fresh task inputs (cell and
    inputs None if not ``train_it``: the design's random numbers are drawn all the same)."""
    from rnnanalysis.train import Adam, get_task, make_network, train

    kind = ("elman", "lstm", "gru")[i % 3]
    task = ("adding", "temporal_order")[(i // 3) % 2]
    gain = float(rng.uniform(0.8, 1.8))
    seed = int(rng.integers(2 ** 31))
    config = {"kind": f"trained {kind}", "task": task, "gain": gain, "n": 24, "cell": None, "xs": None}
    if not train_it:
        return config
    t = get_task(task)
    core = CELLS[kind](24, t.inputs, init="gaussian", gain=gain, seed=seed)
    result = train(make_network(core, t.outputs, seed=seed), task, 30, steps=150, batch=20,
                   optimizer=Adam(1e-3), eval_every=150, eval_size=200, log_every=50,
                   profile_every=150, seed=seed)
    return {**config, "cell": result.network.core, "xs": t.sample(T, 2, seed=seed + 1).xs,
            "final_loss": float(result.final.loss) if hasattr(result.final, "loss") else None}


def shuffled_rate(cell, xs, seed=0):
    """The measured network's own step Jacobians (after the fit's skip) multiplied in a random
    order: the rate any predictor that takes the steps as independent draws could reach at
    best (it keeps each step's exact Jacobian, cross-unit structure included, and loses only
    their order in time). Median over the batch, log10 per step."""
    skip = xs.shape[0] // 10
    traj = ra.simulate(cell, xs)                    # states[t]: the state before input t
    states = traj.states if traj.cells is None else np.concatenate([traj.states, traj.cells], axis=-1)
    rng = np.random.default_rng(seed)
    rates = []
    for b in range(xs.shape[1]):
        g = rng.standard_normal(cell.state_size)
        g /= np.linalg.norm(g)
        order = skip + rng.permutation(xs.shape[0] - skip)
        total = 0.0
        for t in order:
            g = g @ cell.jacobian(states[t, b][None], xs[t, b][None])[0]
            norm = float(np.linalg.norm(g))
            if norm == 0.0:
                return -math.inf
            total += math.log10(norm)
            g /= norm
        rates.append(total / order.size)
    return float(np.median(rates))


def trained_config(config):
    """``ra.predict(cell, inputs=xs)`` and the measurement for one trained network, with the
    independent-steps ceiling (:func:`shuffled_rate`)."""
    config = dict(config)
    cell, xs = config.pop("cell"), config.pop("xs")
    t0 = time.perf_counter()
    prediction = ra.predict(cell, inputs=xs, horizon=0)
    seconds = time.perf_counter() - t0
    result = {**config, **measure(cell, xs, prediction, seconds)}
    shuffled = shuffled_rate(cell, xs)
    result["rows"]["independent_steps"] = (shuffled, classify(shuffled))
    return result


def remeasure(config, lengths, draws=2):
    """The measured rate of a configuration's cell on ``draws`` fresh draws of its inputs at each
    sequence length (B = 2 as in :func:`measure`): {T: [rate per draw]}."""
    from rnnanalysis.train import get_task

    cell, out = config["cell"], {}
    for T in lengths:
        rates = []
        for d in range(draws):
            seed = 10_000 * (d + 1) + T
            xs = (config["input_std"] * np.random.default_rng(seed).standard_normal((T, 2, cell.inputs))
                  if "input_std" in config else get_task(config["task"]).sample(T, 2, seed=seed).xs)
            rates.append(float(np.median(fit_log10_rate(ra.gradient_profile(cell, xs).log10_norms, T // 10))))
        out[T] = rates
    return out


def missed(result):
    return result["rows"]["predict"][1] != result["measured_regime"]


def agree(rate, measured):
    if rate == -math.inf and measured == -math.inf:
        return 0.0
    return abs(rate - measured)


def accuracy(results) -> list:
    """One row per group of cells: each predictor's regime accuracy and mean absolute rate error."""
    groups = {}
    for r in results:
        groups.setdefault(r["kind"], []).append(r)
    groups["all random"] = [r for r in results if not r["kind"].startswith("trained")]
    groups["all trained"] = [r for r in results if r["kind"].startswith("trained")]
    rows = []
    for name, rs in groups.items():
        if not rs:
            continue
        row = {"cells": name, "configs": len(rs),
               "predict_ms": 1e3 * float(np.median([r["predict_seconds"] for r in rs]))}
        for key in ROWS + EXTRA_ROWS:
            if not all(key in r["rows"] for r in rs):
                continue
            decided = [r for r in rs if r["rows"][key][1] != "undecided"]
            hits = [r["rows"][key][1] == r["measured_regime"] for r in decided]
            errs = [agree(r["rows"][key][0], r["measured"]) for r in decided]
            errs = [e for e in errs if math.isfinite(e)]
            row[key] = {"decided": len(decided), "accuracy": float(np.mean(hits)) if hits else math.nan,
                        "error": float(np.mean(errs)) if errs else math.nan}
        rows.append(row)
    return rows


def shortfalls(rows) -> list:
    """Where ``ra.predict`` misses the targets, by how much (one line per miss)."""
    out = []
    for row in rows:
        a = row["predict"]
        if a["accuracy"] < TARGET_ACCURACY:
            out.append(f"{row['cells']}: regime accuracy {a['accuracy']:.1%}, "
                       f"{100 * (TARGET_ACCURACY - a['accuracy']):.1f} points short of {TARGET_ACCURACY:.0%}")
        if a["error"] > TARGET_ERROR:
            out.append(f"{row['cells']}: mean abs. rate error {a['error']:.4f}, "
                       f"{a['error'] - TARGET_ERROR:.4f} above {TARGET_ERROR}")
    return out


def summarise(results):
    lines = ["| cells | configs | `ra.predict` regime acc. | `ra.predict` mean abs. err. | linear rho acc. "
             "| linear rho err. | Pascanu: decides / acc. | lambda_1 acc. | lambda_1 err. "
             "| predict median ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    rows = accuracy(results)
    for row in rows:
        cells = [row["cells"], str(row["configs"])]
        for key in ROWS:
            a = row[key]
            cells += ([f"{a['decided']} / {a['accuracy']:.1%}"] if key == "pascanu_bound"
                      else [f"{a['accuracy']:.1%}", f"{a['error']:.4f}"])
        lines.append("| " + " | ".join(cells + [f"{row['predict_ms']:.0f}"]) + " |")
    ceiling = [(row["cells"], row["independent_steps"]) for row in rows if "independent_steps" in row]
    if ceiling:
        lines += ["", "independent-steps ceiling (the network's own Jacobians in shuffled order; "
                  "regime accuracy / mean abs. error):"]
        lines += [f"  {name}: {a['accuracy']:.1%} / {a['error']:.4f}" for name, a in ceiling]
    short = shortfalls(rows)
    lines += ["", f"targets (regime >= {TARGET_ACCURACY:.0%}, error <= {TARGET_ERROR}): "
              + ("all met" if not short else "missed:")] + [f"  {line}" for line in short]
    worst = sorted(results, key=lambda r: -agree(r["rows"]["predict"][0], r["measured"]))[:8]
    lines += ["", "largest `ra.predict` rate errors (log10/step):"]
    for r in worst:
        drive = (f"s={r['input_std']:.2f} sigma_b={r['sigma_b']:.2f}" if "input_std" in r
                 else f"task {r['task']}")
        lines.append(f"  {r['kind']:<14} n={r['n']:<4} gain={r['gain']:.2f} {drive}: "
                     f"predicted {r['rows']['predict'][0]:+.4f} "
                     f"({r['predictor']}), measured {r['measured']:+.4f}")
    return "\n".join(lines)


KIND_NAMES = {f"{kind}-{act}" if kind == "elman" else kind: f"{kind} {act}" for kind, act in KINDS}


def misses(results):
    """Every configuration whose ``ra.predict`` regime differs from the measured one."""
    lines = []
    for r in filter(missed, results):
        rate, regime = r["rows"]["predict"]
        drive = (f"s={r['input_std']:.2f} sigma_b={r['sigma_b']:.2f}" if "input_std" in r
                 else f"task {r['task']}")
        again = "".join(f"; fresh T={T}: " + ", ".join(f"{x:+.4f}" for x in rates)
                        for T, rates in r.get("remeasured", {}).items())
        lines.append(f"  {r['kind']:<14} n={r['n']:<4} gain={r['gain']:.2f} {drive}: predicted "
                     f"{rate:+.4f} {regime} ({r['predictor']}), measured {r['measured']:+.4f} "
                     f"{r['measured_regime']}, lambda_1 {r['rows']['lyapunov_lambda1'][0]:+.4f}{again}")
    return "\n".join(["misses (predicted vs measured, log10/step):"] + (lines or ["  none"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=300, help="random configurations per cell kind")
    ap.add_argument("--trained", type=int, default=60, help="trained networks (a third per cell kind)")
    ap.add_argument("--T", type=int, default=300, help="sequence length of the measurement")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default=",".join([*KIND_NAMES, "trained"]),
                    help="quick mode: measure only these groups (comma-separated from "
                         f"{', '.join([*KIND_NAMES, 'trained'])}); the design stays the same")
    ap.add_argument("--misses", action="store_true", help="print every configuration whose regime is missed")
    ap.add_argument("--remeasure", type=int, default=None, metavar="T2",
                    help="with --misses: measure each miss again on fresh inputs at T and at T2")
    ap.add_argument("--out", type=Path, default=None, help="write every configuration's numbers (JSON)")
    ap.add_argument("--summary", type=Path, default=None, help="write the accuracy table (JSON)")
    args = ap.parse_args(argv)
    kinds = set(args.kinds.split(","))
    unknown = kinds - {*KIND_NAMES, "trained"}
    if unknown:
        ap.error(f"--kinds: unknown group(s) {sorted(unknown)}")
    wanted = {KIND_NAMES[k] for k in kinds if k in KIND_NAMES}
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    design = (draw_random(i, rng, args.T) for i in range(args.configs * len(KINDS)))

    def measured(configs, run):
        for c in configs:
            result = run(c)
            if args.remeasure and missed(result):
                result["remeasured"] = remeasure(c, (args.T, args.remeasure))
            yield result

    results = list(measured((c for c in design if c["kind"] in wanted), random_config))  # drawn all the same
    trained = (draw_trained(i, rng, args.T, "trained" in kinds) for i in range(args.trained))
    results += measured((c for c in trained if c["cell"] is not None), trained_config)
    head = (f"{args.configs} random configurations per kind + {args.trained} trained networks, T = {args.T}, "
            f"B = 2, seed {args.seed}, critical band +-{CRITICAL_BAND_LOG10}"
            + ("" if len(kinds) == len(KIND_NAMES) + 1 else f", measured only: {','.join(sorted(kinds))}")
            + f"; {time.perf_counter() - t0:.0f} s on {machine()}")
    print(head + "\n")
    print(summarise(results))
    if args.misses:
        print("\n" + misses(results))
    if args.summary:
        rows = accuracy(results)
        args.summary.write_text(json.dumps({"run": head, "rows": rows, "shortfalls": shortfalls(rows)},
                                           indent=1) + "\n")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
