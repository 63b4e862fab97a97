"""Worked example: train a small PyTorch LSTM, save it, and analyse it with rnnanalysis.

    PYTHONPATH=$PWD python docs/examples/trained_lstm.py [--outdir trained_lstm] [--steps 150]

1. Trains a 2-layer ``nn.LSTM`` (n = 16, with a linear readout) for a few seconds to recall
   the input of 10 steps ago, and saves its state dict as ``model.pt`` and ``model.npz``.
2. Analyses the saved files from the command line, as you would in a shell:
   ``rnnanalysis predict|profile|check model.npz --prefix rnn``.
3. Analyses the model from Python: the cell (a ``ra.Stack`` of two LSTM layers), the
   spectral prediction, the per-lag gradient profile with each layer's share, the check
   table (also as LaTeX), the Lyapunov spectrum, and a figure of the profile before and after
   training.

Needs torch (training only; rnnanalysis reads the files without it) and matplotlib.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import rnnanalysis as ra
from rnnanalysis.cli import main as cli

DELAY, T_TRAIN, HIDDEN = 10, 30, 16


def make_model(seed=0):
    import torch

    torch.manual_seed(seed)

    class Recall(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(1, HIDDEN, num_layers=2)
            self.head = torch.nn.Linear(HIDDEN, 1)

        def forward(self, x):                      # x: (T, B, 1), time-major like rnnanalysis
            return self.head(self.rnn(x)[0])

    return Recall().double()


def train(model, steps, seed=0):
    """Adam on y_t = x_{t - DELAY}; returns the final mean squared error (inputs have variance 1)."""
    import torch

    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        x = torch.tensor(rng.standard_normal((T_TRAIN, 32, 1)))
        loss = ((model(x)[DELAY:] - x[:-DELAY]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def run(outdir="trained_lstm", steps=150, T=300, seed=0):
    """Train, save, analyse; T: the length of the analysed input sequences."""
    import torch

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    model = make_model(seed)
    before = ra.from_torch(model)                  # the untrained network, for comparison
    mse = train(model, steps, seed)
    print(f"trained {steps} Adam steps: recall-{DELAY} mean squared error {mse:.3f} (1.0 = chance)")

    # -- 1. save what people save ----------------------------------------------------------
    torch.save(model.state_dict(), out / "model.pt")
    np.savez(out / "model.npz", **{k: v.detach().numpy() for k, v in model.state_dict().items()})

    # -- 2. the command line (rnnanalysis ... in a shell) --------------------------------------
    for argv in (["predict", out / "model.npz", "--prefix", "rnn"],
                 ["profile", out / "model.pt", "--T", T, "--batch", "8"],
                 ["check", out / "model.npz", "--T", T, "--batch", "8"]):
        print(f"\n$ rnnanalysis {' '.join(map(str, argv))}")
        if cli([str(a) for a in argv]) != 0:
            raise SystemExit(f"rnnanalysis {argv[0]} failed")

    # -- 3. the API ----------------------------------------------------------------------------
    cell = ra.from_state_dict("lstm", ra.load_arrays(out / "model.npz"), prefix="rnn")
    assert isinstance(cell, ra.Stack)              # rnn.*_l0 and rnn.*_l1; head.* ignored
    xs = np.random.default_rng(seed + 1).standard_normal((T, 8, 1))
    pred = ra.predict(cell)
    print(f"\n{cell!r}\nstate Jacobian at 0: spectral radius {pred.spectral_radius:.3f}, "
          f"sigma_max {pred.singular_values[0]:.3f} -> {pred.regime}")
    prof = ra.gradient_profile(cell, xs)           # loss v . h_T on the top layer
    rate = float(np.median(prof.rate_log10_per_step(skip=T // 10)))
    lay = np.median(prof.layer_log10_norms[0], axis=0)
    print(f"gradient norm over {T} steps: {rate:+.4f} log10 per step; at lag {T} layer 1's block is "
          f"10^{lay[0]:.1f}, layer 2's 10^{lay[1]:.1f}")
    table = ra.check_predictions(cell, xs)
    print(table.to_text())
    (out / "check.tex").write_text(table.to_latex(document=True))
    ly = ra.lyapunov_spectrum(cell, xs, k=4)
    print("Lyapunov exponents (nats per step):", np.round(np.median(ly.exponents, axis=0), 4))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    lags = np.arange(xs.shape[0], -1, -1)
    for label, c, style in (("before training", before, "--"), ("after training", cell, "-")):
        p = ra.gradient_profile(c, xs)
        print(f"{label}: {float(np.median(p.rate_log10_per_step(skip=T // 10))):+.4f} log10 per step")
        ax.plot(lags, np.median(p.log10_norms, axis=1), style, color="k", label=f"{label}, both layers")
        ax.plot(lags, np.median(p.layer_log10_norms[..., 0], axis=1), style, color="tab:blue",
                label=f"{label}, layer 1 block")
    ax.set_xlabel("lag T - k (steps)")
    ax.set_ylabel(r"$\log_{10}\,\|\partial (v\cdot h_T)/\partial s_k\|$")
    ax.legend(fontsize=7)
    fig.savefig(out / "profile.png", dpi=120)
    plt.close(fig)
    print(f"\nwrote {out / 'model.pt'}, {out / 'model.npz'}, {out / 'check.tex'}, {out / 'profile.png'}")
    return {"mse": mse, "rate": rate, "check": table, "lyapunov": ly}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default="trained_lstm")
    parser.add_argument("--steps", type=int, default=150, help="Adam steps (default 150)")
    parser.add_argument("--T", type=int, default=300, help="length of the analysed sequences (default 300)")
    args = parser.parse_args()
    run(args.outdir, args.steps, args.T)
