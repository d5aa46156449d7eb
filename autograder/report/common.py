"""Pieces every rendering of a report shares: localized case tags, case counts, load failures.

A submission that cannot load fails every case with the same message; the renderings state that
error once (in the report's ``error``) and leave those cases out of the per-case lists.
"""

from __future__ import annotations

import unicodedata

from autograder.grading import CaseResult, GradeReport, PartResult
from autograder.messages import msg

LOAD_FAILED = "load_failed"  # the category grading gives every case of a module that cannot load


def visibility(case: CaseResult, lang: str) -> str:
    """``public`` / ``hidden`` in ``lang`` (公开 / 隐藏 in Chinese)."""
    if case.visibility not in ("public", "hidden"):
        return case.visibility
    return msg(f"visibility_{case.visibility}", lang)


def case_count(part: PartResult, lang: str) -> str:
    """``"3/4"``; with cases that earned part of their points, ``"0/4, 2 partly right"``."""
    passed = sum(c.passed for c in part.cases)
    partial = sum(not c.passed and c.fraction > 0 for c in part.cases)
    if not partial:
        return f"{passed}/{len(part.cases)}"
    return msg("cases_partial", lang, passed=passed, total=len(part.cases), partial=partial)


def shown_failures(report: GradeReport, part: PartResult) -> list[CaseResult]:
    """The part's failed cases worth a line each: not those failed only by the load error."""
    failed = [c for c in part.cases if not c.passed]
    if report.error is None:
        return failed
    return [c for c in failed if c.category != LOAD_FAILED]


def load_failed(report: GradeReport) -> bool:
    """Whether some case failed only because the submission could not be loaded."""
    return report.error is not None and any(
        c.category == LOAD_FAILED for p in report.parts for c in p.cases
    )


def cell_width(text: str) -> int:
    """Terminal columns ``text`` takes: CJK (wide and fullwidth) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` terminal columns (``align`` ``"<"`` or ``">"``)."""
    fill = " " * max(0, width - cell_width(text))
    return text + fill if align == "<" else fill + text
