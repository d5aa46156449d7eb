"""The released ``submit.py`` against a real ``bpgrade serve``: what a student runs, end to end.

The client is the generated release file, run by a plain interpreter from a homework folder that
holds only it and the student's file, as on a student's laptop (tests/test_submit_client.py
covers its error paths against a fake server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import EXAMPLES
from tests.server.live import get_json

RELEASE = Path(__file__).resolve().parents[2] / "assignments" / "backprop"


def run_submit(folder: Path, lang: str, file: str, url: str, token: str):
    shutil.copy(RELEASE / lang / "submit.py", folder / "submit.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPGRADE_")}
    env.update(BPGRADE_TOKEN=token, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-I", "submit.py", file, "--server", url],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )


@pytest.mark.parametrize(
    "lang, example, full_marks",
    [
        ("en", "correct.py", True),
        ("zh", "forgot_sigmoid_gradient.py", False),
    ],
)
def test_submit_py_prints_the_graded_table(
    course, live_servers, tmp_path, lang, example, full_marks
):
    server = live_servers(course.root, workers=1)
    folder = tmp_path / "hw"
    folder.mkdir()
    shutil.copy(EXAMPLES / example, folder / "nn.py")
    done = run_submit(folder, lang, "nn.py", server.url, course.tokens["s1"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert course.tokens["s1"] not in done.stdout + done.stderr
    submissions = get_json(server.url, "/api/submissions", course.tokens["s1"])["submissions"]
    (only,) = submissions
    assert only["status"] == "done"
    assert f"{server.url}/submissions/{only['id']}" in done.stdout
    assert f"{only['score']:g}" in done.stdout
    assert ("✗" in done.stdout) != full_marks
    assert (only["score"] == only["max_score"]) == full_marks
