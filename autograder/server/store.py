"""Submissions in the course database: accepting an upload, and what a student may see of one.

Uploads are stored once per content (``uploads/<sha256>.py|.ipynb``, written atomically) and
read back through the guarded reader (:func:`autograder.submission.load_source`) before they are
accepted, so a file the grader could not read is refused at the door with the grader's own
message. Accepting is one transaction: the same student's queued submission for the same homework
is superseded, the new one is recorded and its job queued.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from autograder.files import write_atomic
from autograder.intake import escaped
from autograder.messages import msg
from autograder.server.db import transaction
from autograder.server.queue import SQLiteQueue

SUFFIXES = (".py", ".ipynb")
MAX_SHOWN_NAME = 120
#: SQLite's largest rowid: a larger id in a URL names no row (and would overflow the query).
MAX_ROW_ID = 2**63 - 1
#: Statuses the HTTP API shows: superseded submissions show as "error" with ``superseded_by``.
API_STATUS = {"queued": "queued", "grading": "grading", "done": "done", "error": "error"}


class Refused(Exception):
    """A request the server will not serve: ``status`` is the HTTP status, ``text`` the reason
    (in the caller's language). The API answers it as ``{"detail": text}``."""

    def __init__(
        self,
        status: int,
        text: str,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(text)
        self.status, self.text, self.retry_after = status, text, retry_after
        self.headers = dict(headers or {})
        if retry_after:
            self.headers["Retry-After"] = str(retry_after)


def upload_suffix(filename: str, lang: str) -> str:
    """``.py`` or ``.ipynb`` from the uploaded file's name (nothing else of it is trusted)."""
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    if suffix not in SUFFIXES:
        raise Refused(400, msg("server_bad_file_type", lang, name=shown_name(filename)))
    return suffix


def shown_name(filename: str) -> str:
    """The uploaded name, printable and short: it is only ever displayed (escaped again as HTML).

    Controls, NUL and bidirectional overrides are written as escapes (they would garble or
    disguise the name on a page or a terminal). A shortened name keeps its suffix: the worker
    tells a notebook from a module by it.
    """
    name = escaped(Path(filename.replace("\\", "/")).name or "?")
    name = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)
    if len(name) <= MAX_SHOWN_NAME:
        return name
    suffix = Path(name).suffix
    suffix = suffix if len(suffix) <= max(map(len, SUFFIXES)) else ""
    return name[: MAX_SHOWN_NAME - 1 - len(suffix)] + "…" + suffix


def known_id(row_id: int) -> bool:
    """Whether ``row_id`` can name a row at all (ids come from URLs: any integer)."""
    return 0 < row_id <= MAX_ROW_ID


def save_upload(
    uploads_dir: Path, data: bytes, filename: str, *, functions: set[str], lang: str
) -> str:
    """Store ``data`` under its sha256 and check the grader can read it; returns the sha256.

    Raises
    ------
    Refused
        Not a ``.py``/``.ipynb`` name, or the guarded reader refuses the file (its message).
    """
    from autograder.submission import SubmissionError, load_source

    suffix = upload_suffix(filename, lang)
    sha256 = hashlib.sha256(data).hexdigest()
    path = Path(uploads_dir) / f"{sha256}{suffix}"
    fresh = not path.exists()
    if fresh:
        write_atomic(path, data)
    try:
        load_source(path, functions=functions, lang=lang)
    except SubmissionError as exc:
        if fresh:
            path.unlink(missing_ok=True)
        raise Refused(400, str(exc)) from None
    return sha256


def accept(
    conn: sqlite3.Connection,
    *,
    student_id: str,
    homework: str,
    filename: str,
    sha256: str,
    size: int,
    lang: str,
    now: float,
    admit: Callable[[int], None] | None = None,
) -> int:
    """Record a submission and queue its grading, superseding the student's queued one.

    ``admit(attempts_used)`` runs inside the transaction and may raise :class:`Refused` (the
    attempt limit: two uploads at once cannot both take the last attempt).
    """
    queue = SQLiteQueue(conn)
    with transaction(conn):
        if admit is not None:
            admit(attempts_used(conn, student_id, homework))
        superseded = [
            row["id"]
            for row in conn.execute(
                "SELECT id FROM submissions WHERE student_id = ? AND homework = ? "
                "AND status = 'queued'",
                (student_id, homework),
            )
        ]
        for old in superseded:
            conn.execute(
                "DELETE FROM jobs WHERE submission_id = ? AND regrade_id IS NULL "
                "AND state = 'queued'",
                (old,),
            )
            conn.execute("UPDATE submissions SET status = 'superseded' WHERE id = ?", (old,))
        cur = conn.execute(
            "INSERT INTO submissions(student_id, homework, filename, sha256, size, lang, "
            "submitted_at, queued_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
            (student_id, homework, shown_name(filename), sha256, size, lang, now, time.time()),
        )
        submission_id = int(cur.lastrowid)
        queue.enqueue(submission_id)
    return submission_id


def attempts_used(conn: sqlite3.Connection, student_id: str, homework: str) -> int:
    """Submissions that count against an attempt limit (see :data:`policy.NOT_ATTEMPTS`)."""
    from autograder.server.policy import NOT_ATTEMPTS

    marks = ", ".join("?" * len(NOT_ATTEMPTS))
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM submissions WHERE student_id = ? AND homework = ? "
            f"AND status NOT IN ({marks})",
            (student_id, homework, *NOT_ATTEMPTS),
        ).fetchone()[0]
    )


def view(
    conn: sqlite3.Connection,
    course,
    submission_id: int,
    *,
    student_id: str | None,
    lang: str,
    results: bool = True,
    feedback: bool = False,
) -> dict | None:
    """A submission as the API shows it, or ``None`` if it is not ``student_id``'s to see.

    ``student_id=None`` is the instructor's view (any submission, and the grader's error text).
    """
    if not known_id(submission_id):
        return None
    row = conn.execute(
        "SELECT s.*, r.score, r.max_score, r.results_json, r.feedback_html, r.outcome "
        "FROM submissions s LEFT JOIN results r ON r.key = s.result_key WHERE s.id = ?",
        (submission_id,),
    ).fetchone()
    if row is None or (student_id is not None and row["student_id"] != student_id):
        return None
    return _view(
        conn,
        course,
        row,
        instructor=student_id is None,
        lang=lang,
        results=results,
        feedback=feedback,
    )


def views_for(conn: sqlite3.Connection, course, student_id: str, lang: str) -> list[dict]:
    """Every submission of ``student_id``, newest first (without the results objects)."""
    rows = conn.execute(
        "SELECT s.*, r.score, r.max_score, r.results_json, r.feedback_html, r.outcome "
        "FROM submissions s LEFT JOIN results r ON r.key = s.result_key "
        "WHERE s.student_id = ? ORDER BY s.id DESC",
        (student_id,),
    ).fetchall()
    return [_view(conn, course, row, instructor=False, lang=lang, results=False) for row in rows]


def _view(conn, course, row, *, instructor: bool, lang: str, results: bool, feedback: bool = False):
    from autograder.server import policy as policies

    status = row["status"]
    shown = {
        "id": row["id"],
        "homework": row["homework"],
        "student_id": row["student_id"],
        "filename": row["filename"],
        "status": API_STATUS.get(status, "error"),
        "position": SQLiteQueue(conn).position(row["id"]) if status == "queued" else None,
        "score": row["score"] if status == "done" else None,
        "max_score": row["max_score"] if status == "done" else None,
        "submitted_at": policies.iso_utc(row["submitted_at"]),
        "late_days": 0,
        "penalized_score": None,
        "error": None,
    }
    homework = course.homeworks.get(row["homework"])
    if homework is not None:
        shown["late_days"] = policies.days_late(homework, row["student_id"], row["submitted_at"])
        if status == "done":
            shown["penalized_score"] = policies.penalized(
                homework, row["student_id"], row["score"], row["submitted_at"]
            )
    if status == "superseded":
        later = conn.execute(
            "SELECT MIN(id) FROM submissions WHERE student_id = ? AND homework = ? AND id > ?",
            (row["student_id"], row["homework"], row["id"]),
        ).fetchone()[0]
        shown["superseded_by"] = later
        shown["error"] = msg("server_superseded", lang, id=later)
    elif status == "error":
        # The grader's own error text may quote hidden data: the instructor's eyes only.
        shown["error"] = row["error"] if instructor else msg("server_grading_failed", lang)
    if instructor:
        shown["phases"] = {
            name: row[f"{name}_at"] if name != "received" else row["submitted_at"]
            for name in ("received", "queued", "started", "graded", "stored")
        }
        shown["worker"] = row["worker"]
    if results:
        shown["results"] = json.loads(row["results_json"]) if status == "done" else None
    if feedback:
        shown["feedback_html"] = row["feedback_html"] if status == "done" else None
    return shown
