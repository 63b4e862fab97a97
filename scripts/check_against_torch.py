"""Per-lag gradient norms of saved 2-layer PyTorch models against PyTorch autograd.

    PYTHONPATH=$PWD python scripts/check_against_torch.py [--T 500] [--batch 4]

For a 2-layer ``nn.LSTM`` and ``nn.GRU`` (float64, PyTorch's initialisation) inside a model
with the recurrent layer under ``encoder.rnn.`` and a readout head ``head.``: save the state
dict as ``.npz`` and as ``.safetensors``, load each with ``ra.load_arrays`` +
``ra.from_state_dict`` (a ``ra.Stack``), and compare ``ra.gradient_profile`` with the same
quantity computed by PyTorch autograd: one vector-Jacobian product per step on the stacked
state (h¹, c¹, h², c²) — ``torch.autograd.grad`` through one call of the module — renormalised
every step, its log10 accumulated. Prints the largest difference of log10 norms over all lags
and samples, and the largest relative error of the log10 norms. Needs torch and safetensors.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

import rnnanalysis as ra

N_IN, N_HID, LAYERS = 3, 8, 2


def build_model(kind, seed=0):
    """A model whose state dict has ``encoder.rnn.*_l0``, ``*_l1`` and ``head.weight``/``head.bias``."""
    import torch

    torch.manual_seed(seed)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](N_IN, N_HID, num_layers=LAYERS)
    model = torch.nn.Module()
    model.encoder = torch.nn.Module()
    model.encoder.rnn = rnn
    model.head = torch.nn.Linear(N_HID, 1)
    return model.double()


def _split(s, kind, B):
    """Stacked state (B, S) -> PyTorch's (h, c) or h of shape (layers, B, n)."""
    per = s.reshape(B, LAYERS, -1).transpose(0, 1)
    if kind == "lstm":
        return per[..., :N_HID].contiguous(), per[..., N_HID:].contiguous()
    return per.contiguous()


def _join(hidden, kind, B):
    if kind == "lstm":
        h, c = hidden
        return ra_stack_order(h, c).reshape(B, -1)
    return hidden.transpose(0, 1).reshape(B, -1)


def ra_stack_order(h, c):
    """(layers, B, n) h and c -> (B, layers, 2n): each layer's block is (h, c), bottom to top."""
    import torch

    return torch.cat([h, c], dim=-1).transpose(0, 1)


def torch_profile(rnn, kind, xs, v):
    """log10 ||d(v . h_T)/d s_k|| for k = 0..T by autograd, one step at a time: (T+1, B)."""
    import torch

    T, B, _ = xs.shape
    x = torch.tensor(xs)
    with torch.no_grad():
        states = [torch.zeros(B, LAYERS * N_HID * (2 if kind == "lstm" else 1), dtype=torch.float64)]
        for t in range(T):
            _, hidden = rnn(x[t:t + 1], _split(states[-1], kind, B))
            states.append(_join(hidden, kind, B))
    g = torch.zeros_like(states[-1])
    top = (LAYERS - 1) * (2 * N_HID if kind == "lstm" else N_HID)
    g[:, top: top + N_HID] = torch.tensor(v)
    out = np.zeros((T + 1, B))
    scale = np.zeros(B)
    for k in range(T, 0, -1):
        s_prev = states[k - 1].clone().requires_grad_(True)
        _, hidden = rnn(x[k - 1:k], _split(s_prev, kind, B))
        (g,) = torch.autograd.grad(_join(hidden, kind, B), s_prev, grad_outputs=g)
        norm = g.norm(dim=1).numpy()
        scale += np.log10(norm)
        out[k - 1] = scale
        g = g / torch.tensor(norm)[:, None]
    return out


def agreement(kind, T=500, B=4, seed=0):
    """{file format: (largest |difference| of log10 norms, largest relative error, smallest log10 norm)}."""
    import torch
    from safetensors.numpy import save_file

    torch.set_num_threads(1)                       # tiny matrices: threads only add overhead
    model = build_model(kind, seed)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    xs = np.random.default_rng(seed).standard_normal((T, B, N_IN))
    v = np.full(N_HID, 1 / np.sqrt(N_HID))
    ref = torch_profile(model.encoder.rnn, kind, xs, v)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("npz", "safetensors"):
            path = Path(tmp) / f"model.{fmt}"
            np.savez(path, **sd) if fmt == "npz" else save_file(sd, str(path))
            stack = ra.from_state_dict(None, ra.load_arrays(path))
            assert isinstance(stack, ra.Stack) and len(stack.layers) == LAYERS
            diff = np.abs(ra.gradient_profile(stack, xs, direction=v).log10_norms - ref)
            out[fmt] = (float(diff.max()), float((diff[:-1] / np.abs(ref[:-1])).max()), float(ref.min()))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=int, default=500)
    p.add_argument("--batch", type=int, default=4)
    args = p.parse_args(argv)
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    print(f"machine: {cpu or platform.machine()}, Python {sys.version.split()[0]}, "
          f"NumPy {np.__version__}, torch {torch.__version__}; T = {args.T}, batch {args.batch}")
    print(f"{'model':<6}{'file':<13}{'max |d log10|':>15}{'max rel. err.':>15}{'min log10 norm':>16}")
    for kind in ("lstm", "gru"):
        for fmt, (d, r, lo) in agreement(kind, args.T, args.batch).items():
            print(f"{kind:<6}{fmt:<13}{d:>15.2e}{r:>15.2e}{lo:>16.2f}")


if __name__ == "__main__":
    main()
