"""Race bpnet_ref's cost + gradient against plain numpy, PyTorch and JAX, fairly.

Run from the repository root:

    python benchmarks/bench_reference.py [--rounds 20] [--per-round 3] [--threads 1 2]
        [--contenders numpy torch jax kernel] [--out bench-out/reference.json] [--no-digits]

The problem is ex4's: m = 5000 examples, a 400-25-10 sigmoid network, lambda = 1,
cross-entropy, float64. The contenders:

- ``bpnet_ref``: the public ``bpnet_ref.nn_cost_function`` (input checks included);
- ``numpy``: the obvious vectorized ex4 code, written below as a student or a
  lecturer would (bias columns by ``hstack``, one-hot by ``eye``, ``log(h)``);
- ``torch``: PyTorch CPU autograd in float64;
- ``jax``: ``jax.jit(jax.value_and_grad(J))`` in float64 (x64 enabled);
- ``kernel`` (only on request): bpnet_ref's kernel on inputs validated once, as in training;
- ``baseline`` (with ``--baseline-ref COMMIT``): ``bpnet_ref.nn_cost_function`` as it was at
  that commit of this repository (``git archive``), to measure a change in the same run.

Why separate processes: two libraries in one process share the cores with each other's
thread pools (OpenMP in torch, OpenBLAS in numpy, Eigen in XLA), and whichever runs second
pays for the first one's spinning threads. So every contender runs in its own worker process,
started with the same thread count through the environment (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``torch.set_num_threads``, and for XLA
``--xla_cpu_multi_thread_eigen=false`` at one thread) *and* confined to that many CPUs
(``os.sched_setaffinity``, the same CPUs for every contender). The affinity is what holds JAX
to its thread count: XLA's CPU runtime spreads one jitted call over a thread pool sized to the
CPUs it may use, whatever the flags say (measured: with the flag alone, four of its threads
share the work of a "one-thread" call). The workers stay alive and wait on a pipe; the
parent asks them in turn, round after round (A B C D A B C D ...), for one untimed call
followed by ``--per-round`` timed calls, so load from other processes falls on all of them
alike. Only one worker computes at a time. Before any timing, every contender's J and
gradient must agree with bpnet_ref's (``np.allclose``), otherwise the race is not run.

The figures are medians over all timed calls and ratios ``median(contender) / median(bpnet_ref)``
taken in the same run (> 1 means bpnet_ref is faster). Each call's CPU time (all threads of the
worker) and minor page faults are reported too: on a busy machine wall time includes waiting
for a core, CPU time does not; page faults show memory the allocator gave back to the kernel
between calls and has to fault in again. The load average before and after is recorded,
because other processes on the machine lengthen every time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EX4_SIZES = (400, 25, 10)
M_EX4 = 5000
LAMBDA = 1.0
SEED = 0
CONTENDERS = ("bpnet_ref", "numpy", "torch", "jax")
# Not raced unless asked for (--contenders ... kernel): bpnet_ref without its input checks.
EXTRA_CONTENDERS = ("kernel",)
# Agreement required before timing. The contenders compute the same float64 function in
# different orders of summation, so they differ by rounding only (~1e-15 relative).
RTOL, ATOL = 1e-9, 1e-12


# ---------------------------------------------------------------------------------------
# The problem, shared by every worker through one .npz file.


def ex4_problem(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random data of ex4's shape: X (5000, 400) in [0, 1), labels 0..9, ex4-style init."""
    import bpnet_ref as bp

    rng = np.random.default_rng(seed)
    X = rng.random((M_EX4, EX4_SIZES[0]))
    y = rng.integers(0, EX4_SIZES[-1], size=M_EX4)
    shapes = bp.layer_shapes(EX4_SIZES)
    params = np.concatenate(
        [bp.rand_initialize_weights(c - 1, r, rng=rng).ravel() for r, c in shapes]
    )
    return params, X, y


# ---------------------------------------------------------------------------------------
# The contenders. Each factory runs inside its worker and returns f(params) -> (J, grad).


def make_bpnet_ref(X: np.ndarray, y: np.ndarray, threads: int):
    import bpnet_ref as bp

    return lambda params: bp.nn_cost_function(params, EX4_SIZES, X, y, LAMBDA)


def make_numpy(X: np.ndarray, y: np.ndarray, threads: int):
    """ex4's nnCostFunction, translated line by line into vectorized numpy."""
    s1, s2, K = EX4_SIZES
    m = X.shape[0]

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def cost_grad(params):
        Theta1 = params[: s2 * (s1 + 1)].reshape(s2, s1 + 1)
        Theta2 = params[s2 * (s1 + 1) :].reshape(K, s2 + 1)
        Y = np.eye(K)[y]
        a1 = np.hstack([np.ones((m, 1)), X])
        z2 = a1 @ Theta1.T
        a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])
        z3 = a2 @ Theta2.T
        h = sigmoid(z3)
        J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
        J += LAMBDA / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
        d3 = h - Y
        d2 = (d3 @ Theta2)[:, 1:] * sigmoid(z2) * (1 - sigmoid(z2))
        Theta1_grad = d2.T @ a1 / m
        Theta2_grad = d3.T @ a2 / m
        Theta1_grad[:, 1:] += LAMBDA / m * Theta1[:, 1:]
        Theta2_grad[:, 1:] += LAMBDA / m * Theta2[:, 1:]
        return float(J), np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])

    return cost_grad


def make_torch(X: np.ndarray, y: np.ndarray, threads: int):
    """The same J with torch autograd (float64, CPU), same row-major unrolling."""
    import torch

    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X)
    Y = torch.nn.functional.one_hot(torch.from_numpy(y), EX4_SIZES[-1]).to(torch.float64)
    m = X.shape[0]
    shapes = _shapes()

    def cost_grad(params):
        w = torch.tensor(params, dtype=torch.float64, requires_grad=True)
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


def make_jax(X: np.ndarray, y: np.ndarray, threads: int):
    """The same J, differentiated and compiled by JAX (x64, CPU)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp

    Xj = jnp.asarray(X)
    Y = jax.nn.one_hot(jnp.asarray(y), EX4_SIZES[-1], dtype=jnp.float64)
    m = X.shape[0]
    shapes = _shapes()

    def J(w):
        thetas, start = [], 0
        for r, c in shapes:
            thetas.append(w[start : start + r * c].reshape(r, c))
            start += r * c
        a = Xj
        for T in thetas[:-1]:
            a = jax.nn.sigmoid(a @ T[:, 1:].T + T[:, 0])
        z = a @ thetas[-1][:, 1:].T + thetas[-1][:, 0]
        cost = jnp.sum(jax.nn.softplus(z) - Y * z) / m
        return cost + LAMBDA / (2 * m) * sum(jnp.sum(T[:, 1:] ** 2) for T in thetas)

    f = jax.jit(jax.value_and_grad(J))

    def cost_grad(params):
        value, grad = f(params)
        # np.asarray waits for the asynchronous result, so the timing includes the work.
        return float(value), np.asarray(grad)

    return cost_grad


def make_bpnet_ref_kernel(X: np.ndarray, y: np.ndarray, threads: int):
    """bpnet_ref's kernel on inputs validated once, as ``bpnet_ref.train`` calls it."""
    import bpnet_ref as bp
    from bpnet_ref.network import _cost_grad

    Y = bp.one_hot(y, EX4_SIZES[-1])
    shapes = bp.layer_shapes(EX4_SIZES)
    return lambda params: _cost_grad(params, shapes, X, Y, LAMBDA, "cross_entropy")


def make_baseline(X: np.ndarray, y: np.ndarray, threads: int):
    """bpnet_ref as it was at ``--baseline-ref``, extracted beside the problem file."""
    sys.path.insert(0, str(BASELINE_DIR))
    import bpnet_ref_baseline as bp

    return lambda params: bp.nn_cost_function(params, EX4_SIZES, X, y, LAMBDA)


#: Where race() extracts the --baseline-ref copy of bpnet_ref (set in each worker).
BASELINE_DIR = Path()

FACTORIES = {
    "bpnet_ref": make_bpnet_ref,
    "kernel": make_bpnet_ref_kernel,
    "baseline": make_baseline,
    "numpy": make_numpy,
    "torch": make_torch,
    "jax": make_jax,
}


def _shapes() -> list[tuple[int, int]]:
    return [(b, a + 1) for a, b in zip(EX4_SIZES[:-1], EX4_SIZES[1:], strict=True)]


# ---------------------------------------------------------------------------------------
# The worker: one contender, one thread count, commands on stdin, answers on stdout.


def thread_env(threads: int) -> dict[str, str]:
    """The environment that caps every thread pool a contender may start at ``threads``."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    flags = env.get("XLA_FLAGS", "")
    if threads == 1:
        # XLA's CPU backend runs its Eigen ops on a pool sized to the machine; this flag
        # makes them single-threaded (there is no flag for "n threads").
        flags += " --xla_cpu_multi_thread_eigen=false"
    env["XLA_FLAGS"] = flags.strip()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def worker_cpus(threads: int) -> set[int] | None:
    """The CPUs every worker of this thread count is confined to: the first ``threads`` allowed."""
    if not hasattr(os, "sched_setaffinity"):
        return None  # not Linux: the environment variables alone must do (JAX will not obey)
    allowed = sorted(os.sched_getaffinity(0))
    return set(allowed[:threads])


def worker(name: str, threads: int, data: Path) -> int:
    """Serve ``check PATH`` and ``time K`` commands for one contender until stdin closes."""
    global BASELINE_DIR
    BASELINE_DIR = data.parent / "baseline"
    cpus = worker_cpus(threads)
    if cpus is not None:
        os.sched_setaffinity(0, cpus)  # before JAX sizes its thread pool (on first use)
    problem = np.load(data)
    params, X, y = problem["params"], problem["X"], problem["y"]
    try:
        fn = FACTORIES[name](X, y, threads)
    except ImportError as exc:
        print(json.dumps({"unavailable": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 0
    fn(params)  # compile (JAX), allocate, fill caches
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd, arg = line.split()
        if cmd == "check":
            J, grad = fn(params)
            np.savez(arg, J=J, grad=grad)
            print(json.dumps({"saved": arg}), flush=True)
        elif cmd == "time":
            fn(params)  # untimed: lets the previous worker's spinning threads go idle
            times, cpu = [], []
            faults = _minor_faults()
            for _ in range(int(arg)):
                c0, t0 = time.process_time(), time.perf_counter()
                fn(params)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            faults = (_minor_faults() - faults) / int(arg)
            print(json.dumps({"times": times, "cpu": cpu, "faults": faults}), flush=True)
    return 0


def _minor_faults() -> float:
    """Page faults of this process so far: a fresh, untouched page costs a fault each time
    the allocator has handed memory back to the kernel (glibc trims its heap)."""
    try:
        import resource
    except ImportError:
        return float("nan")
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


class Worker:
    """A contender's process in the parent, spoken to one line at a time."""

    def __init__(self, name: str, threads: int, data: Path) -> None:
        self.name, self.threads = name, threads
        self.proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--threads",
                str(threads),
                "--data",
                str(data),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=thread_env(threads),
            cwd=ROOT,
        )
        self.unavailable: str | None = None

    def wait_ready(self) -> None:
        reply = self._read()
        self.unavailable = reply.get("unavailable")

    def ask(self, cmd: str) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} ({self.threads} threads) died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------
# The race.


def check_agreement(workers: list[Worker], tmp: Path) -> dict:
    """Each available contender's J and gradient against bpnet_ref's, per thread count."""
    results = {}
    for w in workers:
        path = tmp / f"{w.name}-{w.threads}.npz"
        w.ask(f"check {path}")
        with np.load(path) as r:
            results[(w.name, w.threads)] = (float(r["J"]), r["grad"])
    report = {}
    for (name, threads), (J, grad) in results.items():
        J_ref, g_ref = results[("bpnet_ref", threads)]
        ok = bool(np.isclose(J, J_ref, RTOL, ATOL) and np.allclose(grad, g_ref, RTOL, ATOL))
        report[f"{name}@{threads}"] = {
            "J": J,
            "abs_diff_J": abs(J - J_ref),
            "max_abs_diff_grad": float(np.max(np.abs(grad - g_ref))),
            "allclose": ok,
        }
    return report


def extract_baseline(ref: str, dest: Path) -> None:
    """Write bpnet_ref as of commit ``ref`` to ``dest/bpnet_ref_baseline`` (relative imports)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "bpnet_ref"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)  # noqa: S202 (our own repository's archive)
    (dest / "bpnet_ref").rename(dest / "bpnet_ref_baseline")


def race(
    names: list[str],
    threads_list: list[int],
    rounds: int,
    per_round: int,
    baseline_ref: str | None = None,
) -> dict:
    """Start every worker, check agreement, then time them interleaved."""
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp_name:
        tmp = Path(tmp_name)
        if baseline_ref:
            extract_baseline(baseline_ref, tmp / "baseline")
            names = names[:1] + ["baseline"] + names[1:]
        params, X, y = ex4_problem()
        np.savez(tmp / "problem.npz", params=params, X=X, y=y)
        # Start them one at a time: concurrent imports and JIT compiles would only
        # slow each other down, and nothing is being timed yet.
        workers, skipped = [], {}
        for threads in threads_list:
            for name in names:
                w = Worker(name, threads, tmp / "problem.npz")
                w.wait_ready()
                if w.unavailable:
                    skipped[name] = w.unavailable
                    print(f"{name}: not installed, skipped ({w.unavailable})", file=sys.stderr)
                    w.close()
                else:
                    workers.append(w)
        try:
            agreement = check_agreement(workers, tmp)
            bad = [k for k, v in agreement.items() if not v["allclose"]]
            if bad:
                raise SystemExit(f"contenders disagree with bpnet_ref: {bad}\n{agreement}")
            load_before = os.getloadavg()
            times: dict[str, list[float]] = {f"{w.name}@{w.threads}": [] for w in workers}
            cpu: dict[str, list[float]] = {key: [] for key in times}
            faults: dict[str, list[float]] = {key: [] for key in times}
            for _ in range(rounds):
                for w in workers:
                    reply = w.ask(f"time {per_round}")
                    times[f"{w.name}@{w.threads}"] += reply["times"]
                    cpu[f"{w.name}@{w.threads}"] += reply["cpu"]
                    faults[f"{w.name}@{w.threads}"].append(reply["faults"])
            load_after = os.getloadavg()
        finally:
            for w in workers:
                w.close()
    medians = {k: float(np.median(v)) for k, v in times.items()}
    cpu_medians = {k: float(np.median(v)) for k, v in cpu.items()}
    ratios, cpu_ratios = {}, {}
    for key, med in medians.items():
        name, threads = key.split("@")
        ratios[key] = med / medians[f"bpnet_ref@{threads}"]
        cpu_ratios[key] = cpu_medians[key] / cpu_medians[f"bpnet_ref@{threads}"]
    return {
        "layer_sizes": list(EX4_SIZES),
        "m": M_EX4,
        "lambda": LAMBDA,
        "rounds": rounds,
        "per_round": per_round,
        "threads": threads_list,
        "skipped": skipped,
        "baseline_ref": baseline_ref,
        "agreement": agreement,
        "median_s": medians,
        "min_s": {k: float(np.min(v)) for k, v in times.items()},
        "median_cpu_s": cpu_medians,
        "cpu_ratio_to_bpnet_ref": cpu_ratios,
        "page_faults_per_call": {k: float(np.mean(v)) for k, v in faults.items()},
        "cpus": {t: sorted(c) if (c := worker_cpus(t)) else None for t in threads_list},
        "ratio_to_bpnet_ref": ratios,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }


def bench_digits(method: str = "cg", lambda_: float = 1.0, max_iter: int = 100) -> dict:
    """Train 64-25-10 on scikit-learn's 8x8 digits (in this process, numpy's default threads)."""
    import bpnet_ref as bp

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
    versions = {"numpy": np.__version__}
    for mod in ("torch", "jax", "jaxlib"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = None
    return {
        "python": platform.python_version(),
        **versions,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def markdown(race_out: dict, env: dict, digits: dict | None) -> str:
    sizes = "-".join(map(str, race_out["layer_sizes"]))
    n = race_out["rounds"] * race_out["per_round"]
    lines = [
        f"Cost + gradient, {sizes}, m={race_out['m']}, λ={race_out['lambda']}, float64; "
        f"each contender in its own process; median of {n} calls over "
        f"{race_out['rounds']} interleaved rounds.",
        "",
        "| contender | threads | median (ms) | min (ms) | × bpnet_ref | CPU median (ms) "
        "| CPU × bpnet_ref | page faults | max abs Δgrad |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, med in race_out["median_s"].items():
        name, threads = key.split("@")
        lines.append(
            f"| {name} | {threads} | {med * 1e3:.2f} | {race_out['min_s'][key] * 1e3:.2f} | "
            f"**{race_out['ratio_to_bpnet_ref'][key]:.2f}** | "
            f"{race_out['median_cpu_s'][key] * 1e3:.2f} | "
            f"{race_out['cpu_ratio_to_bpnet_ref'][key]:.2f} | "
            f"{race_out['page_faults_per_call'][key]:.0f} | "
            f"{race_out['agreement'][key]['max_abs_diff_grad']:.1e} |"
        )
    lb, la = race_out["loadavg_before"], race_out["loadavg_after"]
    lines += [
        "",
        "× bpnet_ref = median(contender) / median(bpnet_ref) at the same thread count "
        "(> 1: bpnet_ref is faster). CPU: process time of the call, all its threads; on a busy "
        "machine it is the fairer figure at one thread (a runtime with several threads gets "
        "several shares of a contended core), but it counts threads spinning at two. "
        "Page faults: minor faults per call. "
        f"Workers confined to CPUs {race_out['cpus']} (by thread count).",
        f"numpy {env['numpy']}, torch {env['torch']}, jax {env['jax']}, "
        f"Python {env['python']}, {env['cpu_count']} CPUs; load average (1/5/15 min) "
        f"{lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f} before, {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f} after.",
    ]
    if race_out["baseline_ref"]:
        lines.append(f"baseline: bpnet_ref at commit {race_out['baseline_ref']}.")
    for name, why in race_out["skipped"].items():
        lines.append(f"{name} skipped: {why}")
    if digits:
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
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument(
        "--per-round", type=int, default=3, help="timed calls per contender per round (default 3)"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="default: 1 2")
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=list(CONTENDERS),
        choices=CONTENDERS + EXTRA_CONTENDERS,
        help="default: all; bpnet_ref is always included",
    )
    parser.add_argument(
        "--baseline-ref",
        metavar="COMMIT",
        help="also race bpnet_ref as it was at this commit (needs git)",
    )
    parser.add_argument("--no-digits", action="store_true", help="skip the digits training run")
    parser.add_argument("--out", default="bench-out/reference.json", help="JSON output path")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.threads[0], Path(args.data))

    names = ["bpnet_ref"] + [c for c in args.contenders if c != "bpnet_ref"]
    race_out = race(names, args.threads, args.rounds, args.per_round, args.baseline_ref)
    digits = None
    if not args.no_digits:
        try:
            digits = bench_digits()
        except ImportError as exc:
            print(f"digits training skipped: {exc}", file=sys.stderr)
    env = environment()
    print(markdown(race_out, env, digits))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"environment": env, "cost_grad": race_out, "digits": digits}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
