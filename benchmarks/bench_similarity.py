"""Benchmark ``bpgrade similarity`` on a class of 500 submissions (goal: under a minute).

Run from the repository root (with ``pip install 'bpgrade[similarity]'``):

    python3 benchmarks/bench_similarity.py [--n 500] [--seed 0] [--out bench-out/similarity.json]

The class is made from the independent solutions (tests/fixtures/similarity/independent/) and the
bug zoo with its correct alternatives (tests/zoo/), each student a variant of one of them with
identifiers renamed, comments added, functions reordered and every other line followed by a
statement of their own (so that, as in a real class, they share short runs of the narrow ex4
solution space, not whole functions); about 1 in 5 hands in a notebook. Ten students are planted
copies of another (renamed, re-commented, reordered, nothing of their own). The headline is the wall time of the real CLI (reading through the guarded reader,
fingerprinting, every pair, the HTML report and pairs.json), and whether every planted copy is
flagged, and the worst rank among them.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 60.0
#: Share of lines each (non-copying) student writes differently from their source.
EDITS = 0.5
SOURCES = (
    sorted((ROOT / "tests" / "fixtures" / "similarity" / "independent").glob("*.py"))
    + sorted((ROOT / "tests" / "zoo" / "correct").glob("*.py"))
    + sorted((ROOT / "tests" / "zoo" / "submissions").glob("*.py"))
)
WORDS = ("alpha", "beta", "tmp", "val", "acc", "res", "buf", "cur", "nxt", "out", "lhs", "rhs")
KEEP = {
    "sigmoid", "sigmoidGradient", "randInitializeWeights", "nnCostFunction", "predict",
    "nnCostFunctionDeep", "squaredErrorDelta", "squaredErrorCostFunction",
    "computeNumericalGradient", "gradientDescent", "np", "numpy", "math", "scipy", "range",
    "len", "sum", "float", "int", "zip", "enumerate", "list", "tuple", "abs", "max", "min",
}  # fmt: skip


def _variant(text: str, rng: random.Random, *, edits: float = 0.0) -> str:
    """The same solution with new names, comments and function order; with ``edits``, that share
    of the lines also gets a statement of its own after it (students who wrote their own code
    share short runs, not whole functions)."""
    names = set(re.findall(r"\b([a-z_][A-Za-z0-9_]*)\s*=", text)) - KEEP
    mapping = {n: f"{rng.choice(WORDS)}_{n[:2]}{rng.randint(0, 99)}" for n in names}
    text = re.sub(r"\b\w+\b", lambda m: mapping.get(m.group(), m.group()), text)
    lines = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if rng.random() < 0.15 and line.strip():
            lines.append(f"{indent}# note {rng.randint(0, 9999)}")
        lines.append(line)
        own = line.strip() and not line.rstrip().endswith((":", ",", "(", "[", "\\"))
        if own and not line.lstrip().startswith(("return", "#", '"')) and rng.random() < edits:
            lines.append(f"{indent}check_{rng.randint(0, 999)} = {rng.randint(0, 99999)}")
    blocks = "\n".join(lines).split("\n\n\n")
    head, rest = blocks[:1], blocks[1:]
    rng.shuffle(rest)
    return "\n\n\n".join(head + rest) + "\n"


def _notebook(code: str) -> str:
    cells = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": [chunk]}
        for chunk in code.split("\n\n\n")
    ]  # fmt: skip
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def make_class(folder: Path, n: int, seed: int) -> set[frozenset]:
    """Write ``n`` submissions; returns the planted copy pairs."""
    rng = random.Random(seed)
    texts = {}
    for i in range(n - 10):
        source = rng.choice(SOURCES).read_text(encoding="utf-8")
        texts[f"s{i:04d}"] = _variant(source, rng, edits=EDITS)
    planted = set()
    for j in range(10):
        victim = f"s{rng.randrange(n - 10):04d}"
        copier = f"s{n - 10 + j:04d}"
        texts[copier] = _variant(texts[victim], rng)
        planted.add(frozenset({victim, copier}))
    for student, code in texts.items():
        if rng.random() < 0.2:
            (folder / f"{student}.ipynb").write_text(_notebook(code), encoding="utf-8")
        else:
            (folder / f"{student}.py").write_text(code, encoding="utf-8")
    return planted


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        subs, report = Path(tmp) / "subs", Path(tmp) / "report"
        subs.mkdir()
        planted = make_class(subs, args.n, args.seed)
        cmd = [sys.executable, "-m", "autograder", "similarity", str(subs), "--out", str(report)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        pairs = json.loads((report / "pairs.json").read_text(encoding="utf-8"))
    flagged = {frozenset({p["a"], p["b"]}) for p in pairs if p["flagged"]}
    ranks = [i + 1 for i, p in enumerate(pairs) if frozenset({p["a"], p["b"]}) in planted]
    result = {
        "submissions": args.n,
        "wall_s": round(wall, 2),
        "goal_s": GOAL_S,
        "pairs_listed": len(pairs),
        "flagged": len(flagged),
        "planted_flagged": len(planted & flagged),
        "planted": len(planted),
        # Other flagged pairs: two copiers of one victim, or two students who drew the same source
        # and whose random edits left a long run intact (near-copies too, by construction).
        "planted_worst_rank": max(ranks) if ranks else None,
        "other_flagged": len(flagged - planted),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    print(proc.stdout.strip())
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if wall < GOAL_S and planted <= flagged else 1


if __name__ == "__main__":
    sys.exit(main())
