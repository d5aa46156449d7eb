"""``gradebook.csv``: one row per discovered student, rebuilt from the results on disk.

The gradebook is never appended to. Each run reads every student's ``results.json`` and writes the
whole file atomically, so a killed run cannot leave a duplicate or a half row, and a rerun's
gradebook equals an uninterrupted run's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch import store
from autograder.batch.discover import Submission, shown_id
from autograder.files import write_atomic
from autograder.spec import Spec

GRADEBOOK = "gradebook.csv"
BASE_COLUMNS = ("student_id", "status", "score", "max_score")
TAIL_COLUMNS = ("misconceptions", "error", "execution_time", "tier", "submission", "feedback")

# A cell starting with one of these is a formula in Excel/LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Row:
    """One student's gradebook row."""

    student_id: str
    status: str
    score: float | None
    max_score: float
    parts: dict[str, float] = field(default_factory=dict)
    misconceptions: list[str] = field(default_factory=list)
    error: str = ""
    execution_time: float | None = None
    tier: str = ""
    submission: str = ""
    feedback: str = ""

    @property
    def has_score(self) -> bool:
        return self.score is not None


def row_for(sub: Submission, out: Path, spec: Spec) -> Row:
    """The row of one discovered student, from their ``results.json`` if it exists."""
    folder = store.student_dir(out, sub.slug)
    results = store.load_results(folder) if not sub.missing else None
    if results is None:
        status = store.MISSING if sub.missing else store.PENDING
        return Row(sub.student_id, status, None, spec.max_score)
    extra = results.get("extra_data") or {}
    meta = store.batch_meta(results)
    return Row(
        student_id=sub.student_id,
        status=str(meta.get("status", store.GRADED)),
        score=float(results.get("score", 0.0)),
        max_score=float(extra.get("max_score", spec.max_score)),
        parts={k: float(v) for k, v in (meta.get("parts") or {}).items()},
        misconceptions=[str(t) for t in extra.get("misconceptions") or []],
        error=str(extra.get("error") or ""),
        execution_time=_float_or_none(results.get("execution_time")),
        tier=str(extra.get("tier") or ""),
        submission=str(meta.get("submission") or ""),
        feedback=f"{store.STUDENTS}/{sub.slug}/{store.FEEDBACK_HTML}",
    )


def _float_or_none(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def build_rows(submissions: list[Submission], out: Path, spec: Spec) -> list[Row]:
    """Every discovered student's row, in discovery order (sorted by id)."""
    return [row_for(s, Path(out), spec) for s in submissions]


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula: student text may start with ``=``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def to_csv(rows: list[Row], part_ids: list[str]) -> str:
    """The gradebook as CSV text: fixed columns, one column per part, misconception tags."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*BASE_COLUMNS, *part_ids, *TAIL_COLUMNS])
    for r in rows:
        parts = [_number(r.parts.get(p)) if r.has_score else "" for p in part_ids]
        writer.writerow(
            [
                safe_cell(shown_id(r.student_id)),  # a GBK file name's bytes as \xNN
                r.status,
                _number(r.score),
                _number(r.max_score),
                *parts,
                safe_cell(";".join(r.misconceptions)),
                safe_cell(shown_id(r.error)),
                _number(r.execution_time),
                safe_cell(r.tier),
                safe_cell(shown_id(r.submission)),
                safe_cell(r.feedback if r.has_score else ""),
            ]
        )
    return buffer.getvalue()


def write_gradebook(rows: list[Row], out: Path, spec: Spec) -> Path:
    """Write ``OUT/gradebook.csv`` atomically and return its path."""
    path = Path(out) / GRADEBOOK
    write_atomic(path, to_csv(rows, [p.id for p in spec.parts]))
    return path
