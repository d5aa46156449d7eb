"""``bpgrade serve DIR --broker URL``: the server's grading backend that sends jobs to workers.

It replaces the local pool (:class:`autograder.server.pool.LocalPool`) with the same interface
(``start``, ``stop``, ``wake``, ``alive``). One thread:

1. claims jobs from the course's :class:`~autograder.server.queue.SQLiteQueue` under the name
   ``celery:<task id>`` and sends each as a task (the upload's bytes in the payload, never the
   secret) to the live or the regrade queue. It keeps at most :data:`LIVE_WINDOW` tasks in
   flight, of which at most :data:`REGRADE_WINDOW` regrades, and sends no new regrade while a live
   job waits: a class regrade never stands in front of a student's feedback;
2. collects results (:class:`~autograder.distributed.tracker.Tracker`), validates them
   (:func:`~autograder.distributed.payload.check_result`, plus: the same submission, the same
   language, the spec the server has) and stores them with ``SQLiteQueue.complete`` (the result
   upsert and the acknowledgement in one transaction); a grader error goes to ``fail`` (retried,
   then ``error``); a lost task's job goes back to the queue and is sent again.

After a restart the thread resumes collecting the tasks named in ``jobs.worker`` instead of
sending them again. The database stays the record: Redis holds only what is in flight.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from pathlib import Path

from autograder.distributed.celery_app import LIVE_QUEUE, REGRADE_QUEUE, make_celery
from autograder.distributed.payload import (
    MAX_TEXT_BYTES,
    SERVER,
    Payload,
    PayloadError,
    build_payload,
    check_result,
)
from autograder.distributed.tracker import DONE, FAILED, LOST, PENDING_RESEND_S, Tracker
from autograder.server import db
from autograder.server.queue import Job, Result, SQLiteQueue

log = logging.getLogger("bpgrade.dispatch")

PREFIX = "celery:"
LIVE_WINDOW = 64
REGRADE_WINDOW = 8
POLL_S = 0.05
BACKOFF_S = 2.0


class CeleryBackend:
    """Grades the course's queue on remote ``bpgrade worker`` processes.

    Parameters
    ----------
    course : autograder.server.course.Course
    broker_url : str
        Checked already (:func:`autograder.distributed.broker.check_url`).
    tracker_options : dict, optional
        Passed to :class:`~autograder.distributed.tracker.Tracker` (tests shorten the times).
    """

    def __init__(self, course, broker_url: str, **tracker_options):
        self.course = course
        self.app = make_celery(broker_url)
        self.tracker = Tracker(self.app, **tracker_options)
        self.conn = db.connect(course.db_path)
        self.queue = SQLiteQueue(self.conn)
        self.lease = max(PENDING_RESEND_S, tracker_options.get("pending_resend", 0.0)) * 2
        self.waker = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # -- the LocalPool interface ---------------------------------------------------------------

    def start(self) -> None:
        """Resume the tasks of a previous run, requeue other claims, start the thread."""
        self.queue.release_except(PREFIX)
        for job, worker in self.queue.claimed(PREFIX):
            task_id = worker[len(PREFIX) :]
            queue = LIVE_QUEUE if job.regrade_id is None else REGRADE_QUEUE
            self.tracker.adopt(task_id, job, queue)
        self.tracker.start()
        self.thread = threading.Thread(target=self._run, name="bpgrade-dispatch", daemon=True)
        self.thread.start()

    def stop(self, grace: float = 5.0) -> None:
        """Stop sending and collecting; tasks in flight stay claimed and are resumed next start."""
        self.stopping.set()
        self.waker.set()
        if self.thread is not None:
            self.thread.join(timeout=grace + POLL_S)
        self.tracker.stop()

    def wake(self) -> None:
        self.waker.set()

    def alive(self) -> int:
        return self.tracker.alive()

    # -- the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._fill()
                for event in self.tracker.poll():
                    self._handle(event)
            except Exception as exc:  # the broker is away, say: keep the claims, try again
                log.warning("dispatch: %s: %s", type(exc).__name__, exc)
                self.stopping.wait(BACKOFF_S)
            self.waker.wait(POLL_S)
            self.waker.clear()

    def _in_flight(self) -> tuple[int, int]:
        regrades = sum(f.key.regrade_id is not None for f in self.tracker.flights.values())
        return len(self.tracker.flights) - regrades, regrades

    def _fill(self) -> None:
        while not self.stopping.is_set():
            live, regrades = self._in_flight()
            if live + regrades >= LIVE_WINDOW:
                return
            live_only = regrades >= REGRADE_WINDOW or self._live_waiting()
            task_id = str(uuid.uuid4())
            job = self.queue.claim(PREFIX + task_id, lease=self.lease, live_only=live_only)
            if job is None:
                return
            try:
                doc = self._payload(job)
            except (OSError, PayloadError, LookupError) as exc:
                self.queue.fail(job, f"cannot send the submission: {type(exc).__name__}: {exc}")
                continue
            queue = LIVE_QUEUE if job.regrade_id is None else REGRADE_QUEUE
            try:
                self.tracker.send(doc, queue=queue, key=job, task_id=task_id)
            except BaseException:
                self.queue.release_worker(PREFIX + task_id)  # not sent: back in the queue
                raise

    def _live_waiting(self) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM jobs WHERE state = 'queued' AND regrade_id IS NULL LIMIT 1"
        ).fetchone()
        return row is not None

    def _row(self, job: Job):
        return self.conn.execute(
            "SELECT student_id, homework, sha256, lang, filename FROM submissions WHERE id = ?",
            (job.submission_id,),
        ).fetchone()

    def _spec_digest(self, homework: str) -> str:
        from autograder.provenance import file_digest
        from autograder.spec import DEFAULT_SPEC

        policy = self.course.homeworks.get(homework)
        return file_digest(
            Path(policy.spec) if policy is not None and policy.spec else DEFAULT_SPEC
        )

    def _payload(self, job: Job) -> dict:
        row = self._row(job)
        suffix = ".ipynb" if row["filename"].lower().endswith(".ipynb") else ".py"
        data = (self.course.uploads_dir / f"{row['sha256']}{suffix}").read_bytes()
        return build_payload(
            Payload(
                mode=SERVER,
                homework=row["homework"],
                spec=self._spec_digest(row["homework"]),
                student_id=row["student_id"],
                lang=row["lang"],
                main=f"submission{suffix}",  # canonical: the student's file name stays home
                data=data,
            )
        )

    def _handle(self, event) -> None:
        job: Job = event.flight.key
        if event.kind == LOST:
            log.warning("job %s: %s; sending it again", job.id, event.data)
            self.queue.release_worker(PREFIX + event.flight.task_id)
            return
        if event.kind == FAILED:
            self.queue.fail(job, f"the worker failed: {event.data}")
            return
        assert event.kind == DONE
        try:
            result = self._result(job, event.data)
        except PayloadError as exc:
            self.queue.fail(job, f"the worker sent an invalid result: {exc}")
        else:
            if result is not None:
                self.queue.complete(job, result)
        self.tracker.forget(event.flight.task_id)

    def _result(self, job: Job, doc) -> Result | None:
        got = check_result(doc, mode=SERVER)
        if got.error is not None:
            self.queue.fail(job, f"grader error on {got.worker}: {got.error}")
            return None
        row = self._row(job)
        if (got.sha256, got.lang, got.homework) != (row["sha256"], row["lang"], row["homework"]):
            raise PayloadError("the result is for another submission")
        if got.grader_version.rsplit("-", 1)[1] != self._spec_digest(row["homework"]):
            raise PayloadError("the result was graded with another spec")
        results_json = json.dumps(got.results, ensure_ascii=False, allow_nan=False)
        if len(results_json) > MAX_TEXT_BYTES:
            raise PayloadError("results: too large")
        return Result(
            sha256=got.sha256,
            grader_version=got.grader_version,
            seed_id=got.seed_id,
            lang=got.lang,
            score=got.score,
            max_score=got.max_score,
            outcome=got.outcome,
            results_json=results_json,
            feedback_html=got.feedback_html,
            started_at=got.started_at,
            graded_at=got.graded_at,
            worker=got.worker,
        )
