"""Deadlines, late penalties and attempt rules: which score counts for a student.

Pure functions, no I/O. **Every time is a POSIX timestamp** (``float`` seconds since the epoch,
UTC), as ``submissions.submitted_at`` stores it and ``time.time()`` returns it; the course config's
datetimes are converted when :mod:`autograder.server.course` loads them, so arithmetic here never
meets a time zone.

Rules
-----
- A submission at or before the student's due date is on time. Each started day (24 h) after it is
  one late day: one second late is 1 day, exactly 24 h late is 1 day, 24 h + 1 s is 2 days.
- A late score is ``score * max(0, 1 - late_penalty_per_day * late_days)``.
- Submissions after the cutoff are refused (at the cutoff itself they are accepted).
- An extension replaces the student's due date and moves their cutoff by the same amount.
- Only ``done`` attempts can count; ``superseded``, ``error``, ``queued`` and ``grading`` never do.
  ``best``: the highest penalized score (the earliest on a tie). ``last``: the latest done attempt.
- Used attempts are all attempts except superseded ones (a resubmission that replaced a queued
  one did not use an attempt).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from autograder.messages import msg

DAY = 86400.0
COUNTS = ("best", "last")
#: Submission statuses (``submissions.status``); only DONE attempts have a score that can count.
QUEUED, GRADING, DONE, ERROR, SUPERSEDED = "queued", "grading", "done", "error", "superseded"
#: Submissions that do not use up an attempt: replaced while still queued, or failed by the grader
#: itself (a student's broken code ends "done" with its score, never "error").
NOT_ATTEMPTS = (SUPERSEDED, ERROR)

#: :func:`refusal` keys, also :mod:`autograder.messages` keys.
AFTER_CUTOFF = "submission_after_cutoff"
ATTEMPTS_USED_UP = "submission_attempts_used_up"


@dataclass(frozen=True)
class HomeworkPolicy:
    """One homework's rules, from ``[homeworks.NAME]`` in course.toml.

    Attributes
    ----------
    homework : str
        The homework's name (the table key).
    spec : str or None
        Path of its spec TOML (absolute once loaded); ``None`` for the bundled homework.
    due, cutoff : float or None
        POSIX timestamps; ``None`` means no due date (never late) or no cutoff (always accepted).
    late_penalty_per_day : float
        Fraction of the score lost per started day late.
    max_attempts : int or None
        ``None`` for unlimited.
    counts : str
        ``"best"`` or ``"last"``.
    extensions : Mapping[str, float]
        ``{student id: that student's due date}``.
    """

    homework: str
    spec: str | None = None
    due: float | None = None
    late_penalty_per_day: float = 0.0
    cutoff: float | None = None
    max_attempts: int | None = None
    counts: str = "best"
    extensions: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    """One submission as the policy sees it (``score``/``max_score`` are ``None`` until done)."""

    submission_id: int
    submitted_at: float
    status: str
    score: float | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class Standing:
    """A student's result on a homework under its policy.

    Attributes
    ----------
    score : float or None
        The counting score after the late penalty; ``None`` when no attempt is done.
    raw_score, max_score : float or None
        The counting attempt's score before the penalty, and its maximum.
    late_days : int
        Late days of the counting attempt (0 without one).
    counting : int or None
        The submission id that counts.
    attempts : int
        Attempts used (all but superseded ones).
    last_submitted_at : float or None
        Time of the latest submission of any status.
    """

    score: float | None
    raw_score: float | None
    max_score: float | None
    late_days: int
    counting: int | None
    attempts: int
    last_submitted_at: float | None


def due_for(policy: HomeworkPolicy, student: str) -> float | None:
    """The student's due date: their extension if they have one."""
    return policy.extensions.get(student, policy.due)


def cutoff_for(policy: HomeworkPolicy, student: str) -> float | None:
    """The student's cutoff: moved by as much as their extension moved the due date."""
    if policy.cutoff is None:
        return None
    due = due_for(policy, student)
    if policy.due is None or due is None:
        return policy.cutoff
    return policy.cutoff + (due - policy.due)


def days_late(policy: HomeworkPolicy, student: str, submitted_at: float) -> int:
    """Started days after the student's due date; 0 when on time or without a due date."""
    due = due_for(policy, student)
    if due is None or submitted_at <= due:
        return 0
    return math.ceil((submitted_at - due) / DAY)


def penalized(policy: HomeworkPolicy, student: str, score: float, submitted_at: float) -> float:
    """``score`` after the late penalty: ``score * max(0, 1 - penalty * days_late)``."""
    factor = 1.0 - policy.late_penalty_per_day * days_late(policy, student, submitted_at)
    # Rounded so that 3 days at 0.1 is exactly 70 %, not 69.99999999999999 %.
    return round(score * max(0.0, factor), 9)


def refusal(policy: HomeworkPolicy, student: str, now: float, attempts_used: int) -> str | None:
    """Why a new submission at ``now`` is refused (a messages key), or ``None`` to accept it.

    ``attempts_used`` counts the student's attempts on this homework except superseded ones.
    The cutoff is checked first: after it, the attempt count no longer matters.
    """
    cutoff = cutoff_for(policy, student)
    if cutoff is not None and now > cutoff:
        return AFTER_CUTOFF
    if policy.max_attempts is not None and attempts_used >= policy.max_attempts:
        return ATTEMPTS_USED_UP
    return None


def refusal_text(policy: HomeworkPolicy, student: str, key: str, lang: str = "en") -> str:
    """The sentence for a :func:`refusal` key, with the student's cutoff or attempt limit."""
    cutoff = cutoff_for(policy, student)
    return msg(
        key,
        lang,
        cutoff=iso_utc(cutoff) if cutoff is not None else "",
        max_attempts=policy.max_attempts or 0,
    )


def late_text(policy: HomeworkPolicy, student: str, submitted_at: float, lang: str = "en") -> str:
    """ "2 day(s) late: 80% of the score counts", or ``""`` for an on-time submission."""
    days = days_late(policy, student, submitted_at)
    if days == 0:
        return ""
    percent = penalized(policy, student, 100.0, submitted_at)
    return msg("submission_late", lang, days=days, percent=f"{percent:g}")


def standing(policy: HomeworkPolicy, student: str, attempts: Iterable[Attempt]) -> Standing:
    """Apply ``policy`` to a student's attempts (in any order): the score that counts."""
    attempts = sorted(attempts, key=lambda a: (a.submitted_at, a.submission_id))
    done = [a for a in attempts if a.status == DONE and a.score is not None]
    counting = _counting(policy, student, done)
    used = sum(1 for a in attempts if a.status not in NOT_ATTEMPTS)
    last = attempts[-1].submitted_at if attempts else None
    if counting is None:
        return Standing(None, None, None, 0, None, used, last)
    assert counting.score is not None
    return Standing(
        score=penalized(policy, student, counting.score, counting.submitted_at),
        raw_score=counting.score,
        max_score=counting.max_score,
        late_days=days_late(policy, student, counting.submitted_at),
        counting=counting.submission_id,
        attempts=used,
        last_submitted_at=last,
    )


def _counting(policy: HomeworkPolicy, student: str, done: list[Attempt]) -> Attempt | None:
    """The counting attempt among ``done`` (sorted oldest first)."""
    if not done:
        return None
    if policy.counts == "last":
        return done[-1]
    # max() keeps the first of equal scores: the earliest attempt wins a tie.
    return max(done, key=lambda a: penalized(policy, student, a.score or 0.0, a.submitted_at))


def iso_utc(timestamp: float) -> str:
    """A POSIX timestamp as ISO 8601 UTC, to the second: ``2026-12-15T15:59:00Z``."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")
