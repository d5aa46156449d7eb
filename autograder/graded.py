"""A graded class read back from disk: ``grade-all``'s output folder or a course server's folder.

Both LMS exports (:mod:`autograder.integrations.lms`) and ``bpgrade regrade-diff``
(:mod:`autograder.regrade_diff`) read grades through :func:`load_graded`, so they see the same
students and scores:

- a ``grade-all`` folder (``OUT/students/*/results.json``): each student's score as graded;
- a course folder (``course.toml`` + ``course.db``): the server's gradebook, i.e. each roster
  student's *counting* attempt under the homework's policy, with its late penalty applied
  (``score``) beside the score before it (``raw_score``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.batch import store


class GradedError(ValueError):
    """The folder is not a graded class; the message says what was expected."""


@dataclass
class GradedStudent:
    """One student's grade as read back.

    Attributes
    ----------
    student_id : str
    status : str
        ``graded``, ``broken``, ``load_failed``, ``grader_error`` (grade-all) or ``graded``,
        ``pending``, ``error``, ``missing`` (server).
    score : float or None
        The score that counts (after any late penalty); ``None`` when there is none.
    raw_score : float or None
        The graded score before the late penalty.
    max_score : float or None
    late_days : int
    parts : dict
        Part id to points earned.
    part_max : dict
        Part id to points possible.
    provenance : dict
        ``extra_data.provenance`` of the results (see :mod:`autograder.provenance`).
    batch : dict
        ``extra_data.batch`` (grade-all only).
    name, email : str
        From the server's roster (empty for grade-all).
    """

    student_id: str
    status: str
    score: float | None
    raw_score: float | None
    max_score: float | None
    late_days: int = 0
    parts: dict[str, float] = field(default_factory=dict)
    part_max: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    batch: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    email: str = ""

    @property
    def penalty(self) -> float:
        """Points taken by the late policy (0 when none)."""
        if self.score is None or self.raw_score is None:
            return 0.0
        return round(self.raw_score - self.score, 4)


@dataclass
class GradedClass:
    """Every student of a graded folder, by id, and where they came from."""

    source: str  # "grade-all" | "server"
    path: Path
    homework: str
    students: dict[str, GradedStudent]


def is_course_folder(path: Path) -> bool:
    return (Path(path) / "course.toml").is_file()


def load_graded(path: str | Path, *, homework: str | None = None) -> GradedClass:
    """Read a ``grade-all`` output folder or a course folder.

    Parameters
    ----------
    path : str or Path
    homework : str, optional
        The course server's homework (default: its only one, else ``backprop``); ignored for a
        ``grade-all`` folder.

    Raises
    ------
    GradedError
        ``path`` is neither.
    """
    path = Path(path)
    if is_course_folder(path):
        return _load_course(path, homework)
    if (path / store.STUDENTS).is_dir():
        return _load_batch(path)
    raise GradedError(
        f"{path} is neither a grade-all output folder (students/*/results.json) "
        "nor a course folder (course.toml)"
    )


def parts_of(results: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Points earned and possible per part, from a results document.

    ``extra_data.batch`` has them by part id; otherwise each Gradescope test is named
    ``"<part>: <title>"``.
    """
    meta = store.batch_meta(results)
    if isinstance(meta.get("parts"), dict) and isinstance(meta.get("max_parts"), dict):
        return (
            {str(k): float(v) for k, v in meta["parts"].items()},
            {str(k): float(v) for k, v in meta["max_parts"].items()},
        )
    earned, possible = {}, {}
    for test in results.get("tests") or []:
        if not isinstance(test, dict):
            continue
        part = str(test.get("name", "")).split(":", 1)[0]
        earned[part] = float(test.get("score") or 0.0)
        possible[part] = float(test.get("max_score") or 0.0)
    return earned, possible


def provenance_of(results: dict[str, Any]) -> dict[str, Any]:
    found = (results.get("extra_data") or {}).get("provenance")
    return found if isinstance(found, dict) else {}


def _load_batch(path: Path) -> GradedClass:
    students: dict[str, GradedStudent] = {}
    for folder in sorted((path / store.STUDENTS).iterdir()):
        results = store.load_results(folder) if folder.is_dir() else None
        if results is None:
            continue
        extra = results.get("extra_data") or {}
        student_id = str(extra.get("student_id") or folder.name)
        parts, part_max = parts_of(results)
        score = float(results.get("score") or 0.0)
        meta = store.batch_meta(results)
        students[student_id] = GradedStudent(
            student_id=student_id,
            status=str(meta.get("status") or store.GRADED),
            score=score,
            raw_score=score,
            max_score=_float(extra.get("max_score")),
            parts=parts,
            part_max=part_max,
            provenance=provenance_of(results),
            batch=meta,
        )
    return GradedClass("grade-all", path, "", students)


def _load_course(path: Path, homework: str | None) -> GradedClass:
    from autograder.server import db
    from autograder.server.course import CourseError, load_course
    from autograder.server.gradebook import gradebook_rows

    try:
        course = load_course(path)
    except CourseError as exc:
        raise GradedError(str(exc)) from None
    if homework is None:
        homework = next(iter(course.homeworks)) if len(course.homeworks) == 1 else "backprop"
    if homework not in course.homeworks:
        known = ", ".join(sorted(course.homeworks))
        raise GradedError(f"the course has no homework {homework!r} (it has: {known})")
    if not course.db_path.is_file():
        raise GradedError(f"{course.db_path} does not exist: nothing was submitted yet")
    conn = db.connect(course.db_path)
    try:
        students = {}
        for row in gradebook_rows(conn, course, homework):
            results = _results_of(conn, row.submission_id)
            parts, part_max = parts_of(results) if results else ({}, {})
            students[row.student_id] = GradedStudent(
                student_id=row.student_id,
                status=row.status,
                score=row.score,
                raw_score=row.raw_score,
                max_score=row.max_score,
                late_days=row.late_days,
                parts=parts,
                part_max=part_max,
                provenance=provenance_of(results) if results else {},
                name=row.name,
                email=row.email,
            )
    finally:
        conn.close()
    return GradedClass("server", path, homework, students)


def _results_of(conn, submission_id: int | None) -> dict[str, Any] | None:
    if submission_id is None:
        return None
    row = conn.execute(
        "SELECT r.results_json FROM submissions AS s JOIN results AS r ON r.key = s.result_key "
        "WHERE s.id = ?",
        (submission_id,),
    ).fetchone()
    try:
        data = json.loads(row["results_json"])
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
