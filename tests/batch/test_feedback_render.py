"""Markdown/HTML feedback and the gradebook: student-controlled strings never become markup."""

from __future__ import annotations

import html.parser
import re

import pytest

from autograder.batch.gradebook import Row, safe_cell, to_csv
from autograder.grading import CaseResult, GradeReport, PartResult
from autograder.report.html import to_html
from autograder.report.markdown import md_escape, to_markdown

EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)"> [click](javascript:alert(3)) | `x` **b**'


def _report(student_id: str = EVIL, message: str = EVIL) -> GradeReport:
    failed = CaseResult("sigmoid/public/0", "public", "z = 0", False, 0.0, "exception", message)
    ok = CaseResult("predict/hidden/0", "hidden", "hidden: m = 3", True, 1.0, "passed", "ok")
    parts = [
        PartResult("sigmoid", "Sigmoid g(z)", 5, 0.0, [failed], notes=[EVIL]),
        PartResult("predict", "Prediction", 5, 5.0, [ok]),
    ]
    return GradeReport(
        student_id=student_id,
        submission=f"/subs/{EVIL}.py",
        score=5.0,
        max_score=10.0,
        parts=parts,
        execution_time=0.12,
        tier="bwrap",
        warnings=[EVIL],
        error=EVIL,
    )


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def test_html_feedback_escapes_everything():
    page = to_html(_report())
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [a for a in parsed.attrs if a.startswith("on")]
    assert "&lt;script&gt;" in page and "Content-Security-Policy" in page


def test_markdown_feedback_has_no_raw_html_or_links():
    text = to_markdown(_report())
    assert "<script" not in text and "<img" not in text
    assert not re.search(r"(?<!\\)\]\(", text), "an unescaped ]( would make a link"
    assert "\\[click\\]" in text
    assert "&lt;script&gt;" in text


def test_markdown_escape_keeps_one_line_and_table_cells():
    assert "\n" not in md_escape("a\n# heading\n- item")
    assert md_escape("a|b") == "a\\|b"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_both_languages_render(lang):
    report = _report("alice", "wrong value")
    report.lang = lang
    assert "alice" in to_markdown(report) and "alice" in to_html(report)


def test_gradebook_cells_cannot_be_spreadsheet_formulas():
    assert safe_cell('=HYPERLINK("http://x")').startswith("'=")
    assert safe_cell("+1") == "'+1" and safe_cell("alice") == "alice"
    row = Row("=cmd|' /C calc'!A0", "broken", 0.0, 100.0, {"sigmoid": 0.0}, error="-2+3")
    text = to_csv([row], ["sigmoid"])
    assert "\n'=cmd" in text and ",'-2+3," in text
