"""Benchmark grading on Celery + Redis (issue 15): throughput, recovery, per-job overhead, sizing.

Run from the repository root (after ``bpgrade setup``; needs ``redis-server`` and the scaleout
extra):

    python3 benchmarks/bench_distributed.py [--quick] [--n 200] [--repeat 3] [--out FILE.json]

Everything runs on this machine, on loopback, in processes of its own: a redis-server on a free
port, ``bpgrade worker`` processes (one pool process each), the ``bpgrade grade-all`` clients.

1. **Throughput**: the same class (correct and buggy files, cycled from ``examples/submissions``
   and ``tests/zoo``) graded by ``grade-all --jobs 2`` (the baseline, local pool) and by
   ``grade-all --broker`` with 1 and with 2 workers (started and warm before the clock starts).
   Each contender runs ``--repeat`` times in a fresh output folder; medians.
2. **Recovery**: the course server's dispatcher sends slow jobs (3 s) to 2 workers; one worker is
   SIGKILLed (its whole process group) mid-job; the figure is the time from the kill to the
   orphaned job's result stored. Measured with the sender's loss detection (the default) and with
   only Redis's visibility-timeout restore (loss detection off; visibility timeout 20 s here).
3. **Per-job overhead**: submissions sent one at a time (submit, wait for the stored result) to
   the course server's local pool (1 worker) and to the broker path (1 worker); medians of each
   phase (queued → started → graded → stored).
4. **On paper**: worker cores for a 10^5-student deadline burst at p95 feedback < 30 s (the
   assumptions are printed with the result).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.distributed.conftest import Redis, Workers, free_port, wait_for  # noqa: E402
from tests.distributed.helpers import MIX, rows, slow, submit  # noqa: E402

SECRET = "bench-distributed-secret"


def make_class(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        shutil.copy(MIX[i % len(MIX)], folder / f"s{i:05d}.py")


def make_course(folder: Path, n: int) -> Path:
    from autograder.server.course import init_course

    roster = folder.parent / f"{folder.name}-roster.csv"
    roster.write_text("id\n" + "".join(f"s{i:05d}\n" for i in range(n)), encoding="utf-8")
    root = init_course(folder, roster).root
    (root / "secret").write_text(SECRET + "\n")  # the batch's secret: results comparable
    return root


def grade_all(subs: Path, out: Path, *extra: str) -> float:
    env = dict(os.environ, BPGRADE_SECRET=SECRET)
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(
        [*cmd, "--no-progress", *extra], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def scores(out: Path) -> dict[str, str]:
    import csv

    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {r["student_id"]: r["score"] for r in csv.DictReader(f)}


def throughput(tmp: Path, redis: Redis, course: Path, n: int, repeat: int) -> dict:
    subs = tmp / "class"
    make_class(subs, n)
    result = {}
    local = [grade_all(subs, tmp / f"local-{r}", "--jobs", "2") for r in range(repeat)]
    result["grade-all --jobs 2 (local pool)"] = local
    reference = scores(tmp / "local-0")
    same = True
    for count in (1, 2):
        logs = tmp / f"logs-{count}"
        logs.mkdir()
        pool = Workers(redis.url, course, logs)
        try:
            names = [f"w{i}" for i in range(count)]
            for name in names:
                pool.start(name)
            pool.wait_ready(*names)
            walls = []
            for r in range(repeat):
                out = tmp / f"broker{count}-{r}"
                walls.append(grade_all(subs, out, "--broker", redis.url))
                same &= scores(out) == reference
            result[f"grade-all --broker, {count} worker{'s' * (count > 1)} (-c 1)"] = walls
        finally:
            pool.kill_all()
    return {"walls": result, "same_gradebook": same}


def recovery(tmp: Path, redis: Redis, course: Path, repeat: int, tracker: bool) -> list[float]:
    from autograder.server import db
    from tests.distributed.helpers import dispatcher

    figures = []
    for r in range(repeat):
        logs = tmp / f"rec-{tracker}-{r}"
        logs.mkdir()
        root = tmp / f"rec-course-{tracker}-{r}"
        shutil.copytree(course, root)
        (root / "course.db").unlink()
        for extra in ("course.db-wal", "course.db-shm"):
            (root / extra).unlink(missing_ok=True)
        _fresh_db(root)
        pool = Workers(redis.url, root, logs)
        # The tracker's defaults, or loss detection off (only Redis's restore brings it back).
        options = {"lost_after": 8.0, "ping_every": 2.0} if tracker else {"lost_after": 1e9}
        backend = None
        try:
            for name in ("a", "b"):
                pool.start(name, "--visibility-timeout", "20")
            pool.wait_ready("a", "b")
            conn = db.connect(root / "course.db")
            for i in range(4):
                submit(conn, root, f"s{i:05d}", Path(f"slow{i}.py"), data=slow(3 + i / 100))
            backend = dispatcher(root, redis.url, **options)
            task = wait_for(lambda pool=pool: _running(pool, "a"), 60, "a job on worker a")
            orphan = conn.execute(
                "SELECT submission_id FROM jobs WHERE worker = ?", (f"celery:{task}",)
            ).fetchone()[0]
            pool.kill("a")
            killed = time.time()
            wait_for(
                lambda conn=conn: all(x["status"] == "done" for x in rows(conn)), 120, "recovery"
            )
            stored = next(x for x in rows(conn) if x["id"] == orphan)["stored_at"]
            figures.append(stored - killed)
        finally:
            if backend is not None:
                backend.stop()
            pool.kill_all()
    return figures


def _fresh_db(root: Path) -> None:
    from autograder.server import db
    from autograder.server.course import hash_token

    conn = db.connect(root / "course.db")
    with db.transaction(conn):
        for i in range(4):
            conn.execute(
                "INSERT INTO students(id, token_hash) VALUES (?, ?)",
                (f"s{i:05d}", hash_token(f"t{i}")),
            )
    conn.close()


def _running(pool: Workers, name: str) -> str | None:
    started, ended = [], set()
    for line in pool.log(name).splitlines():
        if "start task=" in line:
            started.append(line.rsplit("=", 1)[1].strip())
        elif "end task=" in line:
            ended.add(line.rsplit("=", 1)[1].strip())
    running = [t for t in started if t not in ended]
    return running[-1] if running else None


def overhead(tmp: Path, redis: Redis, course: Path, count: int) -> dict:
    """Per-phase medians of single submissions on the local pool and on the broker path."""
    from autograder.server import db
    from autograder.server.pool import LocalPool
    from tests.distributed.helpers import dispatcher

    out = {}
    for path_name in ("local pool (1 worker)", "broker (1 worker)"):
        root = tmp / f"ovh-{len(out)}"
        shutil.copytree(course, root)
        for extra in ("course.db", "course.db-wal", "course.db-shm"):
            (root / extra).unlink(missing_ok=True)
        _fresh_db(root)
        conn = db.connect(root / "course.db")
        logs = tmp / f"ovh-logs-{len(out)}"
        logs.mkdir()
        pool = Workers(redis.url, root, logs)
        backend = None
        try:
            if path_name.startswith("local"):
                backend = LocalPool(root, root / "course.db", 1)
                backend.start()
                time.sleep(3.0)  # the worker's zygote boots
            else:
                pool.start("w")
                pool.wait_ready("w")
                backend = dispatcher(root, redis.url, lost_after=8.0, ping_every=2.0)
            phases = {"queued→started": [], "started→graded": [], "graded→stored": [], "total": []}
            for i in range(count + 1):
                sid = submit(conn, root, f"s{i % 4:05d}", MIX[i % 2])
                backend.wake()
                wait_for(lambda sid=sid, conn=conn: _done(conn, sid), 60, "a grading", every=0.01)
                r = next(x for x in rows(conn) if x["id"] == sid)
                if i == 0:
                    continue  # warm-up
                phases["queued→started"].append(r["started_at"] - r["queued_at"])
                phases["started→graded"].append(r["graded_at"] - r["started_at"])
                phases["graded→stored"].append(r["stored_at"] - r["graded_at"])
                phases["total"].append(r["stored_at"] - r["queued_at"])
            out[path_name] = {k: statistics.median(v) for k, v in phases.items()}
        finally:
            if backend is not None:
                backend.stop()
            pool.kill_all()
    return out


def _done(conn, sid: int) -> bool:
    row = conn.execute("SELECT status FROM submissions WHERE id = ?", (sid,)).fetchone()
    return row["status"] == "done"


# ---------------------------------------------------------------------------------------------
# On paper
# ---------------------------------------------------------------------------------------------


def erlang_c(c: int, a: float) -> float:
    """P(wait) in an M/M/c queue with offered load ``a`` (= λ/μ) and ``c`` servers."""
    if a >= c:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - a / c)
    return last / (total + last)


def cores_for_burst(
    service_s: float, overhead_s: float, rate: float, target_s: float = 30.0, q: float = 0.95
) -> int:
    """Fewest one-job-at-a-time worker cores keeping the ``q`` quantile of feedback under
    ``target_s`` (M/M/c waiting time, plus service and broker overhead)."""
    mu = 1.0 / service_s
    budget = target_s - service_s - overhead_s
    c = max(1, math.ceil(rate * service_s))
    while True:
        if rate < c * mu:
            p_wait = erlang_c(c, rate * service_s)
            # P(W > t) = P(wait) * exp(-(c mu - lambda) t); the q quantile of W:
            wait_q = 0.0 if p_wait <= 1 - q else math.log(p_wait / (1 - q)) / (c * mu - rate)
            if wait_q <= budget:
                return c
        c += 1


def paper(service_s: float, overhead_s: float) -> dict:
    students, share, attempts, hour, peak = 100_000, 0.5, 2.0, 3600.0, 3.0
    rate = students * share * attempts / hour * peak
    cores = cores_for_burst(service_s, overhead_s, rate)
    return {
        "assumptions": (
            f"{students} students; {share:.0%} of them submit in the last hour, {attempts:g} "
            f"times each; the last minutes run at {peak:g}x that hour's mean rate -> "
            f"λ = {rate:.1f} submissions/s at the peak; Poisson arrivals; each worker core "
            f"grades one job at a time in {service_s:.3f} s (measured: 2-worker throughput); "
            f"broker overhead {overhead_s:.3f} s per job (measured); M/M/c waiting time "
            "(exponential service: pessimistic for near-constant grading times); no machine lost"
        ),
        "peak_rate_per_s": round(rate, 1),
        "cores": cores,
        "cores_all_at_once": math.ceil(students * service_s / 30.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small class, one repeat")
    parser.add_argument("--n", type=int, default=None, help="class size (default 200; quick 40)")
    parser.add_argument("--repeat", type=int, default=None, help="runs each (default 3; quick 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    n = args.n or (40 if args.quick else 200)
    repeat = args.repeat or (1 if args.quick else 3)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    figures: dict = {"n": n, "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "redis").mkdir()
        redis = Redis(free_port(), tmp / "redis")
        redis.start()
        try:
            course = make_course(tmp / "course", n)
            tp = throughput(tmp, redis, course, n, repeat)
            figures["throughput"] = tp
            base = statistics.median(next(iter(tp["walls"].values())))
            print(f"\n## Throughput: {n} submissions, median of {repeat}")
            print(
                "| contender | wall s | submissions/s | vs grade-all --jobs 2 |\n|---|---|---|---|"
            )
            for name, walls in tp["walls"].items():
                wall = statistics.median(walls)
                print(f"| {name} | {wall:.1f} | {n / wall:.1f} | {wall / base:.2f}x time |")
            print(f"gradebooks identical to the local run: {tp['same_gradebook']}")

            rec = recovery(tmp, redis, course, repeat, tracker=True)
            figures["recovery_tracker_s"] = rec
            rec_vt = recovery(tmp, redis, course, 1, tracker=False) if not args.quick else []
            figures["recovery_visibility_only_s"] = rec_vt
            print(
                "\n## Recovery: worker SIGKILLed mid-job (3 s jobs), kill -> orphan's result stored"
            )
            print(
                f"- sender's loss detection (default): median {statistics.median(rec):.1f} s ({', '.join(f'{x:.1f}' for x in rec)})"
            )
            if rec_vt:
                print(
                    f"- Redis restore only (visibility timeout 20 s, scan 5 s): {rec_vt[0]:.1f} s"
                )

            count = 10 if args.quick else 30
            ovh = overhead(tmp, redis, course, count)
            figures["overhead"] = ovh
            print(f"\n## Per-job latency, one submission at a time (median of {count}), seconds")
            print(
                "| path | queued→started | started→graded | graded→stored | total |\n|---|---|---|---|---|"
            )
            for name, p in ovh.items():
                print(
                    f"| {name} | {p['queued→started']:.3f} | {p['started→graded']:.3f} | {p['graded→stored']:.3f} | {p['total']:.3f} |"
                )
            extra = ovh["broker (1 worker)"]["total"] - ovh["local pool (1 worker)"]["total"]
            print(f"broker path overhead per job: {extra * 1000:+.0f} ms")

            walls2 = tp["walls"]["grade-all --broker, 2 workers (-c 1)"]
            service = 2 * statistics.median(walls2) / n  # core-seconds per job, 2 slots
            est = paper(service, max(0.0, extra) + ovh["broker (1 worker)"]["queued→started"])
            figures["paper"] = est
            print("\n## On paper: 10^5-student deadline burst, p95 feedback < 30 s")
            print(f"- assumptions: {est['assumptions']}")
            print(f"- worker cores needed at the peak: {est['cores']}")
            print(
                f"- (if all 10^5 arrived at once and had to be graded within 30 s: {est['cores_all_at_once']} cores)"
            )
        finally:
            redis.kill()
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    print(f"\nload average after: {figures['load_average_after']:.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
