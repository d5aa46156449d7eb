"""Harness latency: worker start and per-call cost in each sandbox tier vs a plain subprocess.

Usage::

    python benchmarks/bench_harness.py [--repeat 20] [--calls 300] [--json]

"plain" runs the same worker.py with no uid drop, rlimits, namespaces or filters (a measurement
baseline only; the grader never runs student code that way). Start = new SandboxedSubmission until
the module is loaded (stage, spawn, interpreter + numpy import, filters, tiny module); fork = the
same from a warm zygote (fork, filters, tiny module, reap), where the tier has zygotes. Call = one
round trip of a small and a large request. The bwrap line is ``bwrap ... /bin/true`` minus
``/bin/true`` as the slot uid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.harness import sandbox as sb  # noqa: E402
from autograder.harness.runner import SandboxedSubmission  # noqa: E402
from autograder.harness.runtime import find_child_python, probe_runtime  # noqa: E402
from autograder.harness.sandbox import CHILD_ENV, Limits, Sandbox, Stage  # noqa: E402
from autograder.harness.zygote import Zygote  # noqa: E402

SOURCE = """
import numpy as np
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))
def cost(theta, X):
    h = sigmoid(X @ theta[: X.shape[1]])
    return float(np.sum(h)), theta * 0.5
"""


class PlainSandbox(Sandbox):
    """Baseline: the worker as an ordinary subprocess of the grader (no isolation at all)."""

    def __post_init__(self) -> None:
        self.runtime = probe_runtime(self.python or find_child_python())
        self.tier, self.seccomp, self.landlock = "plain", False, False
        self.unshare_flags, self.drop_uid = 0, False
        self.layers = {"none": "measurement baseline"}

    def spawn(self, stage: Stage, limits: Limits, slot: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command(stage, limits, "bench"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            cwd=str(stage.path),
            env=dict(CHILD_ENV),
        )


def bench_tier(sandbox: Sandbox, repeat: int, calls: int) -> dict[str, float]:
    starts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with SandboxedSubmission(SOURCE, sandbox=sandbox) as sub:
            assert sub.load().status == "ok"
            starts.append(time.perf_counter() - t0)
    small = np.linspace(-1, 1, 43)
    theta, X = np.linspace(-1, 1, 10285), np.random.default_rng(0).normal(size=(5000, 400)) * 0.01
    with SandboxedSubmission(SOURCE, sandbox=sandbox) as sub:
        sub.load()
        small_times, large_times = [], []
        for _ in range(calls):
            t0 = time.perf_counter()
            assert sub.call("sigmoid", [small], {}, timeout=5).status == "ok"
            small_times.append(time.perf_counter() - t0)
        for _ in range(max(calls // 10, 5)):
            t0 = time.perf_counter()
            assert sub.call("cost", [theta, X], {}, n_outputs=2, timeout=5).status == "ok"
            large_times.append(time.perf_counter() - t0)
    return {
        "start_ms": statistics.median(starts) * 1e3,
        "fork_start_ms": bench_fork_start(sandbox, repeat),
        "call_small_ms": statistics.median(small_times) * 1e3,
        "call_large_ms": statistics.median(large_times) * 1e3,
    }


def bench_fork_start(sandbox: Sandbox, repeat: int) -> float | None:
    """The same start, forked from a warm zygote (what each submission of a batch pays)."""
    if not Zygote.supported(sandbox):
        return None
    starts = []
    with Zygote(sandbox) as zygote:
        zygote.start()
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            with SandboxedSubmission(SOURCE, zygote=zygote) as sub:
                assert sub.load().status == "ok"
                starts.append(time.perf_counter() - t0)
    return statistics.median(starts[1:]) * 1e3  # the first one waits for the zygote's own boot


def bench_bwrap_overhead(repeat: int) -> dict[str, float] | None:
    """Median of ``bwrap <args> /bin/true`` minus ``/bin/true``, both as the slot uid."""
    if not sb.detect_tiers()["bwrap"]["available"]:
        return None
    sandbox = Sandbox(tier="bwrap")
    slot = sb.acquire_slot() if os.geteuid() == 0 else None
    stage = sandbox.make_stage("", "nn.py", slot)
    try:
        args = sandbox.bwrap_args(stage, Limits(), sb._bwrap_features(sb._bwrap_path() or "bwrap"))

        def timed(cmd: list[str]) -> float:
            t0 = time.perf_counter()
            subprocess.run(
                cmd,
                check=True,
                preexec_fn=sb._make_preexec(Limits(), slot, 0, 64),
                env=dict(CHILD_ENV),
            )
            return time.perf_counter() - t0

        plain = statistics.median(timed(["/bin/true"]) for _ in range(repeat))
        wrapped = statistics.median(timed(args + ["/bin/true"]) for _ in range(repeat))
    finally:
        sandbox.remove_stage(stage)
        if slot is not None:
            sb.kill_uid_processes(slot.uid)
            slot.release()
    return {
        "true_ms": plain * 1e3,
        "bwrap_true_ms": wrapped * 1e3,
        "overhead_ms": (wrapped - plain) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = sb.detect_tiers()
    results: dict[str, Any] = {"plain": bench_tier(PlainSandbox(), args.repeat, args.calls)}
    for tier in sb.TIERS:
        if report[tier]["available"]:
            results[tier] = bench_tier(Sandbox(tier=tier), args.repeat, args.calls)
    results["bwrap_overhead"] = bench_bwrap_overhead(args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    base = results["plain"]
    print(
        f"{'tier':8} {'start ms':>9} {'x plain':>8} {'fork ms':>8} {'call 43 ms':>11} {'x plain':>8} {'call 2M ms':>11} {'x plain':>8}"
    )
    for tier in ["plain", *sb.TIERS]:
        if tier not in results:
            print(f"{tier:8} unavailable: {report[tier]['reason']}")
            continue
        r = results[tier]
        fork = f"{r['fork_start_ms']:8.1f}" if r["fork_start_ms"] is not None else f"{'-':>8}"
        print(
            f"{tier:8} {r['start_ms']:9.1f} {r['start_ms'] / base['start_ms']:8.2f} {fork} "
            f"{r['call_small_ms']:11.3f} {r['call_small_ms'] / base['call_small_ms']:8.2f} "
            f"{r['call_large_ms']:11.2f} {r['call_large_ms'] / base['call_large_ms']:8.2f}"
        )
    overhead = results["bwrap_overhead"]
    if overhead:
        print(
            f"bwrap start-up: /bin/true {overhead['true_ms']:.1f} ms, under bwrap {overhead['bwrap_true_ms']:.1f} ms "
            f"-> overhead {overhead['overhead_ms']:.1f} ms (median of {args.repeat})"
        )


if __name__ == "__main__":
    main()
