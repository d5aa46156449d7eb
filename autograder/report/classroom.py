"""GitHub Classroom's autograding result (``classroom-resources/autograding-grading-reporter``).

The reporter reads ``<ID>_RESULTS`` = base64 of ``{version: 1, status, max_score, tests: [...]}``
and adds up ``tests[].score`` against ``max_score``. One test per part carries the part's partial
score, so the points shown in Classroom equal bpgrade's total.
"""

from __future__ import annotations

import base64
import json

from autograder.grading import GradeReport, PartResult

PASS, FAIL, ERROR = "pass", "fail", "error"


def _message(part: PartResult) -> str:
    lines = [f"{c.label}: {c.message}" for c in part.cases if not c.passed]
    lines += part.notes
    return "\n".join(lines) or f"all {len(part.cases)} cases passed"


def _test(part: PartResult, duration_ms: int, filename: str) -> dict:
    return {
        "name": f"{part.part}: {part.title} ({part.score:g}/{part.points:g})",
        "status": PASS if part.passed else FAIL,
        "score": part.score,
        "message": _message(part),
        "test_code": part.part,
        "filename": filename,
        "line_no": 0,
        "duration": duration_ms,
    }


def to_classroom(report: GradeReport, *, filename: str = "") -> dict:
    """The reporter's result document for one graded submission.

    Parameters
    ----------
    report : GradeReport
    filename : str
        The graded file, shown by the reporter next to each test.

    Returns
    -------
    dict
        ``status`` is ``pass`` at full marks, ``error`` when the submission could not be loaded,
        else ``fail``. ``duration`` is in milliseconds, as the command grader reports it.
    """
    per_part = int(1000 * report.execution_time / max(1, len(report.parts)))
    if report.error:
        status = ERROR
    else:
        status = PASS if report.score >= report.max_score - 1e-9 else FAIL
    return {
        "version": 1,
        "status": status,
        "max_score": report.max_score,
        "tests": [_test(p, per_part, filename) for p in report.parts],
    }


def encode_result(document: dict) -> str:
    """``base64(JSON)``, the value of the step output ``result``."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
