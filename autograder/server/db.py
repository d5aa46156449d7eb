"""The course database: one SQLite file in the course folder, the single source of truth.

Every connection runs in autocommit mode; writers take ``BEGIN IMMEDIATE`` so that a transaction
either happens whole or not at all, also when the process is SIGKILLed in the middle. WAL lets the
web server read while a worker commits. ``synchronous=FULL``: an accepted submission survives a
power cut as well as a crash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- token_hash: sha256 hex of the token (tokens are 192-bit random, so no slow hash is needed).
CREATE TABLE IF NOT EXISTS students (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS instructors (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE
);

-- One row per upload. status: queued | grading | done | error | superseded.
-- submitted_at is the server's clock (seconds since the epoch, UTC): the deadline policy uses it.
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student_id TEXT NOT NULL REFERENCES students(id),
    homework TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    lang TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    status TEXT NOT NULL,
    result_key TEXT REFERENCES results(key),
    error TEXT,
    -- The phases of the latest live grading (received is submitted_at): the instructor's view
    -- and the benchmarks show where the time went.
    queued_at REAL,
    started_at REAL,
    graded_at REAL,
    stored_at REAL,
    worker TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions(student_id, homework, id);

-- A job is one grading to do. state: queued | grading. A finished job is deleted in the same
-- transaction that stores its result (the acknowledgement). priority: lower runs first.
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    regrade_id INTEGER REFERENCES regrades(id),
    priority INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    worker TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_order ON jobs(state, priority, id);

-- Results are keyed by what determines them: a duplicate run writes nothing new.
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    seed_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    outcome TEXT NOT NULL,
    results_json TEXT NOT NULL,
    feedback_html TEXT NOT NULL,
    created_at REAL NOT NULL
);

-- A class regrade: new results are kept apart until the instructor publishes them.
CREATE TABLE IF NOT EXISTS regrades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    homework TEXT NOT NULL,
    created_at REAL NOT NULL,
    published_at REAL
);
CREATE TABLE IF NOT EXISTS regrade_items (
    regrade_id INTEGER NOT NULL REFERENCES regrades(id),
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    result_key TEXT REFERENCES results(key),
    error TEXT,  -- the grader failed on it: the published result is kept (result_key) and this says why
    PRIMARY KEY (regrade_id, submission_id)
);
"""


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (and create) the course database at ``path``.

    Returns
    -------
    sqlite3.Connection
        Autocommit mode, rows as :class:`sqlite3.Row`, WAL, foreign keys on.
    """
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(SCHEMA)
    _add_columns(conn)
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )
    return conn


#: Columns added after a table was first released: a course database made by an earlier
#: version gets them on its next connection (CREATE TABLE IF NOT EXISTS does not add columns).
ADDED_COLUMNS = {
    "submissions": {
        "queued_at": "REAL",
        "started_at": "REAL",
        "graded_at": "REAL",
        "stored_at": "REAL",
        "worker": "TEXT",
    },
    "regrade_items": {"error": "TEXT"},
}


def _add_columns(conn: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        with transaction(conn):  # two processes connecting at once add each column once
            have = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, declaration in columns.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
