"""``bpgrade regrade-diff OLD NEW``: who changed between two gradings, where, by how much, and why.

OLD and NEW are graded folders (:func:`autograder.graded.load_graded`: ``grade-all`` output or a
course folder). For every student whose score or part scores differ, the diff lists the parts
that changed and the recorded causes, read from each results document's provenance
(:mod:`autograder.provenance`): the grading code, the spec (per part: points, tolerances, float32
policy, case counts), the hidden cases' seed id, the sandbox tier, the child's Python, numpy,
scipy and BLAS, and (``grade-all``) the submission's content. When nothing recorded differs, it
says so: the same code, cases and runtime gave another score, so the submission itself is not
deterministic.

The course server's regrade panel uses :func:`explain` on the counting attempt's results before
and after (:func:`autograder.server.regrade.summary`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.graded import GradedClass, GradedStudent, load_graded, parts_of, provenance_of
from autograder.messages import msg
from autograder.provenance import CHILD_FIELDS, PART_FIELDS

EPS = 1e-9


@dataclass
class PartChange:
    part: str
    old: float | None
    new: float | None
    delta: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class StudentChange:
    student_id: str
    old: float | None
    new: float | None
    delta: float
    parts: list[PartChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class Diff:
    old: str
    new: str
    changed: list[StudentChange] = field(default_factory=list)
    unchanged: int = 0
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Causes
# ---------------------------------------------------------------------------------------------


def _fmt(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def global_reasons(old: dict[str, Any], new: dict[str, Any], lang: str = "en") -> list[str]:
    """What differs between two provenance records, outside the per-part spec fields."""
    if not old or not new:
        return [msg("rd_no_provenance", lang, side="OLD" if not old else "NEW")]
    out = []
    for field_name, key in (("code_version", "rd_code"), ("spec_hash", "rd_spec"),
                            ("seed_id", "rd_seed"), ("tier", "rd_tier")):  # fmt: skip
        if old.get(field_name) != new.get(field_name):
            out.append(msg(key, lang, old=old.get(field_name), new=new.get(field_name)))
    old_child, new_child = old.get("child") or {}, new.get("child") or {}
    for key in CHILD_FIELDS:
        if old_child.get(key) != new_child.get(key):
            out.append(
                msg("rd_child", lang, what=key, old=old_child.get(key), new=new_child.get(key))
            )
    return out


def part_reasons(
    old: dict[str, Any], new: dict[str, Any], part: str, lang: str = "en"
) -> list[str]:
    """How one part's spec entry changed (points, tolerances, float32 policy, case counts)."""
    if not old or not new:
        return []
    old_part = (old.get("parts") or {}).get(part)
    new_part = (new.get("parts") or {}).get(part)
    if old_part is None and new_part is not None:
        return [msg("rd_part_added", lang)]
    if new_part is None and old_part is not None:
        return [msg("rd_part_removed", lang)]
    if old_part is None:
        return []
    return [
        msg("rd_field", lang, what=key, old=_fmt(old_part.get(key)), new=_fmt(new_part.get(key)))
        for key in PART_FIELDS
        if old_part.get(key) != new_part.get(key)
    ]


def explain(
    old_results: dict[str, Any] | None, new_results: dict[str, Any] | None, lang: str = "en"
) -> tuple[list[PartChange], list[str]]:
    """The changed parts of one submission's two results documents, and the overall causes.

    Used by the course server's regrade panel, where the two documents are the counting
    attempt's results before and after a regrade.
    """
    old_parts, _ = parts_of(old_results) if old_results else ({}, {})
    new_parts, _ = parts_of(new_results) if new_results else ({}, {})
    old_prov = provenance_of(old_results) if old_results else {}
    new_prov = provenance_of(new_results) if new_results else {}
    parts = _part_changes(old_parts, new_parts, old_prov, new_prov, lang)
    return parts, global_reasons(old_prov, new_prov, lang)


def _part_changes(
    old_parts: dict[str, float],
    new_parts: dict[str, float],
    old_prov: dict[str, Any],
    new_prov: dict[str, Any],
    lang: str = "en",
) -> list[PartChange]:
    changes = []
    for part in list(dict.fromkeys([*old_parts, *new_parts])):
        before, after = old_parts.get(part), new_parts.get(part)
        if before is not None and after is not None and abs(after - before) <= EPS:
            continue
        delta = round((after or 0.0) - (before or 0.0), 4)
        changes.append(
            PartChange(part, before, after, delta, part_reasons(old_prov, new_prov, part, lang))
        )
    return changes


# ---------------------------------------------------------------------------------------------
# Two folders
# ---------------------------------------------------------------------------------------------


def _student_change(
    old: GradedStudent, new: GradedStudent, lang: str = "en"
) -> StudentChange | None:
    parts = _part_changes(old.parts, new.parts, old.provenance, new.provenance, lang)
    score_moved = (old.score is None) != (new.score is None) or (
        old.score is not None and new.score is not None and abs(new.score - old.score) > EPS
    )
    if not parts and not score_moved:
        return None
    reasons = global_reasons(old.provenance, new.provenance, lang)
    if old.status != new.status:
        reasons.append(msg("rd_status", lang, old=old.status, new=new.status))
    old_content, new_content = old.batch.get("content"), new.batch.get("content")
    if old_content and new_content and old_content != new_content:
        reasons.append(msg("rd_content", lang))
    if old.penalty != new.penalty:
        reasons.append(msg("rd_penalty", lang, old=f"{old.penalty:g}", new=f"{new.penalty:g}"))
    if not reasons and not any(p.reasons for p in parts):
        reasons.append(msg("rd_no_cause", lang))
    delta = round((new.score or 0.0) - (old.score or 0.0), 4)
    return StudentChange(old.student_id, old.score, new.score, delta, parts, reasons)


def diff_classes(old: GradedClass, new: GradedClass, lang: str = "en") -> Diff:
    """Compare two graded classes student by student (ids present in both)."""
    result = Diff(str(old.path), str(new.path))
    result.only_old = sorted(set(old.students) - set(new.students))
    result.only_new = sorted(set(new.students) - set(old.students))
    for student in sorted(set(old.students) & set(new.students)):
        change = _student_change(old.students[student], new.students[student], lang)
        if change is None:
            result.unchanged += 1
        else:
            result.changed.append(change)
    result.changed.sort(key=lambda c: (-abs(c.delta), c.student_id))
    return result


def diff_folders(
    old: str | Path, new: str | Path, *, homework: str | None = None, lang: str = "en"
) -> Diff:
    """:func:`diff_classes` of two folders read by :func:`~autograder.graded.load_graded`."""
    return diff_classes(
        load_graded(old, homework=homework), load_graded(new, homework=homework), lang
    )


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def to_table(diff: Diff) -> str:
    """A plain-text table: one line per changed student, then one per changed part."""
    rows = [("student", "part", "old", "new", "change", "why")]
    for c in diff.changed:
        rows.append(
            (c.student_id, "total", _num(c.old), _num(c.new), f"{c.delta:+g}", "; ".join(c.reasons))
        )
        for p in c.parts:
            rows.append(
                ("", p.part, _num(p.old), _num(p.new), f"{p.delta:+g}", "; ".join(p.reasons))
            )
    shown = [tuple(_printable(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in shown) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5]
        for row in shown
    ]
    lines.append("")
    lines.append(
        f"{len(diff.changed)} changed, {diff.unchanged} unchanged"
        + (f", {len(diff.only_old)} only in OLD" if diff.only_old else "")
        + (f", {len(diff.only_new)} only in NEW" if diff.only_new else "")
    )
    for label, ids in (("only in OLD", diff.only_old), ("only in NEW", diff.only_new)):
        if ids:
            lines.append(f"{label}: " + ", ".join(_printable(i) for i in ids))
    return "\n".join(lines) + "\n"


def _printable(text: str) -> str:
    """A student id made safe for a terminal (no control characters)."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def to_json_text(diff: Diff) -> str:
    return json.dumps(diff.to_json(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
