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
#: What the grade was made with (``extra_data.provenance``; see :mod:`autograder.provenance`).
PROVENANCE_COLUMNS = (
    "grader_version", "spec_hash", "seed_id", "child_python", "child_numpy", "child_scipy",
    "child_blas",
)  # fmt: skip

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
    provenance: dict = field(default_factory=dict)

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
        provenance=extra.get("provenance") if isinstance(extra.get("provenance"), dict) else {},
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
    writer.writerow([*BASE_COLUMNS, *part_ids, *TAIL_COLUMNS, *PROVENANCE_COLUMNS])
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
                *(safe_cell(v) for v in provenance_cells(r.provenance)),
            ]
        )
    return buffer.getvalue()


def provenance_cells(prov: dict) -> list[str]:
    """The :data:`PROVENANCE_COLUMNS` of one results document's provenance (blank if none)."""
    child = prov.get("child") if isinstance(prov.get("child"), dict) else {}
    return [
        str(prov.get("grader_version") or ""),
        str(prov.get("spec_hash") or ""),
        str(prov.get("seed_id") or ""),
        *(str(child.get(k) or "") for k in ("python", "numpy", "scipy", "blas")),
    ]


def write_gradebook(rows: list[Row], out: Path, spec: Spec) -> Path:
    """Write ``OUT/gradebook.csv`` atomically and return its path."""
    path = Path(out) / GRADEBOOK
    write_atomic(path, to_csv(rows, [p.id for p in spec.parts]))
    return path
