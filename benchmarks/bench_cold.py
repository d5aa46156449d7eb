"""A cold ``bpgrade grade nn.py`` against its floor, a bare ``python -c "import numpy"``.

Usage::

    python benchmarks/bench_cold.py [--repeat 15] [--baseline-ref REF] [--json]

Every row is a fresh process, the rows interleaved in alternating order, medians reported:

* ``grade``: ``bpgrade grade correct.py --format json`` (interpreter, imports, the sandbox's
  zygote, every part, output, exit), as an instructor or a Gradescope container runs it;
* ``grade, PYTHONDONTWRITEBYTECODE=1``: the same, as servers and containers often run it (after
  ``bpgrade setup`` the bytecode is compiled, so this should cost nothing);
* ``python -c "import numpy"``: the floor of any cold command that computes with numpy;
* with ``--baseline-ref REF``: ``grade`` by the grader at REF (a temporary git worktree).

``python -X importtime -m autograder grade ...`` shows where the grader's own imports go.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORRECT = ROOT / "examples" / "submissions" / "correct.py"


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    if "autograder" in cmd and json.loads(done.stdout)["score"] != 100:
        raise SystemExit("the correct submission did not score 100")
    return elapsed


def compile_grader(tree: Path) -> None:
    """Compile the grader's bytecode in ``tree``, as ``bpgrade setup`` does for an install."""
    dirs = [str(tree / "autograder"), str(tree / "bpnet_ref")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--baseline-ref", help="also time the grader at this git ref")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    grade = [sys.executable, "-m", "autograder", "grade", str(CORRECT), "--format", "json"]
    no_bytecode = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        rows = {
            "grade": (grade, ROOT, None),
            "grade, PYTHONDONTWRITEBYTECODE=1": (grade, ROOT, no_bytecode),
            "python -c 'import numpy'": ([sys.executable, "-c", "import numpy"], ROOT, None),
        }
        base = None
        if args.baseline_ref:
            base = Path(tmp) / "baseline"
            add = ["worktree", "add", "--detach", "-q", str(base), args.baseline_ref]
            subprocess.run(["git", "-C", str(ROOT), *add], check=True)
            rows[f"grade @ {args.baseline_ref}"] = (grade, base, None)
        try:
            # As `bpgrade setup` leaves an install: bytecode compiled (PYTHONDONTWRITEBYTECODE is
            # common, and it is set on some CI machines and servers, where nothing else would).
            for tree in {cwd for _, cwd, _ in rows.values()}:
                compile_grader(tree)
            for cmd, cwd, env in rows.values():  # one untimed run each (bytecode, page cache)
                timed(cmd, cwd, env)
            times: dict[str, list[float]] = {k: [] for k in rows}
            for i in range(args.repeat):
                order = list(rows.items())
                for name, (cmd, cwd, env) in order if i % 2 == 0 else order[::-1]:
                    time.sleep(0.1)  # let the previous command's sandbox teardown finish
                    times[name].append(timed(cmd, cwd, env))
        finally:
            if base is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)])
    floor = statistics.median(times["python -c 'import numpy'"])
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "repeat": args.repeat,
        "median_ms": {k: round(1000 * statistics.median(v), 1) for k, v in times.items()},
        "ratio_to_numpy_import": {
            k: round(statistics.median(v) / floor, 2) for k, v in times.items()
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['machine']}; {args.repeat} interleaved rounds, each a fresh process\n")
    print("| command | median | × numpy import |")
    print("|---|---:|---:|")
    for k in times:
        print(f"| {k} | {result['median_ms'][k]:.0f} ms | {result['ratio_to_numpy_import'][k]}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
