"""The similarity report: ``DIR/index.html`` (ranked pairs), one page per shown pair with the
matching regions side by side, and ``DIR/pairs.json``.

Every page says "similarity, not a verdict" and carries the report CSP of
:mod:`autograder.report.html` (no scripts at all, nothing remote); every student-controlled
string (ids, code) goes through :func:`~autograder.report.html.esc`.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from autograder.files import write_atomic
from autograder.report.html import esc, page
from autograder.similarity import Document, Pair, SimilarityResult, matched_regions

INDEX = "index.html"
PAIRS_JSON = "pairs.json"
PAIR_DIR = "pairs"
#: Pairs given a side-by-side page: every flagged pair, then the next highest, up to this many.
SHOWN = 50
#: pairs.json lists at most this many pairs (those sharing anything beyond the boilerplate).
MAX_LISTED = 5000
BANNER = (
    '<p class="notice"><strong>Similarity, not a verdict.</strong> A high score means two '
    "submissions share code beyond the starter code and what most of the class wrote; it does "
    "not say who wrote it, or whether sharing was allowed. Read the code before concluding "
    "anything. · 相似度，不是结论。</p>"
)
EXTRA_STYLE = (
    "<style>.sbs{display:grid;grid-template-columns:1fr 1fr;gap:1rem}"
    ".sbs pre{font-size:12px;overflow:auto;background:#f6f8fa;padding:.5rem;margin:0}"
    "mark{background:#ffd8a8}</style>"
)


def _pair_file(rank: int) -> str:
    return f"{PAIR_DIR}/{rank:04d}.html"


def _highlight(text: str, ranges: list[tuple[int, int]]) -> str:
    """The code, escaped, with the matching ranges in ``<mark>``."""
    out, pos = [], 0
    for start, end in ranges:
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def _settings(result: SimilarityResult) -> str:
    files = ", ".join(Path(f).name for f in result.boilerplate) or "none"
    return (
        f'<p class="meta">Flagged: score ≥ {result.threshold:g} <em>and</em> a shared run of at '
        f"least {result.min_longest} normalised characters (a short function alone never flags). "
        f"Subtracted as boilerplate: {esc(files)}; {result.common_hashes} fingerprints shared by "
        "most of the class. Score: the share of one submission's remaining code found in the "
        "other.</p>"
    )


def render_index(result: SimilarityResult, shown: list[Pair]) -> str:
    flagged = sum(p.flagged for p in result.pairs)
    problems = [d for d in result.documents if d.problem]
    rows = []
    for rank, p in enumerate(shown, start=1):
        mark = '<span class="bad">flagged</span>' if p.flagged else ""
        rows.append(
            f"<tr><td class='num'>{rank}</td><td>{esc(p.a)}</td><td>{esc(p.b)}</td>"
            f"<td class='num'>{p.score:.2f}</td><td class='num'>{p.longest}</td><td>{mark}</td>"
            f'<td><a href="{esc(quote(_pair_file(rank)))}">side by side</a></td></tr>'
        )
    table = (
        "<table><tr><th>rank</th><th>a</th><th>b</th><th>score</th><th>longest run</th>"
        "<th></th><th></th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>No two submissions share code beyond the boilerplate.</p>"
    )
    unread = (
        "<h2>Submissions that could not be read</h2><ul>"
        + "".join(f"<li>{esc(d.student_id)}: {esc(d.problem)}</li>" for d in problems)
        + "</ul>"
        if problems
        else ""
    )
    body = (
        EXTRA_STYLE
        + "<h1>Similarity report</h1>"
        + BANNER
        + f"<p>{len(result.documents)} submissions, {len(result.pairs)} pairs sharing code, "
        f"<strong>{flagged} flagged</strong>. The {len(shown)} highest pairs are shown; all are "
        f'in <a href="{PAIRS_JSON}">{PAIRS_JSON}</a>.</p>' + _settings(result) + table + unread
    )
    return page("Similarity report (similarity, not a verdict)", body)


def render_pair(rank: int, pair: Pair, a: Document, b: Document) -> str:
    ranges_a, ranges_b = matched_regions(a, b)
    status = "flagged" if pair.flagged else "not flagged"
    body = (
        EXTRA_STYLE
        + f"<h1>#{rank}: {esc(pair.a)} and {esc(pair.b)}</h1>"
        + BANNER
        + f"<p>Score {pair.score:.2f} ({esc(pair.a)}: {pair.coverage[0]:.2f} of its code found in "
        f"the other; {esc(pair.b)}: {pair.coverage[1]:.2f}), longest shared run {pair.longest} "
        f'normalised characters: {status}. <a href="../{INDEX}">All pairs</a></p>'
        + '<div class="sbs">'
        + f"<div><h2>{esc(pair.a)}</h2><pre><code>{_highlight(a.text, ranges_a)}</code></pre></div>"
        + f"<div><h2>{esc(pair.b)}</h2><pre><code>{_highlight(b.text, ranges_b)}</code></pre></div>"
        + "</div>"
    )
    return page(f"Similarity #{rank} (similarity, not a verdict)", body)


def write_report(result: SimilarityResult, out: str | Path, *, shown: int = SHOWN) -> Path:
    """Write ``index.html``, ``pairs/NNNN.html`` and ``pairs.json`` into ``out``; the index path."""
    out = Path(out)
    (out / PAIR_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (out / PAIR_DIR).glob("*.html"):  # a rerun with fewer pairs
        stale.unlink()
    flagged = [p for p in result.pairs if p.flagged]
    top = result.pairs[: max(shown, len(flagged))]
    by_id = {d.student_id: d for d in result.documents}
    for rank, pair in enumerate(top, start=1):
        write_atomic(out / _pair_file(rank), render_pair(rank, pair, by_id[pair.a], by_id[pair.b]))
    listed = [p.to_json() for p in result.pairs[:MAX_LISTED]]
    write_atomic(out / PAIRS_JSON, json.dumps(listed, ensure_ascii=False, indent=1) + "\n")
    index = out / INDEX
    write_atomic(index, render_index(result, top))
    return index


def read_pairs(folder: str | Path) -> list[dict] | None:
    """``pairs.json`` of a report folder, or ``None`` when there is none (for the class report)."""
    try:
        data = json.loads((Path(folder) / PAIRS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, list) else None
