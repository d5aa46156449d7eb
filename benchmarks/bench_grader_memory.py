"""Peak memory of the grader's own process on the whole red-team suite (issue 13, item 5).

Run from the repository root (after ``bpgrade setup``):

    python3 benchmarks/bench_grader_memory.py [--only NAME ...] [--json bench-out/memory.json]

Every hostile submission of ``tests/redteam/hostile.py`` (built with ``build_source``) and the
bombs below is graded by ``grade_submission`` (tier auto, its own sandboxed child, like
``bpgrade grade``), each in a fresh Python process that imports nothing else (the submission is
built beforehand, by the calling process). The figure is that process's peak resident set
(``VmHWM``; ``ru_maxrss`` off Linux): the grader's own memory, not the sandboxed child's, which
has its own limits. The table lists every attack; the headline is the maximum.

The bombs aim at the grader itself: every function returning 64 MiB (the harness's result cap),
notebooks of 4 MiB of ``a=1;``, JSON nested 100,000 deep or 400,000 arrays wide, 5 MiB of short
JSON strings, expressions nested past the recursion limit, a module whose failing top level
sends 4 MiB of statements to the definitions fallback, and a folder of 20 MiB of data files.

Goal: under 300 MB (Gradescope's default container has 768 MB). Before issue 13: 2.8 GB for the
64 MiB returns, 2.5 GB for the 4 MiB notebook.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 300.0
MiB = 1 << 20
CORRECT = (ROOT / "examples" / "submissions" / "correct.py").read_text()


def _cells(*sources: str) -> str:
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in sources]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


HUGE_RETURNS = """
import numpy as np
_N = 64 * 2**20 // 8  # exactly the harness's 64 MiB result cap


def _one(*args, **kwargs):
    return np.ones(_N)


def _two(*args, **kwargs):
    return np.ones(_N // 2), np.ones(_N // 2)


sigmoid = sigmoidGradient = randInitializeWeights = predict = squaredErrorDelta = _one
computeNumericalGradient = _one
nnCostFunction = nnCostFunctionDeep = squaredErrorCostFunction = gradientDescent = _two
"""


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _data_folder(folder: Path) -> Path:
    sub = folder / "sub"
    _write(sub, "nn.py", CORRECT)
    for i in range(19):
        _write(sub, f"data/part{i:02d}.bin", os.urandom(MiB))
    return sub


BOMBS: dict[str, Callable[[Path], Path]] = {
    "correct (baseline)": lambda d: _write(d, "nn.py", CORRECT),
    "every function returns 64 MiB": lambda d: _write(d, "nn.py", HUGE_RETURNS),
    "notebook: 4 MiB of a=1; in one cell": lambda d: _write(d, "nb.ipynb", _cells("a=1;" * MiB)),
    "notebook: 1,000 cells of a=1;": lambda d: _write(
        d, "nb.ipynb", _cells(*["a=1;" * 1200] * 1000)
    ),
    "notebook: JSON nested 100,000 deep": lambda d: _write(
        d, "nb.ipynb", "[" * 100_000 + "]" * 100_000
    ),
    "notebook: 400,000 empty JSON arrays": lambda d: _write(
        d, "nb.ipynb", '{"cells": [' + "[]," * 400_000 + "[]]}"
    ),
    "notebook: 5 MiB of short JSON strings": lambda d: _write(
        d, "nb.ipynb", '{"nbformat": 4, "cells": [], "x": [' + '"ab",' * 900_000 + '"ab"]}'
    ),
    "notebook: expressions nested past the recursion limit": lambda d: _write(
        d, "nb.ipynb", _cells(*["x = " + "1+" * 900 + "1"] * 50, "y = " + "-" * 40_000 + "1")
    ),
    "module: failing top level + 4 MiB of statements": lambda d: _write(
        d, "nn.py", "raise RuntimeError('no')\n" + "a=1;" * MiB
    ),
    "folder: 20 MiB of data files": _data_folder,
}


@functools.lru_cache(maxsize=1)
def _redteam() -> dict[str, Callable[[Path], Path]]:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    from redteam.hostile import HOSTILE, build_source

    def maker(hostile) -> Callable[[Path], Path]:
        def make(folder: Path) -> Path:
            values = {
                "marker": str(folder / "marker"),
                "repo": str(ROOT),
                "secret": str(folder / "no-secret"),
                "ppid": os.getppid(),
                "tcp_port": 9,
                "udp_port": 9,
                "out": str(folder / "out.json"),
                "subdir": str(folder),
            }
            return _write(folder, "nn.py", build_source(hostile, values))

        return make

    return {f"redteam: {h.name}": maker(h) for h in HOSTILE}


def attacks() -> dict[str, Callable[[Path], Path]]:
    return {**BOMBS, **_redteam()}


# --------------------------------------------------------------------------- one attack


def peak_mb() -> float:
    """This process's peak resident set, MB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the high-water mark of this program's own memory.
    ``ru_maxrss`` would do elsewhere, but on Linux it also counts the parent that spawned us (a
    process spawned with vfork starts from its parent's high-water mark).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024) / 1e6


def measure_one(path: str) -> dict:
    """Grade ``path`` in this process (which must be fresh) and report its peak RSS."""
    from autograder.grading import grade_submission

    started = time.perf_counter()
    report = grade_submission(path, student_id="mallory", secret=b"bench-memory-secret")
    return {
        "peak_mb": round(peak_mb(), 1),
        "seconds": round(time.perf_counter() - started, 2),
        "score": report.score,
        "error": (report.error or "")[:80],
    }


def run_one(name: str, timeout: float) -> dict:
    """Build attack ``name`` here, grade it in a fresh interpreter that imports only the grader
    (so each peak is that grading's alone), and return its row."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bpgrade-memory-") as tmp:
        path = attacks()[name](Path(tmp))
        done = subprocess.run(
            [sys.executable, __file__, "--grade", str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    if done.returncode != 0:
        return {
            "attack": name,
            "peak_mb": float("nan"),
            "seconds": round(time.perf_counter() - started, 2),
            "score": None,
            "error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}",
        }
    return {"attack": name, **json.loads(done.stdout.strip().splitlines()[-1])}


# --------------------------------------------------------------------------- the table


def table(rows: list[dict]) -> str:
    lines = [
        "| attack | grader peak RSS (MB) | seconds | score |",
        "|---|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: -(r["peak_mb"] if r["peak_mb"] == r["peak_mb"] else 1e9)):
        score = "" if r["score"] is None else f"{r['score']:g}"
        lines.append(f"| {r['attack']} | {r['peak_mb']:.1f} | {r['seconds']:.1f} | {score} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grade", help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", help="attacks whose name contains one of these")
    parser.add_argument("--timeout", type=float, default=300.0, help="per attack, seconds")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.grade is not None:
        print(json.dumps(measure_one(args.grade)))
        return 0
    names = [n for n in attacks() if not args.only or any(part in n for part in args.only)]
    rows = []
    for i, name in enumerate(names, 1):
        row = run_one(name, args.timeout)
        rows.append(row)
        print(f"[{i}/{len(names)}] {row['peak_mb']:7.1f} MB {row['seconds']:6.1f} s  {name}",
              file=sys.stderr, flush=True)  # fmt: skip
    worst = max(rows, key=lambda r: r["peak_mb"] if r["peak_mb"] == r["peak_mb"] else 1e9)
    print(table(rows))
    print()
    print(
        f"max grader peak RSS: {worst['peak_mb']:.1f} MB ({worst['attack']}); goal < {GOAL_MB:g} MB"
        f" -> {'met' if worst['peak_mb'] < GOAL_MB else 'NOT met'}"
    )
    print(f"{len(rows)} attacks; {platform.python_version()} on {platform.platform()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if worst["peak_mb"] < GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
