"""Reproducible grades: every results.json and gradebook row says what made it.

One small real batch (three example submissions, through the sandbox) is graded twice, the
second time with a spec whose sigmoid part is worth more; ``regrade-diff`` must then name the
part, the amount and the spec change, and nothing else.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from autograder import provenance
from autograder.batch.discover import discover
from autograder.batch.gradebook import PROVENANCE_COLUMNS, build_rows, write_gradebook
from autograder.batch.run import BatchOptions, grade_all
from autograder.harness.runtime import find_child_python
from autograder.regrade_diff import diff_folders
from autograder.server import worker
from autograder.spec import DEFAULT_SPEC, load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submissions"
SECRET = b"provenance-test-secret"
STUDENTS = ("correct", "bias_regularized", "forgot_sigmoid_gradient")


def _grade(subs: Path, out: Path, spec_path: Path) -> None:
    found = discover(subs)
    options = BatchOptions(out=out, jobs=1, spec_path=spec_path, secret=SECRET, pool="thread")
    grade_all(found.submissions, options)
    spec = load_spec(spec_path)
    write_gradebook(build_rows(found.submissions, out, spec), out, spec)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("prov")
    subs = base / "subs"
    subs.mkdir()
    for name in STUDENTS:
        (subs / f"{name}.py").write_bytes((EXAMPLES / f"{name}.py").read_bytes())
    richer = base / "spec.toml"
    text = Path(DEFAULT_SPEC).read_text(encoding="utf-8")
    # sigmoid (the first part) is worth 10 points instead of 5
    richer.write_text(text.replace("points = 5\n", "points = 10\n", 1), encoding="utf-8")
    support = Path(DEFAULT_SPEC).with_name("support.py")  # the spec names it beside itself
    (base / "support.py").write_bytes(support.read_bytes())
    _grade(subs, base / "v1", Path(DEFAULT_SPEC))
    _grade(subs, base / "v2", richer)
    return base


def _results(out: Path, student: str) -> dict:
    return json.loads((out / "students" / student / "results.json").read_text(encoding="utf-8"))


def _child_facts() -> dict:
    script = (
        "import json, sys, numpy, importlib.metadata as m; print(json.dumps({'python': "
        "'.'.join(map(str, sys.version_info[:3])), 'numpy': numpy.__version__, "
        "'scipy': m.version('scipy')}))"
    )
    out = subprocess.run([find_child_python(), "-I", "-c", script], capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("student", STUDENTS)
def test_results_json_records_what_made_the_grade(graded, student):
    prov = _results(graded / "v1", student)["extra_data"]["provenance"]
    spec = load_spec()
    assert prov["code_version"] == provenance.code_version()
    assert prov["spec_hash"] == provenance.file_digest(DEFAULT_SPEC)
    assert prov["grader_version"] == worker.grader_version(Path(DEFAULT_SPEC))
    assert prov["seed_id"] == provenance.seed_id(SECRET, spec.name, student)
    assert prov["tier"] in ("bwrap", "seccomp", "rlimits")
    assert set(prov["parts"]) == {p.id for p in spec.parts}


def test_child_versions_are_the_sandbox_runtimes_not_the_graders(graded):
    prov = _results(graded / "v1", "correct")["extra_data"]["provenance"]
    facts = _child_facts()
    assert {k: prov["child"][k] for k in facts} == facts
    assert prov["child"]["blas"] != provenance.UNKNOWN


def test_the_server_and_the_batch_name_the_same_seed():
    assert worker.seed_id is provenance.seed_id
    assert worker.grader_version is provenance.grader_version


@pytest.mark.parametrize(
    ("secret", "student", "same_as"),
    [
        (b"k1", "s1", None),
        (b"k2", "s1", (b"k1", "s1")),  # another secret: another id
        (b"k1", "s2", (b"k1", "s1")),  # another student: another id
    ],
)
def test_seed_ids_differ_by_secret_and_student_and_hide_the_secret(secret, student, same_as):
    sid = provenance.seed_id(secret, "backprop", student)
    assert len(sid) == 16 and secret.decode() not in sid
    if same_as is not None:
        assert sid != provenance.seed_id(same_as[0], "backprop", same_as[1])


def test_no_output_file_holds_the_secret(graded):
    for path in (graded / "v1").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_bytes(), path


def test_gradebook_rows_carry_the_provenance(graded):
    with open(graded / "v1" / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["tier"] and r[c] for r in rows for c in PROVENANCE_COLUMNS)
    assert {r["seed_id"] for r in rows} == {
        provenance.seed_id(SECRET, "backprop", s) for s in STUDENTS
    }


def test_regrade_diff_names_the_part_the_amount_and_the_spec_change(graded):
    diff = diff_folders(graded / "v1", graded / "v2")
    by_id = {c.student_id: c for c in diff.changed}
    # Every example gets sigmoid right, so everyone gains the 5 new points, on sigmoid alone.
    assert sorted(by_id) == sorted(STUDENTS) and diff.unchanged == 0
    for change in by_id.values():
        assert change.delta == 5.0
        assert [(p.part, p.delta, p.reasons) for p in change.parts] == [
            ("sigmoid", 5.0, ["points 5 → 10"])
        ]
        assert len(change.reasons) == 1 and change.reasons[0].startswith("spec changed")


def test_regrade_diff_of_a_folder_with_itself_is_empty(graded):
    diff = diff_folders(graded / "v1", graded / "v1")
    assert diff.changed == [] and diff.unchanged == len(STUDENTS)


@pytest.mark.parametrize(
    ("path", "counted"),
    [
        ("autograder/grading.py", True),
        ("autograder/harness/worker.py", True),
        ("autograder/homeworks/backprop/spec.toml", True),
        ("bpnet_ref/network.py", True),
        ("autograder/server/api.py", False),  # serves grades, never changes one
        ("autograder/commands/grade.py", False),
        ("autograder/server/static/app.js", False),
        ("autograder/__pycache__/grading.cpython-311.pyc", False),
        ("autograder/harness/__pycache__/stale.py", False),
        ("autograder/README.md", False),
        ("docs/DESIGN.md", False),
    ],
)
def test_the_code_version_covers_exactly_the_grading_code(tmp_path, path, counted):
    """What may change a score is in the grader version; what cannot, is not."""
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("x = 1\n")
    found = {p.relative_to(tmp_path).as_posix() for p in provenance._grading_files(tmp_path)}
    assert (path in found) is counted
