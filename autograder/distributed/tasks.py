"""The ``bpgrade.grade`` task: a payload in, a result out, both JSON (:mod:`.payload`).

It runs in a ``bpgrade worker``'s pool process. The course (its secret, read from the worker's own
0600 file, and its specs) comes from :func:`configure`, called by the worker command before the
pool forks; each pool process boots one sandboxed zygote (:func:`on_process_init`) and forks every
submission's worker from it, as ``grade-all`` does. Student code runs only there, through
:func:`autograder.grading.grade_submission`.

Everything is deterministic given (submission, spec, grading code, secret, student, language):
running a job twice gives the same result, which is what makes at-least-once delivery harmless.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.distributed.payload import (
    BATCH,
    MODES,
    SERVER,
    VERSION,
    Payload,
    PayloadError,
    check_payload,
    error_result,
    laid_out,
)

log = logging.getLogger("bpgrade.worker")


@dataclass(frozen=True)
class WorkerContext:
    """What a worker grades with: its course (specs) and the course secret."""

    course: object  # autograder.server.course.Course
    secret: bytes
    tier: str = "auto"


_CONTEXT: WorkerContext | None = None


def configure(course_root: str | Path, *, tier: str = "auto") -> WorkerContext:
    """Load the worker's course and secret (refused if others may read it).

    ``course_root`` is the course folder, or its ``course.toml``.

    Raises
    ------
    autograder.server.course.CourseError
    """
    global _CONTEXT
    from autograder.server.course import load_course, read_secret

    root = Path(course_root)
    if root.is_file():
        root = root.parent
    course = load_course(root)
    _CONTEXT = WorkerContext(course, read_secret(course), tier)
    return _CONTEXT


def context() -> WorkerContext:
    if _CONTEXT is None:
        raise RuntimeError("this process is not a configured bpgrade worker")
    return _CONTEXT


def on_process_init(**_: object) -> None:
    """Celery's ``worker_process_init``: boot this pool process's zygote before the first job."""
    from autograder.harness.zygote import shared_zygote

    if _CONTEXT is not None:
        try:
            shared_zygote(_CONTEXT.tier)
        except Exception:  # the first job boots it again, and reports why it cannot
            log.exception("could not boot the sandbox zygote")


def worker_id(hostname: str | None) -> str:
    return f"celery:{hostname or socket.gethostname()}:{os.getpid()}"


def grade(task, payload: dict) -> dict:
    """The task body (bound: ``task.request`` names the worker). Never raises for a job's fault.

    Returns
    -------
    dict
        A result document, or :func:`~.payload.error_result` when the payload is invalid, this
        worker has no copy of the spec, or the grader itself failed (the sender retries those).
    """
    worker = worker_id(getattr(task.request, "hostname", None))
    mode = payload.get("mode") if isinstance(payload, dict) else None
    mode = mode if mode in MODES else SERVER
    log.info("start task=%s", getattr(task.request, "id", "?"))
    try:
        checked = check_payload(payload)
    except PayloadError as exc:
        return error_result(mode, worker, f"invalid payload: {exc}")
    try:
        return grade_payload(checked, worker)
    except Exception:  # the grader's failure, not the student's: for the instructor's eyes
        return error_result(mode, worker, traceback.format_exc(limit=8))
    finally:
        log.info("end task=%s", getattr(task.request, "id", "?"))


def find_spec(ctx: WorkerContext, homework: str, digest: str) -> Path | None:
    """This worker's spec file whose digest is ``digest``: the homework's own first."""
    from autograder.provenance import file_digest
    from autograder.spec import DEFAULT_SPEC

    homeworks = ctx.course.homeworks
    ordered = [homeworks[homework]] if homework in homeworks else []
    ordered += [h for name, h in homeworks.items() if name != homework]
    candidates = [Path(h.spec) for h in ordered if h.spec] + [Path(DEFAULT_SPEC)]
    for path in candidates:
        if file_digest(path) == digest:
            return path
    return None


def grade_payload(p: Payload, worker: str) -> dict:
    """Grade ``p`` in the sandbox and build the result document."""
    from autograder.batch.store import BatchMeta, render_student, status_of
    from autograder.grading import grade_submission
    from autograder.harness.zygote import shared_zygote
    from autograder.intake import escaped
    from autograder.provenance import grader_version, seed_id, spec_for
    from autograder.report.gradescope import to_gradescope
    from autograder.report.html import feedback_body

    ctx = context()
    spec_path = find_spec(ctx, p.homework, p.spec)
    if spec_path is None:
        return error_result(
            p.mode,
            worker,
            f"this worker's course has no spec with digest {p.spec} (homework "
            f"{p.homework!r}); give the worker the sender's course.toml and spec files",
        )
    version = grader_version(spec_path)
    spec = spec_for(str(spec_path), p.spec)
    started, clock = time.time(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bpgrade-task-") as tmp:
        target = _lay_out(Path(tmp) / "submission", p)
        report = grade_submission(
            target,
            student_id=p.student_id,
            spec=spec,
            secret=ctx.secret,
            lang=p.lang,
            tier=ctx.tier,
            zygote=shared_zygote(ctx.tier),
        )
    wall = time.perf_counter() - clock
    if p.shown:  # the name the sender's own run would show, not this worker's temp path
        report = replace(report, submission=escaped(p.shown))
    if p.warnings:
        report = replace(report, warnings=list(dict.fromkeys([*p.warnings, *report.warnings])))
    outcome = status_of(report)
    doc = {
        "v": VERSION,
        "mode": p.mode,
        "worker": worker[:200],
        "sha256": p.sha256,
        "grader_version": version,
        "seed_id": seed_id(ctx.secret, spec.name, p.student_id),
        "homework": p.homework,
        "lang": p.lang,
        "score": float(report.score),
        "max_score": float(report.max_score),
        "outcome": outcome,
        "fingerprint": p.fingerprint,
        "started_at": started,
        "graded_at": time.time(),
    }
    if p.mode == BATCH:
        name = Path(p.shown).name if p.shown else p.main.rsplit("/", 1)[-1]
        meta = BatchMeta(outcome, name, p.fingerprint, wall)
        doc["feedback_md"], doc["feedback_page"], doc["results"] = render_student(report, meta)
    else:
        doc["results"] = to_gradescope(report)
        doc["feedback_html"] = feedback_body(report)
    return doc


def _lay_out(root: Path, p: Payload) -> Path:
    """Write the submission below ``root`` (a new folder); the path to grade."""
    root.mkdir(mode=0o700)
    for parts, data in laid_out(p.main, p.data, p.files):
        path = root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as f:  # x: never through anything already there
            f.write(data)
    return root if p.folder else root / p.main
