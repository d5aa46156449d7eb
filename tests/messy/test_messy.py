"""Correct work never scores 0: messy-but-correct files, graded every way a course grades them.

Each entry of ``tests/messy/submissions`` is a whole file (or folder) that a real student could
hand in: stray imports, demos and plots at the top level, files read and written, float32, helper
modules, notebooks from Colab and VS Code. Read as a specification, for every entry and through
``bpgrade grade``, ``bpgrade grade-all`` and the released ``check.py``:

* the score is what the student earned (full marks, except where float32 really loses the
  numerical gradient's digits);
* the feedback explains what happened in one line (``says``), or, where nothing went wrong, says
  nothing beyond the usual.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("submissions")
TOP_LEVEL = "top-level code of your file failed"
FLOAT32_OK = "float32 precision, which this part accepts"


@dataclass(frozen=True)
class Messy:
    name: str
    score: float = 100.0
    says: tuple[str, ...] = ()  # fragments of the one-line explanation; () = nothing to explain

    @property
    def path(self) -> Path:
        return CORPUS / self.name

    @property
    def student(self) -> str:
        return self.name.split(".")[0]


MESSY = [
    Messy("unused_pandas.py"),
    Messy("unused_torch.py"),
    Messy("matplotlib_helper.py"),
    Messy("plot_at_import.py"),
    Messy("tqdm_training.py"),
    Messy("open_log_at_import.py"),
    Messy("loadmat_at_import.py", says=(TOP_LEVEL, "FileNotFoundError", "ex4data1.mat")),
    Messy("loadmat_folder"),
    Messy("slow_demo_at_top.py", says=(TOP_LEVEL, "longer than the 5 s limit")),
    Messy("input_at_import.py", says=(TOP_LEVEL, "EOFError")),
    Messy("exit_at_end.py", says=(TOP_LEVEL, "SystemExit")),
    Messy("windows_bom_crlf.py"),
    Messy("float32_network.py", says=(FLOAT32_OK,)),
    Messy("float32_numerical_gradient.py", 95.0, ("float32 numbers, which lose digits",)),
    Messy("with_utils"),
    # the fallback keeps the folder's files: utils.py is still importable without the top level
    Messy("utils_missing_data", says=(TOP_LEVEL, "FileNotFoundError", "sizes.txt")),
    Messy("colab_notebook.ipynb"),
    Messy("vscode_notebook.ipynb"),
]
IDS = [m.student for m in MESSY]
DEMO_SECRET = "demo secret"


def _explanations(text: str) -> list[str]:
    """The lines of a feedback text that explain something (warnings and part notes)."""
    lines = [line.strip() for line in text.splitlines()]
    return [
        line
        for line in lines
        if line.lower().startswith(("warning", "note")) and DEMO_SECRET not in line
    ]


def _assert_explained(messy: Messy, text: str) -> None:
    explained = _explanations(text)
    if not messy.says:
        assert explained == [], explained
        return
    # a warning, a part's note, or the failing case's own message
    assert any(all(f in line for f in messy.says) for line in text.splitlines()), text
    # once: the same explanation is not repeated per case or per part
    assert len([line for line in explained if TOP_LEVEL in line]) <= 1, explained


def _bpgrade(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        env=env,
    )


# --------------------------------------------------------------------------- bpgrade grade


@pytest.mark.parametrize("messy", MESSY, ids=IDS)
def test_bpgrade_grade_gives_the_earned_score_with_one_explanation(messy, tmp_path):
    out = tmp_path / "results.json"
    done = _bpgrade("grade", str(messy.path), "--format", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["score"] == pytest.approx(messy.score)
    text = done.stdout + "\n" + _bpgrade("grade", str(messy.path)).stdout
    _assert_explained(messy, text)


# --------------------------------------------------------------------------- grade-all


@pytest.fixture(scope="module")
def class_run(tmp_path_factory) -> dict[str, dict[str, str]]:
    base = tmp_path_factory.mktemp("messy-class")
    submissions = base / "submissions"
    shutil.copytree(CORPUS, submissions)
    done = _bpgrade(
        "grade-all", str(submissions), "--out", str(base / "graded"), "--jobs", "2", "--no-progress"
    )
    assert done.returncode == 0, done.stderr
    with open(base / "graded" / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    return {"rows": rows, "graded": base / "graded"}


def test_grade_all_has_a_row_for_every_student(class_run):
    assert sorted(class_run["rows"]) == sorted(IDS)


@pytest.mark.parametrize("messy", MESSY, ids=IDS)
def test_grade_all_gives_the_same_earned_score(class_run, messy):
    row = class_run["rows"][messy.student]
    assert float(row["score"]) == pytest.approx(messy.score), row
    feedback = (class_run["graded"] / "students" / messy.student / "feedback.md").read_text(
        encoding="utf-8"
    )
    assert all(f in feedback for f in messy.says), feedback[:2000]


# --------------------------------------------------------------------------- self-check


@pytest.fixture(scope="module")
def check_script(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("release")
    shutil.copy(REPO / "assignments" / "backprop" / "en" / "check.py", folder / "check.py")
    return folder / "check.py"


@pytest.mark.parametrize("messy", MESSY, ids=IDS)
def test_self_check_gives_the_same_verdict(check_script, messy):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(check_script), str(messy.path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    total = next(line for line in done.stdout.splitlines() if line.strip().startswith("TOTAL"))
    assert f"{messy.score:.2f}/100" in total, done.stdout
    _assert_explained(messy, done.stdout)
