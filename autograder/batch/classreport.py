"""The class report: a static HTML page plus PNG charts (matplotlib, Agg, no pyplot state).

``OUT/report/index.html`` shows the score distribution, per-part pass rates, the most frequent
misconceptions, the slowest submissions and every student whose submission could not be graded,
each linking to that student's feedback page. Student-controlled strings (ids, file names, error
texts) are escaped in the HTML and neutralised in chart labels (no mathtext, no control
characters).
"""

from __future__ import annotations

import io
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from autograder.batch import store
from autograder.batch.discover import shown_id, student_slug
from autograder.batch.gradebook import Row
from autograder.diagnosis import load_catalog
from autograder.files import write_atomic
from autograder.report.html import esc, page
from autograder.spec import Spec

REPORT_DIR = "report"
#: ``bpgrade similarity ... --out OUT/similarity``: the class report links to it.
SIMILARITY_DIR = "similarity"
CHARTS = {
    "scores": "score_distribution.png",
    "parts": "part_pass_rates.png",
    "misconceptions": "misconceptions.png",
    "slowest": "slowest.png",
}
TOP = 10
_BLUE, _GREEN, _GREY, _ORANGE = "#4472c4", "#2e8b57", "#c9ced6", "#dd8452"


@dataclass(frozen=True)
class PartStats:
    part: str
    title: str
    points: float
    pass_rate: float  # share of scored students with full marks on the part
    mean_fraction: float  # mean score / points


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def scored(rows: list[Row]) -> list[Row]:
    """Rows with a score (graded, broken, failed); missing and pending students have none."""
    return [r for r in rows if r.has_score]


def part_stats(rows: list[Row], spec: Spec, lang: str = "en") -> list[PartStats]:
    """Pass rate and mean fraction of every part over the scored students."""
    have = scored(rows)
    stats = []
    for p in spec.parts:
        values = [r.parts.get(p.id, 0.0) for r in have]
        full = sum(v >= p.points - 1e-9 for v in values)
        n = len(values) or 1
        mean = sum(values) / n / p.points if p.points else 0.0
        stats.append(PartStats(p.id, p.title_in(lang), p.points, full / n, mean))
    return stats


def misconception_counts(rows: list[Row]) -> list[tuple[str, int]]:
    """Tags by the number of students they were found in, most frequent first."""
    counts = Counter(t for r in rows for t in set(r.misconceptions))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def slowest(rows: list[Row], n: int = TOP) -> list[Row]:
    timed = [r for r in rows if r.execution_time is not None and r.status != store.MISSING]
    return sorted(timed, key=lambda r: (-(r.execution_time or 0.0), r.student_id))[:n]


def summary(rows: list[Row]) -> dict[str, float | int]:
    """Head-line numbers: counts by status and score statistics."""
    scores = [r.score for r in scored(rows) if r.score is not None]
    by_status = Counter(r.status for r in rows)
    out: dict[str, float | int] = {"students": len(rows), **by_status}
    if scores:
        out |= {
            "mean": statistics.fmean(scores),
            "median": statistics.median(scores),
            "min": min(scores),
            "max": max(scores),
        }
    return out


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def chart_label(text: str, limit: int = 28) -> str:
    """A student-chosen string made inert for matplotlib: ``$`` would start mathtext."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    clean = clean if len(clean) <= limit else clean[: limit - 1] + "…"
    return clean.replace("\\", "\\\\").replace("$", r"\$")


def _figure(height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a missing glyph in a student id is not worth a warning
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format="png")
    write_atomic(path, buffer.getvalue())


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#57606a")
    ax.set_axis_off()


def chart_scores(rows: list[Row], max_score: float, path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    scores = [r.score for r in scored(rows)]
    if not scores:
        _empty(ax, "no scores yet")
    else:
        bins = [max_score * i / 10 for i in range(11)]
        ax.hist(scores, bins=bins, color=_BLUE, edgecolor="white")
        median, mean = statistics.median(scores), statistics.fmean(scores)
        ax.axvline(median, color=_ORANGE, lw=2, label=f"median {median:.1f}")
        ax.axvline(mean, color=_GREEN, lw=2, ls="--", label=f"mean {mean:.1f}")
        ax.set_xlim(0, max_score * 1.01)  # a median at full marks stays visible
        ax.set_xlabel(f"score (out of {max_score:g})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, loc="upper left")
    ax.set_title("Score distribution")
    _save(fig, path)


def chart_parts(stats: list[PartStats], path: Path) -> None:
    fig = _figure(0.45 * len(stats) + 1.2)
    ax = fig.add_subplot()
    names = [chart_label(s.part) for s in stats][::-1]
    ys = range(len(stats))
    ax.barh(ys, [100 * s.mean_fraction for s in stats][::-1], color=_GREY, label="mean score")
    ax.barh(
        ys, [100 * s.pass_rate for s in stats][::-1], height=0.5, color=_GREEN, label="full marks"
    )
    ax.set_yticks(list(ys), names)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of students")
    # Below the axes: inside, it would hide the bars of the last parts.
    ax.legend(frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.set_title("Per-part pass rates")
    _save(fig, path)


def chart_misconceptions(counts: list[tuple[str, int]], path: Path) -> None:
    top = counts[:TOP]
    fig = _figure(0.45 * max(len(top), 2) + 1.2)
    ax = fig.add_subplot()
    if not top:
        _empty(ax, "no misconception detected")
    else:
        ax.barh(range(len(top)), [c for _, c in top][::-1], color=_ORANGE)
        ax.set_yticks(range(len(top)), [chart_label(t, 40) for t, _ in top][::-1])
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("students")
    ax.set_title("Most frequent misconceptions")
    _save(fig, path)


def chart_slowest(rows: list[Row], path: Path) -> None:
    fig = _figure(0.45 * max(len(rows), 2) + 1.2)
    ax = fig.add_subplot()
    if not rows:
        _empty(ax, "no timings yet")
    else:
        ax.barh(range(len(rows)), [r.execution_time or 0.0 for r in rows][::-1], color=_BLUE)
        ax.set_yticks(range(len(rows)), [chart_label(shown_id(r.student_id)) for r in rows][::-1])
        ax.set_xlabel("grading time (s)")
    ax.set_title("Slowest submissions")
    _save(fig, path)


def draw_charts(rows: list[Row], spec: Spec, folder: Path, lang: str = "en") -> bool:
    """Write the PNG charts into ``folder``; False when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    chart_scores(rows, spec.max_score, folder / CHARTS["scores"])
    chart_parts(part_stats(rows, spec, lang), folder / CHARTS["parts"])
    chart_misconceptions(misconception_counts(rows), folder / CHARTS["misconceptions"])
    chart_slowest(slowest(rows), folder / CHARTS["slowest"])
    return True


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------


def _feedback_link(row: Row) -> str:
    if not row.has_score:
        return esc(shown_id(row.student_id))
    slug = quote(student_slug(row.student_id), safe="")
    href = f"../{store.STUDENTS}/{slug}/{store.FEEDBACK_HTML}"
    return f'<a href="{esc(href)}">{esc(shown_id(row.student_id))}</a>'


def _fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _shown(key: str, numbers: dict) -> bool:
    """Always the head count and the averages; other statuses only when some student has them."""
    if key in ("students", store.GRADED):
        return True
    return key in numbers if key in ("mean", "median") else bool(numbers.get(key))


def _summary_html(numbers: dict, spec: Spec) -> str:
    keys = [
        ("students", "students"),
        (store.GRADED, "graded"),
        (store.LOAD_FAILED, "failed to load"),
        (store.BROKEN, "broken files"),
        (store.GRADER_ERROR_STATUS, "grader errors"),
        (store.MISSING, "missing"),
        (store.PENDING, "not graded yet"),
        ("mean", "mean score"),
        ("median", "median score"),
    ]
    cells = "".join(
        f"<tr><th>{esc(label)}</th><td class='num'>{esc(_fmt(numbers.get(key, 0)))}</td></tr>"
        for key, label in keys
        if _shown(key, numbers)
    )
    return f"<table style='width:auto;min-width:20rem'>{cells}</table><p class='meta'>out of {spec.max_score:g} points</p>"


def _img(key: str, alt: str, have_charts: bool) -> str:
    if not have_charts:
        return (
            "<p class='meta'>(install matplotlib for the charts: pip install 'bpgrade[report]')</p>"
        )
    return f'<img src="{esc(CHARTS[key])}" alt="{esc(alt)}">'


def _parts_table(stats: list[PartStats]) -> str:
    rows = "".join(
        f"<tr><td>{esc(s.part)}</td><td>{esc(s.title)}</td><td class='num'>{s.points:g}</td>"
        f"<td class='num'>{100 * s.pass_rate:.0f}%</td><td class='num'>{100 * s.mean_fraction:.0f}%</td></tr>"
        for s in stats
    )
    head = "<tr><th>part</th><th>title</th><th>points</th><th>full marks</th><th>mean</th></tr>"
    return f"<table>{head}{rows}</table>"


def _misconception_table(counts: list[tuple[str, int]], spec: Spec, lang: str) -> str:
    if not counts:
        return "<p>No misconception was detected.</p>"
    titles = {m.tag: m.title_in(lang) for m in load_catalog(spec.misconceptions_module)}
    rows = "".join(
        f"<tr><td><code>{esc(tag)}</code></td><td>{esc(titles.get(tag, ''))}</td>"
        f"<td class='num'>{n}</td></tr>"
        for tag, n in counts[:TOP]
    )
    return (
        f"<table><tr><th>tag</th><th>what the student did</th><th>students</th></tr>{rows}</table>"
    )


def _slowest_table(rows: list[Row]) -> str:
    body = "".join(
        f"<tr><td>{_feedback_link(r)}</td><td class='num'>{_fmt(r.execution_time, 2)} s</td>"
        f"<td>{esc(r.status)}</td><td class='num'>{_fmt(r.score, 1)}</td></tr>"
        for r in rows
    )
    return (
        f"<table><tr><th>student</th><th>time</th><th>status</th><th>score</th></tr>{body}</table>"
    )


def _problems_table(rows: list[Row]) -> str:
    bad = [r for r in rows if r.status not in (store.GRADED,)]
    if not bad:
        return "<p>Every submission was graded.</p>"
    body = "".join(
        f"<tr><td>{_feedback_link(r)}</td><td>{esc(r.status)}</td>"
        f"<td><code>{esc(shown_id(r.submission))}</code></td><td>{esc(shown_id(r.error))}</td></tr>"
        for r in bad
    )
    head = "<tr><th>student</th><th>status</th><th>submission</th><th>reason</th></tr>"
    return f"<table>{head}{body}</table>"


def _similarity_section(pairs: list[dict] | None) -> list[str]:
    """A link to ``OUT/similarity/`` (``bpgrade similarity``) and its flagged pairs, if it exists."""
    if pairs is None:
        return []
    flagged = [p for p in pairs if isinstance(p, dict) and p.get("flagged")]
    rows = "".join(
        f"<tr><td>{esc(p.get('a'))}</td><td>{esc(p.get('b'))}</td>"
        f"<td class='num'>{float(p.get('score') or 0):.2f}</td>"
        f"<td class='num'>{esc(p.get('longest'))}</td></tr>"
        for p in flagged[:TOP]
    )
    table = (
        f"<table><tr><th>a</th><th>b</th><th>score</th><th>longest run</th></tr>{rows}</table>"
        if rows
        else "<p>No pair is flagged.</p>"
    )
    return [
        "<h2>Similarity</h2>",
        "<p class='notice'><strong>Similarity, not a verdict.</strong> "
        f"{len(flagged)} flagged pair(s) of {len(pairs)} sharing code: "
        f'<a href="../{SIMILARITY_DIR}/index.html">the similarity report</a>.</p>',
        table,
    ]


def render_html(
    rows: list[Row],
    spec: Spec,
    *,
    have_charts: bool,
    lang: str = "en",
    similarity: list[dict] | None = None,
) -> str:
    """The class report page (no scripts; charts referenced as sibling PNG files)."""
    stats = part_stats(rows, spec, lang)
    counts = misconception_counts(rows)
    title = spec.title.get(lang) or spec.title.get("en") or spec.name
    sections = [
        f"<h1>Class report: {esc(title)}</h1>",
        _summary_html(summary(rows), spec),
        "<h2>Score distribution</h2>",
        _img("scores", "histogram of total scores", have_charts),
        "<h2>Per-part pass rates</h2>",
        _img("parts", "share of students with full marks on each part", have_charts),
        _parts_table(stats),
        "<h2>Most frequent misconceptions</h2>",
        _img("misconceptions", "misconceptions by number of students", have_charts),
        _misconception_table(counts, spec, lang),
        "<h2>Slowest submissions</h2>",
        _img("slowest", "the slowest submissions by grading time", have_charts),
        _slowest_table(slowest(rows)),
        "<h2>Submissions that could not be graded normally</h2>",
        _problems_table(rows),
        *_similarity_section(similarity),
    ]
    return page(f"Class report: {title}", "\n".join(sections), lang=lang)


def write_class_report(rows: list[Row], spec: Spec, out: Path, *, lang: str = "en") -> Path:
    """Write ``OUT/report/index.html`` and its charts; return the page's path."""
    folder = Path(out) / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    have_charts = draw_charts(rows, spec, folder, lang)
    index = folder / "index.html"
    from autograder.report.similarity import read_pairs

    similarity = read_pairs(Path(out) / SIMILARITY_DIR)  # from `bpgrade similarity`, if run
    page_html = render_html(rows, spec, have_charts=have_charts, lang=lang, similarity=similarity)
    write_atomic(index, page_html)
    return index
