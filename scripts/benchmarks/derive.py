"""Time deriving every built-in cell, lambdifying it and writing its LaTeX (issue 4: < 5 s total).

    python3 scripts/benchmarks/derive.py [--rounds 5]

Each round runs in a fresh Python process (cold: the SymPy import is included), timing
``import rnnanalysis`` + for each built-in cell (elman, lstm, gru, ln_elman, ln_lstm) x
{tanh, sigmoid, relu, linear, leaky_relu}:
``derive`` -> ``lambdify`` -> one call -> ``to_tex``. Prints the median over rounds, and, for
scale, the time SymPy's own ``Matrix.jacobian`` of the explicit entrywise LSTM at n = 3 takes
(one fixed size, where ``derive`` is size-free) in the same rounds (interleaved A B A B).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

OURS = r"""
import time, tempfile, pathlib
t0 = time.perf_counter()
import numpy as np
import rnnanalysis as ra
out = pathlib.Path(tempfile.mkdtemp())
count = 0
from rnnanalysis.cells import LayerNormElman, LayerNormLSTM
for make in (ra.Elman, ra.LSTM, ra.GRU, LayerNormElman, LayerNormLSTM):
    kind = make.kind
    for act in ("tanh", "sigmoid", "relu", "linear", "leaky_relu"):
        cell = make(hidden=8, inputs=4, activation=act, seed=0)
        d = ra.derive(cell)
        f = d.lambdify()
        f(cell.params, np.zeros((2, cell.state_size)), np.ones((2, 4)))
        d.to_tex(out / f"{kind}_{act}.tex")
        count += 1
print(time.perf_counter() - t0, count)
"""

PEER = r"""
import time
t0 = time.perf_counter()
import sympy
from rnnanalysis.symbolic.equations import builtin_spec
from rnnanalysis.symbolic.verify import _symbols
from rnnanalysis.symbolic.evaluate import SympyBackend, evaluate_definitions
spec = builtin_spec("lstm")
sizes = {spec.n: 3, spec.m: 2}
env = {nm: _symbols(nm, *(int(sympy.sympify(d).subs(sizes)) for d in s.shape))
       for nm, s in spec.symbols.items() if spec.roles[nm] not in ("define", "state_new")}
vals = evaluate_definitions(spec, env, SympyBackend(spec), sizes)
F = sympy.Matrix.vstack(vals["h"], vals["c"])
state = sympy.Matrix.vstack(env["h_prev"], env["c_prev"])
J = F.jacobian(state)
print(time.perf_counter() - t0, J.shape[0])
"""


def run(code):
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True)
    wall = time.perf_counter() - start
    inner, count = res.stdout.split()
    return float(inner), wall, int(count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ours, ours_wall, peer = [], [], []
    for _ in range(args.rounds):
        t, w, count = run(OURS)
        ours.append(t)
        ours_wall.append(w)
        peer.append(run(PEER)[0])
    med, med_wall, med_peer = (statistics.median(v) for v in (ours, ours_wall, peer))
    print(f"derive + lambdify + call + to_tex, {count} cell/activation pairs incl. imports: "
          f"median {med:.2f} s (process wall {med_wall:.2f} s) over {args.rounds} rounds; "
          f"budget 5 s -> {'OK' if med_wall < 5 else 'OVER'}")
    print(f"peer: SymPy Matrix.jacobian of the entrywise LSTM at n=3 (one size), incl. imports: "
          f"median {med_peer:.2f} s; ratio peer/ours {med_peer / med:.2f}")


if __name__ == "__main__":
    main()
