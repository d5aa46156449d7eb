"""Gradescope's autograder.zip and GitHub Classroom's workflow, exercised locally.

The zip is unpacked into a temporary ``/autograder`` (``AUTOGRADER_ROOT``) and its
``run_autograder`` runs against a fake submission with this interpreter (``BPGRADE_PYTHON``),
through the real sandbox. The workflow is parsed, and its grading command is run the way the
Actions step runs it, with ``$GITHUB_OUTPUT`` pointing at a file.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.integrations import classroom, gradescope

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"
SECRET = b"integration-test-secret"


def _no_secret_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("BPGRADE_SECRET")}


# ---------------------------------------------------------------------------------------------
# Gradescope
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    return gradescope.build_zip(tmp_path_factory.mktemp("zip") / "autograder.zip", secret=SECRET)


def test_zip_layout(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", "README.md"} <= set(infos)
    assert "autograder/grading.py" in infos and "bpnet_ref/__init__.py" in infos
    assert not [n for n in infos if "solutions" in Path(n).parts or "__pycache__" in n]
    mode = {n: (i.external_attr >> 16) & 0o777 for n, i in infos.items()}
    assert mode["run_autograder"] == 0o755 and mode["setup.sh"] == 0o755
    assert mode[gradescope.SECRET_NAME] == 0o600


def test_zip_is_reproducible(zip_path, tmp_path):
    again = gradescope.build_zip(tmp_path / "again.zip", secret=SECRET)
    assert again.read_bytes() == zip_path.read_bytes()


def test_setup_script_is_valid_bash():
    subprocess.run(["bash", "-n", "-c", gradescope.SETUP_SH], check=True)
    subprocess.run(["bash", "-n", "-c", gradescope.RUN_AUTOGRADER], check=True)


def _unpack(zip_path: Path, root: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)


@pytest.mark.slow
@pytest.mark.parametrize(
    "example, expected",
    [("correct", 100.0), ("forgot_sigmoid_gradient", None)],
)
def test_run_autograder_grades_a_submission(zip_path, tmp_path, example, expected):
    root = tmp_path / "autograder"
    _unpack(zip_path, root)
    (root / "submission").mkdir(parents=True)
    shutil.copy(EXAMPLES / f"{example}.py", root / "submission" / "nn.py")
    metadata = {"id": 1, "users": [{"email": "alice@example.edu", "id": 7, "sid": "1001"}]}
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    env = _no_secret_env() | {"AUTOGRADER_ROOT": str(root), "BPGRADE_PYTHON": sys.executable}
    done = subprocess.run(
        [str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert isinstance(results["score"], float) and isinstance(results["execution_time"], float)
    assert results["tests"] and all(
        {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
        for t in results["tests"]
    )
    assert sum(t["max_score"] for t in results["tests"]) == 100
    assert abs(sum(t["score"] for t in results["tests"]) - results["score"]) < 1e-6
    if expected is not None:
        assert results["score"] == expected
    else:
        assert 0 < results["score"] < 100
    assert results["extra_data"]["student_id"] == "1001"
    # the baked-in secret was used: no demo-secret warning
    assert "demo secret" not in results["output"]


def test_run_autograder_always_writes_results(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no sandbox here")

    monkeypatch.setattr("autograder.grading.grade_submission", broken)
    (tmp_path / "submission").mkdir()
    assert gradescope.run_autograder(tmp_path) == 1
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "RuntimeError" in results["output"]
    assert "no sandbox here" not in results["output"]


def test_student_id_from_metadata():
    assert (
        gradescope.student_id_from({"users": [{"email": "b@x", "sid": ""}, {"email": "a@x"}]})
        == "a@x"
    )
    assert gradescope.student_id_from({"users": [{"id": 5}]}) == "5"
    assert gradescope.student_id_from({}) == "anonymous"


# ---------------------------------------------------------------------------------------------
# GitHub Classroom
# ---------------------------------------------------------------------------------------------

PIP_SPEC = "git+https://github.com/example/bpgrade@v0.1.0"


@pytest.fixture()
def workflow(tmp_path):
    path = classroom.write_workflow(tmp_path, pip_spec=PIP_SPEC)
    assert path == tmp_path / ".github" / "workflows" / "classroom.yml"
    return path.read_text()


def _steps(text: str) -> list[dict]:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(text)
    assert doc["on"] == ["push", "repository_dispatch"]
    assert doc["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    job = doc["jobs"]["run-autograding-tests"]
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    return job["steps"]


def test_workflow_structure(workflow):
    steps = _steps(workflow)
    grader = next(s for s in steps if s.get("id") == classroom.STEP_ID)
    reporter = steps[-1]
    assert steps[0]["uses"] == "actions/checkout@v4"
    assert "uses" not in grader and "run" in grader
    assert grader["env"]["BPGRADE_SECRET"] == "${{ secrets.BPGRADE_SECRET }}"
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["if"] == "always()"
    assert reporter["env"] == {"BPGRADE_RESULTS": "${{steps.bpgrade.outputs.result}}"}
    assert reporter["with"] == {"runners": "bpgrade"}
    assert "secret" not in grader["run"].lower().replace("bpgrade_secret", "")


def test_workflow_refuses_paths_outside_the_repo():
    with pytest.raises(classroom.WorkflowError):
        classroom.workflow_yaml(submission="../x.py", pip_spec=PIP_SPEC)
    with pytest.raises(classroom.WorkflowError):
        classroom.workflow_yaml(submission="nn.py", pip_spec="")


def _grading_command(text: str) -> str:
    steps = _steps(text)
    run = next(s for s in steps if s.get("id") == classroom.STEP_ID)["run"]
    (command,) = [line for line in run.splitlines() if "autograder.integrations.classroom" in line]
    return command


@pytest.mark.slow
@pytest.mark.parametrize(
    "example, status", [("correct", "pass"), ("forgot_sigmoid_gradient", "fail")]
)
def test_workflow_step_writes_the_reporter_result(workflow, tmp_path, example, status):
    repo = tmp_path / "student-repo"
    repo.mkdir()
    shutil.copy(EXAMPLES / f"{example}.py", repo / "nn.py")
    output = tmp_path / "github_output"
    output.touch()
    command = _grading_command(workflow).replace("python -I", f"{shlex.quote(sys.executable)} -I")
    env = _no_secret_env() | {
        "BPGRADE_SECRET": SECRET.decode(),
        "BPGRADE_STUDENT_ID": "example-org/hw4-alice",
        "GITHUB_OUTPUT": str(output),
    }
    done = subprocess.run(
        ["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    (line,) = output.read_text().splitlines()
    assert line.startswith("result=")
    result = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert result["version"] == 1 and result["status"] == status and result["max_score"] == 100
    fields = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
    assert result["tests"] and all(set(t) == fields for t in result["tests"])
    total = sum(t["score"] for t in result["tests"])
    assert (total == 100) if status == "pass" else (0 < total < 100)
    assert {t["status"] for t in result["tests"]} <= {"pass", "fail"}
    assert "demo secret" not in done.stderr  # the secret came from the environment


def test_classroom_step_reports_a_grader_failure(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("autograder.grading.grade_submission", broken)
    assert classroom.main([str(tmp_path / "nn.py"), "--student-id", "x"]) == 0
    line = capsys.readouterr().out.strip()
    result = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert result["status"] == "error" and result["tests"][0]["score"] == 0


def test_package_command_needs_a_secret(tmp_path, monkeypatch):
    from autograder.cli import main

    for var in ("BPGRADE_SECRET", "BPGRADE_SECRET_FILE"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "a.zip"
    assert main(["package", "gradescope", "--out", str(out)]) == 2
    assert not out.exists()
    assert main(["package", "gradescope", "--out", str(out), "--demo-secret"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert gradescope.SECRET_NAME not in zf.namelist()
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    assert main(["package", "gradescope", "--out", str(out), "--secret-file", str(secret)]) == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.read(gradescope.SECRET_NAME) == b"s3cret\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the secret
    assert main(["package", "classroom", "--out", str(tmp_path), "--pip-spec", PIP_SPEC]) == 0
    assert (tmp_path / ".github" / "workflows" / "classroom.yml").is_file()
