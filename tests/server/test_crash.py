"""Crash tests: a real ``bpgrade serve`` killed while it grades loses nothing and counts nothing twice.

Each test starts the server in a subprocess (``tests/server/live.py``) on a temporary course of
eight students, sends a burst of twelve uploads (correct and buggy; some sleep at import or in a
function so that gradings are caught in flight, within the grader's 5 s import and 2 s per-call
limits), waits until course.db shows a job being graded, and then crashes or stops something.
After a restart on the same course every upload must end graded exactly once:

* every submission is ``done``, except those a later upload of the same student superseded while
  they were queued;
* no job is left, every result row belongs to a done submission, each done submission points to
  the one result of its own file;
* the gradebook has one row per student, counting that student's best done score.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass

import pytest

from tests.server.conftest import EXAMPLES
from tests.server.live import (
    LiveCourse,
    LiveServer,
    alive,
    descendants,
    get_json,
    make_course,
    submit,
    wait_final,
    wait_gone,
)

WORKERS = 2
STUDENTS = [f"s{i}" for i in range(1, 9)]
GRADED_WITHIN = 180.0  # seconds, for the whole burst on a loaded 2-core machine

CORRECT = (EXAMPLES / "correct.py").read_text(encoding="utf-8")
BUGGY = (EXAMPLES / "forgot_sigmoid_gradient.py").read_text(encoding="utf-8")
BIAS = (EXAMPLES / "bias_regularized.py").read_text(encoding="utf-8")
IMPORTS = "import numpy as np\n"
SLEEP_AT_IMPORT = "import numpy as np\nimport time\ntime.sleep(2.5)\n"
SLEEP_IN_PREDICT = (
    "\n\nimport time as _time\n_predict = predict\n\n\n"
    "def predict(Theta1, Theta2, X):\n    _time.sleep(0.8)\n    return _predict(Theta1, Theta2, X)\n"
)
SOURCES = {
    "correct": CORRECT,
    "buggy": BUGGY,
    "bias": BIAS,
    "slow correct": CORRECT.replace(IMPORTS, SLEEP_AT_IMPORT, 1),
    "slow buggy": BUGGY.replace(IMPORTS, SLEEP_AT_IMPORT, 1),
    "slow in a function": CORRECT + SLEEP_IN_PREDICT,
}
#: Graded in about 2 s: caught in flight, and well within the pool's 5 s grace at shutdown.
SLEEPS_A_SECOND = CORRECT.replace(IMPORTS, "import numpy as np\nimport time\ntime.sleep(1.0)\n", 1)
FULL_MARKS = {"correct", "slow correct", "slow in a function"}
assert all(IMPORTS in SOURCES[k] for k in ("correct", "buggy")), "the slow variants must differ"

#: The burst: (student, kind). s1, s2, s3 and s5 submit twice; a second upload supersedes the
#: first one if it is still queued.
BURST = [
    ("s1", "slow correct"),
    ("s2", "slow buggy"),
    ("s3", "correct"),
    ("s4", "slow in a function"),
    ("s5", "buggy"),
    ("s6", "slow correct"),
    ("s7", "bias"),
    ("s8", "slow buggy"),
    ("s1", "correct"),
    ("s3", "slow buggy"),
    ("s5", "slow correct"),
    ("s2", "correct"),
]


@dataclass(frozen=True)
class Upload:
    id: int
    student: str
    kind: str


@pytest.fixture
def course(tmp_path) -> LiveCourse:
    """Eight students (this module's own course, not conftest's three)."""
    return make_course(tmp_path, STUDENTS)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def send_burst(server: LiveServer, course: LiveCourse) -> list[Upload]:
    uploads = []
    for student, kind in BURST:
        answer = submit(server.url, course.tokens[student], SOURCES[kind].encode())
        uploads.append(Upload(answer["id"], student, kind))
    return uploads


def wait_until(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def grading_jobs(course: LiveCourse) -> list[dict]:
    with course.db() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM jobs WHERE state = 'grading'")]


def wait_for_grading(course: LiveCourse) -> list[dict]:
    """Wait until course.db shows a job in flight (the moment to crash)."""
    return wait_until(lambda: grading_jobs(course), what="a job in state 'grading'")


def results_count(course: LiveCourse) -> int:
    with course.db() as conn:
        return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]


def finish(server: LiveServer, course: LiveCourse, uploads: list[Upload]) -> dict[int, dict]:
    """Poll the API until every upload is final; returns their views."""
    owners = {u.id: course.tokens[u.student] for u in uploads}
    return wait_final(server.url, owners, GRADED_WITHIN)


def assert_graded_exactly_once(
    server: LiveServer, course: LiveCourse, uploads: list[Upload], final: dict[int, dict]
) -> None:
    """Every upload done once (or superseded while queued), and the gradebook counts each once."""
    superseded = {sid for sid, shown in final.items() if shown.get("superseded_by")}
    done = {sid for sid, shown in final.items() if shown["status"] == "done"}
    assert done | superseded == set(final), {
        sid: shown for sid, shown in final.items() if sid not in done | superseded
    }
    for u in uploads:
        if u.id in superseded:
            later = final[u.id]["superseded_by"]
            assert later > u.id and any(v.id == later and v.student == u.student for v in uploads)
    last = {u.student: u.id for u in uploads}
    assert set(last.values()) <= done, "a student's last upload was not graded"
    for u in uploads:
        if u.id in done and u.kind in FULL_MARKS:
            assert final[u.id]["score"] == final[u.id]["max_score"] > 0, (u, final[u.id])
        if u.id in done and u.kind not in FULL_MARKS:
            assert final[u.id]["score"] < final[u.id]["max_score"], (u, final[u.id])

    with course.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
        rows = conn.execute(
            "SELECT s.id, s.sha256, s.status, s.result_key, r.sha256 AS result_sha "
            "FROM submissions s LEFT JOIN results r ON r.key = s.result_key"
        ).fetchall()
        assert {r["id"] for r in rows} == set(final), "a submission was lost or invented"
        assert sum(r["status"] == "done" for r in rows) == len(uploads) - len(superseded)
        for r in rows:
            if r["status"] == "done":
                assert r["result_sha"] == r["sha256"], f"submission {r['id']} has no own result"
            else:
                assert (r["status"], r["result_key"]) == ("superseded", None)
        keys = [r[0] for r in conn.execute("SELECT key FROM results")]
        assert sorted(keys) == sorted({r["result_key"] for r in rows if r["status"] == "done"})

    gradebook = get_json(server.url, "/api/gradebook", course.instructor)["rows"]
    assert [row["student_id"] for row in gradebook] == sorted(STUDENTS)
    for row in gradebook:
        mine = [u for u in uploads if u.student == row["student_id"] and u.id in done]
        best = max(final[u.id]["score"] for u in mine)
        assert (row["status"], row["score"], row["attempts"]) == ("graded", best, len(mine)), row
        assert final[row["submission_id"]]["score"] == best


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [True, False], ids=["whole process group", "server alone"])
def test_a_server_killed_while_grading_restarts_and_grades_everything_once(
    course, live_servers, group
):
    server = live_servers(course.root, WORKERS)
    uploads = send_burst(server, course)
    wait_for_grading(course)
    server.kill(group=group)

    restarted = live_servers(course.root, WORKERS)
    final = finish(restarted, course, uploads)
    assert_graded_exactly_once(restarted, course, uploads, final)


def test_workers_die_with_a_killed_server_and_grade_nothing_more(course, live_servers):
    server = live_servers(course.root, WORKERS)
    workers = server.worker_pids()
    sandboxes = [pid for worker in workers for pid in descendants(worker)]
    assert len(workers) == WORKERS
    send_burst(server, course)
    wait_for_grading(course)
    server.kill(group=False)

    assert wait_gone(workers + sandboxes, timeout=5.0) == []
    snapshot = (results_count(course), grading_jobs(course))
    time.sleep(2.0)
    assert (results_count(course), grading_jobs(course)) == snapshot, "grading went on"


def test_a_killed_worker_is_replaced_and_its_job_regraded_once(course, live_servers):
    server = live_servers(course.root, WORKERS)
    before = server.worker_pids()
    uploads = send_burst(server, course)
    # A worker the pool started that course.db shows grading a job (jobs.worker = "local:<pid>").
    job = wait_until(
        lambda: next(
            (j for j in grading_jobs(course) if int(j["worker"].split(":")[1]) in before), None
        ),
        what="a worker grading",
    )
    victim = int(job["worker"].split(":")[1])
    sandbox = descendants(victim)  # its zygote and the student's process: they die with it
    server.kill_worker(victim)

    assert wait_gone([victim, *sandbox], timeout=5.0) == []
    wait_until(
        lambda: server.health()["workers"] == WORKERS and victim not in server.worker_pids(),
        timeout=30.0,
        what="the pool back to full strength",
    )
    final = finish(server, course, uploads)
    assert final[job["submission_id"]]["status"] == "done"
    assert_graded_exactly_once(server, course, uploads, final)
    assert len(server.worker_pids()) == WORKERS and all(alive(p) for p in server.worker_pids())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_clean_shutdown_while_grading_loses_nothing(course, live_servers, sig):
    server = live_servers(course.root, WORKERS)
    workers = server.worker_pids()
    uploads = send_burst(server, course)
    wait_for_grading(course)
    # uvicorn shuts the application down, then re-raises a SIGTERM it caught (-15).
    assert server.stop(sig, timeout=30.0) in (0, -sig), server.log_tail()
    assert "Application shutdown complete" in server.log_tail(), server.log_tail()

    assert wait_gone(workers, timeout=5.0) == []
    assert grading_jobs(course) == [], "a stopped server left a job claimed"
    restarted = live_servers(course.root, WORKERS)
    final = finish(restarted, course, uploads)
    assert_graded_exactly_once(restarted, course, uploads, final)


@pytest.mark.parametrize("replaced", [False, True], ids=["first worker", "replacement worker"])
def test_a_clean_shutdown_lets_the_worker_finish_its_job(course, live_servers, replaced):
    server = live_servers(course.root, 1)
    if replaced:  # the pool starts a new worker from its supervisor thread
        (first,) = server.worker_pids()
        server.kill_worker(first)
        wait_until(
            lambda: server.health()["workers"] == 1 and first not in server.worker_pids(),
            timeout=30.0,
            what="a replacement worker",
        )
    upload = submit(server.url, course.tokens["s1"], SLEEPS_A_SECOND.encode())
    wait_for_grading(course)
    assert server.stop(signal.SIGINT, timeout=30.0) in (0, -signal.SIGINT), server.log_tail()

    with course.db() as conn:
        status = conn.execute("SELECT status FROM submissions WHERE id = ?", (upload["id"],))
        assert status.fetchone()[0] == "done"
