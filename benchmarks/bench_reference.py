"""Benchmark bpnet_ref: cost + gradient at ex4 scale vs PyTorch autograd, and digits training.

Run from the repository root:

    python3 benchmarks/bench_reference.py [--repeats 30] [--out bench-out/reference.json]

Prints a Markdown table and writes the figures as JSON. Both implementations are
timed in the same process, interleaved round by round, on the same float64 data;
the ratio is median(bpnet_ref) / median(torch) (< 1 means bpnet_ref is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpnet_ref as bp  # noqa: E402
from bpnet_ref.network import _cost_grad  # noqa: E402  (the kernel train() calls)

EX4_SIZES = (400, 25, 10)
M_EX4 = 5000
LAMBDA = 1.0
SEED = 0


def ex4_problem(seed: int = SEED):
    """Random data of ex4's shape: X (5000, 400) in [0, 1), labels 0..9, ex4-style init."""
    rng = np.random.default_rng(seed)
    X = rng.random((M_EX4, EX4_SIZES[0]))
    y = rng.integers(0, EX4_SIZES[-1], size=M_EX4)
    shapes = bp.layer_shapes(EX4_SIZES)
    params = np.concatenate(
        [bp.rand_initialize_weights(c - 1, r, rng=rng).ravel() for r, c in shapes]
    )
    return params, X, y


def torch_cost_grad_factory(torch, X: np.ndarray, y: np.ndarray):
    """The same J and grad with torch autograd (float64, CPU), same row-major unrolling."""
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    m, K = X.shape[0], EX4_SIZES[-1]
    shapes = bp.layer_shapes(EX4_SIZES)

    def cost_grad(params: np.ndarray):
        w = torch.tensor(params, dtype=torch.float64, requires_grad=True)
        Y = torch.nn.functional.one_hot(yt, K).to(torch.float64)
        thetas, start = [], 0
        for r, c in shapes:
            thetas.append(w[start : start + r * c].view(r, c))
            start += r * c
        a = Xt
        for T in thetas[:-1]:
            a = torch.sigmoid(torch.addmm(T[:, 0], a, T[:, 1:].T))
        z = torch.addmm(thetas[-1][:, 0], a, thetas[-1][:, 1:].T)
        # -[y log h + (1-y) log(1-h)] = softplus(z) - y z, the stable form bpnet_ref uses.
        J = (torch.nn.functional.softplus(z) - Y * z).sum() / m
        J = J + LAMBDA / (2 * m) * sum((T[:, 1:] ** 2).sum() for T in thetas)
        J.backward()
        return J.item(), w.grad.numpy()

    return cost_grad


def time_interleaved(fns: dict, repeats: int, warmup: int = 3) -> dict:
    """(median, min) wall time in s of each function, alternating between them each round."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, f in fns.items():
            # One untimed call first: after switching library, the other one's worker
            # threads (OpenMP in torch, OpenBLAS in numpy) may still be spinning on the
            # cores and would slow down whichever call comes next.
            f()
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return {name: (float(np.median(ts)), float(np.min(ts))) for name, ts in times.items()}


def bench_cost_grad(repeats: int) -> dict:
    params, X, y = ex4_problem()
    Y = bp.one_hot(y, EX4_SIZES[-1])
    shapes = bp.layer_shapes(EX4_SIZES)
    fns = {
        "bpnet_ref.nn_cost_function": lambda: bp.nn_cost_function(params, EX4_SIZES, X, y, LAMBDA),
        "bpnet_ref kernel (validated once, as in train)": lambda: _cost_grad(
            params, shapes, X, Y, LAMBDA, "cross_entropy"
        ),
    }
    out = {"layer_sizes": list(EX4_SIZES), "m": M_EX4, "lambda": LAMBDA, "repeats": repeats}
    try:
        import torch
    except ImportError:
        torch = None
        out["torch"] = None
        print("torch is not installed: skipping the PyTorch comparison", file=sys.stderr)
    if torch is not None:
        torch_fn = torch_cost_grad_factory(torch, X, y)
        J_ref, g_ref = bp.nn_cost_function(params, EX4_SIZES, X, y, LAMBDA)
        J_t, g_t = torch_fn(params)
        out["torch"] = {
            "version": torch.__version__,
            "threads": torch.get_num_threads(),
            "abs_diff_J": abs(J_ref - J_t),
            "max_abs_diff_grad": float(np.max(np.abs(g_ref - g_t))),
        }
        fns["torch autograd (CPU, float64)"] = lambda: torch_fn(params)
    timings = time_interleaved(fns, repeats)
    medians = {name: med for name, (med, _) in timings.items()}
    out["median_s"] = medians
    out["min_s"] = {name: low for name, (_, low) in timings.items()}
    if torch is not None:
        t_torch = medians["torch autograd (CPU, float64)"]
        out["ratio_bpnet_ref_over_torch"] = medians["bpnet_ref.nn_cost_function"] / t_torch
        out["ratio_kernel_over_torch"] = (
            medians["bpnet_ref kernel (validated once, as in train)"] / t_torch
        )
    return out


def bench_digits(method: str = "cg", lambda_: float = 1.0, max_iter: int = 100) -> dict:
    X, y = bp.load_digits()
    X_tr, y_tr, X_te, y_te = bp.holdout_split(X, y, test_fraction=0.25, seed=SEED)
    sizes = (X.shape[1], 25, 10)
    t0 = time.perf_counter()
    result = bp.train(sizes, X_tr, y_tr, lambda_, method, max_iter=max_iter, rng=SEED)
    elapsed = time.perf_counter() - t0
    return {
        "layer_sizes": list(sizes),
        "method": method,
        "lambda": lambda_,
        "max_iter": max_iter,
        "n_iter": result.n_iter,
        "m_train": int(X_tr.shape[0]),
        "m_test": int(X_te.shape[0]),
        "train_time_s": elapsed,
        "final_cost": result.cost_history[-1],
        "train_accuracy": bp.accuracy(y_tr, bp.predict(result.thetas, X_tr)),
        "heldout_accuracy": bp.accuracy(y_te, bp.predict(result.thetas, X_te)),
    }


def environment() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        # Other processes on the machine skew medians; record how busy it was.
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def markdown(cg: dict, digits: dict) -> str:
    lines = [
        f"Cost + gradient, {'-'.join(map(str, cg['layer_sizes']))}, m={cg['m']}, "
        f"λ={cg['lambda']}, median of {cg['repeats']}:",
        "",
        "| implementation | median (ms) | min (ms) |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {t * 1e3:.2f} | {cg['min_s'][name] * 1e3:.2f} |"
        for name, t in cg["median_s"].items()
    ]
    if cg.get("torch"):
        lines += [
            "",
            f"Ratio bpnet_ref / torch: **{cg['ratio_bpnet_ref_over_torch']:.2f}** "
            f"(kernel: {cg['ratio_kernel_over_torch']:.2f}); torch {cg['torch']['version']}, "
            f"{cg['torch']['threads']} threads; max |Δgrad| = {cg['torch']['max_abs_diff_grad']:.1e}.",
        ]
    else:
        lines += ["", "torch not installed: no comparison."]
    lines += [
        "",
        "| digits training | value |",
        "|---|---:|",
        f"| network | {'-'.join(map(str, digits['layer_sizes']))}, {digits['method']}, "
        f"λ={digits['lambda']}, {digits['n_iter']} iterations |",
        f"| train / held-out examples | {digits['m_train']} / {digits['m_test']} |",
        f"| training time (s) | {digits['train_time_s']:.2f} |",
        f"| held-out accuracy | {digits['heldout_accuracy'] * 100:.1f}% |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--out", default="bench-out/reference.json", help="JSON output path")
    args = parser.parse_args(argv)

    cg = bench_cost_grad(args.repeats)
    digits = bench_digits()
    print(markdown(cg, digits))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"environment": environment(), "cost_grad": cg, "digits": digits}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
