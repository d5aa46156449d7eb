"""Gradebook files that Canvas, Moodle and Blackboard Original import as they are.

``bpgrade export lms --format canvas|moodle|blackboard GRADED --roster roster.csv --out FILE``.
GRADED is a ``grade-all`` output folder or a course folder (:func:`autograder.graded.load_graded`;
for the course server, each student's counting score after late penalties). The roster says who
is in the LMS course and under which LMS identities; the instructor's own export from the LMS
works as it is (its ``Student``/``ID``/``SIS Login ID``/``Username``/``Email address`` columns are
recognised), plus one column holding the bpgrade student id (``--id-column``).

Formats (headers exact; see docs/DESIGN.md, "LMS exports"):

- **Canvas** (Grades → Import): ``Student,ID,SIS User ID,SIS Login ID,Section,<Assignment> (<id>)``,
  then Canvas's ``    Points Possible`` row. Without ``--assignment-id`` Canvas creates a new
  assignment, which the summary warns about.
- **Moodle** (Grades → Import → CSV file): one identifier column (``useridnumber``, ``username``
  or ``email``: the names of Moodle's "Map from" choices), the grade, and with ``--feedback`` a
  feedback column.
- **Blackboard Original** (Grade Center → Work Offline → Upload): ``Username`` and
  ``<Column> [Total Pts: N Score] |<columnId>``, every value quoted. Without ``--column-id``
  Blackboard creates a text column worth 0 points, which the summary warns about.

Nothing is dropped silently: graded students missing from the roster, roster students with no
submission, late penalties and grades that are not scores (a grader error, a pending
submission) are each listed in :class:`ExportSummary`, which the command prints to stderr.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch import store
from autograder.batch.gradebook import safe_cell
from autograder.graded import GradedClass, GradedStudent
from autograder.messages import msg

FORMATS = ("canvas", "moodle", "blackboard")
MOODLE_IDENTIFIERS = ("useridnumber", "username", "email")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS = "    Points Possible"  # as Canvas's own export writes it (four spaces)
BLACKBOARD_USERNAME = "Username"
MISSING_BLANK, MISSING_ZERO = "blank", "zero"

# Roster columns recognised for each LMS field (compared case-insensitively, spaces and
# underscores alike): the LMS's own export headers first, then plain names.
ALIASES = {
    "Student": ("Student", "name", "full name"),
    "ID": ("ID", "canvas id", "canvas_id", "lms id"),
    "SIS User ID": ("SIS User ID", "sis_user_id", "sis id"),
    "SIS Login ID": ("SIS Login ID", "sis_login_id", "login"),
    "Section": ("Section", "section"),
    "useridnumber": ("useridnumber", "idnumber", "ID number", "id_number"),
    "username": ("username", "Username", "user name"),
    "email": ("email", "Email address", "useremail", "e-mail"),
    "Username": ("Username", "username", "user name"),
}
#: Roster columns tried for the bpgrade student id when ``--id-column`` is not given.
ID_COLUMNS = ("student_id", "bpgrade_id", "id")
#: Statuses whose score is a grade (a broken file or a failed import earns 0 on its merits).
SCORED = (store.GRADED, store.BROKEN, store.LOAD_FAILED)


class ExportError(ValueError):
    """The roster or the options cannot make a file the LMS would accept."""


@dataclass(frozen=True)
class LmsOptions:
    """How to write the file.

    Attributes
    ----------
    fmt : {"canvas", "moodle", "blackboard"}
    assignment : str
        The LMS column's name.
    assignment_id : str
        Canvas: the assignment's id (``<Assignment> (<id>)``); empty creates a new assignment.
    column_id : str
        Blackboard: the Grade Center column id (``|<id>``); empty creates a text column.
    id_column : str or None
        The roster column holding bpgrade student ids (default: :data:`ID_COLUMNS`).
    identifier : {"useridnumber", "username", "email"}
        Moodle: the column users are matched by.
    feedback : bool
        Moodle: add a feedback column (score, late penalty).
    missing : {"blank", "zero"}
        A roster student without a submission: no grade (the LMS keeps what it has) or 0.
    lang : str
        Language of the feedback column.
    """

    fmt: str
    assignment: str = "Backpropagation ex4"
    assignment_id: str = ""
    column_id: str = ""
    id_column: str | None = None
    identifier: str = "username"
    feedback: bool = False
    missing: str = MISSING_BLANK
    lang: str = "en"


@dataclass
class ExportSummary:
    """What the file holds and what it could not: printed to stderr by the command."""

    written: int = 0
    scored: int = 0
    not_on_roster: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)
    not_scored: list[tuple[str, str]] = field(default_factory=list)  # (id, status)
    late: list[tuple[str, float, float, int]] = field(
        default_factory=list
    )  # (id, raw, score, days)
    no_identity: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self, missing: str) -> list[str]:
        """The summary as text lines (ids shown as they are in the gradebook)."""
        out = [f"{self.written} roster students written, {self.scored} with a score"]
        if self.not_on_roster:
            out.append(
                f"{len(self.not_on_roster)} graded students are not on the roster and are NOT "
                f"in the file: {', '.join(self.not_on_roster)}"
            )
        if self.no_submission:
            what = "written as 0" if missing == MISSING_ZERO else "left blank"
            out.append(
                f"{len(self.no_submission)} roster students have no submission ({what}): "
                f"{', '.join(self.no_submission)}"
            )
        if self.not_scored:
            shown = ", ".join(f"{s} ({status})" for s, status in self.not_scored)
            out.append(f"{len(self.not_scored)} students have no score yet (left blank): {shown}")
        if self.late:
            shown = ", ".join(
                f"{s} {raw:g} → {score:g} ({days} day(s) late)" for s, raw, score, days in self.late
            )
            out.append(f"{len(self.late)} late penalties applied: {shown}")
        if self.no_identity:
            out.append(
                f"{len(self.no_identity)} roster rows have no LMS identity and will not match: "
                f"{', '.join(self.no_identity)}"
            )
        return out + [f"warning: {w}" for w in self.warnings]


# ---------------------------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", " ")


def read_roster(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """The roster's header and rows (UTF-8, with or without a BOM; Canvas's points row skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read roster {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h for h in (reader.fieldnames or []) if h is not None]
    if not header:
        raise ExportError(f"roster {path} is empty")
    rows = []
    for row in reader:
        first = (row.get(header[0]) or "").strip()
        if first in ("Points Possible", "Muted"):  # a Canvas export's extra rows
            continue
        rows.append({k: (v or "").strip() for k, v in row.items() if k is not None})
    return header, rows


def find_column(header: list[str], wanted: str) -> str | None:
    """The roster column that holds the LMS field ``wanted`` (see :data:`ALIASES`)."""
    by_norm = {_norm(h): h for h in header}
    for alias in ALIASES.get(wanted, (wanted,)):
        if _norm(alias) in by_norm:
            return by_norm[_norm(alias)]
    return None


def id_column(header: list[str], chosen: str | None) -> str:
    """The roster column holding bpgrade student ids."""
    by_norm = {_norm(h): h for h in header}
    for name in (chosen,) if chosen else ID_COLUMNS:
        if _norm(name) in by_norm:
            return by_norm[_norm(name)]
    tried = chosen or " or ".join(ID_COLUMNS)
    raise ExportError(
        f"the roster has no column {tried!r} with bpgrade student ids; name it with --id-column "
        f"(roster columns: {', '.join(header)})"
    )


# ---------------------------------------------------------------------------------------------
# The grades
# ---------------------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A score as an LMS reads it: at most two decimals, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@dataclass
class _Line:
    """One roster student's grade cell (and feedback)."""

    roster: dict[str, str]
    student_id: str
    grade: str
    feedback: str


def _grades(
    graded: GradedClass, header: list[str], rows: list[dict[str, str]], options: LmsOptions
) -> tuple[list[_Line], ExportSummary, float]:
    key = id_column(header, options.id_column)
    summary = ExportSummary()
    on_roster: set[str] = set()
    lines = []
    for row in rows:
        student_id = row.get(key, "")
        on_roster.add(student_id)
        student = graded.students.get(student_id)
        grade, feedback = _grade_of(student_id, student, summary, options)
        lines.append(_Line(row, student_id, grade, feedback))
    summary.not_on_roster = sorted(
        s
        for s, st in graded.students.items()
        if s not in on_roster and st.status not in ("missing",)
    )
    summary.written = len(lines)
    summary.scored = sum(1 for line in lines if line.grade != "")
    return lines, summary, _points(graded)


def _grade_of(
    student_id: str, student: GradedStudent | None, summary: ExportSummary, options: LmsOptions
) -> tuple[str, str]:
    if student is None or student.status == "missing":
        summary.no_submission.append(student_id)
        if options.missing == MISSING_ZERO:
            return "0", msg("lms_feedback_missing", options.lang)
        return "", ""
    if student.score is None or student.status not in SCORED:
        summary.not_scored.append((student_id, student.status))
        return "", ""
    feedback = msg(
        "lms_feedback", options.lang, score=_num(student.score), max=_num(student.max_score or 0)
    )
    if student.penalty > 0 and student.raw_score is not None:
        summary.late.append((student_id, student.raw_score, student.score, student.late_days))
        feedback += " " + msg(
            "lms_feedback_late",
            options.lang,
            days=student.late_days,
            raw=_num(student.raw_score),
            score=_num(student.score),
        )
    return _num(student.score), feedback


def _points(graded: GradedClass) -> float:
    found = [s.max_score for s in graded.students.values() if s.max_score]
    if found:
        return max(found)
    from autograder.spec import load_spec

    return load_spec().max_score


# ---------------------------------------------------------------------------------------------
# The three formats
# ---------------------------------------------------------------------------------------------


def _csv(rows: list[list[str]], *, quote_all: bool = False) -> str:
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=quoting)
    writer.writerows(rows)
    return buffer.getvalue()


def _canvas(
    lines: list[_Line], header: list[str], points: float, options: LmsOptions, summary
) -> str:
    columns = {name: find_column(header, name) for name in CANVAS_COLUMNS}
    if not any(columns[c] for c in ("ID", "SIS User ID", "SIS Login ID")):
        raise ExportError(
            "Canvas matches students by ID, SIS User ID or SIS Login ID: the roster has none of "
            "them (start from Canvas's own gradebook export)"
        )
    title = options.assignment
    if options.assignment_id:
        title = f"{title} ({options.assignment_id})"
    else:
        summary.warnings.append(
            "no --assignment-id: Canvas will create a NEW assignment named "
            f"{options.assignment!r} instead of filling an existing one"
        )
    out = [[*CANVAS_COLUMNS, title], [CANVAS_POINTS, "", "", "", "", f"{points:.2f}"]]
    for line in lines:
        cells = [line.roster.get(columns[c], "") if columns[c] else "" for c in CANVAS_COLUMNS]
        if not any(cells[1:4]):
            summary.no_identity.append(line.student_id)
        cells[0] = safe_cell(cells[0])  # a name is free text: never a formula
        out.append([*cells, line.grade])
    return _csv(out)


def _moodle(lines: list[_Line], header: list[str], options: LmsOptions, summary) -> str:
    if options.identifier not in MOODLE_IDENTIFIERS:
        raise ExportError(f"Moodle identifies users by one of {', '.join(MOODLE_IDENTIFIERS)}")
    column = find_column(header, options.identifier)
    if column is None:
        raise ExportError(
            f"the roster has no {options.identifier!r} column for Moodle to match users by "
            f"(roster columns: {', '.join(header)})"
        )
    head = [options.identifier, options.assignment]
    if options.feedback:
        head.append(f"{options.assignment} (feedback)")
    out = [head]
    for line in lines:
        identity = line.roster.get(column, "")
        if not identity:
            summary.no_identity.append(line.student_id)
        row = [identity, line.grade]
        if options.feedback:
            row.append(safe_cell(line.feedback))
        out.append(row)
    return _csv(out)


def _blackboard(
    lines: list[_Line], header: list[str], points: float, options: LmsOptions, summary
) -> str:
    column = find_column(header, BLACKBOARD_USERNAME)
    if column is None:
        raise ExportError(
            f"Blackboard matches students by Username: the roster has no such column "
            f"(roster columns: {', '.join(header)})"
        )
    title = f"{options.assignment} [Total Pts: {points:g} Score]"
    if options.column_id:
        title += f" |{options.column_id}"
    else:
        summary.warnings.append(
            "no --column-id: Blackboard will create a new TEXT column worth 0 points, not "
            "usable in totals until edited"
        )
    out = [[BLACKBOARD_USERNAME, title]]
    for line in lines:
        username = line.roster.get(column, "")
        if not username:
            summary.no_identity.append(line.student_id)
        out.append([username, line.grade])
    return _csv(out, quote_all=True)


def export_lms(
    graded: GradedClass, roster: str | Path, options: LmsOptions
) -> tuple[str, ExportSummary]:
    """The file's text and its summary.

    Raises
    ------
    ExportError
        Unknown format, a roster without the columns the format needs, an option that format
        does not have.
    """
    if options.fmt not in FORMATS:
        raise ExportError(f"unknown LMS format {options.fmt!r} (one of {', '.join(FORMATS)})")
    if options.feedback and options.fmt != "moodle":
        raise ExportError(
            "--feedback is for Moodle only (Canvas and Blackboard do not import comments "
            "from a CSV grade file)"
        )
    header, rows = read_roster(roster)
    lines, summary, points = _grades(graded, header, rows, options)
    if options.fmt == "canvas":
        text = _canvas(lines, header, points, options, summary)
    elif options.fmt == "moodle":
        text = _moodle(lines, header, options, summary)
    else:
        text = _blackboard(lines, header, points, options, summary)
    return text, summary
