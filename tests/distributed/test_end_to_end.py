"""``bpgrade serve --broker`` over HTTP, and ``bpgrade grade-all --broker`` against a local run."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.distributed.conftest import ROOT, free_port, kill_group, wait_for
from tests.distributed.helpers import EXAMPLES, MIX, cli_score, slow

pytestmark = pytest.mark.slow


@pytest.fixture
def serve(course, redis_server, tmp_path):
    port = free_port()
    log = open(tmp_path / "serve.log", "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder",
            "serve",
            str(course.root),
            "--broker",
            redis_server.url,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield f"http://127.0.0.1:{port}", proc
    kill_group(proc)


def test_serve_with_a_broker_grades_on_the_workers(course, workers, serve):
    import httpx

    base, proc = serve
    workers.start("a")
    workers.start("b")
    workers.wait_ready("a", "b")

    def health():
        try:
            return httpx.get(f"{base}/api/health", timeout=2).json()
        except httpx.HTTPError:
            assert proc.poll() is None, "the server exited"
            return None

    wait_for(lambda: (health() or {}).get("workers") == 2, 60, "the server to see 2 workers")
    sent = {}
    for student, path in [("s1", MIX[0]), ("s2", MIX[1]), ("s3", MIX[5])]:
        answer = httpx.post(
            f"{base}/api/submissions",
            headers={"Authorization": f"Bearer {course.tokens[student]}"},
            files={"file": ("nn.py", path.read_bytes())},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        sent[answer.json()["id"]] = (student, path)
    teacher = {"Authorization": f"Bearer {course.instructor}"}

    def view(sid):
        return httpx.get(f"{base}/api/submissions/{sid}", headers=teacher, timeout=10).json()

    wait_for(lambda: all(view(sid)["status"] == "done" for sid in sent), 120, "the gradings")
    for sid, (student, path) in sent.items():
        shown = view(sid)
        assert shown["score"] == pytest.approx(cli_score(path, student, course.secret))
        phases = [shown["phases"][p] for p in ("received", "queued", "started", "graded", "stored")]
        assert None not in phases and phases == sorted(phases)
        assert shown["worker"].split(":")[1] in ("a@test", "b@test")
    own = httpx.get(
        f"{base}/api/submissions/{next(iter(sent))}",
        headers={"Authorization": f"Bearer {course.tokens['s1']}"},
        timeout=10,
    ).json()
    assert "phases" not in own and "worker" not in own  # the instructor's view only


def test_serve_refuses_an_unreachable_broker(course):
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "serve",
            str(course.root),
            "--broker",
            f"redis://127.0.0.1:{free_port()}/0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 2
    assert "cannot reach the broker" in answer.stderr


@pytest.mark.parametrize("command", ["worker", "grade-all"])
def test_a_remote_broker_without_a_password_is_refused(course, tmp_path, command):
    args = {
        "worker": ["worker", "--course", str(course.root)],
        "grade-all": ["grade-all", str(tmp_path), "--out", str(tmp_path / "out")],
    }[command]
    answer = subprocess.run(
        [sys.executable, "-m", "autograder", *args, "--broker", "redis://192.0.2.1:6379/0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 2
    assert "--allow-remote-broker" in answer.stderr


# ---------------------------------------------------------------------------------------------


def _class(folder: Path) -> Path:
    """A flat class: modules, a folder submission, a broken file and slow ones."""
    folder.mkdir()
    for i, path in enumerate(MIX[:6]):
        shutil.copy(path, folder / f"s{i + 1}.py")
    (folder / "s7").mkdir()
    shutil.copy(EXAMPLES / "correct.py", folder / "s7" / "nn.py")
    (folder / "s7" / "notes.txt").write_text("my notes\n")
    (folder / "s8.py").write_bytes(b"")  # broken: empty
    for i in (9, 10, 11):
        (folder / f"s{i}.py").write_bytes(slow(1.5 + i / 100))
    return folder


def _grade_all(subs: Path, out: Path, secret: str, *extra: str, **popen):
    env = dict(os.environ, BPGRADE_SECRET=secret)
    cmd = [
        sys.executable,
        "-m",
        "autograder",
        "grade-all",
        str(subs),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    if popen:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, **popen)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _gradebook(out: Path) -> list[dict]:
    """gradebook.csv without its timing column (the only one that differs between runs)."""
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        text = f.read()
    return [
        {k: v for k, v in row.items() if k != "execution_time"}
        for row in csv.DictReader(io.StringIO(text))
    ]


def test_grade_all_on_the_broker_gives_the_local_gradebook_and_resumes(
    course, workers, redis_server, tmp_path
):
    subs = _class(tmp_path / "subs")
    local = _grade_all(subs, tmp_path / "local", course.secret, "--jobs", "2")
    assert local.returncode == 0, local.stderr
    workers.start("a")
    workers.start("b")
    workers.wait_ready("a", "b")

    out = tmp_path / "remote"
    first = _grade_all(
        subs,
        out,
        course.secret,
        "--broker",
        redis_server.url,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(list(out.glob("students/*/results.json"))) >= 2, 120, "2 results")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # interrupted: some students graded, some not
        first.wait()
    graded_before = len(list(out.glob("students/*/results.json")))
    assert graded_before < 11, "the batch finished before it could be interrupted"
    time.sleep(0.5)
    again = _grade_all(subs, out, course.secret, "--broker", redis_server.url)
    assert again.returncode == 0, again.stderr
    assert f"{graded_before} students already graded" in again.stdout
    assert _gradebook(out) == _gradebook(tmp_path / "local")


def test_grade_all_stops_when_the_workers_use_another_secret(
    course, workers, redis_server, tmp_path
):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(MIX[0], subs / "s1.py")
    workers.start("a")
    workers.wait_ready("a")
    answer = _grade_all(
        subs, tmp_path / "out", "not-the-course-secret", "--broker", redis_server.url
    )
    assert answer.returncode == 2
    assert "another course secret" in answer.stderr
    assert not (tmp_path / "out" / "students" / "s1" / "results.json").exists()
