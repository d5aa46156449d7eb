"""Class regrades: grade every finished submission again, show what changes, then publish.

A regrade's results are kept beside the published ones (``regrade_items.result_key``) until the
instructor publishes it; its jobs run at :data:`~autograder.server.queue.REGRADE_PRIORITY`, after
every live submission. Every finished submission is regraded, not only the counting one: under
"best" counts, any attempt may become the best.
"""

from __future__ import annotations

import json
import sqlite3
import time

from autograder.messages import msg
from autograder.server.db import transaction
from autograder.server.queue import SQLiteQueue
from autograder.server.store import Refused, known_id


def start(conn: sqlite3.Connection, homework: str, lang: str = "en") -> int:
    """Queue a regrade of ``homework``; refused while an earlier one is unpublished."""
    queue = SQLiteQueue(conn)
    with transaction(conn):
        running = conn.execute(
            "SELECT id FROM regrades WHERE homework = ? AND published_at IS NULL", (homework,)
        ).fetchone()
        if running is not None:
            raise Refused(409, msg("server_regrade_running", lang, id=running["id"]))
        regrade_id = int(
            conn.execute(
                "INSERT INTO regrades(homework, created_at) VALUES (?, ?)", (homework, time.time())
            ).lastrowid
        )
        done = conn.execute(
            "SELECT id FROM submissions WHERE homework = ? AND status = 'done' ORDER BY id",
            (homework,),
        ).fetchall()
        for row in done:
            conn.execute(
                "INSERT INTO regrade_items(regrade_id, submission_id) VALUES (?, ?)",
                (regrade_id, row["id"]),
            )
            queue.enqueue(row["id"], regrade_id=regrade_id)
    return regrade_id


def head(conn: sqlite3.Connection, regrade_id: int) -> sqlite3.Row | None:
    """The regrade's own row (homework, times), or ``None`` for an id that names none."""
    if not known_id(regrade_id):
        return None
    return conn.execute("SELECT * FROM regrades WHERE id = ?", (regrade_id,)).fetchone()


def summary(conn: sqlite3.Connection, course, regrade_id: int) -> dict | None:
    """Progress and, per student, the counting score before and after (changed students only)."""
    row = head(conn, regrade_id)
    if row is None:
        return None
    items = conn.execute(
        "SELECT submission_id, result_key, error FROM regrade_items WHERE regrade_id = ?",
        (regrade_id,),
    ).fetchall()
    finished = sum(item["result_key"] is not None for item in items)
    failed = [item["submission_id"] for item in items if item["error"] is not None]
    override = {i["submission_id"]: i["result_key"] for i in items if i["result_key"] is not None}
    lang = getattr(course, "lang", "en")  # the reasons' language: the course's
    old = counting_results(conn, course, row["homework"])
    new = counting_results(conn, course, row["homework"], result_keys=override)
    before = {student: score for student, (score, _) in old.items()}
    after = {student: score for student, (score, _) in new.items()}
    changes = [
        {
            "student_id": student,
            "before": before.get(student),
            "after": after.get(student),
            "delta": round((after.get(student) or 0.0) - (before.get(student) or 0.0), 4),
            # Which parts moved and why (regrade_diff.explain on the counting attempts' results).
            **_why(
                conn, old.get(student, (None, None))[1], new.get(student, (None, None))[1], lang
            ),
        }
        for student in sorted(set(before) | set(after))
        if abs((after.get(student) or 0.0) - (before.get(student) or 0.0)) > 1e-9
    ]
    return {
        "id": regrade_id,
        "homework": row["homework"],
        "total": len(items),
        "finished": finished,
        # The grader failed on these (3 tries): they keep their published result.
        "failed": failed,
        "published": row["published_at"] is not None,
        "changes": changes,
        "unchanged": len(set(before) | set(after)) - len(changes),
    }


def publish(conn: sqlite3.Connection, regrade_id: int, lang: str = "en") -> None:
    """Make a finished regrade's results the published ones, all at once."""
    with transaction(conn):
        left = conn.execute(
            "SELECT COUNT(*) FROM regrade_items WHERE regrade_id = ? AND result_key IS NULL",
            (regrade_id,),
        ).fetchone()[0]
        if left:
            raise Refused(409, msg("server_regrade_unfinished", lang, id=regrade_id, left=left))
        conn.execute(
            "UPDATE submissions SET result_key = (SELECT result_key FROM regrade_items "
            "WHERE regrade_id = ? AND submission_id = submissions.id) "
            "WHERE id IN (SELECT submission_id FROM regrade_items WHERE regrade_id = ?)",
            (regrade_id, regrade_id),
        )
        conn.execute(
            "UPDATE regrades SET published_at = ? WHERE id = ? AND published_at IS NULL",
            (time.time(), regrade_id),
        )


def _why(conn: sqlite3.Connection, old_key: str | None, new_key: str | None, lang: str) -> dict:
    """``parts`` (part, before, after, delta, reasons) and ``reasons`` of one student's change."""
    from dataclasses import asdict

    from autograder.regrade_diff import explain

    parts, reasons = explain(_results_doc(conn, old_key), _results_doc(conn, new_key), lang)
    return {"parts": [asdict(p) for p in parts], "reasons": reasons}


def _results_doc(conn: sqlite3.Connection, key: str | None) -> dict | None:
    if key is None:
        return None
    row = conn.execute("SELECT results_json FROM results WHERE key = ?", (key,)).fetchone()
    try:
        return json.loads(row["results_json"])
    except (TypeError, ValueError):
        return None


def counting_scores(
    conn: sqlite3.Connection, course, homework: str, result_keys: dict[int, str] | None = None
) -> dict[str, float | None]:
    """Each student's counting score, with ``result_keys`` standing in for published results."""
    results = counting_results(conn, course, homework, result_keys)
    return {student: score for student, (score, _) in results.items()}


def counting_results(
    conn: sqlite3.Connection, course, homework: str, result_keys: dict[int, str] | None = None
) -> dict[str, tuple[float | None, str | None]]:
    """Each student's counting score and the key of the result it comes from."""
    from autograder.server.policy import Attempt, standing

    policy = course.homework(homework)
    override = result_keys or {}
    scores = {
        row["key"]: (row["score"], row["max_score"])
        for row in conn.execute(
            "SELECT key, score, max_score FROM results WHERE key IN (SELECT result_key FROM "
            "submissions WHERE homework = ?) OR key IN (SELECT result_key FROM regrade_items)",
            (homework,),
        )
    }
    attempts: dict[str, list[Attempt]] = {}
    keys: dict[int, str | None] = {}
    for row in conn.execute(
        "SELECT id, student_id, submitted_at, status, result_key FROM submissions "
        "WHERE homework = ? ORDER BY id",
        (homework,),
    ):
        keys[row["id"]] = override.get(row["id"], row["result_key"])
        score, max_score = scores.get(keys[row["id"]], (None, None))
        attempts.setdefault(row["student_id"], []).append(
            Attempt(row["id"], row["submitted_at"], row["status"], score, max_score)
        )
    out: dict[str, tuple[float | None, str | None]] = {}
    for student, mine in attempts.items():
        counted = standing(policy, student, mine)
        key = keys.get(counted.counting) if counted.counting is not None else None
        out[student] = (counted.score, key)
    return out
