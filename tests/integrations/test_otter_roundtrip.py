"""otter-grader's real command lines on the exported homework: ``otter assign`` then ``otter run``.

``bpgrade export otter`` → ``otter assign`` → the grader service → ``otter run`` on the solution
and on the solution with two bugs. otter's per-question scores must be bpgrade's part scores (one
otter test case per bpgrade case, and every case of these submissions is fully right or wrong).
"""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest
from integration_helpers import (
    SECRET,
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
    "otter", reason="otter-grader is not installed (pip install 'bpgrade[integrations]')"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``otter run`` results per student, plus the folders; yields (results, work, service log)."""
    otter = tool("otter")
    work = tmp_path_factory.mktemp("otter")
    bpgrade("export", "otter", str(work / "master"), cwd=work)
    sockets = short_socket_dir()
    socket_path = sockets / "grader.sock"
    env = tool_env(socket_path)
    results = {}
    try:
        run_tool([otter, "assign", "master/backprop.ipynb", "dist"], cwd=work, env=env)
        (zip_path,) = (work / "dist" / "autograder").glob("*.zip")
        solution = (work / "dist" / "autograder" / "backprop.ipynb").read_text()
        subs = work / "subs"
        subs.mkdir()
        (subs / "alice.ipynb").write_text(solution)
        (subs / "bob.ipynb").write_text(with_bugs(solution))
        with grader_service(socket_path) as log:
            for student in ("alice", "bob"):
                out = work / "out" / student
                out.mkdir(parents=True)
                run_tool(
                    [
                        otter,
                        "run",
                        "--no-logo",
                        "-a",
                        str(zip_path),
                        "-o",
                        str(out),
                        str(subs / f"{student}.ipynb"),
                    ],
                    cwd=work,
                    env=env,
                )
                results[student] = json.loads((out / "results.json").read_text())
            service_log = log.read_text()
        yield results, work, service_log
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def _question_scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if t.get("max_score")}


def test_correct_submission_scores_100(graded):
    results, _, _ = graded
    scores = _question_scores(results["alice"])
    assert sum(scores.values()) == pytest.approx(100.0)
    assert len(scores) == 11


def test_buggy_submission_scores_our_part_scores(graded):
    results, work, _ = graded
    expected = expected_part_scores(work / "subs" / "bob.ipynb", "bob")
    assert 0 < sum(expected.values()) < 100
    scores = _question_scores(results["bob"])
    assert scores == pytest.approx(expected, abs=1e-3)
    assert 0 < scores["nnCost"] < 15 and scores["predict"] < 5


def test_failed_hidden_case_message_is_safe_feedback(graded):
    results, _, _ = graded
    (nn_cost,) = [t for t in results["bob"]["tests"] if t["name"] == "nnCost"]
    assert "nnCost/hidden/1" in nn_cost["output"]
    assert "bias column" in nn_cost["output"]


def test_tests_and_zip_hold_no_case_data(graded):
    _, work, _ = graded
    (zip_path,) = (work / "dist" / "autograder").glob("*.zip")
    with zipfile.ZipFile(zip_path) as z:
        tests = {n: z.read(n).decode() for n in z.namelist() if n.startswith("tests/")}
    assert len(tests) == 11
    for text in tests.values():
        assert "check_case(" in text and "expected" not in text.lower()
    assert SECRET not in (work / "out" / "bob" / "results.json").read_text()


def test_service_graded_each_submission_once(graded):
    _, _, log = graded
    assert log.count("graded alice") == 1 and log.count("graded bob") == 1
