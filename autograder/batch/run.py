"""Grade many submissions in parallel, resumably.

``grade_submission`` already runs the student's code in a sandboxed child process, so the parent
could use threads. It does not by default: the parent's own share (case generation, checks,
misconception variants: 0.05-0.25 s of Python and small-array numpy per submission) holds the GIL,
and with threads two gradings serialise on it. Measured with ``benchmarks/bench_batch.py --pool
both`` (500 mixed submissions, ``--jobs 2``, 2 cores): processes 50.6 s, threads 71.7 s. The process
pool starts its workers with ``forkserver`` (about a second of imports each, once per batch); threads
remain available (``--pool thread``) and are what tests use to monkeypatch the grader.

Each job (process or thread) keeps one sandboxed zygote for all its students (``shared_zygote``):
the students' workers are forks of it, so the sandboxed interpreter and its numpy start once per
job instead of once per student (``--fresh-workers`` turns this off).

Resumability comes from :mod:`autograder.batch.store`: a student is done iff their
``results.json`` records the fingerprint of the current submission and configuration.

A batch always finishes: a failure while fingerprinting, grading or writing one submission is
that submission's error row, a worker process that dies takes only its own submissions down, and
the circuit breaker (:data:`BREAKER`) stops the batch only when the grader itself is shown to be
broken (a tiny known submission, :data:`PROBE_SOURCE`, cannot be graded either), never because
the first submissions were hostile or broken.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch import store
from autograder.batch.discover import Submission
from autograder.cases import PUBLIC, resolve_secret
from autograder.grading import GradeReport, grade_submission
from autograder.harness.zygote import shared_zygote
from autograder.messages import msg
from autograder.provenance import provenance
from autograder.spec import DEFAULT_SPEC, Spec, load_spec

THREAD, PROCESS = "thread", "process"
# This many grader errors before any submission got through the sandbox may mean the grader is
# broken (no sandbox, no child runtime): the probe below then decides, so that a broken grader
# stops the batch instead of writing 500 error rows, and hostile first submissions do not.
BREAKER = 4
#: A submission every working grader grades (its part fails with "missing function"): if it
#: cannot be graded either, the grader is broken.
PROBE_SOURCE = "def bpgrade_probe():\n    return 0\n"
#: A submission in flight when this many worker processes died is recorded as an error row.
MAX_POOL_RESTARTS = 2


@dataclass(frozen=True)
class BatchOptions:
    """How to grade a batch.

    Attributes
    ----------
    out : Path
        Output folder (see :mod:`autograder.batch.store`).
    jobs : int
        Submissions graded at once.
    spec_path : Path, optional
        Assignment spec; ``None`` is the bundled homework.
    secret : bytes, optional
        Course secret; ``None`` resolves ``$BPGRADE_SECRET`` / ``$BPGRADE_SECRET_FILE``.
    lang, tier : str
        As for ``bpgrade grade``.
    force : bool
        Regrade students that already have results.
    pool : {"process", "thread"}
        Executor for the parent side (see the module docstring for the measurement).
    fresh_workers : bool
        Boot a sandboxed interpreter per submission instead of forking from each job's zygote.
    """

    out: Path
    jobs: int = 2
    spec_path: Path | None = None
    secret: bytes | None = None
    lang: str = "en"
    tier: str = "auto"
    force: bool = False
    pool: str = PROCESS
    fresh_workers: bool = False


@dataclass(frozen=True)
class Task:
    """One student to grade (plain data: it may cross into a worker process)."""

    student_id: str
    path: str | None
    problem: str | None
    folder: str
    fingerprint: str


class BatchAborted(RuntimeError):
    """The grader fails on every submission; the message carries the first failure."""


@dataclass(frozen=True)
class Outcome:
    """What a worker reports back for the progress bar and the summary."""

    student_id: str
    status: str
    score: float
    wall_time: float
    detail: str = ""  # grader errors: "Type: message", for the instructor's terminal only


@dataclass
class BatchResult:
    """Summary of one ``grade_all`` run."""

    total: int
    skipped: int
    outcomes: list[Outcome] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def counts(self) -> Counter:
        return Counter(o.status for o in self.outcomes)


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------


def config_salt(options: BatchOptions) -> str:
    """What, besides the submission, changes a grade: the spec file and the feedback language."""
    spec_file = Path(options.spec_path or DEFAULT_SPEC)
    digest = hashlib.sha256(spec_file.read_bytes()).hexdigest()[:16]
    return f"spec={digest};lang={options.lang}"


def plan(submissions: Iterable[Submission], options: BatchOptions) -> tuple[list[Task], int]:
    """The students still to grade, and how many are already done.

    Students with nothing submitted get no task: their gradebook row comes from discovery.
    """
    salt = config_salt(options)
    todo, done = [], 0
    for sub in submissions:
        if sub.missing:
            continue
        folder = store.student_dir(options.out, sub.slug)
        fp = _fingerprint(sub, salt)
        if not options.force and store.is_done(folder, fp):
            done += 1
            continue
        path = str(sub.path) if sub.path is not None else None
        todo.append(Task(sub.student_id, path, sub.problem, str(folder), fp))
    return todo, done


def _fingerprint(sub: Submission, salt: str) -> str:
    """The submission's fingerprint; one that cannot be computed only means "grade it again"."""
    try:
        return store.fingerprint(sub.path, salt=salt)
    except Exception as exc:  # a bug here must cost one row's resumability, not the batch
        return f"{store.UNKNOWN_FINGERPRINT}{type(exc).__name__}"


# ---------------------------------------------------------------------------------------------
# One student (runs in a worker thread or process)
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _spec(spec_path: str | None):
    return load_spec(spec_path)


@dataclass
class _Graded:
    report: GradeReport
    status: str
    trace: str | None = None  # grader errors: the traceback, for grader_error.txt
    detail: str = ""


def _grade(task: Task, spec: Spec, options: BatchOptions) -> _Graded:
    name = Path(task.path).name if task.path else ""
    if task.problem is not None:
        report = store.error_report(spec, task.student_id, name, task.problem, lang=options.lang)
        return _Graded(report, store.BROKEN)
    try:
        report = grade_submission(
            task.path,
            student_id=task.student_id,
            spec=spec,
            secret=options.secret,
            lang=options.lang,
            tier=options.tier,
            # One zygote per job, reused by all its students: numpy loads once per job.
            zygote=None if options.fresh_workers else shared_zygote(options.tier),
        )
    except Exception as exc:  # a grader bug on one submission must not stop the class
        # The student sees the exception type only: its text could quote hidden data.
        text = msg("batch_failed", options.lang, etype=type(exc).__name__)
        report = store.error_report(spec, task.student_id, name, text, lang=options.lang)
        detail = f"{type(exc).__name__}: {exc}"
        return _Graded(report, store.GRADER_ERROR_STATUS, traceback.format_exc(), detail)
    return _Graded(report, store.status_of(report))


def grade_task(task: Task, options: BatchOptions) -> Outcome:
    """Grade one student and write their folder; never raises for a student's fault.

    An unexpected exception from the grader becomes a ``grader_error`` row (type only in the
    student-facing files; the traceback goes to the instructor-only ``grader_error.txt``).
    """
    started = time.perf_counter()
    spec = _spec(str(options.spec_path) if options.spec_path else None)
    graded = _grade(task, spec, options)
    _add_provenance(graded.report, spec, options)
    wall = time.perf_counter() - started
    name = Path(task.path).name if task.path else ""
    content = _fingerprint_path(task.path)
    meta = store.BatchMeta(graded.status, name, task.fingerprint, wall, content)
    try:
        store.write_student(Path(task.folder), graded.report, meta, grader_error=graded.trace)
    except Exception as exc:  # the feedback could not be written: that student's error row
        return _unwritten(task, options, exc, wall)
    return Outcome(task.student_id, graded.status, graded.report.score, wall, graded.detail)


def _fingerprint_path(path: str | None) -> str:
    """The submission's hash without the configuration (for ``regrade-diff``); "" on failure."""
    try:
        return store.fingerprint(Path(path) if path else None)
    except Exception:  # only regrade-diff's "the submission changed" depends on it
        return ""


def _add_provenance(report: GradeReport, spec: Spec, options: BatchOptions) -> None:
    """An error row records what it was made with too (``grade_submission`` does it otherwise)."""
    if not report.provenance:
        secret, _ = resolve_secret(options.secret)
        report.provenance = provenance(spec, secret, report.student_id, report.tier)


def _unwritten(task: Task, options: BatchOptions, exc: Exception, wall: float) -> Outcome:
    """Record a grader error for a student whose feedback failed to write (a row, if possible)."""
    detail = f"writing the feedback failed: {type(exc).__name__}: {exc}"
    text = msg("batch_write_failed", options.lang, etype=type(exc).__name__)
    record_failure(task, options, text, traceback.format_exc(), wall)
    return Outcome(task.student_id, store.GRADER_ERROR_STATUS, 0.0, wall, detail)


def record_failure(
    task: Task, options: BatchOptions, text: str, trace: str, wall: float = 0.0
) -> None:
    """Write a minimal ``grader_error`` result for ``task`` saying ``text`` (student-facing).

    If even that fails, the student still has a gradebook row (``pending``, no
    ``results.json``), and the rerun grades them again.
    """
    try:
        spec = _spec(str(options.spec_path) if options.spec_path else None)
        name = Path(task.path).name if task.path else ""
        report = store.error_report(spec, task.student_id, name, text, lang=options.lang)
        _add_provenance(report, spec, options)
        meta = store.BatchMeta(store.GRADER_ERROR_STATUS, name, task.fingerprint, wall)
        store.write_student(Path(task.folder), report, meta, grader_error=trace)
    except Exception:  # the outcome already carries the detail for the terminal
        pass


def grader_works(options: BatchOptions) -> str | None:
    """``None`` if the grader grades :data:`PROBE_SOURCE` (public cases of one part), else why not.

    Runs in the calling process, with the batch's spec, tier and language: it tells a broken
    grader (no sandbox, no child runtime, a bug that fails every submission) from hostile
    submissions that happen to come first.
    """
    try:
        spec = _spec(str(options.spec_path) if options.spec_path else None)
        with tempfile.TemporaryDirectory(prefix="bpgrade-probe-") as tmp:
            probe = Path(tmp, "probe.py")
            probe.write_text(PROBE_SOURCE, encoding="utf-8")
            report = grade_submission(
                probe,
                student_id="bpgrade-probe",
                spec=spec,
                secret=b"bpgrade-probe",
                lang=options.lang,
                tier=options.tier,
                visibility=(PUBLIC,),
                parts=[spec.parts[0].id],
            )
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if report.error is None else f"a trivial submission fails to load: {report.error}"


# ---------------------------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------------------------


def _executor(options: BatchOptions) -> Executor:
    jobs = max(1, options.jobs)
    if options.pool == PROCESS:
        # forkserver: workers start from a clean process, not a fork of a threaded parent.
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
    return ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="bpgrade")


def grade_all(
    submissions: list[Submission],
    options: BatchOptions,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Grade every submission that has no up-to-date results yet.

    Parameters
    ----------
    submissions : list of Submission
        From :func:`autograder.batch.discover.discover`.
    options : BatchOptions
    on_outcome : callable, optional
        Called in the calling thread after each student is written (progress bars).
    on_plan : callable, optional
        Called once with ``(to_grade, already_done)`` before grading starts.

    Returns
    -------
    BatchResult

    Raises
    ------
    BatchAborted
        The first :data:`BREAKER` gradings all failed inside the grader.
    """
    started = time.perf_counter()
    Path(options.out).mkdir(parents=True, exist_ok=True)
    todo, done = plan(submissions, options)
    if on_plan is not None:
        on_plan(len(todo), done)
    result = BatchResult(total=len(submissions), skipped=done)
    if todo:
        _run_pool(todo, options, result, on_outcome)
    result.wall_time = time.perf_counter() - started
    return result


class _Pool:
    """The executor plus what is in flight, so that a dead worker process costs only its tasks.

    Submit at most 2 × jobs tasks ahead: a Ctrl-C or a sandbox failure then leaves few queued.
    When a worker process dies (the OS killed it, say), the executor is broken: it is replaced
    and the tasks that were in flight are submitted again; a task in flight at
    :data:`MAX_POOL_RESTARTS` deaths becomes an error row.
    """

    def __init__(self, todo: list[Task], options: BatchOptions):
        self.options = options
        self.queue = list(reversed(todo))  # pop() takes the next task
        self.window = 2 * max(1, options.jobs)
        self.executor = _executor(options)
        self.pending: dict[Future, Task] = {}
        self.deaths: dict[str, int] = {}

    def fill(self) -> None:
        while self.queue and len(self.pending) < self.window:
            task = self.queue.pop()
            self.pending[self.executor.submit(grade_task, task, self.options)] = task

    def finished(self) -> list[Outcome]:
        """Wait for at least one task; its outcome (an error row if the worker failed)."""
        done, _ = wait(set(self.pending), return_when=FIRST_COMPLETED)
        outcomes, broken = [], False
        for future in done:
            task = self.pending.pop(future)
            try:
                outcomes.append(future.result())
            except BrokenExecutor:
                broken = True
                self._died(task, outcomes)
            except Exception as exc:  # grade_task raised after all: that student's error row
                detail = f"{type(exc).__name__}: {exc}"
                text = msg("batch_failed", self.options.lang, etype=type(exc).__name__)
                record_failure(task, self.options, text, traceback.format_exc())
                outcomes.append(
                    Outcome(task.student_id, store.GRADER_ERROR_STATUS, 0.0, 0.0, detail)
                )
        if broken:
            self._restart(outcomes)
        return outcomes

    def _died(self, task: Task, outcomes: list[Outcome]) -> None:
        self.deaths[task.student_id] = self.deaths.get(task.student_id, 0) + 1
        if self.deaths[task.student_id] < MAX_POOL_RESTARTS:
            self.queue.append(task)  # graded again first, in a fresh pool
            return
        detail = f"the grading worker process died {MAX_POOL_RESTARTS} times on this submission"
        text = msg("batch_failed", self.options.lang, etype="worker process died")
        record_failure(task, self.options, text, detail)
        outcomes.append(Outcome(task.student_id, store.GRADER_ERROR_STATUS, 0.0, 0.0, detail))

    def _restart(self, outcomes: list[Outcome]) -> None:
        """Replace a broken executor; the tasks it still held were in flight at this death too.

        The old executor is shut down first (its queued tasks cancelled, any still running
        finished), so no task is ever graded by two executors at once.
        """
        self.executor.shutdown(wait=True, cancel_futures=True)
        for future, task in list(self.pending.items()):
            if future.cancelled():
                self.queue.append(task)
                continue
            try:
                outcomes.append(future.result())
            except Exception:
                self._died(task, outcomes)
        self.pending.clear()
        self.executor = _executor(self.options)

    def close(self, *, wait_for_workers: bool) -> None:
        if wait_for_workers:
            self.executor.shutdown(wait=True)
        else:
            self.executor.shutdown(wait=False, cancel_futures=True)


def _run_pool(
    todo: list[Task],
    options: BatchOptions,
    result: BatchResult,
    on_outcome: Callable[[Outcome], None] | None,
) -> None:
    pool = _Pool(todo, options)
    breaker = _Breaker(options)
    try:
        while True:
            pool.fill()
            if not pool.pending:
                break
            for outcome in pool.finished():
                result.outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
            breaker.check(result.outcomes)
    except BaseException:
        pool.close(wait_for_workers=False)
        raise
    pool.close(wait_for_workers=True)


class _Breaker:
    """Stops the batch when the grader itself is broken, and only then.

    :data:`BREAKER` grader errors before any submission got through the sandbox are a reason to
    suspect the grader, not a proof: hostile or broken submissions that sort first can fail
    the same way. The probe (:func:`grader_works`) decides; once it passed, the batch runs to the
    end (later grader errors are error rows, regraded by the next run).
    """

    def __init__(self, options: BatchOptions):
        self.options = options
        self.cleared = False

    def check(self, outcomes: list[Outcome]) -> None:
        if self.cleared:
            return
        failed = [o for o in outcomes if o.status == store.GRADER_ERROR_STATUS]
        through = [o for o in outcomes if o.status in (store.GRADED, store.LOAD_FAILED)]
        if through:
            self.cleared = True
            return
        if len(failed) < BREAKER:
            return
        problem = grader_works(self.options)
        if problem is None:
            self.cleared = True
            return
        raise BatchAborted(
            f"the grader failed on the first {len(failed)} submissions ({failed[0].detail}) "
            f"and on a trivial one ({problem}); check the sandbox with `bpgrade doctor`, then "
            "rerun (those rows are regraded)"
        )


def default_jobs() -> int:
    """One grading slot per CPU: each slot keeps one sandboxed child busy."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
