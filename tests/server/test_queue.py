"""The job queue's contract (autograder/server/queue.py), on the embedded SQLite backend.

A job leaves the queue only with its result; a dead worker's or a dead server's job comes back;
a duplicate run changes nothing; live submissions run before regrades.
"""

from __future__ import annotations

import sqlite3

import pytest

from autograder.server import db
from autograder.server.queue import MAX_ATTEMPTS, Result, SQLiteQueue
from autograder.server.store import accept


@pytest.fixture
def conn(tmp_path):
    conn = db.connect(tmp_path / "course.db")
    for student in ("s1", "s2", "s3"):
        conn.execute(
            "INSERT INTO students(id, token_hash) VALUES (?, ?)", (student, f"hash-{student}")
        )
    return conn


def submit(conn, student="s1", sha="a" * 64, now=0.0) -> int:
    return accept(
        conn,
        student_id=student,
        homework="backprop",
        filename="nn.py",
        sha256=sha,
        size=10,
        lang="en",
        now=now,
    )


def result(sha="a" * 64, score=1.0, version="v1") -> Result:
    return Result(sha, version, "seed", "en", score, 10.0, "graded", '{"score": 1.0}', "<p>ok</p>")


def status(conn, submission_id) -> str:
    return conn.execute("SELECT status FROM submissions WHERE id = ?", (submission_id,)).fetchone()[
        0
    ]


def regrade_job(conn, submission_id) -> int:
    regrade_id = conn.execute(
        "INSERT INTO regrades(homework, created_at) VALUES ('backprop', 0)"
    ).lastrowid
    conn.execute(
        "INSERT INTO regrade_items(regrade_id, submission_id) VALUES (?, ?)",
        (regrade_id, submission_id),
    )
    SQLiteQueue(conn).enqueue(submission_id, regrade_id=regrade_id)
    return regrade_id


def test_jobs_run_first_come_first_served(conn):
    first, second = submit(conn, "s1"), submit(conn, "s2")
    queue = SQLiteQueue(conn)
    assert [queue.claim("w").submission_id, queue.claim("w").submission_id] == [first, second]
    assert queue.claim("w") is None


def test_a_live_submission_overtakes_a_queued_regrade(conn):
    old = submit(conn, "s1")
    queue = SQLiteQueue(conn)
    queue.complete(queue.claim("w"), result())
    regrade_job(conn, old)
    live = submit(conn, "s2")
    assert queue.claim("w").submission_id == live
    assert queue.claim("w").regrade_id is not None


def test_complete_stores_the_result_and_acknowledges_the_job(conn):
    sid = submit(conn)
    queue = SQLiteQueue(conn)
    job = queue.claim("w")
    assert status(conn, sid) == "grading"
    assert queue.complete(job, result()) is True
    assert status(conn, sid) == "done"
    assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
    assert conn.execute("SELECT result_key FROM submissions").fetchone()[0] == result().key


def test_a_duplicate_completion_changes_nothing(conn):
    submit(conn)
    queue = SQLiteQueue(conn)
    job = queue.claim("w")
    queue.complete(job, result(score=1.0))
    assert queue.complete(job, result(score=1.0)) is False
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 1


def test_result_and_acknowledgement_commit_together(conn):
    """A failure between storing the result and deleting the job leaves neither."""
    submit(conn)
    queue = SQLiteQueue(conn)
    job = queue.claim("w")
    conn.execute(
        "CREATE TRIGGER crash BEFORE DELETE ON jobs BEGIN SELECT RAISE(ABORT, 'killed'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        queue.complete(job, result())
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0
    assert conn.execute("SELECT state FROM jobs").fetchone()[0] == "grading"


@pytest.mark.parametrize(
    "release",
    [
        pytest.param(lambda q: q.release_worker("dead"), id="the pool saw the worker die"),
        pytest.param(lambda q: q.release_all(), id="the server restarted"),
        pytest.param(lambda q: q.release_expired(now=1e18), id="the lease expired"),
    ],
)
def test_a_claimed_job_comes_back(conn, release):
    sid = submit(conn)
    queue = SQLiteQueue(conn)
    queue.claim("dead")
    assert release(queue) == 1
    assert status(conn, sid) == "queued"
    assert queue.claim("alive").submission_id == sid


def test_another_workers_job_is_not_released(conn):
    submit(conn)
    queue = SQLiteQueue(conn)
    queue.claim("busy")
    assert queue.release_worker("other") == 0
    assert queue.release_expired(now=0.0) == 0


def test_a_grader_failure_is_retried_then_ends_in_error(conn):
    sid = submit(conn)
    queue = SQLiteQueue(conn)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        job = queue.claim("w")
        assert job.attempts == attempt
        queue.fail(job, "Traceback: boom")
    assert status(conn, sid) == "error"
    assert queue.claim("w") is None


def test_a_job_that_keeps_killing_its_workers_ends_in_error(conn):
    sid = submit(conn)
    queue = SQLiteQueue(conn)
    for _ in range(MAX_ATTEMPTS):
        queue.claim("w")
        queue.release_worker("w")
    assert queue.claim("w") is None
    assert status(conn, sid) == "error"


def test_a_resubmission_supersedes_the_queued_one(conn):
    old = submit(conn, sha="a" * 64)
    new = submit(conn, sha="b" * 64)
    assert status(conn, old) == "superseded"
    assert SQLiteQueue(conn).claim("w").submission_id == new
    assert SQLiteQueue(conn).claim("w") is None


def test_a_resubmission_does_not_supersede_one_being_graded(conn):
    old = submit(conn, sha="a" * 64)
    SQLiteQueue(conn).claim("w")
    submit(conn, sha="b" * 64)
    assert status(conn, old) == "grading"


def test_another_students_submission_is_not_superseded(conn):
    other = submit(conn, "s2")
    submit(conn, "s1")
    assert status(conn, other) == "queued"


def test_position_counts_the_jobs_ahead(conn):
    ids = [submit(conn, s) for s in ("s1", "s2", "s3")]
    queue = SQLiteQueue(conn)
    assert [queue.position(i) for i in ids] == [1, 2, 3]
    queue.claim("w")
    assert [queue.position(i) for i in ids] == [None, 1, 2]


def test_a_regrade_result_waits_for_publication(conn):
    sid = submit(conn)
    queue = SQLiteQueue(conn)
    queue.complete(queue.claim("w"), result(version="v1"))
    regrade_id = regrade_job(conn, sid)
    queue.complete(queue.claim("w"), result(version="v2", score=5.0))
    published = conn.execute("SELECT result_key FROM submissions").fetchone()[0]
    pending = conn.execute(
        "SELECT result_key FROM regrade_items WHERE regrade_id = ?", (regrade_id,)
    ).fetchone()[0]
    assert published == result(version="v1").key
    assert pending == result(version="v2").key


def test_a_database_from_before_the_phase_columns_gets_them(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, student_id TEXT NOT NULL,"
        " homework TEXT NOT NULL, filename TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER "
        "NOT NULL, lang TEXT NOT NULL, submitted_at REAL NOT NULL, status TEXT NOT NULL, "
        "result_key TEXT, error TEXT);"
    )
    old.close()
    conn = db.connect(path)
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(submissions)")}
    assert {"queued_at", "started_at", "graded_at", "stored_at", "worker"} <= columns


def test_a_regrade_item_the_grader_fails_on_keeps_its_published_result(conn):
    sid = submit(conn)
    queue = SQLiteQueue(conn)
    queue.complete(queue.claim("w"), result(version="v1"))
    regrade_id = regrade_job(conn, sid)
    for _ in range(MAX_ATTEMPTS):
        queue.fail(queue.claim("w"), "Traceback: the new spec is broken")
    item = conn.execute(
        "SELECT result_key, error FROM regrade_items WHERE regrade_id = ?", (regrade_id,)
    ).fetchone()
    assert item["result_key"] == result(version="v1").key  # publishing changes nothing for it
    assert "broken" in item["error"]
    assert queue.claim("w") is None
