"""``bpgrade export lms``: files each LMS imports as they are, checked against fixtures.

The fixtures (tests/fixtures/lms/) follow each LMS's documented examples: a Canvas gradebook
export as the roster and Canvas's import header with its ``Points Possible`` row; a Moodle user
export and a Moodle CSV import with one identifier column; a Blackboard Original Work Offline file
(quoted, ``Username`` plus ``<Column> [Total Pts: N Score] |<columnId>``). Each written file is
parsed back with the csv module and compared with its fixture, header and rows.

The class: s001 graded 95, s002 graded 72.5, s003's file was broken (0, a grade), s004 hit a
grader error (no grade), s005 on the roster without a submission, s999 graded but not on the
roster.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.graded import load_graded
from autograder.integrations.lms import ExportError, LmsOptions, export_lms

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lms"
CLASS = {
    "s001": ("graded", 95.0),
    "s002": ("graded", 72.5),
    "s003": ("broken", 0.0),
    "s004": ("grader_error", 0.0),
    "s999": ("graded", 80.0),
}


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
def batch_folder(tmp_path) -> Path:
    out = tmp_path / "graded"
    for student, (status, score) in CLASS.items():
        folder = out / "students" / student
        folder.mkdir(parents=True)
        doc = {
            "score": score,
            "tests": [],
            "extra_data": {
                "student_id": student,
                "max_score": 100.0,
                "batch": {"status": status, "parts": {}, "max_parts": {}},
            },
        }
        (folder / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return out


CASES = [
    ("canvas.csv", "roster_canvas.csv",
     LmsOptions("canvas", assignment_id="12345", id_column="SIS Login ID")),
    ("moodle.csv", "roster_moodle.csv",
     LmsOptions("moodle", identifier="email", id_column="ID number")),
    ("blackboard.csv", "roster_blackboard.csv",
     LmsOptions("blackboard", column_id="409586", id_column="Student ID")),
]  # fmt: skip


@pytest.mark.parametrize(("expected", "roster", "options"), CASES)
def test_each_format_matches_its_fixture(batch_folder, expected, roster, options):
    text, _ = export_lms(load_graded(batch_folder), FIXTURES / roster, options)
    got, want = _rows(text), _rows(_fixture(expected))
    assert got[0] == want[0]  # the header, exactly
    assert got[1:] == want[1:]


def test_blackboard_quotes_every_value(batch_folder):
    options = LmsOptions("blackboard", column_id="409586", id_column="Student ID")
    text, _ = export_lms(load_graded(batch_folder), FIXTURES / "roster_blackboard.csv", options)
    assert text == _fixture("blackboard.csv").replace("\n", "\r\n").replace("\r\r", "\r")


@pytest.mark.parametrize(("expected", "roster", "options"), CASES)
def test_nothing_is_dropped_silently(batch_folder, expected, roster, options):
    _, summary = export_lms(load_graded(batch_folder), FIXTURES / roster, options)
    assert summary.not_on_roster == ["s999"]
    assert summary.no_submission == ["s005"]
    assert summary.not_scored == [("s004", "grader_error")]
    assert (summary.written, summary.scored) == (5, 3)
    text = "\n".join(summary.lines(options.missing))
    assert "s999" in text and "s005" in text and "s004 (grader_error)" in text


def test_missing_students_can_be_given_zero(batch_folder):
    options = LmsOptions("moodle", identifier="email", id_column="ID number", missing="zero")
    text, _ = export_lms(load_graded(batch_folder), FIXTURES / "roster_moodle.csv", options)
    assert dict(_rows(text)[1:])["ed@uni.edu"] == "0"


@pytest.mark.parametrize(
    ("options", "roster", "warning"),
    [
        (LmsOptions("canvas", id_column="SIS Login ID"), "roster_canvas.csv",
         "Canvas will create a NEW assignment"),
        (LmsOptions("blackboard", id_column="Student ID"), "roster_blackboard.csv",
         "new TEXT column worth 0 points"),
    ],
)  # fmt: skip
def test_a_missing_column_id_is_warned_about(batch_folder, options, roster, warning):
    text, summary = export_lms(load_graded(batch_folder), FIXTURES / roster, options)
    assert any(warning in w for w in summary.warnings)
    assert _rows(text)[0][-1] in (
        "Backpropagation ex4",
        "Backpropagation ex4 [Total Pts: 100 Score]",
    )


@pytest.mark.parametrize(
    ("options", "roster", "problem"),
    [
        (LmsOptions("canvas", feedback=True), "roster_canvas.csv", "--feedback is for Moodle"),
        (LmsOptions("canvas", id_column="nope"), "roster_canvas.csv", "no column 'nope'"),
        (LmsOptions("moodle", identifier="username", id_column="ID number"), "roster_moodle.csv",
         "no 'username' column"),
        (LmsOptions("blackboard", id_column="ID number"), "roster_moodle.csv", "by Username"),
        (LmsOptions("canvas", id_column="ID number"), "roster_moodle.csv", "SIS Login ID"),
    ],
)  # fmt: skip
def test_a_roster_the_format_cannot_use_is_refused(batch_folder, options, roster, problem):
    with pytest.raises(ExportError, match=problem):
        export_lms(load_graded(batch_folder), FIXTURES / roster, options)


# ---------------------------------------------------------------------------------------------
# From the course server: counting scores, late penalties
# ---------------------------------------------------------------------------------------------

DUE = datetime(2026, 12, 15, 23, 59, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def course_folder(tmp_path) -> Path:
    from autograder.server import db
    from autograder.server.course import init_course
    from autograder.server.queue import Result, SQLiteQueue
    from autograder.server.store import accept

    root = init_course(tmp_path / "course", FIXTURES / "roster_server.csv", name="ML").root
    (root / "course.toml").write_text(
        '[course]\nname = "ML"\nlang = "en"\n\n[server]\n\n[homeworks.backprop]\n'
        "due = 2026-12-15T23:59:00Z\nlate_penalty_per_day = 0.10\n",
        encoding="utf-8",
    )
    conn = db.connect(root / "course.db")
    queue = SQLiteQueue(conn)
    for student, when in (("s001", DUE - 3600), ("s002", DUE + 1.5 * 86400)):
        accept(conn, student_id=student, homework="backprop", filename="nn.py",
               sha256=student * 16, size=10, lang="en", now=when)  # fmt: skip
        job = queue.claim("w")
        doc = json.dumps({"score": 90.0, "tests": [], "extra_data": {"max_score": 100.0}})
        queue.complete(job, Result(student * 16, "v1", "seed", "en", 90.0, 100.0, "graded", doc,
                                   "<p>ok</p>"))  # fmt: skip
    conn.close()
    return root


def test_the_course_server_exports_counting_scores_with_late_penalties(course_folder, capsys):
    out = course_folder.parent / "moodle.csv"
    args = ["export", "lms", "--format", "moodle", str(course_folder), "--roster",
            str(FIXTURES / "roster_server.csv"), "--out", str(out), "--feedback"]  # fmt: skip
    assert main(args) == 0
    got = _rows(out.read_text(encoding="utf-8"))
    assert got == _rows(_fixture("moodle_server_feedback.csv"))
    err = capsys.readouterr().err
    assert "1 late penalties applied: s002 90 → 72 (2 day(s) late)" in err
    assert "1 roster students have no submission (left blank): s003" in err


def test_the_command_reports_an_unusable_folder(tmp_path, capsys):
    args = ["export", "lms", "--format", "canvas", str(tmp_path), "--roster",
            str(FIXTURES / "roster_canvas.csv"), "--out", str(tmp_path / "x.csv")]  # fmt: skip
    assert main(args) == 2
    assert "neither a grade-all output folder" in capsys.readouterr().err
