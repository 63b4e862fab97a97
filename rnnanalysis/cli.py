"""The ``rnnanalysis`` command: predict, profile, check, derive, sweep, figures, tour.

Every failure caused by the input — a bad file, a bad argument, a bad config — is one line
``rnnanalysis: error: ...`` on stderr and exit status 2, never a traceback; an interrupted
command exits 130; anything else (a bug) is one line and status 1 (``RNNANALYSIS_DEBUG=1``
shows the traceback). Weight files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

import numpy as np

from ._results import jsonable
from .cells import cell_class
from .io import MAX_BYTES

__all__ = ["main"]

PROG = "rnnanalysis"
KINDS = ("elman", "lstm", "gru")


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):                     # one line instead of usage + message
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _number(kind, low, high, *, low_open=False):
    """An argparse ``type``: ``text`` as an int or a finite float in [low, high] (``(low, high]``
    with ``low_open``); argparse names the argument in front of the message."""
    what, fmt = ("an integer", "d") if kind is int else ("a number", "g")
    bounds = f"{'(' if low_open else '['}{low:{fmt}}, {high:{fmt}}]"

    def parse(text):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            value = None
        if value is None or not math.isfinite(value) or not low <= value <= high \
                or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"expected {what} in {bounds}, got {text!r:.60}")
        return value
    return parse


SIZE = _number(int, 1, 10_000)                     # --hidden, --inputs: W alone is 800 MB at the top
COUNT = _number(int, 1, 10**7)                     # --T, --batch (and T x batch x inputs below)
SEED = _number(int, 0, 2**64 - 1)
GAIN = _number(float, 0.0, 1e300, low_open=True)
WORKERS = _number(int, 1, 1024)
SECONDS = _number(float, 0.0, 1e6, low_open=True)
POINTS = _number(int, 1, 10**12)
BYTES = _number(int, 1, 2**50)
STD = _number(float, 0.0, 1e300)                   # each part of --input-std
WIDTH = _number(float, 0.0, 10_000, low_open=True)  # pt
DPI = _number(int, 1, 2400)
MAX_INPUT_FLOATS = 10**9                           # T x batch x inputs: the drawn input array


# ---- weights ----------------------------------------------------------------------------------

def _load(args):
    """(W or cell, a line saying what was read) from the WEIGHTS file."""
    from .io import load_weights

    obj, layout = load_weights(args.weights, args.kind, args.activation, prefix=args.prefix,
                               max_bytes=args.max_bytes)
    return obj, (f"{args.weights}: {layout.describe()}" if layout is not None else f"{args.weights}: W")


def _cell_from(args):
    """The cell to profile/check: from the weights file, or drawn from the options."""
    if args.weights is None:
        cls = cell_class(args.kind or "elman")
        return cls(args.hidden, args.inputs, args.activation or "tanh", init=args.init, gain=args.gain,
                   seed=args.seed), f"{args.init} init, gain {args.gain:g}, seed {args.seed}"
    obj, source = _load(args)
    if not isinstance(obj, np.ndarray):
        return obj, source
    from . import init as _init

    n = obj.shape[0]
    rng = np.random.default_rng(args.seed)
    params = {"weight_hh": obj, "weight_ih": _init.xavier_uniform((n, args.inputs), rng),
              "bias_ih": np.zeros(n), "bias_hh": np.zeros(n)}
    return cell_class("elman").from_params(params, args.activation or "tanh", dtype=obj.dtype), source


def _draw_inputs(args, cell):
    """Inputs x_t ~ N(0, 1) of shape (T, batch, inputs), seeded by --seed; refused when absurd."""
    size = args.T * args.batch * cell.inputs
    if size > MAX_INPUT_FLOATS:
        raise UsageError(f"--T x --batch x inputs = {args.T} x {args.batch} x {cell.inputs} = {size} "
                         f"input values; at most {MAX_INPUT_FLOATS}")
    return np.random.default_rng(args.seed).standard_normal((args.T, args.batch, cell.inputs))


# ---- output ----------------------------------------------------------------------------------

def _emit(result, as_json, text_lines):
    data = jsonable(result.to_dict() if hasattr(result, "to_dict") else result)
    if as_json:
        print(json.dumps(data, indent=1))
    else:
        print("\n".join(text_lines(data)))


def _summary_lines(data, width=6):
    """key: value lines; long lists shortened to their first values and length."""
    for key, value in data.items():
        if isinstance(value, list) and len(value) > width:
            head = ", ".join(_fmt(v) for v in value[:width])
            yield f"{key}: [{head}, ...] ({len(value)} values)"
        elif isinstance(value, list):
            yield f"{key}: [{', '.join(_fmt(v) for v in value)}]"
        else:
            yield f"{key}: {json.dumps(value) if isinstance(value, dict) else _fmt(value)}"


def _fmt(v, digits=6):
    return f"{round(v, 12) + 0.0:.{digits}g}" if isinstance(v, float) else str(v)


# ---- subcommands -----------------------------------------------------------------------------

def _input_std(text):
    """--input-std: one number, or one per input separated by commas; each finite and >= 0."""
    values = [STD(t) for t in text.split(",")]
    return values[0] if len(values) == 1 else np.array(values)


def _load_inputs(path):
    """--inputs X.npy: one array (T, B, m) from a .npy/.npz file (never unpickled)."""
    from .io import load_arrays

    arrays = load_arrays(path)
    if len(arrays) != 1:
        raise ValueError(f"--inputs {path}: expected one array (T, B, m), got arrays {sorted(arrays)}")
    return next(iter(arrays.values()))


def cmd_predict(args):
    from .predict import predict

    obj, source = _load(args)
    described = {"input_std": args.input_std}
    if args.inputs is not None:
        described = {"inputs": _load_inputs(args.inputs)}
    result = predict(obj, activation=args.activation if isinstance(obj, np.ndarray) else None, **described)
    if args.json:
        _emit(result, True, _summary_lines)
    else:
        print(f"{source}\n{result.to_text()}")


def _prediction_line(cell):
    """What ra.predict says for the N(0, 1) inputs that profile and check draw."""
    from .predict import predict

    p = predict(cell, input_std=1.0, horizon=0)
    return p, (f"predicted from the weights (ra.predict(cell, input_std=1)): {p.regime}, "
               f"{p.log10_rate_estimate:+.5f} log10 per step ({p.predictor})")


def _profile_lines(info):
    def lines(data):
        yield info
        yield f"{'lag':>6}  {'log10 norm mean':>15}  {'min':>9}  {'max':>9}"
        T = len(data["lags"]) - 1
        shown = sorted({lag for lag in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if lag <= T}
                       | {T})
        for lag in shown:
            mean, lo, hi = (_fmt(data[f"log10_norm_{s}"][lag]) for s in ("mean", "min", "max"))
            yield f"{lag:>6}  {mean:>15}  {lo:>9}  {hi:>9}"
        rate = data["rate_log10_per_step"]
        yield (f"fitted rate: {_fmt(rate)} log10 per step, < 0 vanishing "
               f"(least squares over lags 0..{T}, mean over the batch)")
        if isinstance(rate, float) and math.isfinite(rate) and rate != 0:
            yield (f"  the gradient norm {'shrinks' if rate < 0 else 'grows'} tenfold every "
                   f"{1 / abs(rate):.3g} steps")
    return lines


def cmd_profile(args):
    from .experiments.functions import profile_summary
    from .simulate import gradient_profile

    cell, source = _cell_from(args)
    xs = _draw_inputs(args, cell)
    profile = gradient_profile(cell, xs)
    summary = profile_summary(profile)
    info = (f"{cell!r} from {source}; inputs N(0, 1), T={args.T}, batch {args.batch}, "
            f"seed {args.seed}")
    prediction, line = _prediction_line(cell)
    lines = _profile_lines(info)
    text = [*lines(jsonable(summary))]
    if profile.layer_log10_norms is not None:                  # a Stack: each layer's block, by lag
        by_lag = profile.layer_log10_norms[::-1].mean(axis=1)
        summary["layer_log10_norm_mean"] = by_lag
        text.append(f"each layer's block at lag {args.T} (log10 norm, mean over the batch): "
                    + ", ".join(f"layer {i + 1} {_fmt(float(v))}" for i, v in enumerate(by_lag[-1])))
    text.append(line)
    summary.update(predicted_regime=prediction.regime,
                   predicted_rate_log10_per_step=prediction.log10_rate_estimate)
    _emit(summary, args.json, lambda data: text)


def cmd_check(args):
    from .predict import check_predictions as check

    cell, source = _cell_from(args)
    xs = _draw_inputs(args, cell)
    table = check(cell, xs, seed=args.seed)
    print(json.dumps(jsonable(table.to_dict()), indent=1) if args.json
          else f"{cell!r} from {source}\n{table.to_text()}\n{_prediction_line(cell)[1]}")


def cmd_derive(args):
    from .symbolic import derive

    if args.fragment and not args.tex:
        raise UsageError("--fragment: give the file to write with --tex OUT.tex")
    derivation = derive(args.cell, args.activation)
    settings = {} if args.width is None else {"width": args.width}
    if args.tex:
        derivation.to_tex(args.tex, fragment=args.fragment, **settings)
        print(f"wrote {args.tex}")
    else:
        print(derivation.latex(**settings))


def cmd_sweep(args):
    from .experiments.config import load_config
    from .experiments.sweep import sweep

    cfg = load_config(args.config, store=args.store, max_points=args.max_points)
    executor, client = None, None
    if args.scheduler:
        try:
            import distributed
        except ModuleNotFoundError:
            raise UsageError("--scheduler needs dask.distributed (pip install 'rnnanalysis[distributed]')") \
                from None
        client = distributed.Client(args.scheduler, timeout=args.timeout)
        executor = client.get_executor()

    def progress(done, total, record):
        if args.quiet:
            return
        if record is None:
            print(f"sweep {cfg.name}: {total} points, {done} already in {cfg.store}", file=sys.stderr)
        else:
            params = " ".join(f"{k}={v}" for k, v in record["params"].items())
            print(f"[{done}/{total}] {params}  {record['elapsed_s']:.2f} s", file=sys.stderr)

    try:
        result = sweep(cfg.fn, cfg.grid, executor, cfg.store, max_workers=args.workers, progress=progress)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished points are in {cfg.store}; run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()

    def lines(data):
        yield (f"{data['fn']}: {len(data['records'])} points ({data['computed']} computed, "
               f"{data['resumed']} resumed, {data['skipped_lines']} store lines skipped) in {cfg.store}")
        for rec in data["records"]:
            scalars = {k: v for k, v in rec["result"].items() if not isinstance(v, (list, dict))} \
                if isinstance(rec["result"], dict) else {"result": rec["result"]}
            yield "  " + " ".join(f"{k}={_fmt(v)}" for k, v in {**rec["params"], **scalars}.items())
    _emit(result, args.json, lines)


def cmd_figures(args):
    import matplotlib

    matplotlib.use("Agg")
    from .figures import run

    def progress(msg):
        print(msg, file=sys.stderr, flush=True)

    run(args.outdir, args.quick, args.only, seed=args.seed, recompute=args.recompute, formats=args.formats,
        dpi=args.dpi, data=not args.no_data, workers=args.workers, progress=progress)
    print(f"figures in {args.outdir}", file=sys.stderr)


def cmd_tour(args):
    from .tour import run

    run(args.outdir, args.quick, seed=args.seed, progress=lambda s: print(s, file=sys.stderr, flush=True))


# ---- parser ----------------------------------------------------------------------------------

def _add_cell_options(p, weights_required):
    p.add_argument("weights", nargs=None if weights_required else "?", metavar="WEIGHTS",
                   help="a .npy matrix W (n, n), or a .npz/.safetensors/.pt of one matrix or of a "
                        "PyTorch state dict (any prefix, e.g. rnn.weight_hh_l0; several layers give a "
                        "stack; other keys ignored); .pt/.pth only through torch.load(weights_only=True), "
                        "nothing else is ever unpickled"
                        + ("" if weights_required else "; omit to draw a cell from the options below. "
                           "A bare W becomes weight_hh of an Elman cell with --inputs inputs "
                           "(Xavier input weights from --seed, zero biases)"))
    p.add_argument("--kind", choices=KINDS, help="cell kind (state dicts: inferred from weight_hh)")
    p.add_argument("--activation", help="nonlinearity (default tanh; a state dict does not record "
                   "nn.RNN's nonlinearity: give relu here if the model used it)")
    p.add_argument("--prefix", help="which recurrent layer of a state dict holding several "
                   "(e.g. encoder.lstm.)")
    p.add_argument("--max-bytes", type=BYTES, default=MAX_BYTES, metavar="N",
                   help=f"refuse weight files expanding to more than N bytes (default {MAX_BYTES})")
    p.add_argument("--json", action="store_true", help="print JSON instead of a summary")


def _add_draw_options(p):
    p.add_argument("--hidden", type=SIZE, default=32,
                   help="hidden size n of a drawn cell (default 32)")
    p.add_argument("--inputs", type=SIZE, default=1, help="input size m (default 1)")
    p.add_argument("--init", default="gaussian", help="initialiser of a drawn cell (default gaussian: "
                   "W_hh entries N(0, gain^2/n))")
    p.add_argument("--gain", type=GAIN, default=1.0, help="initialiser gain > 0 (default 1.0)")
    p.add_argument("--T", type=COUNT, default=100, help="sequence length (default 100)")
    p.add_argument("--batch", type=COUNT, default=8, help="number of input sequences (default 8)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the weights and inputs (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Derive, predict and measure vanishing and exploding "
                     "gradients in recurrent networks.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("predict", help="predictions from a weight matrix or state dict and the inputs' "
                       "statistics")
    _add_cell_options(p, True)
    inputs = p.add_mutually_exclusive_group()
    inputs.add_argument("--input-std", type=_input_std, metavar="S",
                        help="the inputs are i.i.d. N(0, S^2): one S, or one per input separated by commas "
                             "(a bare W: the drive on each unit)")
    inputs.add_argument("--inputs", metavar="X.npy",
                        help="an input array (T, B, m) whose mean and covariance the prediction uses")
    p.set_defaults(func=cmd_predict)
    for name, func, text in (("profile", cmd_profile, "measured per-lag gradient norms and their rate"),
                             ("check", cmd_check, "predictions against measurement, with errors")):
        p = sub.add_parser(name, help=text)
        _add_cell_options(p, False)
        _add_draw_options(p)
        p.set_defaults(func=func)
    p = sub.add_parser("derive", help="the symbolic Jacobian of a cell, as LaTeX")
    p.add_argument("cell", metavar="CELL", help="elman, lstm or gru")
    p.add_argument("--activation", default="tanh", help="nonlinearity (default tanh)")
    p.add_argument("--tex", metavar="OUT.tex", help="write a standalone LaTeX document (default: print "
                   "the align* environment)")
    p.add_argument("--fragment", action="store_true", help="with --tex: write the derivation alone, for "
                   "\\input in a document that loads amsmath")
    p.add_argument("--width", type=WIDTH, help="line width in pt that long equations are broken "
                   "to fit (default 345, the article class)")
    p.set_defaults(func=cmd_derive)
    p = sub.add_parser("sweep", help="run a JSON-configured sweep, resumably (see rnnanalysis.experiments)")
    p.add_argument("config", metavar="CONFIG", help='JSON: {"function": "gradient_decay", "grid": {...}, '
                   '"seed": 0, "store": "out.jsonl"}')
    p.add_argument("--store", metavar="PATH", help="the store to resume and append to, as given "
                   "(default: the config's \"store\", which must lie in the config's directory)")
    p.add_argument("--workers", type=WORKERS, help="local worker processes (default: one per core)")
    p.add_argument("--max-points", type=POINTS, help="refuse a larger grid (default 10^6 points)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--timeout", type=SECONDS, default=30.0, help="seconds to wait for --scheduler")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="print the records as JSON")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("figures", help="make the figures (PNG, PDF and their data as JSON)")
    p.add_argument("--outdir", default="figures", help="output directory (default figures)")
    p.add_argument("--quick", action="store_true", help="small networks, short runs")
    p.add_argument("--only", nargs="+", metavar="NAME", help="figure names or letters a..g (default all)")
    p.add_argument("--recompute", action="store_true", help="also recompute the figures made from committed "
                   "results (f: the remedies study of papers/remedies; long at its full budget)")
    p.add_argument("--seed", type=SEED, default=0, help="root seed of every figure's data (default 0)")
    p.add_argument("--dpi", type=DPI, default=150, help="resolution of the PNGs (default 150)")
    p.add_argument("--formats", nargs="+", default=["png", "pdf"], choices=["png", "pdf", "svg"],
                   help="file formats (default png pdf)")
    p.add_argument("--no-data", action="store_true", help="do not write the figures' data (.json)")
    p.add_argument("--workers", type=WORKERS, default=2, help="worker processes (default 2)")
    p.set_defaults(func=cmd_figures)
    p = sub.add_parser("tour", help="a guided run through the toolkit")
    p.add_argument("--outdir", default="tour", help="output directory (default tour)")
    p.add_argument("--quick", action="store_true", help="T = 200 instead of 1000")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the network and inputs (default 0)")
    p.set_defaults(func=cmd_tour)
    return parser


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _silence_stdout():
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)

    from .experiments.sweep import SweepError

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            args = build_parser().parse_args(argv)
            return int(args.func(args) or 0)
        except SystemExit as exc:                  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:                    # `rnnanalysis ... | head`: stop quietly
            _silence_stdout()
            return 1
        except (UsageError, ValueError, TypeError, OSError, SweepError, MemoryError) as exc:
            if os.environ.get("RNNANALYSIS_DEBUG"):
                raise
            print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except Exception as exc:  # a bug: still one line, but a different status
            if os.environ.get("RNNANALYSIS_DEBUG"):
                raise
            print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} "
                  f"(set RNNANALYSIS_DEBUG=1 for the traceback; please report it)", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
