"""The live gradebook and a student's history (autograder/server/gradebook.py)."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from autograder.server import db
from autograder.server.course import Course, CourseError, init_course, load_course
from autograder.server.gradebook import (
    COLUMNS,
    GradebookRow,
    gradebook_rows,
    history,
    student_attempts,
    to_csv,
)
from autograder.server.policy import DAY, Attempt, refusal, standing

DUE = 1_797_350_340.0  # 2026-12-15T23:59:00+08:00 = 15:59:00Z
ROSTER = "id,name,email\ns001,Ada,ada@x.org\ns002,Bo,\ns003,Cy,\ns004,Di,\n"


@pytest.fixture
def course(tmp_path) -> Course:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    init_course(tmp_path / "c", tmp_path / "roster.csv")
    (tmp_path / "c" / "course.toml").write_text(
        "[homeworks.backprop]\n"
        "due = 2026-12-15T23:59:00+08:00\n"
        "late_penalty_per_day = 0.1\n"
        'counts = "best"\n'
        "[homeworks.other]\n",
        encoding="utf-8",
    )
    return load_course(tmp_path / "c")


@pytest.fixture
def conn(course):
    connection = db.connect(course.db_path)
    yield connection
    connection.close()


def submit(
    conn,
    student: str,
    after_due: float,
    status: str = "done",
    score: float | None = None,
    *,
    homework: str = "backprop",
    max_score: float = 100.0,
) -> int:
    """Insert a submission (and, with a score, its published result) as the server would."""
    cur = conn.execute(
        "INSERT INTO submissions(student_id, homework, filename, sha256, size, lang, "
        "submitted_at, status) VALUES (?, ?, 'nn.py', 'x', 1, 'en', ?, ?)",
        (student, homework, DUE + after_due, status),
    )
    sid = int(cur.lastrowid)
    if score is not None:
        key = f"sha{sid}:v1:seed:en"
        conn.execute(
            "INSERT INTO results(key, sha256, grader_version, seed_id, lang, score, max_score, "
            "outcome, results_json, feedback_html, created_at) "
            "VALUES (?, ?, 'v1', 'seed', 'en', ?, ?, 'graded', '{}', '', 0)",
            (key, f"sha{sid}", score, max_score),
        )
        conn.execute("UPDATE submissions SET result_key = ? WHERE id = ?", (key, sid))
    return sid


def row(conn, course, student: str, homework: str = "backprop") -> GradebookRow:
    return next(r for r in gradebook_rows(conn, course, homework) if r.student_id == student)


def with_policy(course: Course, **changes) -> Course:
    policy = dataclasses.replace(course.homeworks["backprop"], **changes)
    return dataclasses.replace(course, homeworks={**course.homeworks, "backprop": policy})


def test_every_roster_student_has_a_row_submitted_or_not(conn, course):
    submit(conn, "s002", -DAY, score=80)
    rows = gradebook_rows(conn, course, "backprop")
    assert [r.student_id for r in rows] == ["s001", "s002", "s003", "s004"]
    assert rows[0] == GradebookRow(
        student_id="s001",
        name="Ada",
        email="ada@x.org",
        status="missing",
        score=None,
        max_score=100.0,  # the homework's maximum, from its spec
        raw_score=None,
        late_days=0,
        attempts=0,
        last_submission="",
        submission_id=None,
    )


@pytest.mark.parametrize(
    "attempts, status, score, raw, late, n, counting",
    [
        ([], "missing", None, None, 0, 0, None),
        ([(-DAY, "done", 80)], "graded", 80, 80, 0, 1, 1),
        ([(-DAY, "done", 60), (-1, "done", 90), (0, "done", 70)], "graded", 90, 90, 0, 3, 2),
        ([(-DAY, "done", 80), (1, "done", 85)], "graded", 80, 80, 0, 2, 1),  # 85 late: 76.5
        ([(-DAY, "done", 60), (DAY + 1, "done", 100)], "graded", 80, 100, 2, 2, 2),
        ([(-DAY, "superseded", None), (-1, "done", 50)], "graded", 50, 50, 0, 1, 2),
        ([(-DAY, "done", 50), (-1, "queued", None)], "graded", 50, 50, 0, 2, 1),
        ([(-DAY, "queued", None)], "pending", None, None, 0, 1, None),
        ([(-DAY, "error", None), (-1, "grading", None)], "pending", None, None, 0, 1, None),
        ([(-DAY, "error", None), (-1, "superseded", None)], "error", None, None, 0, 0, None),
    ],
)
def test_row_applies_the_policy(conn, course, attempts, status, score, raw, late, n, counting):
    ids = [submit(conn, "s003", at, st, sc) for at, st, sc in attempts]
    r = row(conn, course, "s003")
    assert (r.status, r.score, r.raw_score, r.late_days, r.attempts) == (
        status,
        score,
        raw,
        late,
        n,
    )
    assert r.submission_id == (None if counting is None else ids[counting - 1])


def test_a_superseded_attempt_with_a_result_never_counts(conn, course):
    submit(conn, "s001", -DAY, "superseded", 100)
    submit(conn, "s001", -1, "done", 40)
    assert (row(conn, course, "s001").score, row(conn, course, "s001").attempts) == (40, 1)


@pytest.mark.parametrize("counts, expected", [("best", 90), ("last", 30)])
def test_best_or_last(conn, course, counts, expected):
    submit(conn, "s001", -3 * DAY, score=90)
    submit(conn, "s001", -DAY, score=30)
    assert row(conn, with_policy(course, counts=counts), "s001").score == expected


def test_an_extension_changes_the_row_at_once(conn, course):
    submit(conn, "s002", 2 * DAY, score=100)
    assert (row(conn, course, "s002").score, row(conn, course, "s002").late_days) == (80, 2)
    extended = with_policy(course, extensions={"s002": DUE + 2 * DAY})
    assert (row(conn, extended, "s002").score, row(conn, extended, "s002").late_days) == (100, 0)


def test_rows_are_per_homework(conn, course):
    submit(conn, "s001", -DAY, score=70, homework="other")
    assert row(conn, course, "s001").status == "missing"
    assert row(conn, course, "s001", "other").score == 70


def test_last_submission_is_iso_utc(conn, course):
    submit(conn, "s001", -DAY, score=70)
    submit(conn, "s001", 90.4, "error")
    assert row(conn, course, "s001").last_submission == "2026-12-15T16:00:30Z"


def test_unknown_homework_is_a_course_error(conn, course):
    with pytest.raises(CourseError, match="no homework"):
        gradebook_rows(conn, course, "nope")


def test_history_lists_every_attempt_and_the_one_that_counts(conn, course):
    a = submit(conn, "s001", -DAY, score=60)
    b = submit(conn, "s001", -60, "superseded")
    c = submit(conn, "s001", DAY, score=90)
    d = submit(conn, "s001", 2 * DAY, "error")
    submit(conn, "s002", 0, score=100)
    assert history(conn, course, "backprop", "s001") == [
        {"id": a, "submitted_at": "2026-12-14T15:59:00Z", "status": "done", "score": 60.0,
         "max_score": 100.0, "late_days": 0, "penalized_score": 60.0, "counts": False},
        {"id": b, "submitted_at": "2026-12-15T15:58:00Z", "status": "superseded", "score": None,
         "max_score": None, "late_days": 0, "penalized_score": None, "counts": False},
        {"id": c, "submitted_at": "2026-12-16T15:59:00Z", "status": "done", "score": 90.0,
         "max_score": 100.0, "late_days": 1, "penalized_score": 81.0, "counts": True},
        {"id": d, "submitted_at": "2026-12-17T15:59:00Z", "status": "error", "score": None,
         "max_score": None, "late_days": 2, "penalized_score": None, "counts": False},
    ]  # fmt: skip


def test_history_of_a_student_without_submissions_is_empty(conn, course):
    assert history(conn, course, "backprop", "s004") == []


def test_csv_has_a_header_and_one_line_per_student(conn, course):
    submit(conn, "s002", DAY, score=100)
    lines = list(csv.reader(io.StringIO(to_csv(gradebook_rows(conn, course, "backprop")))))
    assert lines[0] == list(COLUMNS)
    # The provenance columns (tier, grader version, ...) are blank without a graded attempt.
    assert (
        lines[1]
        == ["s001", "Ada", "ada@x.org", "missing", "", "100", "", "0", "0", "", ""] + [""] * 8
    )
    assert lines[2][:10] == ["s002", "Bo", "", "graded", "90", "100", "100", "1", "1",
                             "2026-12-16T15:59:00Z"]  # fmt: skip
    assert len(lines) == 5


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]
)
def test_csv_defuses_spreadsheet_formulas(tmp_path: Path, text):
    r = GradebookRow(text, text, text, "graded", 1.0, 2.0, 1.0, 0, 1, "", 7)
    cells = list(csv.reader(io.StringIO(to_csv([r]), newline="")))[1]
    assert cells[:3] == ["'" + text] * 3


def test_csv_keeps_ordinary_text_as_it_is():
    r = GradebookRow("s001", "张三", "a@b.cn", "graded", 93.5, 100.0, 93.5, 0, 2, "", 3)
    cells = list(csv.reader(io.StringIO(to_csv([r]), newline="")))[1]
    assert cells[:11] == [
        "s001",
        "张三",
        "a@b.cn",
        "graded",
        "93.5",
        "100",
        "93.5",
        "0",
        "2",
        "",
        "3",
    ]


def test_student_attempts_feed_the_attempt_limit(conn, course):
    policy = dataclasses.replace(course.homeworks["backprop"], max_attempts=2)
    a = submit(conn, "s001", -DAY, score=60)
    submit(conn, "s002", -DAY, score=60)
    b = submit(conn, "s001", -60, "superseded")
    mine = student_attempts(conn, "backprop", "s001")
    assert mine == [
        Attempt(a, DUE - DAY, "done", 60.0, 100.0),
        Attempt(b, DUE - 60, "superseded", None, None),
    ]
    assert refusal(policy, "s001", DUE, standing(policy, "s001", mine).attempts) is None
    submit(conn, "s001", -30, "queued")
    mine = student_attempts(conn, "backprop", "s001")
    assert refusal(policy, "s001", DUE, standing(policy, "s001", mine).attempts) is not None
