"""The job queue: a contract with one embedded backend (SQLite) that a second one plugs into.

Delivery is at-least-once and the acknowledgement is the result: a job leaves the queue only in
the transaction that stores its result (:meth:`JobQueue.complete`). A worker, or the whole
server, killed at any moment leaves its job claimed; :meth:`JobQueue.release_worker` (the pool saw
the worker die), :meth:`JobQueue.release_all` (the server restarted) or an expired lease puts it
back. Running a job twice is harmless: results are keyed by what determines them (submission
sha256, grader version, case seed, language), and only the first completion moves a submission to
``done``, so nothing is ever counted twice in the gradebook.

Order: lower ``priority`` first, then first come first served. Live submissions have
:data:`LIVE_PRIORITY`, class regrades :data:`REGRADE_PRIORITY`, so a regrade never starves a
student waiting for feedback.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Protocol

from autograder.server.db import transaction

LIVE_PRIORITY = 0
REGRADE_PRIORITY = 10
#: A job claimed this many times without completing (it killed its workers, or the grader raised
#: on it each time) ends in ``error`` instead of taking workers down forever.
MAX_ATTEMPTS = 3
#: A claimed job whose worker has said nothing for this long is given to another worker.
LEASE_SECONDS = 600.0


@dataclass(frozen=True)
class Job:
    """One grading to do: a submission, for live feedback or for a class regrade."""

    id: int
    submission_id: int
    regrade_id: int | None
    attempts: int


@dataclass(frozen=True)
class Result:
    """A grading's outcome as stored; ``key`` is :func:`result_key` of the other fields."""

    sha256: str
    grader_version: str
    seed_id: str
    lang: str
    score: float
    max_score: float
    outcome: str  # graded | load_failed | broken | grader_error (batch statuses)
    results_json: str  # the Gradescope results.json object
    feedback_html: str  # the feedback page's body (escaped HTML fragment)
    started_at: float | None = None  # when the worker began grading (its clock)
    graded_at: float | None = None  # when the grading ended (its clock)
    worker: str = ""  # who graded it (a local pid, or a remote worker's host name)

    @property
    def key(self) -> str:
        return result_key(self.sha256, self.grader_version, self.seed_id, self.lang)


def result_key(sha256: str, grader_version: str, seed_id: str, lang: str) -> str:
    return f"{sha256}:{grader_version}:{seed_id}:{lang}"


class JobQueue(Protocol):
    """What the server and the grading workers need of a queue backend."""

    def enqueue(self, submission_id: int, *, regrade_id: int | None = None) -> int: ...

    def claim(self, worker: str, lease: float = LEASE_SECONDS) -> Job | None: ...

    def complete(self, job: Job, result: Result) -> bool: ...

    def fail(self, job: Job, error: str) -> None: ...

    def release_worker(self, worker: str) -> int: ...

    def release_all(self) -> int: ...

    def position(self, submission_id: int) -> int | None: ...


class SQLiteQueue:
    """:class:`JobQueue` in the course database: jobs rows, claimed under ``BEGIN IMMEDIATE``.

    Parameters
    ----------
    conn : sqlite3.Connection
        From :func:`autograder.server.db.connect`; one per thread or process.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    # -- producer side ------------------------------------------------------------------------

    def enqueue(self, submission_id: int, *, regrade_id: int | None = None) -> int:
        """Queue a grading of ``submission_id``; part of the caller's transaction if one is open."""
        priority = LIVE_PRIORITY if regrade_id is None else REGRADE_PRIORITY
        cur = self.conn.execute(
            "INSERT INTO jobs(submission_id, regrade_id, priority, created_at) VALUES (?, ?, ?, ?)",
            (submission_id, regrade_id, priority, time.time()),
        )
        return int(cur.lastrowid)

    def position(self, submission_id: int) -> int | None:
        """1 for the next live job to run; ``None`` if the submission has no queued live job."""
        me = self.conn.execute(
            "SELECT priority, id FROM jobs WHERE submission_id = ? AND regrade_id IS NULL "
            "AND state = 'queued'",
            (submission_id,),
        ).fetchone()
        if me is None:
            return None
        ahead = self.conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued' "
            "AND (priority < ? OR (priority = ? AND id < ?))",
            (me["priority"], me["priority"], me["id"]),
        ).fetchone()[0]
        return int(ahead) + 1

    def depth(self) -> dict[str, int]:
        """Jobs by state, for ``/api/health``."""
        rows = self.conn.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        return {row["state"]: int(row["n"]) for row in rows}

    # -- worker side --------------------------------------------------------------------------

    def claim(
        self, worker: str, lease: float = LEASE_SECONDS, *, live_only: bool = False
    ) -> Job | None:
        """Take the next job, or ``None``; jobs over :data:`MAX_ATTEMPTS` end in ``error``.

        ``live_only``: leave regrade jobs queued (the broker dispatcher caps how many regrades it
        keeps in flight, so that they never fill its window ahead of live submissions).
        """
        only = "AND regrade_id IS NULL " if live_only else ""
        while True:
            with transaction(self.conn):
                row = self.conn.execute(
                    "SELECT id, submission_id, regrade_id, attempts FROM jobs "
                    f"WHERE state = 'queued' {only}ORDER BY priority, id LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                job = Job(row["id"], row["submission_id"], row["regrade_id"], row["attempts"] + 1)
                if job.attempts > MAX_ATTEMPTS:
                    self._give_up(job, "the grading failed repeatedly")
                    continue
                self.conn.execute(
                    "UPDATE jobs SET state = 'grading', worker = ?, lease_until = ?, "
                    "attempts = ? WHERE id = ?",
                    (worker, time.time() + lease, job.attempts, job.id),
                )
                if job.regrade_id is None:
                    self._set_status(job.submission_id, "grading", only_from="queued")
                return job

    def complete(self, job: Job, result: Result) -> bool:
        """Store ``result`` and acknowledge ``job`` in one transaction.

        Returns
        -------
        bool
            False when the job was already completed (a duplicate run): nothing changes then,
            except that an identical result row may already exist.
        """
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR IGNORE INTO results(key, sha256, grader_version, seed_id, lang, score, "
                "max_score, outcome, results_json, feedback_html, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result.key,
                    result.sha256,
                    result.grader_version,
                    result.seed_id,
                    result.lang,
                    result.score,
                    result.max_score,
                    result.outcome,
                    result.results_json,
                    result.feedback_html,
                    time.time(),
                ),
            )
            if self.conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job.id,)).fetchone() is None:
                return False
            if job.regrade_id is None:
                self.conn.execute(
                    "UPDATE submissions SET status = 'done', result_key = ?, error = NULL, "
                    "started_at = ?, graded_at = ?, stored_at = ?, worker = ? WHERE id = ?",
                    (
                        result.key,
                        result.started_at,
                        result.graded_at,
                        time.time(),
                        result.worker[:200],
                        job.submission_id,
                    ),
                )
            else:
                self.conn.execute(
                    "UPDATE regrade_items SET result_key = ? WHERE regrade_id = ? "
                    "AND submission_id = ?",
                    (result.key, job.regrade_id, job.submission_id),
                )
            self.conn.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            return True

    def fail(self, job: Job, error: str) -> None:
        """The grader itself failed on ``job``: retry it, or end it in ``error`` after the last try.

        ``error`` is for the instructor's eyes (the student sees a generic message).
        """
        with transaction(self.conn):
            if job.attempts >= MAX_ATTEMPTS:
                self._give_up(job, error)
            else:
                self._requeue("id = ?", (job.id,))

    # -- recovery -----------------------------------------------------------------------------

    def release_worker(self, worker: str) -> int:
        """Requeue the jobs ``worker`` held (it died). Returns how many."""
        with transaction(self.conn):
            return self._requeue("state = 'grading' AND worker = ?", (worker,))

    def release_all(self) -> int:
        """Requeue every claimed job: at server start, when no worker of ours is alive."""
        with transaction(self.conn):
            return self._requeue("state = 'grading'", ())

    def claimed(self, prefix: str) -> list[tuple[Job, str]]:
        """The jobs claimed under a worker name starting with ``prefix``, with that name (the
        broker dispatcher resumes collecting its tasks after a restart)."""
        rows = self.conn.execute(
            "SELECT id, submission_id, regrade_id, attempts, worker FROM jobs "
            "WHERE state = 'grading' AND substr(worker, 1, ?) = ? ORDER BY id",
            (len(prefix), prefix),
        )
        return [
            (Job(r["id"], r["submission_id"], r["regrade_id"], r["attempts"]), r["worker"])
            for r in rows
        ]

    def release_except(self, prefix: str) -> int:
        """Requeue every claimed job except those claimed under names starting with ``prefix``
        (at start with a broker: no local worker of a previous server can be alive, but the
        broker's tasks may still be running)."""
        with transaction(self.conn):
            return self._requeue(
                "state = 'grading' AND substr(coalesce(worker, ''), 1, ?) != ?",
                (len(prefix), prefix),
            )

    def release_expired(self, now: float | None = None) -> int:
        """Requeue claimed jobs whose lease ran out (a worker that hangs, or a lost machine)."""
        now = time.time() if now is None else now
        with transaction(self.conn):
            return self._requeue("state = 'grading' AND lease_until < ?", (now,))

    def _requeue(self, where: str, params: tuple) -> int:
        ids = [
            r["submission_id"]
            for r in self.conn.execute(
                f"SELECT submission_id FROM jobs WHERE {where} AND regrade_id IS NULL", params
            )
        ]
        cur = self.conn.execute(
            f"UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL WHERE {where}",
            params,
        )
        for submission_id in ids:
            self._set_status(submission_id, "queued", only_from="grading")
        return cur.rowcount

    def _give_up(self, job: Job, error: str) -> None:
        self.conn.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
        if job.regrade_id is None:
            self.conn.execute(
                "UPDATE submissions SET status = 'error', error = ? WHERE id = ?",
                (error, job.submission_id),
            )
        else:  # the regrade keeps this submission's published result, and says why
            self.conn.execute(
                "UPDATE regrade_items SET error = ?, result_key = (SELECT result_key FROM "
                "submissions WHERE id = ?) WHERE regrade_id = ? AND submission_id = ?",
                (error, job.submission_id, job.regrade_id, job.submission_id),
            )

    def _set_status(self, submission_id: int, status: str, *, only_from: str) -> None:
        self.conn.execute(
            "UPDATE submissions SET status = ? WHERE id = ? AND status = ?",
            (status, submission_id, only_from),
        )
