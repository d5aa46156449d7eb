"""Student feedback as Markdown: a per-part table, then the failed cases of each part.

Everything that comes from the report is escaped: file names, student ids and the student's own
exception text (public cases) are student-controlled, and a Markdown renderer would otherwise turn
``<script>``, ``[link](javascript:...)`` or a stray ``|`` into markup.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from autograder.grading import CaseResult, GradeReport, PartResult

HEADINGS = {
    "en": {
        "title": "Feedback",
        "student": "Student",
        "submission": "Submission",
        "score": "Score",
        "sandbox": "Sandbox",
        "part": "Part",
        "cases": "Cases passed",
        "details": "What went wrong",
        "all_passed": "Every case passed.",
        "error": "Error",
        "warning": "Warning",
        "note": "Note",
        "time": "Grading time",
    },
    "zh": {
        "title": "反馈",
        "student": "学生",
        "submission": "提交",
        "score": "得分",
        "sandbox": "沙箱",
        "part": "部分",
        "cases": "通过的用例",
        "details": "问题所在",
        "all_passed": "所有用例均通过。",
        "error": "错误",
        "warning": "警告",
        "note": "提示",
        "time": "评分用时",
    },
}

# Characters with a meaning in CommonMark/GFM once ``<``, ``>`` and ``&`` are entities.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#$^])")


def headings(lang: str) -> dict[str, str]:
    """The fixed labels of a feedback page in ``lang`` (English when unknown)."""
    return HEADINGS.get(lang, HEADINGS["en"])


def md_escape(text: object) -> str:
    """Render ``text`` as literal Markdown inline text on one line.

    ``<``, ``>`` and ``&`` become entities (every renderer honours those, while not all honour a
    backslash before ``<``); other punctuation with a Markdown meaning is backslash-escaped; line
    breaks become spaces so a message can never start a heading, list or table row.
    """
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _mark(passed: bool) -> str:
    return "✓" if passed else "✗"


def _score(value: float, points: float) -> str:
    return f"{value:g} / {points:g}"


def _header(report: GradeReport, h: dict[str, str]) -> list[str]:
    name = Path(report.submission).name
    return [
        f"# {h['title']}",
        "",
        f"- **{h['student']}:** {md_escape(report.student_id)}",
        f"- **{h['submission']}:** {md_escape(name)}",
        f"- **{h['score']}:** {_score(report.score, report.max_score)}",
        f"- **{h['sandbox']}:** {md_escape(report.tier)}",
        f"- **{h['time']}:** {report.execution_time:.2f} s",
    ]


def _notices(report: GradeReport, h: dict[str, str]) -> list[str]:
    lines = [f"> **{h['error']}:** {md_escape(report.error)}"] if report.error else []
    lines += [f"> **{h['warning']}:** {md_escape(w)}" for w in report.warnings]
    return ["", *lines] if lines else []


def _table(report: GradeReport, h: dict[str, str]) -> list[str]:
    lines = ["", f"| | {h['part']} | {h['score']} | {h['cases']} |", "|---|---|---:|---:|"]
    for p in report.parts:
        passed = sum(c.passed for c in p.cases)
        lines.append(
            f"| {_mark(p.passed)} | {md_escape(p.part)}: {md_escape(p.title)} "
            f"| {_score(p.score, p.points)} | {passed}/{len(p.cases)} |"
        )
    return lines


def _case_line(case: CaseResult) -> str:
    return f"- {_mark(case.passed)} [{md_escape(case.visibility)}] {md_escape(case.label)}: {md_escape(case.message)}"


def _part_details(part: PartResult, h: dict[str, str]) -> list[str]:
    lines = ["", f"### {_mark(part.passed)} {md_escape(part.part)}: {md_escape(part.title)}"]
    lines.append(f"{_score(part.score, part.points)}")
    lines.append("")
    lines += [_case_line(c) for c in part.cases if not c.passed]
    lines += [f"- *{h['note']}:* {md_escape(n)}" for n in part.notes]
    return lines


def to_markdown(report: GradeReport) -> str:
    """The student's feedback page in Markdown.

    Parameters
    ----------
    report : GradeReport
        A graded (or broken) submission. Hidden-case messages were already reduced to what may be
        shown (category, exception type, misconception), so they are rendered as they are.

    Returns
    -------
    str
        Markdown text ending with a newline.
    """
    h = headings(report.lang)
    lines = _header(report, h) + _notices(report, h) + _table(report, h)
    failed = [p for p in report.parts if not p.passed or p.notes]
    lines += ["", f"## {h['details']}"]
    if not failed:
        lines += ["", h["all_passed"]]
    for part in failed:
        lines += _part_details(part, h)
    return "\n".join(lines) + "\n"
