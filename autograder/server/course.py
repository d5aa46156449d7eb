"""The course folder: ``bpgrade course init`` lays it out, the server loads it.

::

    DIR/course.toml            settings and per-homework policy (:func:`load_course` validates it)
    DIR/course.db              SQLite (:mod:`autograder.server.db`); tokens stored as sha256 hex
    DIR/secret                 course secret (hex), 0600; read only by grading workers
    DIR/session.key            cookie-signing key (hex), 0600
    DIR/tokens.csv             ``id,token`` for the instructor to hand out, 0600; never read back
    DIR/instructor_token.txt   0600
    DIR/uploads/               write-once uploads

Files holding secrets are created with mode 0600 by ``open(O_CREAT | O_EXCL)``: there is no moment
at which they exist with a wider mode, and an existing file (or a planted symbolic link) is never
overwritten.

Deadlines in course.toml must carry a UTC offset (``2026-12-15T23:59:00+08:00`` as a TOML datetime
or an ISO 8601 string, ``Z`` for UTC). A datetime without one is refused rather than guessed: the
server's time zone is not necessarily the course's.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import hmac
import io
import json
import math
import os
import re
import secrets
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from autograder.batch.discover import ID_COLUMNS, printable
from autograder.batch.gradebook import safe_cell
from autograder.intake import MAX_SOURCE_BYTES
from autograder.server import db
from autograder.server.policy import COUNTS, HomeworkPolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

COURSE_TOML, COURSE_DB, UPLOADS = "course.toml", "course.db", "uploads"
SECRET, SESSION_KEY = "secret", "session.key"
TOKENS_CSV, INSTRUCTOR_TOKEN = "tokens.csv", "instructor_token.txt"
INSTRUCTOR = "instructor"
_COURSE_FILES = (COURSE_TOML, COURSE_DB, SECRET, SESSION_KEY, TOKENS_CSV, INSTRUCTOR_TOKEN)
LANGS = ("en", "zh")

MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 200  # names, e-mail addresses, the course name
MAX_TOKEN_CHARS = 256
DEFAULT_HOMEWORK = "backprop"
# The roster's id column: "id" as documented, or what grade-all's rosters call it (not "email":
# a roster with an email column but no id column is a mistake, not a choice).
_ID_COLUMNS = ("id", *(c for c in ID_COLUMNS if c not in ("id", "email")))
_HOMEWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class CourseError(ValueError):
    """The course folder, its config or a roster is unusable; the message says what to fix."""


@dataclass(frozen=True)
class Student:
    """A roster line."""

    id: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to: ``role`` is ``"student"`` or ``"instructor"``."""

    role: str
    id: str


@dataclass(frozen=True)
class ServerSettings:
    """``[server]``: per-student uploads per minute, upload size cap, grading processes."""

    uploads_per_minute: int = 6
    max_upload_bytes: int = MAX_SOURCE_BYTES
    workers: int | None = None  # None: the CPU count


@dataclass(frozen=True)
class Course:
    """A loaded, validated course folder."""

    root: Path
    name: str
    lang: str
    server: ServerSettings
    homeworks: dict[str, HomeworkPolicy]

    @property
    def db_path(self) -> Path:
        return self.root / COURSE_DB

    @property
    def uploads_dir(self) -> Path:
        return self.root / UPLOADS

    @property
    def secret_path(self) -> Path:
        return self.root / SECRET

    @property
    def session_key_path(self) -> Path:
        return self.root / SESSION_KEY

    @property
    def tokens_path(self) -> Path:
        return self.root / TOKENS_CSV

    @property
    def instructor_token_path(self) -> Path:
        return self.root / INSTRUCTOR_TOKEN

    def homework(self, name: str) -> HomeworkPolicy:
        """The policy of homework ``name``; :class:`CourseError` if the course has none."""
        try:
            return self.homeworks[name]
        except KeyError:
            raise CourseError(f"the course has no homework {printable(name)!r}") from None


@dataclass(frozen=True)
class InitSummary:
    """What :func:`init_course` created."""

    root: Path
    students: int
    tokens_path: Path
    instructor_token_path: Path
    instructor_token: str


# ---------------------------------------------------------------------------------------------
# Creating a course
# ---------------------------------------------------------------------------------------------


def init_course(
    root: str | Path, roster_csv: str | Path, *, name: str | None = None
) -> InitSummary:
    """Create the course folder ``root`` for the students of ``roster_csv``.

    The roster is read and checked before anything is written. ``course.toml`` is written last,
    so a folder without one is not a course.

    Raises
    ------
    CourseError
        A bad roster or name, or ``root`` already holds a course (or any file this would create).
    """
    root = Path(root)
    students = read_roster(roster_csv)
    name = _check_text(root.resolve().name if name is None else name, "the course name") or "course"
    taken = [n for n in _COURSE_FILES if os.path.lexists(root / n)]
    if taken:
        raise CourseError(
            f"{root} already holds a course ({', '.join(taken)}); "
            "choose a new folder, or add students with: bpgrade course add-students"
        )
    root.mkdir(parents=True, exist_ok=True)
    _create(root / SECRET, secrets.token_hex(32) + "\n")
    _create(root / SESSION_KEY, secrets.token_hex(32) + "\n")
    tokens = [(s, new_token()) for s in students]
    instructor_token = new_token()
    # Names, e-mail addresses and grades: only the course owner reads them (SQLite gives its
    # -wal and -shm files the database file's mode).
    _create(root / COURSE_DB, "")
    conn = db.connect(root / COURSE_DB)
    try:
        with db.transaction(conn):
            _insert_students(conn, tokens)
            conn.execute(
                "INSERT INTO instructors(name, token_hash) VALUES (?, ?)",
                (INSTRUCTOR, hash_token(instructor_token)),
            )
    finally:
        conn.close()
    _create(root / TOKENS_CSV, _tokens_csv(tokens, header=True))
    _create(root / INSTRUCTOR_TOKEN, instructor_token + "\n")
    (root / UPLOADS).mkdir(mode=0o700, exist_ok=True)
    _create(root / COURSE_TOML, course_template(name), mode=0o644)
    return InitSummary(
        root, len(students), root / TOKENS_CSV, root / INSTRUCTOR_TOKEN, instructor_token
    )


def add_students(root: str | Path, roster_csv: str | Path) -> list[tuple[str, str]]:
    """Add the students of ``roster_csv`` to the course; returns their ``(id, token)`` pairs.

    Their tokens are appended to ``tokens.csv`` before the database commits, so a failure leaves
    neither a student without a written token nor (short of a failing commit) a dead token line.

    Raises
    ------
    CourseError
        A bad roster, or an id the course already has (nothing is added then).
    """
    course = load_course(root)
    students = read_roster(roster_csv)
    tokens = [(s, new_token()) for s in students]
    conn = db.connect(course.db_path)
    try:
        with db.transaction(conn):
            known = {
                row["id"].casefold(): row["id"] for row in conn.execute("SELECT id FROM students")
            }
            clash = [known[s.id.casefold()] for s in students if s.id.casefold() in known]
            if clash:
                shown = ", ".join(repr(printable(i)) for i in clash[:10])
                raise CourseError(
                    f"the course already has {len(clash)} of these students ({shown}); "
                    "remove them from the roster"
                )
            _insert_students(conn, tokens)
            _append_tokens(course.tokens_path, tokens)
    finally:
        conn.close()
    return [(s.id, token) for s, token in tokens]


def new_token() -> str:
    """A fresh access token: 192 random bits, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


def course_template(name: str) -> str:
    """The commented course.toml that ``bpgrade course init`` writes."""
    # json.dumps(ensure_ascii=False) escapes '"', '\\' and control characters as TOML does.
    return f"""\
# bpgrade course settings. Times need a UTC offset (+08:00, or Z for UTC).

[course]
name = {json.dumps(name, ensure_ascii=False)}
lang = "en"                       # default page and feedback language: en or zh

[server]
uploads_per_minute = 6            # per-student rate limit
max_upload_bytes = {MAX_SOURCE_BYTES}        # largest accepted upload
# workers = 2                     # grading processes (default: the CPU count)

[homeworks.{DEFAULT_HOMEWORK}]
# spec = "path/to/spec.toml"      # default: the bundled homework of this name
# due = 2026-12-15T23:59:00+08:00 # no due date: never late
late_penalty_per_day = 0.0        # fraction of the score lost per day (or part day) late
# cutoff = 2026-12-20T23:59:00+08:00  # no submission accepted after it
max_attempts = 0                  # 0 = unlimited (superseded ones and grader failures do not count)
counts = "best"                   # which attempt counts: "best" or "last"

[homeworks.{DEFAULT_HOMEWORK}.extensions]
# s001 = 2026-12-18T23:59:00+08:00  # this student's due date; their cutoff moves as much
"""


def _insert_students(conn: sqlite3.Connection, tokens: list[tuple[Student, str]]) -> None:
    conn.executemany(
        "INSERT INTO students(id, name, email, token_hash) VALUES (?, ?, ?, ?)",
        [(s.id, s.name, s.email, hash_token(token)) for s, token in tokens],
    )


def _tokens_csv(tokens: list[tuple[Student, str]], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(["id", "token"])
    # safe_cell: the instructor opens this file in a spreadsheet, and an id may start with "=".
    writer.writerows([safe_cell(s.id), token] for s, token in tokens)
    return buffer.getvalue()


def _create(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write a new file that is ``mode`` from its creation; never follows or replaces a file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise CourseError(f"{path} already exists; not overwriting it") from None
    _write_fd(fd, text)


def _append_tokens(path: Path, tokens: list[tuple[Student, str]]) -> None:
    """Append to tokens.csv (re-created 0600 with its header if the instructor removed it)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
        _write_fd(fd, _tokens_csv(tokens, header=os.fstat(fd).st_size == 0))
    except OSError as exc:
        raise CourseError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_fd(fd: int, text: str) -> None:
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


# ---------------------------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------------------------


def read_roster(path: str | Path) -> list[Student]:
    """Read a roster CSV with columns ``id,name,email`` (name and email may be empty).

    Column names are matched case-insensitively, extra columns are ignored; ``student_id``,
    ``sid`` or ``identifier`` may stand for ``id``. The text may be UTF-8 with or without a BOM,
    UTF-16 with a BOM, or GBK/GB18030 (Chinese Excel); the delimiter may be a comma, a tab or a
    semicolon (what Excel writes in some locales).

    Raises
    ------
    CourseError
        Naming the line: an empty, overlong, unprintable or repeated id (ids are compared
        case-insensitively), an unprintable name or e-mail, an unreadable file, or no students.
    """
    path = Path(path)
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise CourseError(f"cannot read roster {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CourseError(
            f"roster {path.name} is neither UTF-8 nor GBK text; save it as 'CSV UTF-8'"
        ) from None
    where = f"roster {path.name}"
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    try:
        students = _roster_rows(reader, where)
    except csv.Error as exc:
        raise CourseError(f"{where} line {reader.line_num}: {exc}") from None
    if not students:
        raise CourseError(f"{where} lists no students")
    return students


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")  # a superset of GBK: what Chinese Excel saves as "CSV"


def _delimiter(text: str) -> str:
    header = text.lstrip("\r\n").split("\n", 1)[0]
    return next((d for d in (",", "\t", ";") if d in header), ",")


def _roster_rows(reader: Any, where: str) -> list[Student]:
    header = next((row for row in reader if any(c.strip() for c in row)), None)
    if header is None:
        raise CourseError(f"{where} is empty; it needs a header line: id,name,email")
    columns = {c.strip().casefold(): i for i, c in reversed(list(enumerate(header)))}
    id_col = next((columns[c] for c in _ID_COLUMNS if c in columns), None)
    if id_col is None:
        raise CourseError(
            f"{where} line {reader.line_num}: no id column; the header must be id,name,email"
        )
    name_col, email_col = columns.get("name"), columns.get("email")
    students: list[Student] = []
    seen: dict[str, int] = {}
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        line = f"{where} line {reader.line_num}"
        student_id = _check_id(_cell(row, id_col), line)
        if student_id.casefold() in seen:
            raise CourseError(
                f"{line}: id {student_id!r} is already on line {seen[student_id.casefold()]}"
            )
        seen[student_id.casefold()] = reader.line_num
        name = _check_text(_cell(row, name_col), f"{line}: the name")
        email = _check_text(_cell(row, email_col), f"{line}: the email")
        students.append(Student(student_id, name, email))
    return students


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _check_id(student_id: str, line: str) -> str:
    if not student_id:
        raise CourseError(f"{line}: the id is empty")
    if not student_id.isprintable():
        raise CourseError(
            f"{line}: the id {printable(student_id)!r} holds a control or invisible character"
        )
    if len(student_id) > MAX_ID_CHARS:
        raise CourseError(
            f"{line}: the id {student_id[:20]!r}… is longer than {MAX_ID_CHARS} characters"
        )
    return student_id


def _check_text(text: str, what: str) -> str:
    if not text.isprintable():
        raise CourseError(f"{what} {printable(text)!r} holds a control or invisible character")
    if len(text) > MAX_TEXT_CHARS:
        raise CourseError(f"{what} is longer than {MAX_TEXT_CHARS} characters")
    return text


# ---------------------------------------------------------------------------------------------
# Loading course.toml
# ---------------------------------------------------------------------------------------------


_TOP_KEYS = ("course", "server", "homeworks")
_COURSE_KEYS = ("name", "lang")
_SERVER_KEYS = ("uploads_per_minute", "max_upload_bytes", "workers")
_HOMEWORK_KEYS = (
    "spec", "due", "late_penalty_per_day", "cutoff", "max_attempts", "counts", "extensions",
)  # fmt: skip


def load_course(root: str | Path) -> Course:
    """Load and validate ``root/course.toml``.

    Raises
    ------
    CourseError
        No course.toml, a TOML syntax error, an unknown key, a value of the wrong type or out of
        range (lang not en/zh, counts not best/last, a negative penalty, a cutoff before the due
        date, a datetime without a UTC offset, a spec file that does not exist).
    """
    root = Path(root)
    path = root / COURSE_TOML
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(
            f"{root} is not a course folder (no {COURSE_TOML}); "
            f"create one with: bpgrade course init {root} --roster roster.csv"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"cannot read {path}: {exc}") from None
    _known_keys(raw, _TOP_KEYS, "(top level)")
    course = _table(raw, "course", "[course]")
    _known_keys(course, _COURSE_KEYS, "[course]")
    server = _table(raw, "server", "[server]")
    _known_keys(server, _SERVER_KEYS, "[server]")
    lang = _string(course, "lang", "[course]", "en")
    if lang not in LANGS:
        raise CourseError(f"course.toml [course] lang must be one of {LANGS}, not {lang!r}")
    return Course(
        root=root,
        name=_check_text(_string(course, "name", "[course]", root.resolve().name), "[course] name"),
        lang=lang,
        server=ServerSettings(
            uploads_per_minute=_int(server, "uploads_per_minute", "[server]", 6, minimum=1),
            max_upload_bytes=_int(
                server, "max_upload_bytes", "[server]", MAX_SOURCE_BYTES, minimum=1
            ),
            workers=_int(server, "workers", "[server]", None, minimum=1),
        ),
        homeworks=_homeworks(raw, root),
    )


def _homeworks(raw: dict, root: Path) -> dict[str, HomeworkPolicy]:
    tables = _table(raw, "homeworks", "[homeworks]")
    if not tables:
        raise CourseError(
            f"course.toml has no homework; add a [homeworks.{DEFAULT_HOMEWORK}] table"
        )
    return {name: _homework(name, tables, root) for name in tables}


def _homework(name: str, tables: dict, root: Path) -> HomeworkPolicy:
    if not _HOMEWORK_NAME.fullmatch(name):
        raise CourseError(
            f"course.toml: homework name {printable(name)!r} must be letters, digits, '_', '.' "
            "or '-' (at most 64, starting with a letter or digit)"
        )
    where = f"[homeworks.{name}]"
    table = _table(tables, name, where)
    _known_keys(table, _HOMEWORK_KEYS, where)
    due = _time(table, "due", where)
    cutoff = _time(table, "cutoff", where)
    if due is not None and cutoff is not None and cutoff < due:
        raise CourseError(f"course.toml {where}: the cutoff is before the due date")
    penalty = _number(table, "late_penalty_per_day", where, 0.0)
    if not 0.0 <= penalty <= 1.0:
        raise CourseError(
            f"course.toml {where} late_penalty_per_day must be a fraction from 0 to 1 "
            f"(0.1 = 10% per day), not {penalty:g}"
        )
    counts = _string(table, "counts", where, "best")
    if counts not in COUNTS:
        raise CourseError(f"course.toml {where} counts must be one of {COUNTS}, not {counts!r}")
    return HomeworkPolicy(
        homework=name,
        spec=_spec_path(table, root, where, name),
        due=due,
        late_penalty_per_day=penalty,
        cutoff=cutoff,
        max_attempts=_int(table, "max_attempts", where, 0, minimum=0) or None,
        counts=counts,
        extensions=_extensions(table, due, f"[homeworks.{name}.extensions]"),
    )


def _extensions(table: dict, due: float | None, where: str) -> dict[str, float]:
    raw = _table(table, "extensions", where)
    if raw and due is None:
        raise CourseError(f"course.toml {where}: extensions need a due date for the homework")
    extensions = {}
    for student_id in raw:
        when = _time(raw, student_id, where)
        assert when is not None and due is not None
        if when < due:
            raise CourseError(
                f"course.toml {where} {printable(student_id)!r}: an extension is before the "
                "homework's due date"
            )
        extensions[student_id] = when
    return extensions


def _spec_path(table: dict, root: Path, where: str, name: str = "") -> str | None:
    """The homework's spec file: ``spec``, else the bundled homework of the same name, else None
    (the default homework, whose spec is also None when it is named)."""
    spec = _string(table, "spec", where, None)
    if spec is None:
        from autograder.homeworks import DEFAULT_HOMEWORK, homework_names, homework_spec_path

        bundled = name in homework_names() and name != DEFAULT_HOMEWORK
        return str(homework_spec_path(name)) if bundled else None
    path = (root / spec).resolve()
    if not path.is_file():
        raise CourseError(f"course.toml {where} spec: no file {path}")
    return str(path)


def _known_keys(table: dict, known: Iterable[str], where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise CourseError(
            f"course.toml {where}: unknown key {printable(unknown[0])!r} "
            f"(known: {', '.join(known)})"
        )


def _table(parent: dict, key: str, where: str) -> dict:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise CourseError(f"course.toml: {where} must be a table")
    return value


def _string(table: dict, key: str, where: str, default: str | None) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise CourseError(f"course.toml {where} {key} must be a string")
    return value


def _int(table: dict, key: str, where: str, default: int | None, minimum: int) -> Any:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CourseError(f"course.toml {where} {key} must be a whole number")
    if value < minimum:
        raise CourseError(f"course.toml {where} {key} must be at least {minimum}")
    return value


def _number(table: dict, key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CourseError(f"course.toml {where} {key} must be a number")
    return float(value)


def _time(table: dict, key: str, where: str) -> float | None:
    """A deadline as a POSIX timestamp: a TOML datetime or ISO 8601 string with an offset."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            # fromisoformat reads "Z" only from Python 3.11 on.
            value = datetime.fromisoformat(
                text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
            )
        except ValueError:
            raise CourseError(
                f"course.toml {where} {printable(key)}: {printable(text)!r} is not an ISO 8601 "
                "datetime such as 2026-12-15T23:59:00+08:00"
            ) from None
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else "not a datetime"
        raise CourseError(
            f"course.toml {where} {printable(key)} is {kind}; write it like "
            "2026-12-15T23:59:00+08:00"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise CourseError(
            f"course.toml {where} {printable(key)} has no UTC offset; add one, "
            "such as +08:00 (or Z for UTC)"
        )
    return value.timestamp()


# ---------------------------------------------------------------------------------------------
# Tokens and the secret
# ---------------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """The stored form of a token: its sha256, hex (tokens are random, so no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(conn: sqlite3.Connection, token: str) -> Principal | None:
    """Who ``token`` belongs to, or ``None``.

    A token that is not a non-empty ASCII string of at most :data:`MAX_TOKEN_CHARS` is refused
    without a database lookup. The lookup is by hash; the hashes are then compared with
    :func:`hmac.compare_digest`, so the answer does not leak through timing of the comparison.
    """
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS or not token.isascii():
        return None
    digest = hash_token(token)
    for role, table, column in (
        ("student", "students", "id"),
        ("instructor", "instructors", "name"),
    ):
        row = conn.execute(
            f"SELECT {column} AS id, token_hash FROM {table} WHERE token_hash = ?", (digest,)
        ).fetchone()
        if row is not None and hmac.compare_digest(row["token_hash"], digest):
            return Principal(role, row["id"])
    return None


def read_secret(course: Course) -> bytes:
    """The course secret (its hex text as bytes, as ``BPGRADE_SECRET_FILE`` would give it).

    Raises
    ------
    CourseError
        The file is missing or empty, or other users may read it (on POSIX).
    """
    path = course.secret_path
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            secret = f.read().strip()
    except OSError as exc:
        raise CourseError(f"cannot read the course secret {path}: {exc.strerror or exc}") from None
    if os.name == "posix" and mode & 0o077:
        raise CourseError(f"the course secret {path} is readable by others; run: chmod 600 {path}")
    if not secret:
        raise CourseError(f"the course secret {path} is empty")
    return secret
