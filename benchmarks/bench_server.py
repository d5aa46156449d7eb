"""Load benchmark of ``bpgrade serve``: a class submitting at once, against ``grade-all`` on the same files.

Run from the repository root (after ``bpgrade setup``, with the ``server`` extra)::

    python benchmarks/bench_server.py [--students 100] [--submissions 300] [--workers N]
                                      [--poll 2.0] [--timeout 1200] [--quick] [--out FILE.json]

Loopback only, bounded (``--timeout``), and it stops by itself (the server is killed, with its
process group, in every case).

* The class: ``--students`` roster entries in a fresh course (``bpgrade course init``), each
  sending ``submissions / students`` attempts. Submission ``i`` is student ``i % students``'s
  attempt ``i // students``: correct (``examples/submissions/correct.py``, every third as a
  notebook), buggy (the other examples and ``tests/zoo/submissions``) and one in ten hostile (the
  red team's submissions of ``tests/redteam/hostile.py`` that end in bounded time: a loop at
  import, a sleeping function, memory, fork and output bombs, exits, crashes, forged frames,
  monkeypatching, killing the grader).
* The burst: one client thread per student, all started at once (standard library HTTP). A
  student uploads, polls ``GET /api/submissions/{id}`` every ``--poll`` seconds until it is done,
  then sends the next attempt, as a student waiting for feedback would; so no attempt supersedes
  another, and all of them are graded.
* Upload to feedback: client-side, from the start of the upload until the poll that sees
  ``done``; server-side, from the submission's time in course.db to its result's.
* Nothing lost or duplicated: every accepted id ends ``done`` through the API; in course.db no job
  is left, each done submission points to the one result of its own file, the result rows are
  exactly the distinct keys, and the gradebook has one row per student with every attempt.
* The comparison: ``bpgrade grade-all`` on the same files (one per student folder: every attempt
  is its own "student", so both grade all ``--submissions`` files) with ``--jobs`` equal to the
  server's ``--workers``, in the same run. Its wall time includes its own start; the server's
  excludes its start (shown apart) and includes the clients' polling.
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the red team's table: tests/redteam/hostile.py

from tests.server.live import (  # noqa: E402
    HTTPFailure,
    get_json,
    make_course,
    start_server,
    submit,
)

EXAMPLES = ROOT / "examples" / "submissions"
ZOO = ROOT / "tests" / "zoo" / "submissions"
#: Red-team submissions that need no per-run placeholders and end within the time limits.
HOSTILE = (
    "loop_at_import",
    "sleep",
    "alloc_6GB",
    "fork_bomb",
    "stdout_flood_300MB",
    "sys_exit_in_function",
    "os_exit",
    "segfault",
    "monkeypatch_numpy_unittest_math",
    "fake_results_output",
    "forged_huge_length",
    "kill_everything",
)
HOSTILE_EVERY = 10
POLL_RETRIES = 3


# ---------------------------------------------------------------------------------------------
# The class
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    index: int
    student: str
    kind: str  # correct | correct notebook | buggy:<name> | hostile:<name>
    name: str  # the uploaded file name
    data: bytes


def _notebook(code: str) -> bytes:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Backprop"), nbformat.v4.new_code_cell(code)]
    return nbformat.writes(nb).encode()


def make_class(students: int, submissions: int) -> list[Item]:
    """``submissions`` files: student ``i % students``'s attempt ``i // students``."""
    from redteam.hostile import HOSTILE as TABLE
    from redteam.hostile import build_source

    hostile = {h.name: build_source(h, {}) for h in TABLE if h.name in HOSTILE}
    assert set(hostile) == set(HOSTILE), set(HOSTILE) - set(hostile)
    correct = (EXAMPLES / "correct.py").read_text(encoding="utf-8")
    buggy = sorted(p for p in EXAMPLES.glob("*.py") if p.stem != "correct")
    buggy += sorted(ZOO.glob("*.py"))
    items = []
    for i in range(submissions):
        student = f"u{i % students:03d}"
        if i % HOSTILE_EVERY == HOSTILE_EVERY - 1:
            name = HOSTILE[(i // HOSTILE_EVERY) % len(HOSTILE)]
            items.append(Item(i, student, f"hostile:{name}", "nn.py", hostile[name].encode()))
        elif i % 2 == 0 and i % 3 == 0:
            items.append(Item(i, student, "correct notebook", "backprop.ipynb", _notebook(correct)))
        elif i % 2 == 0:
            items.append(Item(i, student, "correct", "nn.py", correct.encode()))
        else:
            path = buggy[(i // 2) % len(buggy)]
            items.append(Item(i, student, f"buggy:{path.stem}", "nn.py", path.read_bytes()))
    return items


# ---------------------------------------------------------------------------------------------
# The server, under the burst
# ---------------------------------------------------------------------------------------------


@dataclass
class Sent:
    item: Item
    id: int | None = None
    started: float = 0.0
    seen_done: float | None = None
    status: str | None = None
    score: float | None = None
    error: str | None = None
    retries: int = 0
    poll_failures: int = 0


@dataclass
class Burst:
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def student(url: str, token: str, items: list[Item], burst: Burst, poll: float, deadline: float):
    """One simulated student: upload, wait for the feedback, upload the next attempt."""
    for item in items:
        sent = Sent(item, started=time.perf_counter())
        with burst.lock:
            burst.sent.append(sent)
        try:
            sent.id = _upload(url, token, item, sent, deadline)["id"]
            while time.monotonic() < deadline:
                shown = _poll(url, f"/api/submissions/{sent.id}", token, sent)
                if shown["status"] in ("done", "error"):
                    sent.seen_done, sent.status = time.perf_counter(), shown["status"]
                    sent.score = shown["score"]
                    break
                time.sleep(poll)
            else:
                sent.error = "not graded before the deadline"
                return
        except (OSError, HTTPFailure, ValueError) as exc:
            sent.error = f"{type(exc).__name__}: {exc}"
            return


def _poll(url: str, path: str, token: str, sent: Sent) -> dict:
    """GET, retried on a connection error (a poll is idempotent; an upload is not retried)."""
    for attempt in range(POLL_RETRIES):
        try:
            return get_json(url, path, token)
        except OSError:
            if attempt == POLL_RETRIES - 1:
                raise
            sent.poll_failures += 1
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _upload(url: str, token: str, item: Item, sent: Sent, deadline: float) -> dict:
    while True:
        try:
            return submit(url, token, item.data, item.name)
        except HTTPFailure as exc:
            if exc.status != 429 or time.monotonic() > deadline:
                raise
            sent.retries += 1  # the per-student rate limit: wait as Retry-After asks
            time.sleep(5.0)


def run_server(tmp: Path, items: list[Item], args) -> dict:
    students = sorted({item.student for item in items})
    course = make_course(tmp / "server", students)
    began = time.perf_counter()
    server = start_server(course.root, args.workers, timeout=120.0)
    ready_s = time.perf_counter() - began
    burst = Burst()
    try:
        deadline = time.monotonic() + args.timeout
        threads = [
            threading.Thread(
                target=student,
                args=(
                    server.url,
                    course.tokens[sid],
                    [i for i in items if i.student == sid],
                    burst,
                    args.poll,
                    deadline,
                ),
                daemon=True,
            )
            for sid in students
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 30.0)
        wall = time.perf_counter() - started
        health = server.health()
        gradebook = get_json(server.url, "/api/gradebook", course.instructor)["rows"]
    finally:
        server.stop()
    figures = _server_figures(burst, wall, course, gradebook)
    figures.update(ready_s=round(ready_s, 2), health_after=health)
    return figures


def _server_figures(burst: Burst, wall: float, course, gradebook: list[dict]) -> dict:
    sent = burst.sent
    done = [s for s in sent if s.status == "done"]
    client = [s.seen_done - s.started for s in done]
    with course.db() as conn:
        rows = conn.execute(
            "SELECT s.id, s.status, s.sha256, s.submitted_at, r.sha256 AS result_sha, "
            "r.created_at AS graded_at FROM submissions s "
            "LEFT JOIN results r ON r.key = s.result_key"
        ).fetchall()
        jobs_left = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        result_keys = [r[0] for r in conn.execute("SELECT key FROM results")]
        done_keys = {
            r[0] for r in conn.execute("SELECT result_key FROM submissions WHERE status = 'done'")
        }
    server_side = [r["graded_at"] - r["submitted_at"] for r in rows if r["status"] == "done"]
    accepted = {s.id for s in sent if s.id is not None}
    checks = {
        "every upload accepted": len(accepted) == len(sent),
        "every accepted id done (API)": len(done) == len(sent),
        "course.db has exactly the accepted ids": {r["id"] for r in rows} == accepted,
        "done in course.db == accepted": sum(r["status"] == "done" for r in rows) == len(accepted),
        "no job left": jobs_left == 0,
        "each done submission has its own result": all(
            r["result_sha"] == r["sha256"] for r in rows if r["status"] == "done"
        ),
        "result rows == distinct keys": sorted(result_keys) == sorted(done_keys),
        "gradebook: one row per student, every attempt": len(gradebook)
        == len({s.item.student for s in sent})
        and all(
            row["attempts"] == sum(s.item.student == row["student_id"] for s in sent)
            for row in gradebook
        ),
    }
    return {
        "submissions": len(sent),
        "done": len(done),
        "errors": [f"{s.item.kind} (#{s.id}): {s.error}" for s in sent if s.error][:10],
        "rate_limited_retries": sum(s.retries for s in sent),
        "poll_failures_retried": sum(s.poll_failures for s in sent),
        "wall_s": round(wall, 2),
        "throughput_per_s": round(len(done) / wall, 3),
        "client_median_s": _q(client, 0.5),
        "client_p95_s": _q(client, 0.95),
        "server_median_s": _q(server_side, 0.5),
        "server_p95_s": _q(server_side, 0.95),
        "by_kind_median_client_s": _by_kind(done),
        "checks": checks,
        "scores": {s.item.index: s.score for s in done},
    }


def _by_kind(done: list[Sent]) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for s in done:
        groups.setdefault(s.item.kind.split(":")[0], []).append(s.seen_done - s.started)
    return {k: round(statistics.median(v), 2) for k, v in sorted(groups.items())}


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# ---------------------------------------------------------------------------------------------
# grade-all on the same files
# ---------------------------------------------------------------------------------------------


def run_grade_all(tmp: Path, items: list[Item], jobs: int, timeout: float) -> dict:
    folder = tmp / "grade-all" / "submissions"
    folder.mkdir(parents=True)
    for item in items:  # one "student" per file: every attempt is graded
        suffix = Path(item.name).suffix
        (folder / f"{item.student}-a{item.index:04d}{suffix}").write_bytes(item.data)
    out = tmp / "grade-all" / "out"
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(out)]
    cmd += ["--jobs", str(jobs), "--no-progress"]
    env = dict(os.environ, BPGRADE_SECRET="bench-secret", PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, timeout=timeout)
    wall = time.perf_counter() - started
    graded = len(list((out / "students").glob("*/results.json")))
    return {
        "submissions": len(items),
        "graded": graded,
        "wall_s": round(wall, 2),
        "throughput_per_s": round(graded / wall, 3),
    }


# ---------------------------------------------------------------------------------------------


def print_table(server: dict, batch: dict, args) -> None:
    print(f"\n## {server['submissions']} submissions from {args.students} students")
    print(f"{'':<34}{'server':>12}{'grade-all':>12}{'ratio':>8}")
    print(
        f"{'wall time (s)':<34}{server['wall_s']:>12.1f}{batch['wall_s']:>12.1f}"
        f"{server['wall_s'] / batch['wall_s']:>8.2f}"
    )
    print(
        f"{'throughput (submissions/s)':<34}{server['throughput_per_s']:>12.2f}"
        f"{batch['throughput_per_s']:>12.2f}"
        f"{server['throughput_per_s'] / batch['throughput_per_s']:>8.2f}"
    )
    print(f"{'graded':<34}{server['done']:>12}{batch['graded']:>12}")
    print("\nupload -> feedback (s)              median      p95")
    print(
        f"{'  as the student sees it':<34}{server['client_median_s']:>8}{server['client_p95_s']:>9}"
    )
    print(
        f"{'  in course.db (stored result)':<34}{server['server_median_s']:>8}{server['server_p95_s']:>9}"
    )
    print(
        "  median by kind (student's view): "
        + ", ".join(f"{k} {v:.1f}" for k, v in server["by_kind_median_client_s"].items())
    )
    print(
        f"\nserver start (to all workers up): {server['ready_s']:.1f} s; "
        f"429 retries: {server['rate_limited_retries']}; "
        f"failed polls retried: {server['poll_failures_retried']}; health after: {server['health_after']}"
    )
    print("\nnothing lost or duplicated:")
    for check, ok in server["checks"].items():
        print(f"  [{'ok' if ok else 'FAIL'}] {check}")
    for error in server["errors"]:
        print(f"  ! {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server --workers and grade-all --jobs (default: CPU count)",
    )
    parser.add_argument("--poll", type=float, default=2.0, help="client poll interval (s)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="bound per contender (s)")
    parser.add_argument("--quick", action="store_true", help="20 students, 40 submissions")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    if args.quick:
        args.students, args.submissions = 20, 40
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}; workers/jobs {args.workers}"
    )
    items = make_class(args.students, args.submissions)
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        server = run_server(Path(tmp), items, args)
        print(f"server done; load average {os.getloadavg()[0]:.2f}", flush=True)
        batch = run_grade_all(Path(tmp), items, args.workers, args.timeout)
    print(f"grade-all done; load average {os.getloadavg()[0]:.2f}")
    print_table(server, batch, args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "server": server,
            "grade_all": batch,
        }
        args.out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0 if all(server["checks"].values()) and batch["graded"] == len(items) else 1


if __name__ == "__main__":
    sys.exit(main())
