"""The anchors, re-measured in the same run: otter-grader and nbgrader against a cold ``bpgrade grade``.

Usage (needs the ``integrations`` extra: otter-grader 7, nbgrader 0.9, and this machine's sandbox)::

    python benchmarks/bench_anchors.py [--repeat 5] [--json]

Each tool grades the same correct solution of this homework, as a fresh process per submission, in
alternating order, round after round:

* ``bpgrade``: ``bpgrade grade backprop.ipynb --format json`` (cold: interpreter, imports, sandbox);
* ``otter``: ``otter run -a autograder.zip alice.ipynb`` on the ``otter assign`` build of
  ``bpgrade export otter`` (no Docker);
* ``nbgrader``: ``nbgrader autograde backprop --student alice --force`` in a course built by
  ``bpgrade export nbgrader`` and ``nbgrader generate_assignment``.

The exported test cells ask a warm ``bpgrade export serve`` service for their scores (one grading
of about 50 ms per submission), so the two tools' figures are their own machinery (kernel start,
imports, notebook execution, database and result files) around the same checks. Peak memory is the
largest sum of RSS over each command's process tree (psutil, sampled every 10 ms; the service is
not counted). The setup is the integration tests' (``tests/integrations/integration_helpers.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integrations"))

import integration_helpers as helpers  # noqa: E402


def _nbgrader_module():
    """The nbgrader round-trip test module, for its course configuration and ``_submit``."""
    path = ROOT / "tests" / "integrations" / "test_nbgrader_roundtrip.py"
    spec = importlib.util.spec_from_file_location("nbgrader_roundtrip", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree_rss(proc: psutil.Process) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak tree RSS of one command (which must succeed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    watched, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(watched))
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.read()!r}")
    proc.stderr.close()
    return elapsed, peak


def setup_otter(work: Path, env: dict[str, str]) -> list[str]:
    otter = helpers.tool("otter")
    helpers.bpgrade("export", "otter", str(work / "master"), cwd=work)
    helpers.run_tool([otter, "assign", "master/backprop.ipynb", "dist"], cwd=work, env=env)
    (zip_path,) = (work / "dist" / "autograder").glob("*.zip")
    solution = work / "alice.ipynb"
    shutil.copy(work / "dist" / "autograder" / "backprop.ipynb", solution)
    out = work / "out"
    out.mkdir()
    return [otter, "run", "--no-logo", "-a", str(zip_path), "-o", str(out), str(solution)]


def setup_nbgrader(course: Path, env: dict[str, str]) -> list[str]:
    module = _nbgrader_module()
    nbgrader = helpers.tool("nbgrader")
    (course / "nbgrader_config.py").write_text(module.CONFIG)
    helpers.bpgrade(
        "export", "nbgrader", str(course), "--assignment", module.ASSIGNMENT, cwd=course
    )
    helpers.run_tool(
        [nbgrader, "generate_assignment", module.ASSIGNMENT, "--force"], cwd=course, env=env
    )
    module._submit(course)  # alice: the solution; bob: with two bugs (not graded here)
    return [nbgrader, "autograde", module.ASSIGNMENT, "--student", "alice", "--force"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, int]]] = {"bpgrade": [], "otter": [], "nbgrader": []}
    with tempfile.TemporaryDirectory(prefix="bench-anchors-") as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        (tmp / "otter").mkdir()
        (tmp / "course").mkdir()
        sockets = helpers.short_socket_dir()
        stack.callback(shutil.rmtree, sockets, True)
        otter_env = helpers.tool_env(sockets / "otter.sock")
        nbgrader_env = helpers.tool_env(sockets / "nbgrader.sock")
        otter_cmd = setup_otter(tmp / "otter", otter_env)
        nbgrader_cmd = setup_nbgrader(tmp / "course", nbgrader_env)
        stack.enter_context(helpers.grader_service(sockets / "otter.sock"))
        stack.enter_context(helpers.grader_service(sockets / "nbgrader.sock", tmp / "course"))
        solution = tmp / "otter" / "alice.ipynb"
        bpgrade_cmd = [sys.executable, "-m", "autograder", "grade", str(solution)]
        bpgrade_env = {**os.environ, "BPGRADE_SECRET": helpers.SECRET, "PYTHONPATH": str(ROOT)}
        runs = [
            ("bpgrade", bpgrade_cmd + ["--format", "json"], ROOT, bpgrade_env),
            ("otter", otter_cmd, tmp / "otter", otter_env),
            ("nbgrader", nbgrader_cmd, tmp / "course", nbgrader_env),
        ]
        for _name, cmd, cwd, env in runs:  # one untimed run each: caches, databases, bytecode
            timed(cmd, cwd, env)
        for i in range(args.repeat):
            for name, cmd, cwd, env in runs if i % 2 == 0 else runs[::-1]:
                rows[name].append(timed(cmd, cwd, env))
    ours = statistics.median(t for t, _ in rows["bpgrade"])
    our_mb = statistics.median(m for _, m in rows["bpgrade"]) / 2**20
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "repeat": args.repeat,
        "median_s": {k: round(statistics.median(t for t, _ in v), 3) for k, v in rows.items()},
        "peak_tree_rss_mb": {
            k: round(statistics.median(m for _, m in v) / 2**20, 1) for k, v in rows.items()
        },
    }
    result["time_ratio_to_bpgrade"] = {k: round(v / ours, 1) for k, v in result["median_s"].items()}
    result["memory_ratio_to_bpgrade"] = {
        k: round(v / our_mb, 1) for k, v in result["peak_tree_rss_mb"].items()
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['machine']}; {args.repeat} interleaved rounds, one submission per command\n")
    print("| grader | median wall | × bpgrade | peak tree RSS | × bpgrade |")
    print("|---|---:|---:|---:|---:|")
    for k in rows:
        print(
            f"| {k} | {result['median_s'][k]:.2f} s | {result['time_ratio_to_bpgrade'][k]}× "
            f"| {result['peak_tree_rss_mb'][k]} MB | {result['memory_ratio_to_bpgrade'][k]}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
