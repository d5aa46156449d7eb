"""Student feedback as Markdown: a per-part table, then the failed cases of each part.

Everything that comes from the report is escaped: file names, student ids and the student's own
exception text (public cases) are student-controlled, and a Markdown renderer would otherwise turn
``<script>``, ``[link](javascript:...)`` or a stray ``|`` into markup. The file is read as plain
text as often as it is rendered, so escaping never uses HTML entities: text that could start an
HTML tag, an autolink or an entity is shown as a code span, and other punctuation with a Markdown
meaning gets a backslash.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.grading import CaseResult, GradeReport, PartResult
from autograder.messages import msg
from autograder.report.common import case_count, load_failed, shown_failures, visibility

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

# Characters with a meaning in CommonMark/GFM (and math renderers: $, ^) wherever they stand. An
# underscore inside a word (L_in, BPGRADE_SECRET) cannot open emphasis, so it stays as it is; ``>``
# means something only at the start of a line, which escaped text never is.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~#$^]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# What a renderer could take for raw HTML or an autolink (``<`` then a letter, ``/``, ``!`` or
# ``?``), or for an entity: such text is shown as a code span, which every renderer keeps literal.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


def headings(lang: str) -> dict[str, str]:
    """The fixed labels of a feedback page in ``lang`` (English when unknown)."""
    return HEADINGS.get(lang, HEADINGS["en"])


def md_escape(text: object) -> str:
    """Render ``text`` as literal Markdown inline text on one line, without HTML entities.

    Line breaks become spaces, so a message can never start a heading, list or table row. Text
    that could open an HTML tag, an autolink or an entity becomes a code span (not every renderer
    honours a backslash before ``<``, and an entity reads badly in a plain-text file); other
    punctuation with a Markdown meaning is backslash-escaped.
    """
    flat = " ".join(str(text).split())
    if _MARKUP.search(flat):
        return code_span(flat)
    return _MD_SPECIAL.sub(r"\\\1", flat)


def code_span(text: str) -> str:
    """``text`` as a Markdown code span: a fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "  # CommonMark strips one space from each side of such a span
    return f"{fence}{text}{fence}"


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
    """One quoted paragraph per notice (consecutive ``>`` lines would merge into one)."""
    lines = [f"> **{h['error']}:** {md_escape(report.error)}"] if report.error else []
    lines += [f"> **{h['warning']}:** {md_escape(w)}" for w in report.warnings]
    return [item for line in lines for item in ("", line)]


def _table(report: GradeReport, h: dict[str, str]) -> list[str]:
    lines = ["", f"| | {h['part']} | {h['score']} | {h['cases']} |", "|---|---|---:|---:|"]
    for p in report.parts:
        lines.append(
            f"| {_mark(p.passed)} | {md_escape(p.part)}: {md_escape(p.title)} "
            f"| {_score(p.score, p.points)} | {md_escape(case_count(p, report.lang))} |"
        )
    if _has_partial(report):
        lines += ["", md_escape(msg("partial_note", report.lang))]
    return lines


def _has_partial(report: GradeReport) -> bool:
    return any(not c.passed and c.fraction > 0 for p in report.parts for c in p.cases)


def _case_line(case: CaseResult, lang: str) -> str:
    tag = md_escape(visibility(case, lang))
    return f"- {_mark(case.passed)} [{tag}] {md_escape(case.label)}: {md_escape(case.message)}"


def _part_details(report: GradeReport, part: PartResult, h: dict[str, str]) -> list[str]:
    lines = ["", f"### {_mark(part.passed)} {md_escape(part.part)}: {md_escape(part.title)}"]
    lines.append(f"{_score(part.score, part.points)}")
    lines.append("")
    lines += [_case_line(c, report.lang) for c in shown_failures(report, part)]
    lines += [f"- *{h['note']}:* {md_escape(n)}" for n in part.notes]
    return lines


def _worth_details(report: GradeReport, part: PartResult) -> bool:
    """A part with a failed case or a note to show (cases failed by a load error are not shown)."""
    return bool(shown_failures(report, part) or part.notes)


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
    shown = [p for p in report.parts if _worth_details(report, p)]
    lines += ["", f"## {h['details']}"]
    if load_failed(report):  # every such case failed the same way: say it once
        lines += ["", md_escape(msg("load_failed_once", report.lang))]
    elif not shown:
        lines += ["", h["all_passed"]]
    for part in shown:
        lines += _part_details(report, part, h)
    return "\n".join(lines) + "\n"
