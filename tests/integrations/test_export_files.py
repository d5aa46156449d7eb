"""The exported files themselves (no nbgrader or otter needed): metadata, markers, the client."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from autograder.integrations import nbgrader as nbg
from autograder.integrations import otter as ott
from autograder.spec import load_spec

NBGRADER_KEYS = {"schema_version", "grade", "solution", "locked", "grade_id", "points"}


@pytest.fixture(scope="module", params=["en", "zh"])
def nbgrader_nb(request):
    return nbg.build_nbgrader_notebook(request.param)


def _graded(nb):
    return [c for c in nb.cells if "nbgrader" in c.metadata]


def test_nbgrader_cells_use_schema_v3_and_nothing_else(nbgrader_nb):
    for cell in _graded(nbgrader_nb):
        meta = cell.metadata["nbgrader"]
        assert meta["schema_version"] == 3
        assert set(meta) <= NBGRADER_KEYS
        assert re.fullmatch(r"[a-zA-Z0-9_\-]+", meta["grade_id"])
        assert "backprop" in cell.metadata  # our own data stays under our key


def test_nbgrader_one_locked_test_cell_per_part_with_spec_points(nbgrader_nb):
    spec = load_spec()
    tests = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
        for c in _graded(nbgrader_nb)
        if c.metadata["nbgrader"]["grade"]
    }
    assert tests == {
        f"test_{p.id}": {
            "schema_version": 3,
            "grade": True,
            "solution": False,
            "locked": True,
            "grade_id": f"test_{p.id}",
            "points": p.points,
        }
        for p in spec.parts
    }
    assert sum(t["points"] for t in tests.values()) == 100


def test_nbgrader_solution_cells_keep_markers_and_compile(nbgrader_nb):
    solutions = [c for c in _graded(nbgrader_nb) if c.metadata["nbgrader"]["solution"]]
    assert solutions
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        compile(cell.source, cell.metadata["nbgrader"]["grade_id"], "exec")
        assert not cell.metadata["nbgrader"]["locked"]


def test_nbgrader_no_marker_text_outside_solution_cells(nbgrader_nb):
    for cell in nbgrader_nb.cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source


def test_nbgrader_validates_with_nbgraders_own_schema(nbgrader_nb):
    v3 = pytest.importorskip("nbgrader.nbgraderformat.v3")
    v3.MetadataValidatorV3().validate_nb(nbgrader_nb)


def test_pass_stub_region_is_wrapped_so_the_cost_stays_gradable():
    code = nbg.nbgrader_solution_code(
        "def f():\n    x = 1\n    ### BEGIN SOLUTION stub=pass\n    x = 2\n    ### END SOLUTION\n"
        "    return x",
        "en",
        where="t",
    )
    stripped = code.replace(
        "        ### BEGIN SOLUTION\n        x = 2\n        ### END SOLUTION",
        "        raise NotImplementedError()",
    )
    scope: dict = {}
    exec(stripped, scope)
    assert scope["f"]() == 1


def test_export_nbgrader_writes_the_source_folder(tmp_path):
    written = nbg.export_nbgrader(tmp_path, assignment="hw4")
    assert sorted(p.name for p in written) == ["backprop.ipynb", "bpgrade_client.py", "check.py"]
    assert all(p.parent == tmp_path / "source" / "hw4" for p in written)
    nbformat.validate(nbformat.read(written[0], as_version=4))


def test_client_is_stdlib_only_and_compiles():
    spec = load_spec()
    text = nbg.client_source(spec, "zh", "backprop")
    compile(text, "bpgrade_client.py", "exec")
    imports = set(re.findall(r"^(?:from|import) (\w+)", text, re.M))
    assert imports <= {"__future__", "errno", "json", "os", "socket", "time", "pathlib", "check"}
    assert 'LANG = "zh"' in text


def test_service_refuses_bad_requests(tmp_path):
    service = nbg.GraderService(nbg.ServiceConfig(course_dir=tmp_path))
    assert not service.answer([])["ok"]
    assert (
        "student id"
        in service.answer({"op": "grade_submitted", "student": "../x", "part": "sigmoid"})["error"]
    )
    assert (
        "unknown part"
        in service.answer({"op": "grade_submitted", "student": "a", "part": "nope"})["error"]
    )
    assert (
        "no submission"
        in service.answer({"op": "grade_submitted", "student": "a", "part": "sigmoid"})["error"]
    )


def test_service_does_not_follow_links_out_of_submitted(tmp_path):
    folder = tmp_path / "submitted" / "eve" / "backprop"
    folder.mkdir(parents=True)
    (tmp_path / "secret.ipynb").write_text("{}")
    (folder / "backprop.ipynb").symlink_to(tmp_path / "secret.ipynb")
    service = nbg.GraderService(nbg.ServiceConfig(course_dir=tmp_path))
    reply = service.answer({"op": "grade_submitted", "student": "eve", "part": "sigmoid"})
    assert not reply["ok"] and "no submission" in reply["error"]


@pytest.fixture(scope="module")
def master():
    return ott.build_otter_master("en")


def test_otter_master_config_and_questions(master):
    first = master.cells[0]
    assert first.cell_type == "raw" and first.source.startswith("# ASSIGNMENT CONFIG\n")
    config = json.loads(first.source.split("\n", 1)[1])
    assert config["tests"] == {"ok_format": False}
    assert config["files"] == ["bpgrade_client.py", "check.py"]
    spec = load_spec()
    questions = [c.source for c in master.cells if c.source.startswith("# BEGIN QUESTION")]
    assert sorted(questions) == sorted(
        f"# BEGIN QUESTION\nname: {p.id}\npoints: {p.points:g}" for p in spec.parts
    )


def test_otter_one_test_per_grading_case(master):
    spec = load_spec()
    tests = [c.source for c in master.cells if "check_case(" in c.source]
    assert len(tests) == sum(p.public_cases + p.hidden_cases for p in spec.parts)
    assert all(t.startswith("# HIDDEN\ndef test_") for t in tests)


def test_otter_solution_markers_use_otters_syntax(master):
    code = "\n".join(c.source for c in master.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" not in code and "# BEGIN SOLUTION" in code
    blocks = [c.source for c in master.cells if c.cell_type == "raw"]
    assert blocks.count("# BEGIN SOLUTION") == blocks.count("# END SOLUTION") > 0
