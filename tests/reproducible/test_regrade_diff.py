"""``bpgrade regrade-diff``: each recorded cause of a changed score is named, and only those.

Two grade-all folders are written by hand (results.json documents as the batch writes them), so
each case changes exactly one thing between OLD and NEW.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.regrade_diff import diff_folders, to_table

PROV = {
    "grader_version": "c0de-5bec",
    "code_version": "c0de",
    "spec_hash": "5bec",
    "seed_id": "5eed",
    "tier": "bwrap",
    "child": {"python": "3.11.2", "numpy": "1.26.4", "scipy": "1.11.4", "blas": "openblas 0.3.23"},
    "parts": {
        "sigmoid": {"points": 5.0, "rtol": 1e-07, "atol": 1e-12, "float32": "accept",
                    "public_cases": 2, "hidden_cases": 3, "check": "array"},
        "nnGrad": {"points": 20.0, "rtol": 1e-06, "atol": 1e-09, "float32": "accept",
                   "public_cases": 2, "hidden_cases": 6, "check": "grad"},
    },
}  # fmt: skip


def _doc(parts: dict[str, float], prov: dict | None, content: str = "sha256:aa") -> dict:
    extra = {"student_id": "s1", "max_score": 25.0, "tier": "bwrap"}
    if prov is not None:
        extra["provenance"] = prov
    extra["batch"] = {
        "status": "graded",
        "parts": parts,
        "max_parts": {"sigmoid": 5.0, "nnGrad": 20.0},
        "content": content,
    }
    return {"score": sum(parts.values()), "tests": [], "extra_data": extra}


def _write(out: Path, docs: dict[str, dict]) -> Path:
    for student, doc in docs.items():
        folder = out / "students" / student
        folder.mkdir(parents=True)
        doc = copy.deepcopy(doc)
        doc["extra_data"]["student_id"] = student
        (folder / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return out


def _changed(key: str, value) -> dict:
    prov = copy.deepcopy(PROV)
    where = prov
    *path, last = key.split(".")
    for step in path:
        where = where[step]
    where[last] = value
    return prov


FULL = {"sigmoid": 5.0, "nnGrad": 20.0}
LESS = {"sigmoid": 5.0, "nnGrad": 12.0}


@pytest.mark.parametrize(
    ("new_prov", "content", "student_reason", "part_reason"),
    [
        (_changed("code_version", "beef"), "sha256:aa", "grader code changed (c0de → beef)", []),
        (_changed("spec_hash", "f00d"), "sha256:aa", "spec changed (5bec → f00d)", []),
        (_changed("parts.nnGrad.rtol", 1e-05), "sha256:aa", None, ["rtol 1e-06 → 1e-05"]),
        (_changed("seed_id", "abcd"), "sha256:aa", "different hidden cases (seed id 5eed → "
         "abcd: another course secret or student id)", []),
        (_changed("tier", "seccomp"), "sha256:aa", "sandbox tier bwrap → seccomp", []),
        (_changed("child.numpy", "2.4.6"), "sha256:aa", "child numpy 1.26.4 → 2.4.6", []),
        (_changed("child.blas", "mkl 2024"), "sha256:aa", "child blas openblas 0.3.23 → mkl 2024", []),
        (PROV, "sha256:bb", "the submission itself changed", []),
        (None, "sha256:aa", "NEW has no provenance (graded before bpgrade recorded it)", []),
        (PROV, "sha256:aa", "no recorded cause: same grader, spec, cases and runtime (the "
         "submission may not be deterministic)", []),
    ],
)  # fmt: skip
def test_each_recorded_cause_is_named(tmp_path, new_prov, content, student_reason, part_reason):
    old = _write(tmp_path / "old", {"s1": _doc(FULL, PROV)})
    new = _write(tmp_path / "new", {"s1": _doc(LESS, new_prov, content)})
    diff = diff_folders(old, new)
    [change] = diff.changed
    assert (change.student_id, change.old, change.new, change.delta) == ("s1", 25.0, 17.0, -8.0)
    assert [(p.part, p.old, p.new, p.delta) for p in change.parts] == [("nnGrad", 20.0, 12.0, -8.0)]
    assert change.parts[0].reasons == part_reason
    assert change.reasons == ([student_reason] if student_reason else [])


def test_unchanged_and_one_sided_students_are_counted(tmp_path):
    old = _write(tmp_path / "old", {"s1": _doc(FULL, PROV), "s2": _doc(FULL, PROV)})
    new = _write(tmp_path / "new", {"s1": _doc(FULL, PROV), "s3": _doc(FULL, PROV)})
    diff = diff_folders(old, new)
    assert (diff.changed, diff.unchanged, diff.only_old, diff.only_new) == ([], 1, ["s2"], ["s3"])


def test_the_biggest_change_comes_first(tmp_path):
    small = {"sigmoid": 5.0, "nnGrad": 19.0}
    old = _write(tmp_path / "old", {"a": _doc(FULL, PROV), "b": _doc(FULL, PROV)})
    new = _write(tmp_path / "new", {"a": _doc(small, PROV), "b": _doc(LESS, PROV)})
    assert [c.student_id for c in diff_folders(old, new).changed] == ["b", "a"]


def test_table_and_json_outputs(tmp_path, capsys):
    old = _write(tmp_path / "old", {"s1": _doc(FULL, PROV)})
    new = _write(tmp_path / "new", {"s1": _doc(LESS, _changed("parts.nnGrad.rtol", 1e-05))})
    assert main(["regrade-diff", str(old), str(new), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["changed"][0]["parts"][0] == {
        "part": "nnGrad", "old": 20.0, "new": 12.0, "delta": -8.0,
        "reasons": ["rtol 1e-06 → 1e-05"],
    }  # fmt: skip
    assert main(["regrade-diff", str(old), str(new)]) == 0
    table = capsys.readouterr().out
    assert table == to_table(diff_folders(old, new))
    assert "nnGrad" in table and "-8" in table and "rtol 1e-06 → 1e-05" in table


def test_reasons_in_chinese(tmp_path):
    old = _write(tmp_path / "old", {"s1": _doc(FULL, PROV)})
    new = _write(tmp_path / "new", {"s1": _doc(LESS, _changed("tier", "seccomp"))})
    assert diff_folders(old, new, lang="zh").changed[0].reasons == ["沙箱级别 bwrap → seccomp"]


def test_a_folder_that_is_not_graded_is_an_error(tmp_path, capsys):
    assert main(["regrade-diff", str(tmp_path), str(tmp_path)]) == 2
    assert "neither a grade-all output folder" in capsys.readouterr().err
