"""The logreg homework (ex2), built only from its own files.

* the reference (bpnet_ref.logistic) agrees with ex2's published values and with finite differences;
* its release (assignments/logreg/) has not drifted, and its notebook runs in a real kernel with
  every check cell passing and two decision-boundary plots;
* graded end to end: the solution earns every point, the stubs none;
* a submission's homework is inferred from its functions, and a tie is a clear error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import autograder
from autograder import homeworks
from autograder.grading import grade_submission
from autograder.release import LANGS, build_release, diff_release, load_homework
from autograder.spec import SpecError
from bpnet_ref import logistic as ref

ROOT = Path(autograder.__file__).resolve().parents[1]
HOMEWORK, SPEC = load_homework("logreg")


@pytest.fixture(scope="module")
def student_files() -> dict[str, str]:
    return build_release(HOMEWORK.source, SPEC)


@pytest.fixture(scope="module")
def solution_files() -> dict[str, str]:
    return build_release(HOMEWORK.source, SPEC, solution=True)


# ---------------------------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------------------------


def _finite_differences(f, theta, e=1e-6):
    grad = np.zeros_like(theta)
    for j in range(theta.size):
        step = np.zeros_like(theta)
        step[j] = e
        grad[j] = (f(theta + step)[0] - f(theta - step)[0]) / (2 * e)
    return grad


@pytest.mark.parametrize("lambda_", [0.0, 1.0, 10.0])
def test_reference_gradient_matches_finite_differences(lambda_):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(12), rng.normal(size=(12, 3))])
    y = (rng.random(12) > 0.5).astype(float)
    theta = rng.normal(size=4)
    _, grad = ref.cost_function_reg(theta, X, y, lambda_)
    numeric = _finite_differences(lambda t: ref.cost_function_reg(t, X, y, lambda_), theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("theta", "lambda_", "J"),
    [
        (np.zeros(3), 0.0, np.log(2)),  # ex2: J(0) = 0.693
        (np.array([0.0, 2.0, -1.0]), 0.0, None),
        (np.array([5.0, 0.0, 0.0]), 7.0, None),  # θ₀ alone: the penalty adds nothing
    ],
)
def test_reference_cost_values(theta, lambda_, J):
    X = np.column_stack([np.ones(4), [1.0, 2.0, -1.0, 0.5], [0.5, -1.0, 2.0, 1.0]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    got, _ = ref.cost_function_reg(theta, X, y, lambda_)
    h = 1 / (1 + np.exp(-X @ theta))
    textbook = -np.mean(y * np.log(h) + (1 - y) * np.log(1 - h))
    assert got == pytest.approx(textbook if J is None else J, rel=1e-12)


@pytest.mark.parametrize(("degree", "columns"), [(1, 3), (2, 6), (6, 28)])
def test_map_feature_has_ex2s_columns_in_ex2s_order(degree, columns):
    out = ref.map_feature(np.array([2.0]), np.array([3.0]), degree)
    assert out.shape == (1, columns)
    if degree == 2:
        np.testing.assert_array_equal(out, [[1, 2, 3, 4, 6, 9]])


# ---------------------------------------------------------------------------------------------
# The release
# ---------------------------------------------------------------------------------------------


def test_committed_release_has_not_drifted(student_files):
    assert diff_release(student_files, HOMEWORK.out) == []


@pytest.mark.parametrize("lang", LANGS)
def test_release_files_are_the_homeworks_own(student_files, lang):
    names = {rel.split("/", 1)[1] for rel in student_files if rel.startswith(f"{lang}/")}
    assert names == {"logreg.py", "logreg.ipynb", "check.py", "submit.py", "README.md"}
    assert "HOMEWORK = 'logreg'" in student_files[f"{lang}/check.py"]
    assert "BEGIN SOLUTION" not in student_files[f"{lang}/logreg.py"]


def _grade_text(tmp_path: Path, text: str):
    path = tmp_path / "logreg.py"
    path.write_text(text, encoding="utf-8")
    return grade_submission(path, student_id="logreg-test", secret=b"logreg-test", spec=SPEC)


@pytest.mark.parametrize(("variant", "score"), [("solution", 100.0), ("student", 0.0)])
def test_solution_earns_everything_and_the_stubs_nothing(
    tmp_path, student_files, solution_files, variant, score
):
    files = solution_files if variant == "solution" else student_files
    report = _grade_text(tmp_path, files["en/logreg.py"])
    assert report.error is None and report.score == score


def _filled_notebook(student_files, solution_files, lang) -> nbformat.NotebookNode:
    nb = nbformat.reads(student_files[f"{lang}/logreg.ipynb"], as_version=4)
    solved = nbformat.reads(solution_files[f"{lang}/logreg.ipynb"], as_version=4)
    by_id = {c.id: c for c in solved.cells}
    for cell in nb.cells:
        if cell.metadata["backprop"].get("solution"):
            cell.source = by_id[cell.id].source
    return nb


@pytest.mark.parametrize("lang", LANGS)
def test_the_notebook_runs_in_a_kernel_with_every_check_passing(
    tmp_path, monkeypatch, student_files, solution_files, lang
):
    nbclient = pytest.importorskip("nbclient")
    for name in ("check.py", "submit.py"):
        (tmp_path / name).write_text(student_files[f"{lang}/{name}"], encoding="utf-8")
    nb = _filled_notebook(student_files, solution_files, lang)
    for name in ("BPGRADE_SERVER", "BPGRADE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", pythonpath)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    checks = [c for c in nb.cells if c.metadata["backprop"].get("role") == "check"]
    assert len(checks) == len(SPEC.parts)
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        points = cell.metadata["backprop"]["points"]
        assert f"{points:.2f}/{points:g}" in text and "✗" not in text, text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the linear and the mapFeature decision boundaries


# ---------------------------------------------------------------------------------------------
# Which homework a submission is for
# ---------------------------------------------------------------------------------------------

_DEFS = {
    "logreg": "def sigmoid(z): ...\ndef costFunction(t, X, y): ...\ndef mapFeature(a, b): ...\n",
    "backprop": "def sigmoid(z): ...\ndef nnCostFunction(*a): ...\ndef sigmoidGradient(z): ...\n",
    None: "def helper(): ...\n",
}


@pytest.mark.parametrize("homework", list(_DEFS))
def test_the_homework_is_inferred_from_the_functions_defined(tmp_path, homework):
    path = tmp_path / "mine.py"
    path.write_text(_DEFS[homework], encoding="utf-8")
    assert homeworks.infer_homework(path) == homework


def test_a_submission_both_homeworks_could_be_for_is_an_error(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def sigmoid(z): ...\ndef predict(t, X): ...\n", encoding="utf-8")
    with pytest.raises(SpecError, match="--homework"):
        homeworks.infer_homework(path)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "logreg"),  # inferred
        (["--homework", "logreg"], "logreg"),
        (["--homework", "nope"], "unknown homework 'nope'"),
        (["--homework", "logreg", "--spec", "x.toml"], "not both"),
    ],
)
def test_grade_takes_or_infers_the_homework(tmp_path, solution_files, args, expected):
    path = tmp_path / "logreg.py"
    path.write_text(solution_files["en/logreg.py"], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(path), "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if expected == "logreg":
        assert done.returncode == 0, done.stderr
        assert '"score": 100' in done.stdout and "costFunctionReg" in done.stdout
    else:
        assert done.returncode == 2 and expected in done.stderr


def test_demo_grades_the_examples_of_both_homeworks():
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "(backprop) ==" in done.stdout and "(logreg) ==" in done.stdout
    logreg = done.stdout.split("(logreg) ==", 1)[1]
    assert "correct.py                     100.00/100" in logreg
    assert "θ₀ (the intercept) regularized" in logreg
    assert "wrong only because sigmoid() is wrong" in logreg


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"s001.py": "logreg/correct.py", "s002.py": "logreg/theta0_regularized.py"}, "logreg"),
        ({"s001.py": "logreg/correct.py", "s002.py": "submissions/correct.py"}, "different"),
    ],
)
def test_grade_all_grades_the_homework_its_submissions_are_for(tmp_path, files, expected):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, example in files.items():
        (folder / name).write_text((ROOT / "examples" / example).read_text(), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade-all",
            str(folder),
            "--out",
            str(tmp_path / "out"),
        ]
        + ["--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    if expected == "logreg":
        assert done.returncode == 0, done.stderr
        header = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[0]
        assert "costFunctionReg" in header and "nnCost" not in header
    else:
        assert done.returncode == 2 and "different homeworks" in done.stderr
