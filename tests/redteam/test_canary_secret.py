"""The course secret never leaks through a file a submission names (issue 13, item 1).

A canary stands for Gradescope's ``bpgrade_secret``: a 0600 file of the grader's, whose text is a
Python name (read as a module, it would raise ``NameError: name 'TOPSECRET_...' is not defined``,
which is how the secret reached ``results.json`` before). Beside it, a canary module and a canary
notebook that would show the secret in their feedback if they were ever graded.

Every place a submission can name is linked to them: the submitted file, a file in a folder, the
folder itself, a helper module, a data file, an nbgrader tree (notebook, assignment folder, student
folder), Gradescope's submission folder and a Classroom repository. Each entry point grades its
own case (``grade_submission`` and its self-check, ``bpgrade grade``, ``bpgrade grade-all`` flat and
nbgrader, the Gradescope runner, the Classroom step, the nbgrader service), and the one assertion
is the same everywhere: the canary appears in no output file and in no output stream.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.conftest import TIER_REPORT

from autograder.grading import grade_submission
from autograder.integrations import classroom, gradescope
from autograder.integrations import nbgrader as nbg
from autograder.report import to_gradescope, to_text
from autograder.report.html import to_html
from autograder.report.markdown import to_markdown

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "examples" / "submissions" / "correct.py").read_text()
CANARY = f"TOPSECRET_canary_{secrets.token_hex(8)}"

pytestmark = [
    pytest.mark.skipif(
        not any(info["available"] for info in TIER_REPORT.values()), reason="no sandbox tier"
    ),
    pytest.mark.timeout(600),
]


def _notebook(code: str) -> str:
    cell = {"cell_type": "code", "source": code, "metadata": {}, "outputs": []}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})


@dataclass(frozen=True)
class Canary:
    """The grader's secret files (0600), in a folder any uid may traverse."""

    folder: Path

    @property
    def secret(self) -> Path:  # like Gradescope's bpgrade_secret
        return self.folder / "bpgrade_secret"

    @property
    def module(self) -> Path:  # a folder link's target would offer it as nn.py
        return self.folder / "nn.py"

    @property
    def notebook(self) -> Path:
        return self.folder / "backprop.ipynb"


@pytest.fixture(scope="module")
def canary(tmp_path_factory) -> Canary:
    folder = tmp_path_factory.mktemp("grader-secret")
    folder.chmod(0o755)
    found = Canary(folder)
    found.secret.write_text(CANARY + "\n")
    # If it were graded, every public case of sigmoid would quote the canary.
    raising = f"def sigmoid(z):\n    raise ValueError('{CANARY}')"
    found.module.write_text(GOOD.replace("def sigmoid(z):", raising))
    found.notebook.write_text(_notebook(f"def sigmoid(z):\n    raise ValueError('{CANARY}')\n"))
    for path in (found.secret, found.module, found.notebook):
        path.chmod(0o600)
    return found


def assert_no_canary(*texts: str | bytes, where: Path | None = None) -> None:
    """The canary is in none of ``texts`` and in no file under ``where``."""
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace")
        assert CANARY.encode() not in data, data[:3000]
    if where is not None:
        for path in where.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert CANARY.encode() not in path.read_bytes(), path


# --------------------------------------------------------------------------- places to name it

# Top-level code reading a data file: its text would be the load failure's message.
READS_DATA = "with open('data.txt') as _fh:\n    raise ValueError(_fh.read())\n"


def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


@dataclass(frozen=True)
class Place:
    name: str
    make: Callable[[Path, Canary], Path]  # (scratch folder, canary) -> what is submitted
    graded: bool = False  # the rest of the submission still grades (full marks)


def _as_file(tmp: Path, c: Canary) -> Path:
    _link(tmp / "nn.py", c.secret)
    return tmp / "nn.py"


def _in_folder(tmp: Path, c: Canary) -> Path:
    _link(tmp / "sub" / "nn.py", c.secret)
    return tmp / "sub"


def _as_folder(tmp: Path, c: Canary) -> Path:
    _link(tmp / "sub", c.folder)
    return tmp / "sub"


def _as_helper(tmp: Path, c: Canary) -> Path:
    (tmp / "sub").mkdir()
    (tmp / "sub" / "nn.py").write_text("import helper\n" + GOOD)
    _link(tmp / "sub" / "helper.py", c.secret)
    return tmp / "sub"


def _as_data(tmp: Path, c: Canary) -> Path:
    (tmp / "sub").mkdir()
    (tmp / "sub" / "nn.py").write_text(GOOD + "\n" + READS_DATA)
    _link(tmp / "sub" / "data.txt", c.secret)
    return tmp / "sub"


def _as_package(tmp: Path, c: Canary) -> Path:
    (tmp / "sub").mkdir()
    # lib/nn.py would be the canary module: its sigmoid raises the canary at import
    (tmp / "sub" / "nn.py").write_text("from lib.nn import sigmoid as _s\n_s(0)\n" + GOOD)
    _link(tmp / "sub" / "lib", c.folder)
    return tmp / "sub"


def _as_notebook(tmp: Path, c: Canary) -> Path:
    _link(tmp / "backprop.ipynb", c.notebook)
    return tmp / "backprop.ipynb"


def _beside_a_self_checked_file(tmp: Path, c: Canary) -> Path:
    (tmp / "nn.py").write_text(GOOD + "\n" + READS_DATA)
    _link(tmp / "data.txt", c.secret)
    return tmp / "nn.py"


PLACES = [
    Place("as nn.py", _as_file),
    Place("as nn.py in a folder", _in_folder),
    Place("as the folder", _as_folder),
    Place("as a helper module", _as_helper, graded=True),
    Place("as a data file", _as_data, graded=True),
    Place("as a package", _as_package, graded=True),
    Place("as the notebook", _as_notebook),
]


def _renderings(report) -> str:
    return "\n".join(
        [json.dumps(to_gradescope(report)), to_text(report), to_markdown(report), to_html(report)]
    )


@pytest.mark.parametrize("place", PLACES, ids=[p.name for p in PLACES])
def test_grade_submission_never_reads_it(place, canary, tmp_path, monkeypatch):
    monkeypatch.setenv("BPGRADE_SECRET_FILE", str(canary.secret))
    monkeypatch.delenv("BPGRADE_SECRET", raising=False)
    report = grade_submission(place.make(tmp_path, canary), student_id="mallory")
    assert_no_canary(_renderings(report))
    assert report.score == (100 if place.graded else 0), report.error


def test_the_self_check_never_reads_it(canary, tmp_path):
    from autograder.selfcheck import self_check

    report = self_check(_beside_a_self_checked_file(tmp_path, canary))
    assert_no_canary(_renderings(report))
    assert report.error is None and any("data.txt" in w for w in report.warnings)


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("place", PLACES[:3], ids=[p.name for p in PLACES[:3]])
def test_bpgrade_grade_never_reads_it(place, fmt, canary, tmp_path):
    out = tmp_path / "out" / "results"
    env = dict(os.environ, BPGRADE_SECRET_FILE=str(canary.secret))
    env.pop("BPGRADE_SECRET", None)
    args = ["grade", str(place.make(tmp_path, canary)), "--format", fmt, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_no_canary(done.stdout, done.stderr, where=out.parent)


# --------------------------------------------------------------------------- grade-all


def _grade_all(subs: Path, out: Path, canary: Canary, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BPGRADE_SECRET_FILE=str(canary.secret))
    env.pop("BPGRADE_SECRET", None)
    args = ["grade-all", str(subs), "--out", str(out), "--jobs", "2", "--no-progress", *extra]
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def test_grade_all_never_reads_it(canary, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text(GOOD)
    _link(subs / "mallory.py", canary.secret)
    _link(subs / "trudy", canary.folder)
    _link(subs / "oscar.ipynb", canary.notebook)
    for i, place in enumerate(PLACES):  # each folder-shaped place as one student's folder
        (tmp_path / f"place{i}").mkdir()
        made = place.make(tmp_path / f"place{i}", canary)
        if made.name == "sub" and not made.is_symlink():
            shutil.move(made, subs / f"student{i}")
    done = _grade_all(subs, tmp_path / "out", canary)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_no_canary(done.stdout, done.stderr, where=tmp_path / "out")
    with open(tmp_path / "out" / "gradebook.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == sorted(Path(n).stem for n in os.listdir(subs))  # every entry's row
    assert rows["alice"]["score"] == "100"


def test_grade_all_on_an_nbgrader_tree_never_reads_it(canary, tmp_path):
    submitted = tmp_path / "course" / "submitted"
    good = submitted / "alice" / "backprop" / "backprop.ipynb"
    good.parent.mkdir(parents=True)
    good.write_text(_notebook(GOOD))
    _link(submitted / "eve" / "backprop" / "backprop.ipynb", canary.notebook)
    _link(submitted / "trudy" / "backprop", canary.folder)
    _link(submitted / "mallory", tmp_path / "elsewhere")
    _link(tmp_path / "elsewhere" / "backprop" / "backprop.ipynb", canary.notebook)
    done = _grade_all(tmp_path / "course", tmp_path / "out", canary, "--assignment", "backprop")
    assert done.returncode == 0, done.stderr[-2000:]
    assert_no_canary(done.stdout, done.stderr, where=tmp_path / "out")
    rows = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == ["alice", "eve", "mallory", "trudy"]
    assert next(r for r in rows if r.startswith("alice,")).split(",")[2] == "100"


# --------------------------------------------------------------------------- Gradescope, Classroom


def _gradescope_root(tmp_path: Path, canary: Canary) -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copy(canary.secret, root / "source" / gradescope.SECRET_NAME)
    (root / "source" / gradescope.SECRET_NAME).chmod(0o600)
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"sid": "1001"}]}))
    return root


GRADESCOPE = {
    "nn.py": lambda sub, secret: _link(sub / "nn.py", secret),
    "helper": lambda sub, secret: (
        (sub / "nn.py").write_text("import helper\n" + GOOD),
        _link(sub / "helper.py", secret),
    ),
    "data": lambda sub, secret: (
        (sub / "nn.py").write_text(GOOD + "\n" + READS_DATA),
        _link(sub / "data.txt", secret),
    ),
    "folder": lambda sub, secret: _link(sub / "hw4", secret.parent),
}


@pytest.mark.parametrize("place", list(GRADESCOPE))
def test_the_gradescope_runner_never_reads_it(place, canary, tmp_path, monkeypatch, capfd):
    root = _gradescope_root(tmp_path, canary)
    secret = root / "source" / gradescope.SECRET_NAME
    monkeypatch.setenv("BPGRADE_SECRET_FILE", str(secret))  # what run_autograder exports
    monkeypatch.delenv("BPGRADE_SECRET", raising=False)
    (root / "submission").mkdir()
    GRADESCOPE[place](root / "submission", secret)
    assert gradescope.run_autograder(root) == 0
    results = (root / "results" / "results.json").read_text()
    out, err = capfd.readouterr()
    assert_no_canary(out, err, where=root / "results")
    assert json.loads(results)["score"] == (100 if place in ("helper", "data") else 0)


@pytest.mark.parametrize("place", ["nn.py", "hw4/nn.py", "helper", "data"])
def test_the_classroom_step_never_reads_it(place, canary, tmp_path, monkeypatch, capfd):
    repo = tmp_path / "repo"
    repo.mkdir()
    submission = "nn.py"
    if place == "nn.py":
        _link(repo / "nn.py", canary.secret)
    elif place == "hw4/nn.py":
        _link(repo / "hw4", canary.folder)  # the folder on the way is the student's link
        submission = "hw4/nn.py"
    else:
        GRADESCOPE[place](repo, canary.secret)
        submission = "."
    monkeypatch.chdir(repo)
    monkeypatch.setenv("BPGRADE_SECRET_FILE", str(canary.secret))
    monkeypatch.delenv("BPGRADE_SECRET", raising=False)
    assert classroom.main([submission, "--student-id", "org/hw4-mallory"]) == 0
    out, err = capfd.readouterr()
    assert_no_canary(out, err)
    assert out.startswith("result=")


# --------------------------------------------------------------------------- the nbgrader service


@pytest.mark.parametrize("place", ["notebook", "assignment folder", "student folder"])
def test_the_grader_service_never_reads_it(place, canary, tmp_path):
    course = tmp_path / "course"
    folder = course / "submitted" / "eve" / "backprop"
    if place == "notebook":
        _link(folder / "backprop.ipynb", canary.notebook)
    elif place == "assignment folder":
        _link(folder, canary.folder)
    else:
        _link(course / "submitted" / "eve", tmp_path / "elsewhere")
        _link(tmp_path / "elsewhere" / "backprop" / "backprop.ipynb", canary.notebook)
    service = nbg.GraderService(nbg.ServiceConfig(course_dir=course, secret=b"k"))
    reply = service.answer({"op": "grade_submitted", "student": "eve", "part": "sigmoid"})
    assert_no_canary(json.dumps(reply))
    assert not reply["ok"] and "no submission" in reply["error"]
