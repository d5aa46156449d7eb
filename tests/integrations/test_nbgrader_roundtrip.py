"""nbgrader's real command lines on the exported homework: generate, autograde, feedback, export.

One module-scoped run: ``bpgrade export nbgrader`` → ``nbgrader generate_assignment`` → two
submissions in ``submitted/`` (the solution, and the solution with two bugs) → the grader service
→ ``nbgrader autograde`` → ``nbgrader generate_feedback`` → ``nbgrader export`` (CSV). The scores
nbgrader records must be bpgrade's own, part by part.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from integration_helpers import (
    BUGS,
    SECRET,
    STUDENTS,
    bpgrade,
    expected_part_scores,
    grader_service,
    run_tool,
    short_socket_dir,
    tool,
    tool_env,
    with_bugs,
)

pytest.importorskip(
    "nbgrader", reason="nbgrader is not installed (pip install 'bpgrade[integrations]')"
)

pytestmark = pytest.mark.slow
ASSIGNMENT = "backprop"
CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "bpgrade-integration"
# The first test cell grades the whole submission (the spec's budget is 40 s at worst).
c.Execute.timeout = 120
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder taken through nbgrader's whole pipeline; yields (course, service log)."""
    nbgrader = tool("nbgrader")
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(CONFIG)
    bpgrade("export", "nbgrader", str(course), "--assignment", ASSIGNMENT, cwd=course)
    sockets = short_socket_dir()
    socket_path = sockets / "grader.sock"
    env = tool_env(socket_path)
    try:
        run_tool([nbgrader, "generate_assignment", ASSIGNMENT, "--force"], cwd=course, env=env)
        _submit(course)
        with grader_service(socket_path, course) as log:
            run_tool([nbgrader, "autograde", ASSIGNMENT, "--force"], cwd=course, env=env)
            service_log = log.read_text()
        run_tool([nbgrader, "generate_feedback", ASSIGNMENT, "--force"], cwd=course, env=env)
        run_tool([nbgrader, "export"], cwd=course, env=env)
        yield course, service_log
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def _submit(course: Path) -> None:
    """What students hand in: the released notebook with the solution cells filled in."""
    source = json.loads((course / "source" / ASSIGNMENT / "backprop.ipynb").read_text())
    solutions = {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in source["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    }
    release = course / "release" / ASSIGNMENT
    for student in STUDENTS:
        nb = json.loads((release / "backprop.ipynb").read_text())
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in solutions:
                text = solutions[grade_id]
                cell["source"] = with_bugs(text, require_all=False) if student == "bob" else text
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(release, folder)
        text = json.dumps(nb, indent=1)
        if student == "bob":
            assert all(new in text for _, new in BUGS), "a bug was not planted"
        (folder / "backprop.ipynb").write_text(text)
        (folder / "timestamp.txt").write_text("2025-01-06 09:00:00.000000 UTC")


def _cell_scores(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook("backprop", ASSIGNMENT, student)
        return {g.name: g.score for g in notebook.grades}


def _expected(course: Path, student: str) -> dict[str, float]:
    path = course / "submitted" / student / ASSIGNMENT / "backprop.ipynb"
    return expected_part_scores(path, student)


def test_correct_submission_records_100(course):
    course, _ = course
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["alice"]["score"]) == pytest.approx(100.0)
    assert float(rows["alice"]["max_score"]) == pytest.approx(100.0)


def test_buggy_submission_records_our_part_scores(course):
    course, _ = course
    expected = _expected(course, "bob")
    assert 0 < sum(expected.values()) < 100
    recorded = _cell_scores(course, "bob")
    assert recorded == pytest.approx({f"test_{part}": s for part, s in expected.items()}, abs=1e-3)
    assert 0 < recorded["test_nnCost"] < 15  # partial credit through a float execute_result
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["bob"]["score"]) == pytest.approx(sum(expected.values()), abs=1e-2)


def test_correct_submission_scores_every_part_in_full(course):
    from autograder.spec import load_spec

    course, _ = course
    full = {f"test_{p.id}": p.points for p in load_spec().parts}
    assert _cell_scores(course, "alice") == pytest.approx(full)


def test_feedback_html_shows_our_messages(course):
    course, _ = course
    html = (course / "feedback" / "bob" / ASSIGNMENT / "backprop.html").read_text()
    assert "[bpgrade] Cost J" in html
    assert "nnCost/hidden/1" in html  # the failing hidden case is named ...
    assert "bias column" in html  # ... with its misconception


def test_service_graded_each_submission_once(course):
    _, log = course
    assert log.count("graded alice") == 1 and log.count("graded bob") == 1


def test_secret_never_reaches_the_course_files(course):
    course, _ = course
    for path in course.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".html", ".py", ".csv", ".txt"):
            assert SECRET not in path.read_text(errors="replace"), path
