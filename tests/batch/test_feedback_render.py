"""Markdown/HTML feedback and the gradebook: student-controlled strings never become markup."""

from __future__ import annotations

import html
import html.parser
import re

import mistune
import pytest
from markdown_it import MarkdownIt

from autograder.batch.gradebook import Row, safe_cell, to_csv
from autograder.grading import CaseResult, GradeReport, PartResult
from autograder.report.common import case_count, cell_width
from autograder.report.html import to_html
from autograder.report.markdown import md_escape, to_markdown
from autograder.report.text import to_text

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


# Markdown renderers a student may open feedback.md with: CommonMark + GFM tables (GitHub, VS Code)
# and mistune (Jupyter's nbconvert).
RENDERERS = {
    "markdown-it": MarkdownIt("commonmark").enable("table").enable("strikethrough").render,
    "mistune": mistune.create_markdown(plugins=["table", "strikethrough"]),
}


@pytest.mark.parametrize("render", RENDERERS.values(), ids=list(RENDERERS))
def test_markdown_feedback_renders_no_html_and_no_links(render):
    parsed = _Collector()
    parsed.feed(render(to_markdown(_report())))
    assert not {"script", "img", "a"} & set(parsed.tags)
    assert not [a for a in parsed.attrs if a.startswith("on")]


# Text that must reach the reader as it is, in a rendered page and in the .md file read as text.
LITERAL = [
    EVIL,
    "hidden: λ > 0",
    "raised ValueError: a < b & c",
    "SyntaxError: invalid syntax (<unknown>, line 3)",
    "&amp; &#60; &lt;",
    "L_in=400, BPGRADE_SECRET, _private_",
    "*b* ~~s~~ $x$ ^2 # not a heading",
    "a`b``c and `edge`",
]


@pytest.mark.parametrize("text", LITERAL)
@pytest.mark.parametrize("render", RENDERERS.values(), ids=list(RENDERERS))
def test_markdown_escape_keeps_text_literal_without_entities(render, text):
    escaped = md_escape(text)
    assert not re.search(r"&(#[0-9]+|#x[0-9a-f]+|[a-z]+);", escaped.replace(text, ""), re.I)
    html_text = re.sub(r"</?(p|code)>", "", render(escaped).strip())
    assert html.unescape(html_text) == text


def test_markdown_feedback_has_no_html_entities():
    report = _report("alice", "wrong value")
    report.parts[0].cases[0].label = "hidden: λ > 0, a < b & c"
    assert not re.search(r"&(#\d+|[a-z]+);", to_markdown(report))


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


# ---------------------------------------------------------------------------------------------
# A submission that cannot load: the error once, not once per case
# ---------------------------------------------------------------------------------------------

BROKEN = [
    (
        "nn.py",
        "import numpy as np\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z)\n",
        "was never closed",
    ),
    ("nn.py", "raise ValueError('a < b & c at import')\n", "a < b & c at import"),
    ("nn.txt", "not python\n", "unsupported file type .txt"),  # refused unrun (grading._broken)
]


@pytest.fixture(scope="module", params=BROKEN, ids=["syntax", "raises", "wrong-extension"])
def broken(request, tmp_path_factory):
    from autograder.grading import grade_submission

    name, source, fragment = request.param
    path = tmp_path_factory.mktemp("broken") / name
    path.write_text(source)
    report = grade_submission(path, student_id="s", secret=b"k")
    assert report.error and fragment in report.error
    return report, fragment


@pytest.mark.parametrize("render", [to_markdown, to_html, to_text], ids=["md", "html", "text"])
def test_a_load_error_is_stated_once(broken, render):
    report, fragment = broken
    text = render(report)
    if render is to_html:
        text = html.unescape(text)
    assert text.count(fragment) == 1
    assert "could not be loaded" not in text.replace(
        "No case could run: the submission could not be loaded", ""
    )


# ---------------------------------------------------------------------------------------------
# Chinese reports; partial credit
# ---------------------------------------------------------------------------------------------


def _mixed_report(lang: str) -> GradeReport:
    """One public and one hidden failure, a partly right case, and the load error absent."""
    cases = [
        CaseResult(
            "nnCostFunctionDeep/public/0", "public", "4-layer", False, 0.6, "wrong_value", "m1"
        ),
        CaseResult(
            "nnCostFunctionDeep/hidden/0", "hidden", "hidden", False, 0.0, "exception", "m2"
        ),
    ]
    parts = [
        PartResult("nnCostFunctionDeep", "深层网络", 15, 4.5, cases),
        PartResult(
            "sigmoid",
            "Sigmoid",
            5,
            5.0,
            [CaseResult("s/p/0", "public", "z", True, 1.0, "passed", "ok")],
        ),
    ]
    return GradeReport("alice", "nn.py", 9.5, 20.0, parts, 0.1, "bwrap", lang=lang)


@pytest.mark.parametrize(
    "lang, tags", [("en", ("[public]", "[hidden]")), ("zh", ("[公开]", "[隐藏]"))]
)
@pytest.mark.parametrize("render", [to_markdown, to_html, to_text], ids=["md", "html", "text"])
def test_case_tags_are_in_the_report_language(render, lang, tags):
    text = render(_mixed_report(lang))
    assert all(tag in text for tag in tags)
    if lang == "zh":
        assert "[public]" not in text and "[hidden]" not in text


@pytest.mark.parametrize("lang, score, cases", [("en", "score", "cases"), ("zh", "得分", "用例")])
def test_text_table_columns_line_up_in_terminal_cells(lang, score, cases):
    lines = to_text(_mixed_report(lang)).splitlines()
    head, row = lines[1], lines[2]
    total = next(line for line in lines if "/20" in line)
    count = case_count(_mixed_report(lang).parts[0], lang)
    assert cell_width(head[: head.index(cases)]) == cell_width(row[: row.index(count)])
    assert cell_width(head[: head.index(score) + len(score)]) + 1 == cell_width(
        row[: row.index(count)]
    )
    assert cell_width(row[: row.index("/15")]) == cell_width(total[: total.index("/20")])


@pytest.mark.parametrize(
    "lang, count, note",
    [("en", "0/2, 1 partly right", "partial credit:"), ("zh", "0/2，1 个部分正确", "部分得分：")],
)
@pytest.mark.parametrize("render", [to_markdown, to_html, to_text], ids=["md", "html", "text"])
def test_partial_credit_is_explained(render, lang, count, note):
    text = render(_mixed_report(lang))
    assert count in text and note in text
