"""The readable per-part table ``bpgrade grade`` prints by default."""

from __future__ import annotations

from autograder.grading import GradeReport, PartResult

_HEAD = {"en": ("part", "score", "cases"), "zh": ("部分", "得分", "用例")}
_TOTAL = {"en": "TOTAL", "zh": "总分"}


def _mark(passed: bool) -> str:
    return "✓" if passed else "✗"


def _part_lines(part: PartResult, width: int, show_cases: bool = True) -> list[str]:
    passed = sum(c.passed for c in part.cases)
    head = f"{_mark(part.passed)} {part.part:<{width}} {part.score:>6.2f}/{part.points:<5g} {passed}/{len(part.cases)}"
    lines = [head]
    for case in part.cases if show_cases else ():
        if not case.passed:
            lines.append(f"    - [{case.visibility}] {case.label}: {case.message}")
    lines += [f"    note: {note}" for note in part.notes]
    return lines


def to_text(report: GradeReport, *, verbose: bool = False) -> str:
    """A plain-text table: one line per part, then one line per failed case."""
    lang = report.lang if report.lang in _HEAD else "en"
    width = max([len(p.part) for p in report.parts] + [8])
    h = _HEAD[lang]
    lines = [
        f"bpgrade — {report.submission} (student {report.student_id}, sandbox: {report.tier})",
        f"  {h[0]:<{width}} {h[1]:>12} {h[2]}",
    ]
    for part in report.parts:
        # A submission that cannot load fails every case the same way: say it once, below.
        lines += _part_lines(part, width, show_cases=report.error is None)
    lines.append(f"  {_TOTAL[lang]:<{width}} {report.score:>6.2f}/{report.max_score:g}")
    if report.error:
        lines.append(f"error: {report.error}")
    lines += [f"warning: {w}" for w in report.warnings]
    lines.append(f"({report.execution_time:.2f} s)")
    return "\n".join(lines)
