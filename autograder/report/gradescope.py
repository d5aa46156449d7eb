"""Gradescope's ``results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

One test per part; its output lists the cases. Hidden-case lines were already made safe by the
grader (category and misconception only), so every test can be ``visible``.
"""

from __future__ import annotations

from autograder.grading import GradeReport, PartResult
from autograder.report.common import visibility


def _case_lines(part: PartResult, lang: str) -> str:
    lines = []
    for c in part.cases:
        mark = "✓" if c.passed else "✗"
        lines.append(f"{mark} [{visibility(c, lang)}] {c.label}: {c.message}")
    return "\n".join(lines)


def _test(number: int, part: PartResult, lang: str) -> dict:
    return {
        "name": f"{part.part}: {part.title}",
        "number": str(number),
        "score": part.score,
        "max_score": part.points,
        "status": "passed" if part.passed else "failed",
        "output": _case_lines(part, lang),
        "visibility": "visible",
        "tags": part.misconceptions,
    }


def to_gradescope(report: GradeReport) -> dict:
    """The ``results.json`` document for one graded submission."""
    output = [f"Score {report.score:g}/{report.max_score:g} (sandbox tier: {report.tier})"]
    if report.error:
        output.append(f"Error: {report.error}")
    output += [f"Warning: {w}" for w in report.warnings]
    extra = {
        "student_id": report.student_id,
        "max_score": report.max_score,
        "tier": report.tier,
        "misconceptions": sorted({t for p in report.parts for t in p.misconceptions}),
        "error": report.error,
    }
    if report.provenance:  # grader version, spec hash, seed id, child runtime: see provenance.py
        extra["provenance"] = report.provenance
    return {
        "score": report.score,
        "execution_time": report.execution_time,
        "output": "\n".join(output),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_test(i + 1, p, report.lang) for i, p in enumerate(report.parts)],
        "extra_data": extra,
    }
