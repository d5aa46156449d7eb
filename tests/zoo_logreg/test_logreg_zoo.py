"""The logreg bug zoo: every classic mistake is caught and named, no correct alternative loses a point.

Every submission runs through the real sandboxed runner, graded as the ``logreg`` homework, which the
grader infers from the functions each file defines (nothing here passes the spec).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from autograder.grading import GradeReport, grade_submission
from autograder.homeworks import infer_homework, load_homework
from autograder.homeworks.logreg import misconceptions as mc
from tests.zoo_logreg.logreg_zoo_table import (
    CORRECT,
    CORRECT_ALTERNATIVES,
    HOMEWORK,
    SECRET,
    STUDENT_ID,
    SUBMISSIONS,
    ZOO,
)

SPEC = load_homework(HOMEWORK)


@functools.cache
def _grade(path: Path) -> GradeReport:
    assert infer_homework(path) == HOMEWORK
    return grade_submission(path, student_id=STUDENT_ID, secret=SECRET, spec=SPEC)


def _losing_parts(report: GradeReport) -> set[str]:
    return {p.part for p in report.parts if p.score < p.points - 1e-9}


@pytest.mark.parametrize("stem, tag, parts", ZOO, ids=[row[0] for row in ZOO])
def test_zoo_submission_is_caught_and_named(stem, tag, parts):
    report = _grade(SUBMISSIONS / f"{stem}.py")
    assert report.error is None, report.error
    assert _losing_parts(report) == parts
    for part in report.parts:
        if part.part in parts:
            assert tag in part.misconceptions, (part.part, part.misconceptions)


@pytest.mark.parametrize("stem", CORRECT_ALTERNATIVES)
def test_correct_alternative_keeps_full_marks(stem):
    report = _grade(CORRECT / f"{stem}.py")
    assert report.error is None, report.error
    lost = {
        p.part: [c.message for c in p.cases if not c.passed] for p in report.parts if not p.passed
    }
    assert report.score == report.max_score, lost


def test_the_catalog_is_covered_by_the_zoo():
    assert {tag for _, tag, _ in ZOO} == set(mc.by_tag())
    assert {f"{stem}.py" for stem, _, _ in ZOO} == {p.name for p in SUBMISSIONS.glob("*.py")}


def test_a_wrong_sigmoid_is_named_as_the_cause_of_the_cost_failing():
    """support.py's sigmoid replaces the student's: costFunction is then right, and told so."""
    report = _grade(SUBMISSIONS / "sigmoid_sign.py")
    cost = next(p for p in report.parts if p.part == "costFunction")
    assert any("sigmoid" in note for note in cost.notes), cost.notes
