"""Student feedback as a standalone HTML page.

Every value from the report goes through :func:`esc` (``html.escape`` with quotes), so a student
id or file name like ``<img src=x onerror=...>`` is shown as text. The page also carries a
Content-Security-Policy that forbids scripts and remote loads: a second fence if a future edit
forgets to escape.
"""

from __future__ import annotations

import html
from pathlib import Path

from autograder.grading import CaseResult, GradeReport, PartResult
from autograder.messages import msg
from autograder.report.common import case_count, load_failed, shown_failures, visibility
from autograder.report.markdown import headings

# No scripts, no remote anything; inline styles only. Images: local files (class report charts).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' file: data:"

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; white-space: nowrap; }
.ok { color: #1a7f37; } .bad { color: #cf222e; }
.notice { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .5rem .8rem; margin: .5rem 0; }
.error { background: #ffebe9; border-left-color: #cf222e; }
.meta { color: #57606a; } ul.cases li { margin: .25rem 0; } code { white-space: pre-wrap; }
img { max-width: 100%; }
"""


def esc(text: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(text), quote=True)


def page(title: str, body: str, *, lang: str = "en") -> str:
    """A complete HTML document around ``body`` (already escaped HTML); ``title`` is escaped."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def _mark(passed: bool) -> str:
    return '<span class="ok">✓</span>' if passed else '<span class="bad">✗</span>'


def _header(report: GradeReport, h: dict[str, str]) -> str:
    name = Path(report.submission).name
    return (
        f"<h1>{esc(h['title'])}: {report.score:g} / {report.max_score:g}</h1>\n"
        f'<p class="meta">{esc(h["student"])}: <strong>{esc(report.student_id)}</strong> · '
        f"{esc(h['submission'])}: <code>{esc(name)}</code> · "
        f"{esc(h['sandbox'])}: {esc(report.tier)} · "
        f"{esc(h['time'])}: {report.execution_time:.2f} s</p>"
    )


def _notices(report: GradeReport, h: dict[str, str]) -> str:
    out = []
    if report.error:
        out.append(
            f'<p class="notice error"><strong>{esc(h["error"])}:</strong> {esc(report.error)}</p>'
        )
    out += [
        f'<p class="notice"><strong>{esc(h["warning"])}:</strong> {esc(w)}</p>'
        for w in report.warnings
    ]
    return "\n".join(out)


def _row(p: PartResult, lang: str) -> str:
    return (
        f"<tr><td>{_mark(p.passed)}</td><td>{esc(p.part)}: {esc(p.title)}</td>"
        f'<td class="num">{p.score:g} / {p.points:g}</td>'
        f'<td class="num">{esc(case_count(p, lang))}</td></tr>'
    )


def _table(report: GradeReport, h: dict[str, str]) -> str:
    head = (
        f"<tr><th></th><th>{esc(h['part'])}</th><th>{esc(h['score'])}</th>"
        f"<th>{esc(h['cases'])}</th></tr>"
    )
    rows = "\n".join(_row(p, report.lang) for p in report.parts)
    table = f"<table>\n{head}\n{rows}\n</table>"
    if any(not c.passed and c.fraction > 0 for p in report.parts for c in p.cases):
        table += f'\n<p class="meta">{esc(msg("partial_note", report.lang))}</p>'
    return table


def _case(case: CaseResult, lang: str) -> str:
    return (
        f"<li>{_mark(case.passed)} [{esc(visibility(case, lang))}] {esc(case.label)}: "
        f"<code>{esc(case.message)}</code></li>"
    )


def _part(report: GradeReport, part: PartResult, h: dict[str, str]) -> str:
    items = [_case(c, report.lang) for c in shown_failures(report, part)]
    items += [f"<li><em>{esc(h['note'])}:</em> {esc(n)}</li>" for n in part.notes]
    return (
        f"<h3>{_mark(part.passed)} {esc(part.part)}: {esc(part.title)} "
        f'<span class="meta">({part.score:g} / {part.points:g})</span></h3>\n'
        f'<ul class="cases">\n' + "\n".join(items) + "\n</ul>"
    )


def to_html(report: GradeReport) -> str:
    """The student's feedback as a standalone HTML page (no scripts, no external resources).

    Parameters
    ----------
    report : GradeReport
        A graded (or broken) submission.

    Returns
    -------
    str
        A complete HTML document.
    """
    h = headings(report.lang)
    return page(f"{h['title']}: {report.student_id}", feedback_body(report), lang=report.lang)


def feedback_body(report: GradeReport) -> str:
    """The feedback page's body alone (escaped HTML, styled by :data:`STYLE`): the course server
    shows it inside its own pages."""
    h = headings(report.lang)
    shown = [p for p in report.parts if shown_failures(report, p) or p.notes]
    details = "\n".join(_part(report, p, h) for p in shown)
    if load_failed(report):  # every such case failed the same way: say it once
        details = f"<p>{esc(msg('load_failed_once', report.lang))}</p>\n{details}".rstrip()
    elif not shown:
        details = f"<p>{esc(h['all_passed'])}</p>"
    body = "\n".join(
        [
            _header(report, h),
            _notices(report, h),
            _table(report, h),
            f"<h2>{esc(h['details'])}</h2>",
            details,
        ]
    )
    return body
