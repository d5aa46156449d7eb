"""A grading worker process: claim a job, grade it in the sandbox, store the result, repeat.

Run by :mod:`autograder.server.pool` as ``python -m autograder.server.worker COURSE_DIR``. The
worker is the only server process that reads the course secret and the only one that starts
student code (always through :func:`autograder.grading.grade_submission`, so always sandboxed).
Its standard input is its leash: a byte wakes it up when a job is queued, end-of-file tells it to
leave, and on Linux it dies with the server (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

# Moved to autograder.provenance (batch and server share them); re-exported for callers here.
from autograder.provenance import (  # noqa: F401
    GRADING_CODE,
    NOT_GRADING,
    code_version,
    grader_version,
    seed_id,
    spec_for,
)
from autograder.server import db
from autograder.server.queue import Job, Result, SQLiteQueue

IDLE_WAIT = 1.0
PR_SET_PDEATHSIG = 1


def worker_name(pid: int | None = None) -> str:
    """The name a local worker claims jobs under (the pool knows it from the pid)."""
    return f"local:{os.getpid() if pid is None else pid}"


class Grader:
    """Grades the jobs of one course (the loop around :meth:`grade` is :func:`serve_jobs`)."""

    def __init__(self, course_root: str | Path):
        from autograder.server.course import load_course, read_secret

        self.course = load_course(course_root)
        self.secret = read_secret(self.course)
        self.conn = db.connect(self.course.db_path)
        self.queue = SQLiteQueue(self.conn)

    def spec_path(self, homework: str) -> Path:
        from autograder.spec import DEFAULT_SPEC

        policy = self.course.homeworks.get(homework)
        return Path(policy.spec) if policy is not None and policy.spec else Path(DEFAULT_SPEC)

    def grade(self, job: Job) -> Result:
        """Grade ``job``'s submission (the upload, under a canonical name in a private folder)."""
        from autograder.batch.store import status_of
        from autograder.grading import grade_submission
        from autograder.harness.zygote import shared_zygote
        from autograder.report.gradescope import to_gradescope
        from autograder.report.html import feedback_body

        row = self.conn.execute(
            "SELECT student_id, homework, sha256, lang, filename FROM submissions WHERE id = ?",
            (job.submission_id,),
        ).fetchone()
        spec_path = self.spec_path(row["homework"])
        # Read once per job: an instructor who edits the spec and regrades gets the new one.
        version = grader_version(spec_path)
        suffix = ".ipynb" if row["filename"].lower().endswith(".ipynb") else ".py"
        upload = self.course.uploads_dir / f"{row['sha256']}{suffix}"
        started = time.time()
        spec = spec_for(str(spec_path), version.rsplit("-", 1)[1])
        with tempfile.TemporaryDirectory(prefix="bpgrade-job-") as folder:
            path = Path(folder) / f"submission{suffix}"
            shutil.copyfile(upload, path)
            report = grade_submission(
                path,
                student_id=row["student_id"],
                spec=spec,
                secret=self.secret,
                lang=row["lang"],
                zygote=shared_zygote(),
            )
        results = to_gradescope(report)
        return Result(
            sha256=row["sha256"],
            grader_version=version,
            # The spec's name seeds the cases (as in grade-all), not the course's homework key.
            seed_id=seed_id(self.secret, spec.name, row["student_id"]),
            lang=row["lang"],
            score=float(report.score),
            max_score=float(report.max_score),
            outcome=status_of(report),
            results_json=json.dumps(results, ensure_ascii=False, allow_nan=False),
            feedback_html=feedback_body(report),
            started_at=started,
            graded_at=time.time(),
            worker=worker_name(),
        )

    def run_one(self, name: str) -> bool:
        """Claim and finish one job; False when the queue is empty."""
        job = self.queue.claim(name)
        if job is None:
            return False
        try:
            result = self.grade(job)
        except Exception:  # the grader's failure, not the student's: retried, then "error"
            self.queue.fail(job, traceback.format_exc(limit=8))
        else:
            self.queue.complete(job, result)
        return True


def serve_jobs(course_root: str | Path, *, wake_fd: int | None = 0) -> None:
    """Grade jobs until ``wake_fd`` reaches end-of-file (``None``: until the queue is empty)."""
    from autograder.harness.zygote import shared_zygote

    grader = Grader(course_root)
    shared_zygote()  # boot the sandbox now, not on the first student's time
    name = worker_name()
    while True:
        if grader.run_one(name):
            continue
        if wake_fd is None or not _wait_for_wake(wake_fd, IDLE_WAIT):
            return


def _wait_for_wake(fd: int, timeout: float) -> bool:
    """Wait up to ``timeout`` for a wake-up byte; False at end-of-file (the pool let go)."""
    readable, _, _ = select.select([fd], [], [], timeout)
    return not readable or os.read(fd, 4096) != b""


def _die_with(parent_pid: int) -> None:
    """Die with the server: a SIGKILLed server must not leave workers grading on (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the server died before prctl took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.server.worker")
    parser.add_argument("course", type=Path)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        _die_with(args.parent_pid)
    serve_jobs(args.course)
    return 0


if __name__ == "__main__":
    sys.exit(main())
