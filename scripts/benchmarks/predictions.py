"""Agreement of every predictor with the simulator over random networks (issue 3 benchmark).

Usage:

    python scripts/benchmarks/predictions.py [--configs 240] [--T 500] [--seed 0] [--out results.json]

Each configuration draws a cell (tanh / sigmoid / relu / linear Elman, LSTM, GRU in equal
shares), a gain in [0.5, 3] (recurrent blocks iid N(0, gain^2/n)), n log-uniform in [16, 256], an
input scale in [0, 1] (inputs N(0, scale^2), m = 4, B = 2 sequences), and runs
:func:`rnnanalysis.check_predictions` (Theil-Sen fit of the measured log10 gradient norm over lag,
first T/10 lags skipped). Reported per predictor: regime accuracy against the measured regime
(critical band +-0.002 log10/step) and the mean absolute rate error (log10/step, finite rates).
For lambda_1 also the share of configurations within 0.01 nats/step of the measured rate:
(a) same trajectory, Theil-Sen fit; (b) same trajectory, mean one-step growth ("mean" fit, the
estimator the Lyapunov average is); (c) lambda_1 from an independent input sequence of the same
statistics (a prediction made before seeing the test sequence), mean fit.
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

import rnnanalysis as ra  # noqa: E402
from rnnanalysis.predict import fit_log10_rate, input_variance  # noqa: E402

KINDS = [("elman", "tanh"), ("elman", "sigmoid"), ("elman", "relu"), ("elman", "linear"),
         ("lstm", "tanh"), ("gru", "tanh")]
PREDICTORS = ["pascanu_bound", "linear_rho", "mean_field_chi", "lyapunov_lambda1"]
LN10 = math.log(10.0)


def close(a, b, tol):
    """|a - b| <= tol, counting two exact zeros of the gradient (-inf, -inf) as agreement."""
    if a == -math.inf and b == -math.inf:
        return True
    return bool(abs(a - b) <= tol)


def run_config(i, rng, T):
    kind, act = KINDS[i % len(KINDS)]
    gain, n = rng.uniform(0.5, 3.0), int(round(math.exp(rng.uniform(math.log(16), math.log(256)))))
    scale = rng.uniform(0.0, 1.0)
    cls = {"elman": ra.Elman, "lstm": ra.LSTM, "gru": ra.GRU}[kind]
    cell = cls(n, 4, activation=act, init="gaussian", gain=gain, seed=int(rng.integers(2 ** 31)))
    xs = scale * rng.standard_normal((T, 2, 4))
    held_out = scale * rng.standard_normal((T, 2, 4))
    table = ra.check_predictions(cell, xs)
    skip = table.skip
    mean_fit = float(np.median(fit_log10_rate(ra.gradient_profile(cell, xs).log10_norms, skip, "mean")))
    lam = table.row("lyapunov_lambda1").log10_rate * LN10
    lam_held = float(np.median(ra.lyapunov_spectrum(cell, held_out, k=1, warmup=skip).lambda_max))
    decision = ra.predict(cell, horizon=0, input_variance=input_variance(cell, xs))
    return {
        "kind": kind, "activation": act, "gain": gain, "n": n, "input_scale": scale,
        "measured_log10": table.measured_log10_rate, "measured_regime": table.measured_regime,
        "measured_mean_fit_log10": mean_fit,
        "rows": {r.predictor: {"regime": r.regime, "log10_rate": r.log10_rate, "bound_held": r.bound_held}
                 for r in table.rows},
        "predict_regime": decision.regime, "predict_predictor": decision.predictor,
        "lyapunov_nats": lam, "lyapunov_held_out_nats": lam_held,
        "lyapunov_within_0.01": {
            "same_theil_sen": close(lam, table.measured_log10_rate * LN10, 0.01),
            "same_mean_fit": close(lam, mean_fit * LN10, 0.01),
            "held_out_mean_fit": close(lam_held, mean_fit * LN10, 0.01)},
    }


def summarise(results):
    lines = ["| predictor | regime accuracy | decided on | mean abs. rate error (log10/step) |",
             "|---|---|---|---|"]
    for name in PREDICTORS:
        decided = [r for r in results if r["rows"][name]["regime"] not in ("undecided", "n/a")]
        hits = [r["rows"][name]["regime"] == r["measured_regime"] for r in decided]
        acc = np.mean(hits) if hits else math.nan
        errs = [abs(r["rows"][name]["log10_rate"] - r["measured_log10"]) for r in decided]
        errs = [e for e in errs if math.isfinite(e)]
        note = " (upper bound)" if name == "pascanu_bound" else ""
        lines.append(f"| {name} | {acc:.1%} | {len(decided)}/{len(results)} | "
                     f"{np.mean(errs) if errs else math.nan:.4f}{note} |")
    acc = np.mean([r["predict_regime"] == r["measured_regime"] for r in results])
    lines.append(f"| ra.predict (weights + input variance) | {acc:.1%} | {len(results)}/{len(results)} | |")
    within = {k: np.mean([r["lyapunov_within_0.01"][k] for r in results])
              for k in ("same_theil_sen", "same_mean_fit", "held_out_mean_fit")}
    held = [r["rows"]["pascanu_bound"]["bound_held"] for r in results]
    held = [h for h in held if h is not None]
    lines += ["", "lambda_1 within 0.01 nats/step of the measured gradient rate: "
              f"{within['same_theil_sen']:.1%} (same trajectory, Theil-Sen fit), "
              f"{within['same_mean_fit']:.1%} (same trajectory, mean one-step growth), "
              f"{within['held_out_mean_fit']:.1%} (independent input sequence, mean one-step growth)",
              f"Pascanu bound violated: {held.count(False)} of {len(held)} Elman configurations"]
    by_kind = {}
    for r in results:
        by_kind.setdefault(f"{r['kind']}/{r['activation']}", []).append(r)
    lines += ["", "| cell | configs | lambda_1 regime accuracy | "
              "lambda_1 within 0.01 nats (same, mean fit) |",
              "|---|---|---|---|"]
    for k, rs in by_kind.items():
        acc = np.mean([r["rows"]["lyapunov_lambda1"]["regime"] == r["measured_regime"] for r in rs])
        w = np.mean([r["lyapunov_within_0.01"]["same_mean_fit"] for r in rs])
        lines.append(f"| {k} | {len(rs)} | {acc:.1%} | {w:.1%} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=240)
    ap.add_argument("--T", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    results = [run_config(i, rng, args.T) for i in range(args.configs)]
    print(f"{args.configs} configurations, T = {args.T}, B = 2, seed {args.seed} "
          f"({time.perf_counter() - t0:.0f} s)\n")
    print(summarise(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
