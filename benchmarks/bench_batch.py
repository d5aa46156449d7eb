"""Benchmark ``bpgrade grade-all``: a synthetic class of mixed submissions, graded with ``--jobs 2``.

Run from the repository root (after ``bpgrade setup``):

    python3 benchmarks/bench_batch.py [--n 500] [--jobs 2] [--pool process|thread|both]
                                      [--baseline] [--baseline-ref REF] [--rounds 1]
                                      [--out bench-out/batch.json]

The class (``tests/batch/classmix.py``) is mostly correct and buggy submissions (modules,
notebooks, folders) with ~2% hostile (infinite loops at import and in a function, sys.exit,
os._exit, output flood, memory hog, faked scores) and ~2% broken files (empty, binary, bad UTF-8,
corrupt notebook, 100 MB, wrong extension, junk folder). Each pool runs the real CLI in a fresh
output folder; the headline is the command's wall time, including gradebook and class report.
Per-submission figures come from each student's ``results.json`` (worker wall time).

Buggy against correct (issue 16): each run prints the median worker wall time of every kind of
submission and of each buggy example, as a ratio to the correct ``.py`` submissions of the same run
(goal: buggy ≤ 1.3× correct). With ``--baseline-ref REF`` the same class is also graded by the grader
as it was at REF (a temporary git worktree), in alternating order over ``--rounds`` rounds, so a
change's effect is a ratio measured in the same run.

Goal (issue 7): 500 submissions with ``--jobs 2`` on a 2-core machine in ≤ 60 s. For comparison,
otter-grader 7.0.0 with two parallel workers: 10 submissions in 23.8 s, ≈ 2.4 s per submission.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OTTER_S_PER_SUBMISSION = 2.38  # anchors §1.1: 10 submissions, 23.8 s with -P2
GOAL_S = 60.0


def _classmix():
    spec = importlib.util.spec_from_file_location(
        "classmix", ROOT / "tests" / "batch" / "classmix.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_batch(
    subs: Path, out: Path, jobs: int, pool: str, fresh: bool = False, tree: Path = ROOT
) -> float:
    """Run the CLI of the grader in ``tree`` once; return its wall time."""
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out)]
    cmd += ["--jobs", str(jobs), "--pool", pool, "--no-progress"]
    cmd += ["--fresh-workers"] if fresh else []
    env = dict(os.environ, BPGRADE_SECRET=os.environ.get("BPGRADE_SECRET", "bench-secret"))
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def per_student(out: Path) -> dict[str, dict]:
    found = {}
    for results in sorted((out / "students").glob("*/results.json")):
        data = json.loads(results.read_text())
        found[results.parent.name] = data
    return found


def grades(out: Path) -> list[dict]:
    """The gradebook without its timing column (the one thing two correct runs may differ in)."""
    with (out / "gradebook.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row.pop("execution_time", None)
    return rows


def summarise(kinds: dict[str, str], out: Path, wall: float, pool: str) -> dict:
    results = per_student(out)
    walls = [r["extra_data"]["batch"]["wall_time"] for r in results.values()]
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_bug: dict[str, list[float]] = defaultdict(list)
    for sid, data in results.items():
        by_kind[kinds[sid].split(":")[0]].append(data["extra_data"]["batch"]["wall_time"])
        if kinds[sid].startswith("buggy:"):
            by_bug[kinds[sid].split(":", 1)[1]].append(data["extra_data"]["batch"]["wall_time"])
    correct = statistics.median(by_kind["correct"]) if by_kind.get("correct") else None
    rows = sum(1 for _ in (out / "gradebook.csv").open()) - 1
    return {
        "pool": pool,
        "submissions": len(kinds),
        "gradebook_rows": rows,
        "total_s": round(wall, 2),
        "per_submission_effective_s": round(wall / len(kinds), 4),
        "median_worker_s": round(statistics.median(walls), 4),
        "p90_worker_s": round(statistics.quantiles(walls, n=10)[-1], 4),
        "sum_worker_s": round(sum(walls), 1),
        "median_by_kind_s": {k: round(statistics.median(v), 4) for k, v in sorted(by_kind.items())},
        "count_by_kind": {k: len(v) for k, v in sorted(by_kind.items())},
        "median_by_bug_s": {k: round(statistics.median(v), 4) for k, v in sorted(by_bug.items())},
        # Worker wall time of a buggy submission over a correct .py one, both medians of this run.
        "buggy_over_correct": _ratio(by_kind.get("buggy"), correct),
        "bug_over_correct": {k: _ratio(v, correct) for k, v in sorted(by_bug.items())},
        "speedup_vs_otter": round(OTTER_S_PER_SUBMISSION * len(kinds) / wall, 1),
    }


def _ratio(times: list[float] | None, correct: float | None) -> float | None:
    return round(statistics.median(times) / correct, 2) if times and correct else None


def print_summary(s: dict, jobs: int) -> None:
    verdict = "meets" if s["total_s"] <= GOAL_S else "MISSES"
    print(f"\n## pool={s['pool']}, {s['submissions']} submissions, --jobs {jobs}")
    print(
        f"- total wall: {s['total_s']:.1f} s ({verdict} the {GOAL_S:.0f} s goal); gradebook rows: {s['gradebook_rows']}"
    )
    print(
        f"- effective: {s['per_submission_effective_s']:.3f} s/submission vs otter ≈{OTTER_S_PER_SUBMISSION} s "
        f"({s['speedup_vs_otter']}× faster)"
    )
    print(
        f"- worker wall per submission: median {s['median_worker_s']:.3f} s, p90 {s['p90_worker_s']:.3f} s, "
        f"sum {s['sum_worker_s']:.0f} s"
    )
    for kind, median in s["median_by_kind_s"].items():
        print(f"  - {kind:<8} n={s['count_by_kind'][kind]:<4} median {median:.3f} s")
    print(f"- buggy / correct .py (medians, same run): {s['buggy_over_correct']}×")
    for bug, ratio in s["bug_over_correct"].items():
        print(f"  - {bug:<24} median {s['median_by_bug_s'][bug]:.3f} s, {ratio}× correct")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--pool", choices=("process", "thread", "both"), default="process")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also grade the class with --fresh-workers (one sandboxed interpreter per "
        "submission, the design before zygotes) and compare time and gradebook",
    )
    parser.add_argument(
        "--baseline-ref",
        help="also grade the class with the grader at this git ref (a temporary worktree)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds of this tree and --baseline-ref, alternating"
    )
    args = parser.parse_args()
    pools = ("thread", "process") if args.pool == "both" else (args.pool,)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    summaries = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        subs = Path(tmp) / "submissions"
        kinds = _classmix().make_class(subs, args.n)
        base = _baseline_tree(args.baseline_ref, Path(tmp)) if args.baseline_ref else None
        try:
            runs = _runs(pools, args, base)
            for i, (pool, fresh, tree, label) in enumerate(runs):
                out = Path(tmp) / f"out-{i}"
                wall = run_batch(subs, out, args.jobs, pool, fresh, tree)
                summary = summarise(kinds, out, wall, pool + label)
                summary["load_average_after"] = round(os.getloadavg()[0], 2)
                print_summary(summary, args.jobs)
                print(f"- load average after: {summary['load_average_after']:.2f}")
                if fresh:
                    zygote_run = summaries[-1]
                    same = grades(out) == grades(Path(tmp) / f"out-{i - 1}")
                    summary["zygote_speedup"] = round(summary["total_s"] / zygote_run["total_s"], 2)
                    summary["same_gradebook"] = same
                    print(
                        f"- zygotes vs fresh workers: {summary['zygote_speedup']}× faster; "
                        f"gradebooks {'identical' if same else 'DIFFER'}"
                    )
                summaries.append(summary)
        finally:
            if base is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)])
    if base is not None:
        _print_against_baseline(summaries, args.baseline_ref)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"jobs": args.jobs, "runs": summaries}, indent=2) + "\n")
    return 0


def _runs(pools, args, base: Path | None) -> list[tuple[str, bool, Path, str]]:
    """(pool, fresh workers, grader tree, label) of every run, in order."""
    runs = [(pool, False, ROOT, "") for pool in pools]
    if base is not None:  # this tree and the baseline alternate, so both see the same load
        pool = pools[-1]
        pair = [(pool, False, ROOT, ""), (pool, False, base, f" @ {args.baseline_ref}")]
        runs = [run for r in range(args.rounds) for run in (pair if r % 2 else pair[::-1])]
    if args.baseline:
        runs.append((pools[-1], True, ROOT, " --fresh-workers"))
    return runs


def _baseline_tree(ref: str, tmp: Path) -> Path:
    tree = tmp / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref], check=True
    )
    return tree


def _print_against_baseline(summaries: list[dict], ref: str) -> None:
    """Medians over the rounds of each tree: buggy/correct, and each kind against the baseline."""
    mine = [s for s in summaries if not s["pool"].endswith(f"@ {ref}") and "fresh" not in s["pool"]]
    theirs = [s for s in summaries if s["pool"].endswith(f"@ {ref}")]

    def med(runs: list[dict], key: str, kind: str) -> float | None:
        values = [r[key].get(kind) for r in runs if r[key].get(kind) is not None]
        return statistics.median(values) if values else None

    print(f"\n## this tree against {ref}, medians over {len(mine)} round(s)")
    print("| kind | this tree | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for kind in mine[0]["median_by_kind_s"]:
        a, b = med(mine, "median_by_kind_s", kind), med(theirs, "median_by_kind_s", kind)
        if a and b:
            print(f"| {kind} | {a * 1000:.0f} ms | {b * 1000:.0f} ms | {a / b:.2f}× |")
    ratios = [r["buggy_over_correct"] for r in mine], [r["buggy_over_correct"] for r in theirs]
    print(
        f"buggy / correct .py: {statistics.median(ratios[0])}× here, "
        f"{statistics.median(ratios[1])}× at {ref}"
    )


if __name__ == "__main__":
    sys.exit(main())
