"""The live gradebook: the course database read through each homework's policy.

Nothing here is stored: a row is recomputed from ``submissions`` and their published results
(``submissions.result_key``) every time, so a changed policy (an extension, a new due date) or a
published regrade shows at once, and no submission can be counted twice.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from autograder.batch.gradebook import PROVENANCE_COLUMNS, provenance_cells, safe_cell
from autograder.server.course import Course
from autograder.server.policy import (
    DONE,
    GRADING,
    QUEUED,
    Attempt,
    HomeworkPolicy,
    days_late,
    iso_utc,
    penalized,
    standing,
)
from autograder.spec import SpecError, load_spec

#: Row statuses: a counting attempt exists; only queued or grading ones; only failed or superseded
#: ones; no submission at all.
GRADED, PENDING, ERROR, MISSING = "graded", "pending", "error", "missing"

COLUMNS = (
    "student_id", "name", "email", "status", "score", "max_score", "raw_score", "late_days",
    "attempts", "last_submission", "submission_id",
    # What the counting grade was made with (results.json's extra_data.provenance).
    "tier", *PROVENANCE_COLUMNS,
)  # fmt: skip


@dataclass(frozen=True)
class GradebookRow:
    """One roster student's standing on a homework.

    ``score`` is the counting score after the late penalty, ``raw_score`` the counting attempt's
    score before it; ``last_submission`` is ISO 8601 UTC (``""`` if none).
    """

    student_id: str
    name: str
    email: str
    status: str
    score: float | None
    max_score: float | None
    raw_score: float | None
    late_days: int
    attempts: int
    last_submission: str
    submission_id: int | None
    provenance: dict = field(default_factory=dict, compare=False)


def attempts_of(conn: sqlite3.Connection, homework: str) -> dict[str, list[Attempt]]:
    """Every submission of ``homework`` with its published result, by student id."""
    by_student: dict[str, list[Attempt]] = {}
    for student_id, attempt in _attempts(conn, "s.homework = ?", (homework,)):
        by_student.setdefault(student_id, []).append(attempt)
    return by_student


def student_attempts(conn: sqlite3.Connection, homework: str, student_id: str) -> list[Attempt]:
    """One student's submissions of ``homework``, oldest first.

    For :func:`autograder.server.policy.refusal`: ``standing(policy, student_id,
    student_attempts(...)).attempts`` is the ``attempts_used`` it needs (call it in the
    transaction that inserts the new submission, so two uploads at once cannot both pass).
    """
    where = "s.homework = ? AND s.student_id = ?"
    return [attempt for _, attempt in _attempts(conn, where, (homework, student_id))]


def _attempts(conn: sqlite3.Connection, where: str, params: tuple) -> Iterator[tuple[str, Attempt]]:
    rows = conn.execute(
        "SELECT s.id, s.student_id, s.submitted_at, s.status, r.score, r.max_score "
        "FROM submissions AS s LEFT JOIN results AS r ON r.key = s.result_key "
        f"WHERE {where} ORDER BY s.id",
        params,
    )
    for r in rows:
        yield (
            r["student_id"],
            Attempt(r["id"], r["submitted_at"], r["status"], r["score"], r["max_score"]),
        )


def gradebook_rows(conn: sqlite3.Connection, course: Course, homework: str) -> list[GradebookRow]:
    """One row per roster student (sorted by id), those who never submitted included."""
    policy = course.homework(homework)
    attempts = attempts_of(conn, homework)
    spec_max = _spec_max_score(policy)
    rows = []
    for student in conn.execute("SELECT id, name, email FROM students ORDER BY id"):
        mine = attempts.get(student["id"], [])
        s = standing(policy, student["id"], mine)
        rows.append(
            GradebookRow(
                student_id=student["id"],
                name=student["name"],
                email=student["email"],
                status=_status(mine, graded=s.counting is not None),
                score=s.score,
                max_score=s.max_score if s.max_score is not None else spec_max,
                raw_score=s.raw_score,
                late_days=s.late_days,
                attempts=s.attempts,
                last_submission="" if s.last_submitted_at is None else iso_utc(s.last_submitted_at),
                submission_id=s.counting,
                provenance=_provenance(conn, s.counting),
            )
        )
    return rows


def _provenance(conn: sqlite3.Connection, submission_id: int | None) -> dict:
    """``extra_data.provenance`` of a submission's published result (empty if none)."""
    if submission_id is None:
        return {}
    row = conn.execute(
        "SELECT r.results_json FROM submissions AS s JOIN results AS r ON r.key = s.result_key "
        "WHERE s.id = ?",
        (submission_id,),
    ).fetchone()
    try:
        found = json.loads(row["results_json"])["extra_data"]["provenance"]
    except (TypeError, ValueError, KeyError):
        return {}
    return found if isinstance(found, dict) else {}


def history(
    conn: sqlite3.Connection, course: Course, homework: str, student_id: str
) -> list[dict[str, Any]]:
    """Every attempt of one student, oldest first, with what the policy makes of it.

    Each dict has ``id``, ``submitted_at`` (ISO 8601 UTC), ``status``, ``score``, ``max_score``,
    ``late_days``, ``penalized_score`` (``None`` until done) and ``counts`` (whether it is the
    attempt that counts).
    """
    policy = course.homework(homework)
    mine = student_attempts(conn, homework, student_id)
    counting = standing(policy, student_id, mine).counting
    return [
        {
            "id": a.submission_id,
            "submitted_at": iso_utc(a.submitted_at),
            "status": a.status,
            "score": a.score,
            "max_score": a.max_score,
            "late_days": days_late(policy, student_id, a.submitted_at),
            "penalized_score": (
                penalized(policy, student_id, a.score, a.submitted_at)
                if a.status == DONE and a.score is not None
                else None
            ),
            "counts": a.submission_id == counting,
        }
        for a in mine
    ]


def to_csv(rows: list[GradebookRow]) -> str:
    """``gradebook.csv``: student-controlled cells cannot run as spreadsheet formulas."""
    buffer = io.StringIO()
    # RFC 4180's CRLF: the writer then also quotes a cell holding a bare "\r".
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                safe_cell(r.student_id),
                safe_cell(r.name),
                safe_cell(r.email),
                r.status,
                _number(r.score),
                _number(r.max_score),
                _number(r.raw_score),
                r.late_days,
                r.attempts,
                r.last_submission,
                "" if r.submission_id is None else r.submission_id,
                safe_cell(r.provenance.get("tier") or ""),
                *(safe_cell(v) for v in provenance_cells(r.provenance)),
            ]
        )
    return buffer.getvalue()


def _status(attempts: list[Attempt], *, graded: bool) -> str:
    if graded:
        return GRADED
    if not attempts:
        return MISSING
    return PENDING if any(a.status in (QUEUED, GRADING) for a in attempts) else ERROR


def _spec_max_score(policy: HomeworkPolicy) -> float | None:
    """The homework's maximum, for the rows of students with no graded attempt."""
    try:
        return load_spec(policy.spec).max_score
    except SpecError:
        return None


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
