"""``bpgrade grade-all SUBMISSIONS --out OUT --broker URL``: a batch graded by remote workers.

The same plan, the same student folders and the same resumability as the local pool
(:mod:`autograder.batch.run`): a student is done iff their ``results.json`` records the
fingerprint of the current submission and configuration. What changes is who grades:

* each submission is read here, through the guarded reader, and sent as data (its bytes and
  names; never the secret) to the regrade queue; a worker grades it with its own copy of the
  spec (found by digest) and its course secret, renders ``feedback.md``, ``feedback.html`` and
  ``results.json`` exactly as a local run would, and sends them back; they are validated and
  written here, ``results.json`` last;
* task ids are derived from what determines the grade (fingerprint, student, spec, language), so
  a rerun after an interruption first collects the results of the tasks the interrupted run had
  sent (still in Redis) and sends only the others again;
* what cannot be sent (an entry discovery already refused, a file the guarded reader refuses) is
  graded here exactly as the local pool would (no student code runs for those).

If this machine has a course secret (``$BPGRADE_SECRET``), every result's seed id is checked
against it: workers whose course secret differs stop the batch instead of writing grades seeded
by another secret.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.batch import store
from autograder.batch.discover import Submission
from autograder.batch.run import (
    BatchAborted,
    BatchOptions,
    BatchResult,
    Outcome,
    Task,
    _spec,
    plan,
    record_failure,
)
from autograder.cases import resolve_secret
from autograder.distributed.celery_app import REGRADE_QUEUE, make_celery
from autograder.distributed.payload import BATCH, Payload, PayloadError, build_payload, check_result
from autograder.distributed.tracker import DONE, FAILED, LOST, Tracker
from autograder.messages import msg

HOMEWORK = "backprop"
WINDOW = 256
POLL_S = 0.05
MAX_ATTEMPTS = 3  # grader errors on one submission before its error row
MAX_LOST = 5  # times its worker died under it
NO_WORKER_S = 120.0


@dataclass
class _State:
    task: Task
    attempt: int = 0
    failures: int = 0
    lost: int = 0
    doc: dict | None = None


def grade_all_broker(
    submissions: list[Submission],
    options: BatchOptions,
    broker_url: str,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    tracker_options: dict | None = None,
    no_worker_timeout: float = NO_WORKER_S,
) -> BatchResult:
    """Grade every submission without up-to-date results on the broker's workers.

    Parameters
    ----------
    submissions, options, on_outcome, on_plan
        As for :func:`autograder.batch.run.grade_all` (``jobs``, ``pool``, ``tier`` and
        ``fresh_workers`` are the workers' business here).
    broker_url : str
        Checked already (:func:`autograder.distributed.broker.check_url`).
    tracker_options : dict, optional
        For :class:`~autograder.distributed.tracker.Tracker`.
    no_worker_timeout : float
        Stop with :class:`BatchAborted` when no worker has answered for this long.
    """
    started = time.perf_counter()
    Path(options.out).mkdir(parents=True, exist_ok=True)
    todo, done = plan(submissions, options)
    if on_plan is not None:
        on_plan(len(todo), done)
    result = BatchResult(total=len(submissions), skipped=done)
    if todo:
        client = _Client(options, broker_url, tracker_options or {}, no_worker_timeout)
        try:
            client.run(todo, result, on_outcome)
        finally:
            client.close()
    result.wall_time = time.perf_counter() - started
    return result


class _Client:
    def __init__(self, options: BatchOptions, url: str, tracker_options: dict, no_worker: float):
        from autograder.provenance import file_digest
        from autograder.spec import DEFAULT_SPEC

        self.options = options
        self.spec = _spec(str(options.spec_path) if options.spec_path else None)
        self.spec_digest = file_digest(Path(options.spec_path or DEFAULT_SPEC))
        self.secret, self.demo = resolve_secret(options.secret)
        # --force asks for new gradings: ids not shared with an earlier run's results.
        self.salt = os.urandom(8).hex() if options.force else ""
        self.app = make_celery(url)
        self.tracker = Tracker(self.app, **tracker_options)
        self.tracker.start()
        self.no_worker = no_worker
        self.functions = {p.function for p in self.spec.parts}

    def close(self) -> None:
        self.tracker.stop()

    def run(self, todo: list[Task], result: BatchResult, on_outcome) -> None:
        states = [_State(t) for t in todo]
        waiting = list(reversed(self._resume(states)))
        last_worker = time.monotonic()
        while waiting or self.tracker.flights:
            while waiting and len(self.tracker.flights) < WINDOW:
                outcome = self._send(waiting.pop())
                if outcome is not None:
                    self._report(outcome, result, on_outcome)
            for event in self.tracker.poll():
                outcome = self._handle(event, waiting)
                if outcome is not None:
                    self._report(outcome, result, on_outcome)
            if self.tracker.alive() or not self.tracker.flights:
                last_worker = time.monotonic()
            elif time.monotonic() - last_worker > self.no_worker:
                raise BatchAborted(
                    f"no bpgrade worker has answered on the broker for {self.no_worker:.0f} s; "
                    "start one with: bpgrade worker --broker URL --course DIR (then rerun: the "
                    "students already graded are kept)"
                )
            time.sleep(POLL_S)

    @staticmethod
    def _report(outcome: Outcome, result: BatchResult, on_outcome) -> None:
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    # -- sending --------------------------------------------------------------------------------

    def _task_id(self, state: _State) -> str:
        t = state.task
        text = "|".join(
            [t.fingerprint, t.student_id, self.spec_digest, self.options.lang, self.salt]
        )
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        base = uuid.UUID(bytes=digest[:16], version=4)
        return str(base) if state.attempt == 0 else f"{base}-{state.attempt}"

    def _resume(self, states: list[_State]) -> list[_State]:
        """Adopt the tasks an interrupted run sent that have started or finished; the rest wait."""
        ids = {self._task_id(s): s for s in states}
        metas = self.tracker.metas(list(ids))
        rest = []
        for task_id, state in ids.items():
            meta = metas.get(task_id)
            if meta and meta.get("status") in ("SUCCESS", "STARTED"):
                self.tracker.adopt(task_id, state, REGRADE_QUEUE)
            else:
                rest.append(state)
        return rest

    def _send(self, state: _State) -> Outcome | None:
        """Send ``state``'s task, or grade it here if it cannot be sent (then its outcome)."""
        task = state.task
        if task.problem is not None or task.path is None:
            return self._local(task)
        if state.doc is None:
            try:
                state.doc = self._payload(task)
            except PayloadError:
                return self._local(task)
            if state.doc is None:
                return self._local(task)
        self.tracker.send(state.doc, queue=REGRADE_QUEUE, key=state, task_id=self._task_id(state))
        return None

    def _payload(self, task: Task) -> dict | None:
        from autograder.intake import SubmissionError, read_submission

        try:
            folder = stat.S_ISDIR(os.lstat(task.path).st_mode)
            intake = read_submission(task.path, functions=self.functions, lang=self.options.lang)
        except (SubmissionError, OSError):
            return None  # the local grading writes the same "could not read" row
        main = intake.main
        if not folder and ("/" in main or "\\" in main):
            main = "submission" + Path(main).suffix
        return build_payload(
            Payload(
                mode=BATCH,
                homework=HOMEWORK,
                spec=self.spec_digest,
                student_id=task.student_id,
                lang=self.options.lang,
                main=main,
                data=intake.data,
                files=dict(intake.files) if folder else {},
                folder=folder,
                shown=task.path,
                fingerprint=task.fingerprint,
                warnings=tuple(intake.warnings),
            )
        )

    def _local(self, task: Task) -> Outcome:
        """What the local pool does for a submission no worker needs to see."""
        from autograder.batch.run import grade_task

        # No sandbox is needed: nothing of these is run (an unreadable file, a refused entry).
        local = replace(self.options, fresh_workers=True)
        return grade_task(task, local)

    # -- collecting ------------------------------------------------------------------------------

    def _handle(self, event, waiting: list[_State]) -> Outcome | None:
        state: _State = event.flight.key
        if event.kind == LOST:
            state.lost += 1
            return self._retry(
                state, waiting, f"its worker died ({event.data})", state.lost, MAX_LOST
            )
        if event.kind == FAILED:
            state.failures += 1
            return self._retry(state, waiting, str(event.data), state.failures, MAX_ATTEMPTS)
        assert event.kind == DONE
        try:
            got = check_result(event.data, mode=BATCH)
        except PayloadError as exc:
            got, error = None, f"invalid result from a worker: {exc}"
        else:
            error = None if got.error is None else f"grader error on {got.worker}: {got.error}"
        if error is not None:
            state.failures += 1
            outcome = self._retry(state, waiting, error, state.failures, MAX_ATTEMPTS)
        else:
            try:
                outcome = self._write(state.task, got)
            except PayloadError as exc:
                state.failures += 1
                outcome = self._retry(state, waiting, str(exc), state.failures, MAX_ATTEMPTS)
        self.tracker.forget(event.flight.task_id)
        return outcome

    def _retry(self, state: _State, waiting: list[_State], why: str, n: int, cap: int):
        if n < cap:
            state.attempt += 1
            waiting.append(state)
            return None
        text = msg("batch_failed", self.options.lang, etype="worker error")
        record_failure(state.task, self.options, text, why)
        return Outcome(state.task.student_id, store.GRADER_ERROR_STATUS, 0.0, 0.0, why[:300])

    def _write(self, task: Task, got) -> Outcome:
        from autograder.server.worker import seed_id

        if not self.demo and got.seed_id != seed_id(self.secret, self.spec.name, task.student_id):
            raise BatchAborted(
                f"the worker {got.worker} grades with another course secret than this machine's "
                "$BPGRADE_SECRET: give the workers' course folder the same secret file (or "
                "unset $BPGRADE_SECRET here to use theirs)"
            )
        meta = store.batch_meta(got.results)
        if got.fingerprint != task.fingerprint or meta.get("fingerprint") != task.fingerprint:
            raise PayloadError("a result for another submission")
        store.write_rendered(
            Path(task.folder),
            got.feedback_md,
            got.feedback_page,
            got.results,
            grader_error=got.grader_error,
        )
        status = str(meta.get("status", got.outcome))
        wall = meta.get("wall_time", 0.0)
        return Outcome(task.student_id, status, got.score, float(wall) if wall else 0.0)
