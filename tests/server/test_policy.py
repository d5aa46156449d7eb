"""Deadlines, late penalties, extensions and attempt rules (autograder/server/policy.py)."""

from __future__ import annotations

import pytest

from autograder.messages import msg
from autograder.server.policy import (
    AFTER_CUTOFF,
    ATTEMPTS_USED_UP,
    DAY,
    Attempt,
    HomeworkPolicy,
    cutoff_for,
    days_late,
    due_for,
    iso_utc,
    late_text,
    penalized,
    refusal,
    refusal_text,
    standing,
)

DUE = 1_797_350_340.0  # 2026-12-15T23:59:00+08:00
CUTOFF = DUE + 5 * DAY
EXT = DUE + 3 * DAY  # s001's extended due date

POLICY = HomeworkPolicy(
    "backprop",
    due=DUE,
    late_penalty_per_day=0.1,
    cutoff=CUTOFF,
    max_attempts=3,
    extensions={"s001": EXT},
)


@pytest.mark.parametrize(
    "after_due, expected",
    [
        (-DAY, 0),
        (-1.0, 0),
        (0.0, 0),  # exactly at the due date: on time
        (0.001, 1),  # any part of a day is a day
        (1.0, 1),
        (DAY - 1, 1),
        (DAY, 1),  # exactly 24 h late: one day
        (DAY + 0.001, 2),
        (3 * DAY, 3),
        (3 * DAY + 1, 4),
    ],
)
def test_late_days_count_started_days_after_the_due_date(after_due, expected):
    assert days_late(POLICY, "s002", DUE + after_due) == expected


def test_without_a_due_date_nothing_is_late():
    assert days_late(HomeworkPolicy("backprop"), "s002", DUE + 100 * DAY) == 0


@pytest.mark.parametrize(
    "late, penalty, expected",
    [
        (0, 0.1, 80.0),
        (1, 0.1, 72.0),
        (3, 0.1, 56.0),  # exactly 70 %, not 69.999…
        (10, 0.1, 0.0),
        (11, 0.1, 0.0),  # never negative
        (2, 0.0, 80.0),
        (1, 1.0, 0.0),
        (2, 0.25, 40.0),
    ],
)
def test_penalty_is_a_fraction_per_late_day_floored_at_zero(late, penalty, expected):
    policy = HomeworkPolicy("backprop", due=DUE, late_penalty_per_day=penalty)
    assert penalized(policy, "s002", 80.0, DUE + late * DAY) == expected


@pytest.mark.parametrize(
    "student, due, cutoff",
    [
        ("s001", EXT, CUTOFF + 3 * DAY),  # the extension moves the cutoff by as much
        ("s002", DUE, CUTOFF),
    ],
)
def test_extension_moves_due_date_and_cutoff(student, due, cutoff):
    assert due_for(POLICY, student) == due
    assert cutoff_for(POLICY, student) == cutoff


def test_extension_without_cutoff_leaves_no_cutoff():
    policy = HomeworkPolicy("backprop", due=DUE, extensions={"s001": EXT})
    assert cutoff_for(policy, "s001") is None


def test_late_days_count_from_the_extended_due_date():
    assert days_late(POLICY, "s001", EXT) == 0
    assert days_late(POLICY, "s001", EXT + 1) == 1
    assert days_late(POLICY, "s002", EXT) == 3


@pytest.mark.parametrize(
    "student, now, used, policy, expected",
    [
        ("s002", DUE, 0, POLICY, None),
        ("s002", CUTOFF, 0, POLICY, None),  # at the cutoff itself: accepted
        ("s002", CUTOFF + 0.001, 0, POLICY, AFTER_CUTOFF),
        ("s001", CUTOFF + DAY, 0, POLICY, None),  # their cutoff moved with the extension
        ("s001", CUTOFF + 3 * DAY + 1, 0, POLICY, AFTER_CUTOFF),
        ("s002", DUE, 2, POLICY, None),
        ("s002", DUE, 3, POLICY, ATTEMPTS_USED_UP),
        ("s002", CUTOFF + 1, 3, POLICY, AFTER_CUTOFF),  # the cutoff is said first
        ("s002", DUE + 100 * DAY, 1000, HomeworkPolicy("backprop"), None),  # no limits
    ],
)
def test_refusal(student, now, used, policy, expected):
    assert refusal(policy, student, now, used) == expected


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    "key, needle",
    [(AFTER_CUTOFF, "2026-12-20T15:59:00Z"), (ATTEMPTS_USED_UP, "3")],
)
def test_refusal_text_names_the_students_cutoff_or_limit(key, needle, lang):
    text = refusal_text(POLICY, "s002", key, lang)
    assert needle in text and text != refusal_text(
        POLICY, "s002", key, "zh" if lang == "en" else "en"
    )


@pytest.mark.parametrize(
    "student, at, lang, expected",
    [
        ("s002", DUE, "en", ""),
        ("s002", DUE + 1, "en", "submitted 1 day(s) late: 90% of the score counts"),
        ("s002", DUE + 2 * DAY, "zh", "迟交 2 天：成绩按 80% 计"),
        ("s001", DUE + 2 * DAY, "en", ""),  # within the extension
    ],
)
def test_late_text(student, at, lang, expected):
    assert late_text(POLICY, student, at, lang) == expected


@pytest.mark.parametrize("key", ["submission_after_cutoff", "submission_attempts_used_up"])
def test_refusal_keys_have_both_languages(key):
    assert msg(key, "zh", cutoff="x", max_attempts=1) != msg(key, "en", cutoff="x", max_attempts=1)


def done(sid: int, at: float, score: float) -> Attempt:
    return Attempt(sid, DUE + at, "done", score, 100.0)


def other(sid: int, at: float, status: str) -> Attempt:
    return Attempt(sid, DUE + at, status)


BEST = HomeworkPolicy("backprop", due=DUE, late_penalty_per_day=0.1, counts="best")
LAST = HomeworkPolicy("backprop", due=DUE, late_penalty_per_day=0.1, counts="last")


@pytest.mark.parametrize(
    "policy, attempts, counting, score, raw, late",
    [
        # best: the highest score after the penalty
        (BEST, [done(1, -9, 50), done(2, -5, 90), done(3, -1, 70)], 2, 90, 90, 0),
        (BEST, [done(1, -9, 80), done(2, DAY, 85)], 1, 80, 80, 0),  # 85 late is 76.5
        (BEST, [done(1, -9, 60), done(2, DAY, 100)], 2, 90, 100, 1),
        (BEST, [done(1, -9, 70), done(2, -5, 70)], 1, 70, 70, 0),  # a tie: the earliest
        # last: the latest done attempt, even when lower
        (LAST, [done(1, -9, 90), done(2, -5, 40)], 2, 40, 40, 0),
        (LAST, [done(1, -9, 90), done(2, 2 * DAY, 100)], 2, 80, 100, 2),
        # only done attempts count
        (LAST, [done(1, -9, 40), other(2, -5, "queued")], 1, 40, 40, 0),
        (LAST, [done(1, -9, 40), other(2, -5, "grading")], 1, 40, 40, 0),
        (LAST, [done(1, -9, 40), other(2, -5, "error")], 1, 40, 40, 0),
        (BEST, [Attempt(1, DUE, "superseded", 100.0, 100.0), done(2, -5, 40)], 2, 40, 40, 0),
        (LAST, [done(2, -5, 40), Attempt(3, DUE, "superseded", 100.0, 100.0)], 2, 40, 40, 0),
        (BEST, [Attempt(1, DUE, "done", None, None)], None, None, None, 0),  # no result yet
        (BEST, [other(1, -9, "error"), other(2, -5, "queued")], None, None, None, 0),
        (BEST, [], None, None, None, 0),
    ],
)
def test_which_attempt_counts(policy, attempts, counting, score, raw, late):
    s = standing(policy, "s002", attempts)
    assert (s.counting, s.score, s.raw_score, s.late_days) == (counting, score, raw, late)


def test_standing_does_not_depend_on_the_order_attempts_are_given_in():
    attempts = [done(1, -9, 90), done(2, -5, 40), done(3, -7, 60)]
    assert standing(LAST, "s002", attempts) == standing(LAST, "s002", attempts[::-1])
    assert standing(LAST, "s002", attempts).counting == 2


@pytest.mark.parametrize(
    "statuses, used",
    [
        ([], 0),
        (["done", "done"], 2),
        (["superseded", "superseded", "queued"], 1),
        (["error", "grading", "done", "superseded"], 2),
        (["error", "error", "error"], 0),
    ],
)
def test_attempts_used_exclude_superseded_and_grader_failures(statuses, used):
    attempts = [other(i, i, status) for i, status in enumerate(statuses)]
    assert standing(BEST, "s002", attempts).attempts == used


def test_last_submission_time_is_the_latest_of_any_status():
    attempts = [done(1, -9, 90), other(2, -2, "superseded"), other(3, -5, "error")]
    assert standing(BEST, "s002", attempts).last_submitted_at == DUE - 2
    assert standing(BEST, "s002", []).last_submitted_at is None


@pytest.mark.parametrize(
    "timestamp, text",
    [
        (0.0, "1970-01-01T00:00:00Z"),
        (DUE, "2026-12-15T15:59:00Z"),
        (DUE + 0.9, "2026-12-15T15:59:00Z"),
    ],
)
def test_iso_utc(timestamp, text):
    assert iso_utc(timestamp) == text
