"""The batch's output folder: one folder per student, ``results.json`` written last.

::

    OUT/students/<slug>/feedback.md
    OUT/students/<slug>/feedback.html
    OUT/students/<slug>/grader_error.txt   (only when the grader itself failed; instructor-only)
    OUT/students/<slug>/results.json       (the commit marker)
    OUT/gradebook.csv
    OUT/report/index.html + *.png

Every file is written atomically (temp file + ``os.replace``), and ``results.json`` is written
after the feedback, so its presence means the student is completely done. A SIGKILL at any point
leaves either a finished student or no ``results.json`` (plus perhaps a stray ``.*.tmp`` file,
removed on the next run); the rerun grades exactly the students without one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.files import dump_json, write_atomic
from autograder.grading import CaseResult, GradeReport, PartResult
from autograder.intake import escaped, submission_digest
from autograder.report.gradescope import to_gradescope
from autograder.report.html import to_html
from autograder.report.markdown import to_markdown
from autograder.spec import Spec

STUDENTS = "students"
RESULTS = "results.json"
FEEDBACK_MD = "feedback.md"
FEEDBACK_HTML = "feedback.html"
GRADER_ERROR = "grader_error.txt"

# Row statuses. "graded": the code loaded and every case ran (whatever the score);
# "broken": the file could not be read as a submission; "load_failed": importing it failed
# (syntax error, exception, timeout at import); "grader_error": the grader raised.
GRADED, BROKEN, LOAD_FAILED, GRADER_ERROR_STATUS = "graded", "broken", "load_failed", "grader_error"
MISSING, PENDING = "missing", "pending"

# A fingerprint that could not be computed: never "done", so the submission is always graded.
UNKNOWN_FINGERPRINT = "error:"


@dataclass(frozen=True)
class BatchMeta:
    """What the batch adds to ``results.json`` under ``extra_data.batch``."""

    status: str
    submission: str
    fingerprint: str
    wall_time: float
    content: str = ""  # the submission's own hash (no configuration): regrade-diff's "it changed"


def student_dir(out: Path, slug: str) -> Path:
    return Path(out) / STUDENTS / slug


def fingerprint(path: Path | None, *, salt: str = "") -> str:
    """A hash of a submission's names and contents: a rerun regrades a changed submission.

    The submission is walked and read by :func:`autograder.intake.submission_digest`, the guarded
    reader's own rules: no link is followed, no FIFO or device opened, no recursion, and at most
    what a grading would read is read (a sparse file is hashed by its size and times). So no
    entry can block, crash or slow down the planning of a batch.

    Parameters
    ----------
    path : Path or None
        A file or folder (``None``: nothing submitted).
    salt : str
        The grading configuration (spec, language): changing it regrades everyone.

    Returns
    -------
    str
        ``sha256:<hex>``.
    """
    if path is None:
        return "sha256:none"
    digest = hashlib.sha256(salt.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(submission_digest(path).encode())
    return f"sha256:{digest.hexdigest()}"


def load_results(folder: Path) -> dict | None:
    """The student's ``results.json``, or ``None`` if absent or unreadable."""
    try:
        data = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def batch_meta(results: dict | None) -> dict:
    """``extra_data.batch`` of a results document (empty when absent)."""
    if not results:
        return {}
    meta = (results.get("extra_data") or {}).get("batch")
    return meta if isinstance(meta, dict) else {}


def is_done(folder: Path, fp: str) -> bool:
    """True when the student already has results for exactly this submission.

    A ``grader_error`` row is never done: the failure was the grader's, not the student's, so a
    rerun (after the fix) grades them again.
    """
    if fp.startswith(UNKNOWN_FINGERPRINT):
        return False
    meta = batch_meta(load_results(folder))
    return meta.get("fingerprint") == fp and meta.get("status") != GRADER_ERROR_STATUS


def clean_temp(folder: Path) -> None:
    """Remove temp files a killed run left behind (``write_atomic`` names them ``.*.tmp``)."""
    if folder.is_dir():
        for stray in folder.glob(".*.tmp"):
            stray.unlink(missing_ok=True)


def write_student(
    folder: Path, report: GradeReport, meta: BatchMeta, *, grader_error: str | None = None
) -> dict:
    """Write the student's feedback, then their ``results.json`` (last: the commit marker).

    Returns
    -------
    dict
        The results document written.
    """
    markdown, page, results = render_student(report, meta)
    write_rendered(folder, markdown, page, results, grader_error=grader_error)
    return results


def render_student(report: GradeReport, meta: BatchMeta) -> tuple[str, str, dict]:
    """``feedback.md``, ``feedback.html`` and the ``results.json`` document of one student.

    Separate from writing so that a remote worker (``grade-all --broker``) renders exactly what
    a local run writes.
    """
    # A file name that is not UTF-8 (GBK) is shown with its bytes escaped, never half-written.
    report = replace(
        report, student_id=escaped(report.student_id), submission=escaped(report.submission)
    )
    results = to_gradescope(report)
    results["extra_data"]["batch"] = {
        "status": meta.status,
        "submission": escaped(meta.submission),
        "fingerprint": meta.fingerprint,
        "wall_time": round(meta.wall_time, 4),
        "content": meta.content,
        "parts": {p.part: p.score for p in report.parts},
        "max_parts": {p.part: p.points for p in report.parts},
        "execution_time": report.execution_time,
    }
    return to_markdown(report), to_html(report), results


def write_rendered(
    folder: Path, markdown: str, page: str, results: dict, *, grader_error: str | None = None
) -> None:
    """Write rendered feedback files, ``results.json`` last (see the module docstring)."""
    clean_temp(folder)
    write_atomic(folder / FEEDBACK_MD, markdown)
    write_atomic(folder / FEEDBACK_HTML, page)
    if grader_error is not None:
        write_atomic(folder / GRADER_ERROR, grader_error)
    else:  # a regrade that worked: the old traceback no longer describes this result
        (folder / GRADER_ERROR).unlink(missing_ok=True)
    write_atomic(folder / RESULTS, dump_json(results))


def status_of(report: GradeReport) -> str:
    """Classify a report: ``grade_submission`` marks an unreadable file with tier ``"none"``."""
    if report.error is None:
        return GRADED
    return BROKEN if report.tier == "none" else LOAD_FAILED


def error_report(
    spec: Spec, student_id: str, submission: str, error: str, *, lang: str = "en"
) -> GradeReport:
    """A zero-score report for a submission the batch could not grade at all.

    Each part gets one failed pseudo-case carrying ``error``, so every rendering (text,
    Gradescope, Markdown, HTML, gradebook) shows the part as failed with the reason.
    """
    parts = []
    for p in spec.parts:
        case = CaseResult(
            case_id=f"{p.id}/submission",
            visibility="public",
            label="submission",
            passed=False,
            fraction=0.0,
            category="load_failed",
            message=error,
        )
        parts.append(PartResult(p.id, p.title_in(lang), p.points, 0.0, [case]))
    return GradeReport(
        student_id=student_id,
        submission=submission,
        score=0.0,
        max_score=sum(p.points for p in spec.parts),
        parts=parts,
        execution_time=0.0,
        tier="none",
        lang=lang,
        error=error,
    )
