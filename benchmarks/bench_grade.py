"""End-to-end grading latency and memory of one correct submission, against an unsandboxed floor.

Usage::

    python benchmarks/bench_grade.py [--repeat 15] [--json] [--baseline-ref REF]

Measured in the same run:

* ``cli``: ``bpgrade grade correct.py --format json`` as a fresh process (interpreter start,
  imports, case generation, sandboxed child, every part) — what an instructor or Gradescope pays;
  also for the solution notebook (``.ipynb``);
* ``python + numpy``: a fresh ``python -c "import numpy"`` — the floor under any cold CLI that
  computes with numpy (the grader's own start, before any grading);
* ``warm, zygote fork``: ``grade_submission(zygote=...)`` in a warm grader with one reused zygote,
  so each submission gets a fresh fork (what each ``grade-all`` job pays);
* ``warm, fresh worker``: ``grade_submission()`` in a warm grader, booting a new sandboxed
  interpreter for the submission (the cost before zygotes);
* ``floor``: the same cases and checks, with the student's functions exec'd in the grader's own
  process (no child, no sandbox) — the cost of the grading work itself, and the baseline the other
  rows are compared with. The grader never runs student code this way.

With ``--baseline-ref REF`` (a git commit or branch, e.g. the last landed main), the same correct
submission is also graded by the grader as it was at REF, checked out in a temporary worktree:
``cli .py @ REF`` interleaved with the current CLI, and ``warm, zygote fork`` of both trees in
separate processes (``warm fork (subprocess)``), so a change's cost on a clean submission is a ratio
measured in the same run.

Peak memory is the largest sum of RSS over the process tree of one ``cli`` run (grader, bwrap and
the sandboxed worker), sampled every 5 ms with psutil. The otter-grader (≈3.0 s, ≈274 MB) and
nbgrader (≈3.3 s, ≈192 MB) figures are from ../shared/reference/anchors.md, measured on the same
homework on a machine like this one.
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
sys.path.insert(0, str(ROOT))

from autograder.cases import build_cases, resolve_secret  # noqa: E402
from autograder.checks import run_check  # noqa: E402
from autograder.grading import grade_submission  # noqa: E402
from autograder.harness.protocol import CallableSpec  # noqa: E402
from autograder.harness.zygote import Zygote  # noqa: E402
from autograder.spec import load_spec  # noqa: E402

CORRECT = ROOT / "examples" / "submissions" / "correct.py"
OTTER_S, NBGRADER_S = 3.0, 3.3


def _solution_notebook(tmp: Path) -> Path:
    """The released English notebook with the solution cells in (built by ``bpgrade release``)."""
    out = tmp / "solution"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "release",
            "--solution",
            "--lang",
            "en",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.rglob("backprop.ipynb"))


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_cli(path: Path, sample: bool, tree: Path = ROOT) -> tuple[float, int]:
    time.sleep(0.25)  # let the previous row's sandbox teardown (in the background) finish
    cmd = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(path),
        "--format",
        "json",
        "--student-id",
        "bench",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tree)
    peak = 0
    while sample and proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.005)
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    score = json.loads(out)["score"]
    if score != 100:
        raise SystemExit(
            f"{path.name} scored {score}, expected 100: the benchmark measures a correct run"
        )
    return elapsed, peak


_WARM = """
import json, sys, time
from autograder.grading import grade_submission
from autograder.harness.zygote import Zygote
path, n = sys.argv[1], int(sys.argv[2])
zygote = Zygote()
grade_submission(path, student_id="warm", zygote=zygote)
times = []
for _ in range(n):
    start = time.perf_counter()
    report = grade_submission(path, student_id="bench", zygote=zygote)
    times.append(time.perf_counter() - start)
    assert report.score == 100, report.score
zygote.close()
print(json.dumps(times))
"""


def run_warm_in(tree: Path, n: int) -> list[float]:
    """``n`` warm gradings with one zygote, by the grader of ``tree``, in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", _WARM, str(CORRECT), str(n)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def baseline_tree(ref: str, tmp: Path) -> Path:
    """A worktree of ``ref`` (removed by the caller's cleanup of ``tmp``), its bytecode compiled
    as ``bpgrade setup`` leaves an install (and as this tree's is, below)."""
    tree = tmp / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref], check=True
    )
    compile_grader(tree)
    return tree


def compile_grader(tree: Path) -> None:
    dirs = [str(tree / "autograder"), str(tree / "bpnet_ref")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True)


def run_python_numpy() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    return time.perf_counter() - start


def _build(arg):
    if isinstance(arg, CallableSpec):
        A, b, c = arg.params["A"], arg.params["b"], arg.params["c"]
        import numpy as np

        def J(t):
            t = np.ravel(t)
            return float(0.5 * t @ A @ t + b @ t + c * np.sum(np.sin(t)))

        if arg.kind == "quadratic":
            return J
        return lambda t: (J(t), A @ np.ravel(t) + b + c * np.cos(np.ravel(t)))
    return arg


def run_floor(spec, secret: bytes) -> float:
    """Generate the cases and check the student's answers, all in this process."""
    import numpy as np

    start = time.perf_counter()
    namespace: dict = {"__name__": "nn"}
    exec(compile(CORRECT.read_text(), str(CORRECT), "exec"), namespace)
    for case in build_cases(spec, secret=secret, student_id="bench"):
        value = namespace[case.function](*[_build(a) for a in case.args], **case.kwargs)
        if case.n_outputs == 1:
            value = np.asarray(value, dtype=float)
        else:
            value = tuple(np.asarray(v, dtype=float) for v in value)
        assert run_check(case.check, case.expected, value, tolerance=case.tolerance).passed
    return time.perf_counter() - start


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--baseline-ref", help="also grade with the grader at this git ref, in the same run"
    )
    args = parser.parse_args()
    spec = load_spec()
    secret, _ = resolve_secret()
    compile_grader(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_tree(args.baseline_ref, Path(tmp)) if args.baseline_ref else None
        try:
            rows, peaks, report = _measure(args, spec, secret, Path(tmp), base)
        finally:
            if base is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)])
    _print(args, rows, peaks, report)


def _measure(args, spec, secret, tmp: Path, base: Path | None):
    """Every row, interleaved; the baseline's rows too when ``base`` is given."""
    notebook = _solution_notebook(tmp)
    grade_submission(CORRECT, student_id="warm", spec=spec)  # warm caches (tier probe, imports)
    rows: dict[str, list[float]] = {
        "cli .py": [],
        "cli .ipynb": [],
        "python + numpy": [],
        "warm, zygote fork": [],
        "warm, fresh worker": [],
        "floor": [],
    }
    if base is not None:
        for key in (
            "cli .py @ baseline",
            "warm fork (subprocess)",
            "warm fork (subprocess) @ baseline",
        ):
            rows[key] = []
    zygote = Zygote()
    grade_submission(CORRECT, student_id="warm", spec=spec, zygote=zygote)
    for i in range(args.repeat):  # interleaved, so load on this shared machine hits all alike
        # The two trees' CLI runs side by side, in alternating order (whatever the previous row
        # leaves running in the background, such as a sandbox's teardown, hits both alike).
        pair = [(ROOT, "cli .py"), (base, "cli .py @ baseline")] if base else [(ROOT, "cli .py")]
        for tree, key in pair if i % 2 == 0 else pair[::-1]:
            rows[key].append(run_cli(CORRECT, False, tree)[0])
        rows["cli .ipynb"].append(run_cli(notebook, sample=False)[0])
        rows["python + numpy"].append(run_python_numpy())
        start = time.perf_counter()
        report = grade_submission(CORRECT, student_id="bench", spec=spec, zygote=zygote)
        rows["warm, zygote fork"].append(time.perf_counter() - start)
        assert report.score == 100, report.score
        start = time.perf_counter()
        report = grade_submission(CORRECT, student_id="bench", spec=spec)
        rows["warm, fresh worker"].append(time.perf_counter() - start)
        assert report.score == 100, report.score
        rows["floor"].append(run_floor(spec, secret))
    # Memory is sampled in runs of its own: the 5 ms sampling loop would slow the timed runs.
    peaks = [p for p in (run_cli(CORRECT, sample=True)[1] for _ in range(5)) if p]
    if base is not None:
        for _ in range(3):  # alternate blocks: both trees see the same load
            rows["warm fork (subprocess)"] += run_warm_in(ROOT, args.repeat)
            rows["warm fork (subprocess) @ baseline"] += run_warm_in(base, args.repeat)
    return rows, peaks, report


def _print(args, rows, peaks, report) -> None:
    floor = median(rows["floor"])
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "repeat": args.repeat,
        "tier": report.tier,
        "median_s": {k: round(median(v), 4) for k, v in rows.items()},
        "min_s": {k: round(min(v), 4) for k, v in rows.items()},
        "ratio_to_floor": {k: round(median(v) / floor, 2) for k, v in rows.items()},
        "speedup_vs_otter": round(OTTER_S / median(rows["cli .py"]), 1),
        "speedup_vs_nbgrader": round(NBGRADER_S / median(rows["cli .py"]), 1),
        "peak_tree_rss_mb": round(max(peaks) / 2**20, 1) if peaks else None,
    }
    if args.baseline_ref:
        result["baseline_ref"] = args.baseline_ref
        result["ratio_to_baseline"] = {
            "cli .py": round(median(rows["cli .py"]) / median(rows["cli .py @ baseline"]), 3),
            "warm fork": round(
                median(rows["warm fork (subprocess)"])
                / median(rows["warm fork (subprocess) @ baseline"]),
                3,
            ),
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['machine']}, tier {result['tier']}, {args.repeat} interleaved repeats\n")
    print("| measure | median | min | ratio to floor |")
    print("|---|---:|---:|---:|")
    for k in rows:
        print(
            f"| {k} | {result['median_s'][k] * 1000:.0f} ms | {result['min_s'][k] * 1000:.0f} ms | {result['ratio_to_floor'][k]}× |"
        )
    print(f"\npeak tree RSS (cli .py): {result['peak_tree_rss_mb']} MB")
    if args.baseline_ref:
        print(f"against {args.baseline_ref}, same run: {result['ratio_to_baseline']}")
    print(
        f"otter-grader ≈{OTTER_S} s → {result['speedup_vs_otter']}× faster; nbgrader ≈{NBGRADER_S} s → {result['speedup_vs_nbgrader']}× faster"
    )


if __name__ == "__main__":
    main()
