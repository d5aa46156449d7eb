"""Helpers for the nbgrader / otter-grader round trips: the tools, the grader service, submissions.

These tests run the tools' real command lines. They need the ``integrations`` extra (nbgrader and
otter-grader) in the interpreter running pytest, and this machine's sandbox (``bpgrade doctor``);
without either they skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = "integration-test-secret-7c1e"
STUDENTS = ("alice", "bob")  # alice: the solution; bob: the solution with BUGS
BUGS = (
    # The bias column regularized in J: λ = 0 cases pass, λ > 0 cases fail (a fractional part).
    (
        "np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2)",
        "np.sum(Theta1 ** 2) + np.sum(Theta2 ** 2)",
    ),
    # Octave's 1-based labels in predict.
    ("return np.argmax(z3, axis=1)", "return np.argmax(z3, axis=1) + 1"),
)
TOOL_TIMEOUT = 600


def tool(name: str) -> str:
    """The CLI ``name`` installed beside this interpreter (else on PATH), or skip."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install 'bpgrade[integrations]')")
    return found


def run_tool(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a tool's command line; fail the test with its output when it fails."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def bpgrade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return run_tool([sys.executable, "-m", "autograder", *args], cwd=cwd, env=env)


def tool_env(socket_path: Path) -> dict[str, str]:
    """The environment nbgrader/otter (and so the student's kernel) get: no secret in it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPGRADE_SECRET")}
    env.update(BPGRADE_SOCKET=str(socket_path), BPGRADE_FAST="1")
    # nbgrader runs `alembic` and otter its own helpers by name: the venv's bin must be on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def short_socket_dir() -> Path:
    # A Unix socket path must stay under ~100 bytes; pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="bpg-", dir="/tmp"))


@contextlib.contextmanager
def grader_service(socket_path: Path, course_dir: Path | None = None):
    """``bpgrade export serve`` in the background, holding the secret; yields its log path."""
    log = socket_path.with_suffix(".log")
    args = [sys.executable, "-m", "autograder", "export", "serve", "--socket", str(socket_path)]
    if course_dir is not None:
        args += ["--course-dir", str(course_dir)]
    env = {**os.environ, "BPGRADE_SECRET": SECRET, "PYTHONPATH": str(REPO)}
    with open(log, "w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(socket_path, proc, log)
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(socket_path: Path, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the grader service exited:\n{log.read_text()}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(socket_path))
                return
            except OSError:
                time.sleep(0.2)
    pytest.fail(f"the grader service did not start:\n{log.read_text()}")


def with_bugs(text: str, *, require_all: bool = True) -> str:
    """The solution text with the bugs of BUGS put in (by default each must apply)."""
    for old, new in BUGS:
        assert old in text or not require_all, f"bug site not found: {old}"
        text = text.replace(old, new)
    return text


def expected_part_scores(path: Path, student: str) -> dict[str, float]:
    """What bpgrade itself gives this file for this student (same secret): the reference."""
    from autograder.grading import grade_submission
    from autograder.harness.sandbox import SandboxError

    try:
        report = grade_submission(path, student_id=student, secret=SECRET)
    except SandboxError as exc:
        pytest.skip(f"no sandbox on this machine ({exc}); see bpgrade doctor")
    assert report.error is None, report.error
    return {p.part: p.score for p in report.parts}
