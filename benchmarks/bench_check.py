"""The notebook's ``check("part")``: warm (the kernel's zygote) against cold (a sandbox per call).

Usage::

    python benchmarks/bench_check.py [--repeat 15] [--part nnGrad] [--json]

A "kernel" here is a fresh Python process that does what the released notebook does: it imports
the released ``check.py`` (assignments/backprop/en), defines the correct solution's functions in
its globals, and calls ``check(part)``; the printed table is discarded. In the same process, in
alternating order:

* ``warm``: ``check(part)`` as released: the worker is forked from the zygote that the kernel
  keeps for its checks (booted by ``make_checker``, closed with the kernel);
* ``cold``: the same call with the kernel's zygote withheld, so the call boots a sandboxed worker
  of its own (every ``check()`` before issue 16).

Both kernels' first calls are left out (the warm one waits for its zygote's numpy import there).
Also in the same run, each in its own process: ``python check.py nn.py`` (the script boots its
sandbox before it imports numpy) against ``python -c "import numpy"``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "assignments" / "backprop" / "en"
CORRECT = ROOT / "examples" / "submissions" / "correct.py"

_KERNEL = """
import contextlib, io, json, sys, time
sys.path.insert(0, sys.argv[1])
import check as released
namespace = {"__name__": "__main__"}
exec(compile(open(sys.argv[2]).read(), "<cell>", "exec"), namespace)
# inspect.getsource needs the cells' text: keep it where linecache finds it
import linecache
text = open(sys.argv[2]).read()
linecache.cache["<cell>"] = (len(text), None, text.splitlines(True), "<cell>")
part, n = sys.argv[3], int(sys.argv[4])
check = released.make_checker(namespace)
kept = released.kernel_zygote
times = {"warm": [], "cold": []}
for i in range(n + 1):
    for mode in ("warm", "cold") if i % 2 == 0 else ("cold", "warm"):
        released.kernel_zygote = kept if mode == "warm" else (lambda: None)
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            ok = released.check_part(part, namespace)
        elapsed = time.perf_counter() - start
        assert ok, out.getvalue()
        if i:
            times[mode].append(elapsed)
print(json.dumps(times))
"""


def kernel_times(part: str, n: int) -> dict[str, list[float]]:
    done = subprocess.run(
        [sys.executable, "-c", _KERNEL, str(RELEASE), str(CORRECT), part, str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.splitlines()[-1])


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--part", default="nnGrad")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    times = kernel_times(args.part, args.repeat)
    script, numpy_floor = [], []
    for i in range(args.repeat):  # interleaved, alternating order
        runs = [
            (script, [sys.executable, str(RELEASE / "check.py"), str(CORRECT)]),
            (numpy_floor, [sys.executable, "-c", "import numpy"]),
        ]
        for into, cmd in runs if i % 2 == 0 else runs[::-1]:
            into.append(timed(cmd))
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "part": args.part,
        "repeat": args.repeat,
        "check_warm_ms": round(1000 * med["warm"], 1),
        "check_cold_ms": round(1000 * med["cold"], 1),
        "cold_over_warm": round(med["cold"] / med["warm"], 1),
        "check_py_ms": round(1000 * statistics.median(script), 1),
        "numpy_import_ms": round(1000 * statistics.median(numpy_floor), 1),
        "check_py_over_numpy": round(statistics.median(script) / statistics.median(numpy_floor), 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['machine']}; check({args.part!r}), {args.repeat} interleaved calls each\n")
    print("| measure | median | ratio |")
    print("|---|---:|---:|")
    print(f"| check() warm (kernel's zygote) | {result['check_warm_ms']} ms | 1 |")
    print(
        f"| check() cold (sandbox per call) | {result['check_cold_ms']} ms "
        f"| {result['cold_over_warm']}× |"
    )
    print(
        f"| python check.py nn.py (all parts) | {result['check_py_ms']} ms "
        f"| {result['check_py_over_numpy']}× numpy import |"
    )
    print(f"| python -c 'import numpy' | {result['numpy_import_ms']} ms | 1 |")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
