"""The readable per-part table ``bpgrade grade`` prints by default.

Columns are padded by terminal width (:func:`~autograder.report.common.pad`), so the Chinese
headings, two columns per character, stay aligned with the rows below them.
"""

from __future__ import annotations

from autograder.grading import GradeReport, PartResult
from autograder.messages import msg
from autograder.report.common import case_count, pad, shown_failures, visibility
from autograder.report.markdown import headings

_HEAD = {"en": ("part", "score", "cases"), "zh": ("部分", "得分", "用例")}
_TOTAL = {"en": "TOTAL", "zh": "总分"}
_SCORE_WIDTH = 12  # "100.00/100  "


def _mark(passed: bool) -> str:
    return "✓" if passed else "✗"


def _word(key: str, lang: str) -> str:
    """A feedback page's label ("Note", 提示) as a line prefix: lower case in English."""
    return headings(lang)[key].lower()


def _score(score: float, points: float) -> str:
    return f"{score:>6.2f}/{points:<5g}"


def _part_lines(report: GradeReport, part: PartResult, width: int, lang: str) -> list[str]:
    count = case_count(part, lang)
    lines = [
        f"{_mark(part.passed)} {pad(part.part, width)} {_score(part.score, part.points)} {count}"
    ]
    sep = "：" if lang == "zh" else ": "
    for case in shown_failures(report, part):
        lines.append(f"    - [{visibility(case, lang)}] {case.label}{sep}{case.message}")
    note = _word("note", lang)
    lines += [f"    {note}{sep}{n}" for n in part.notes]
    return lines


def to_text(report: GradeReport, *, verbose: bool = False) -> str:
    """A plain-text table: one line per part, then one line per failed case."""
    lang = report.lang if report.lang in _HEAD else "en"
    h = _HEAD[lang]
    width = max([len(p.part) for p in report.parts] + [8])
    title = msg(
        "text_title",
        lang,
        submission=report.submission,
        student=report.student_id,
        tier=report.tier,
    )
    lines = [title, f"  {pad(h[0], width)} {pad(h[1], _SCORE_WIDTH, '>')} {h[2]}"]
    for part in report.parts:
        # A submission that cannot load fails every case the same way: the error is said once.
        lines += _part_lines(report, part, width, lang)
    lines.append(f"  {pad(_TOTAL[lang], width)} {report.score:>6.2f}/{report.max_score:g}")
    if any(not c.passed and c.fraction > 0 for p in report.parts for c in p.cases):
        lines.append(msg("partial_note", lang))
    sep = "：" if lang == "zh" else ": "
    if report.error:
        lines.append(f"{_word('error', lang)}{sep}{report.error}")
    lines += [f"{_word('warning', lang)}{sep}{w}" for w in report.warnings]
    lines.append(f"({report.execution_time:.2f} s)")
    return "\n".join(lines)
