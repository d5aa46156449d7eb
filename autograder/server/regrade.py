"""Class regrades: grade every finished submission again, show what changes, then publish.

A regrade's results are kept beside the published ones (``regrade_items.result_key``) until the
instructor publishes it; its jobs run at :data:`~autograder.server.queue.REGRADE_PRIORITY`, after
every live submission. Every finished submission is regraded, not only the counting one: under
"best" counts, any attempt may become the best.
"""

from __future__ import annotations

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


def summary(conn: sqlite3.Connection, course, regrade_id: int) -> dict | None:
    """Progress and, per student, the counting score before and after (changed students only)."""
    if not known_id(regrade_id):
        return None
    head = conn.execute("SELECT * FROM regrades WHERE id = ?", (regrade_id,)).fetchone()
    if head is None:
        return None
    items = conn.execute(
        "SELECT submission_id, result_key FROM regrade_items WHERE regrade_id = ?", (regrade_id,)
    ).fetchall()
    finished = sum(item["result_key"] is not None for item in items)
    override = {i["submission_id"]: i["result_key"] for i in items if i["result_key"] is not None}
    before = counting_scores(conn, course, head["homework"])
    after = counting_scores(conn, course, head["homework"], result_keys=override)
    changes = [
        {
            "student_id": student,
            "before": before.get(student),
            "after": after.get(student),
            "delta": round((after.get(student) or 0.0) - (before.get(student) or 0.0), 4),
        }
        for student in sorted(set(before) | set(after))
        if abs((after.get(student) or 0.0) - (before.get(student) or 0.0)) > 1e-9
    ]
    return {
        "id": regrade_id,
        "homework": head["homework"],
        "total": len(items),
        "finished": finished,
        "published": head["published_at"] is not None,
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


def counting_scores(
    conn: sqlite3.Connection, course, homework: str, result_keys: dict[int, str] | None = None
) -> dict[str, float | None]:
    """Each student's counting score, with ``result_keys`` standing in for published results."""
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
    for row in conn.execute(
        "SELECT id, student_id, submitted_at, status, result_key FROM submissions "
        "WHERE homework = ? ORDER BY id",
        (homework,),
    ):
        score, max_score = scores.get(override.get(row["id"], row["result_key"]), (None, None))
        attempts.setdefault(row["student_id"], []).append(
            Attempt(row["id"], row["submitted_at"], row["status"], score, max_score)
        )
    return {student: standing(policy, student, mine).score for student, mine in attempts.items()}
