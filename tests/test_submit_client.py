"""The release's submit.py: a student's client for the course server (issue 14).

Read as a specification. The generated ``assignments/backprop/<lang>/submit.py`` runs as a
student runs it (``python submit.py``, a separate process) against a small fake of the server's
HTTP API, built here on the standard library:
* it uploads the file intact (any bytes: Chinese text, CRLF, NUL) as multipart field ``file``,
  with ``homework`` and ``lang``, authenticated by ``Authorization: Bearer TOKEN``;
* it waits through queued and grading, then prints the per-part table, the total and the page;
* the token comes from ``$BPGRADE_TOKEN``, else ``.bpgrade_token`` (0600), else it is asked once
  and remembered; a 401 forgets it; the token never appears in what it prints;
* the server comes from ``--server``, else ``$BPGRADE_SERVER``, else the release's; none -> a
  clear message in the release's language;
* every failure prints one clear line and exits non-zero; Ctrl+C says the submission is safe;
* ``submit()`` works from Python (the notebook's last cell) and never raises for a failure;
* ``bpgrade release --server URL`` writes a validated URL into submit.py and the handout.
"""

from __future__ import annotations

import email
import email.policy
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from autograder.release import HandoutError, build_release, load_homework
from autograder.release.handout import check_server_url

HOMEWORK, SPEC = load_homework("backprop")
RELEASE = HOMEWORK.out
TOKEN = "tok-7Qx9-very-secret"
SID = 7
RESULTS = {
    "score": 25.0,
    "tests": [
        {"name": "sigmoid: Sigmoid", "score": 5.0, "max_score": 5.0, "status": "passed"},
        {"name": "nnCost: 代价函数", "score": 20.0, "max_score": 20.0, "status": "passed"},
        {"name": "nnGrad: Backpropagation", "score": 0.0, "max_score": 30.0, "status": "failed"},
    ],
}
DONE = {"id": SID, "status": "done", "score": 25.0, "max_score": 55.0, "results": RESULTS}
STATES = [
    {"id": SID, "status": "queued", "position": 2},
    {"id": SID, "status": "grading", "position": None},
    DONE,
]


# ---------------------------------------------------------------------------------------------
# A fake course server: the HTTP API contract of notes/SERVER.md, nothing more
# ---------------------------------------------------------------------------------------------


@dataclass
class Course:
    """What the fake server answers, and what it received."""

    upload_answer: tuple[int, dict, bytes] | None = None  # None: 202 {"id": SID, ...}
    # What each poll answers (the last one from then on): a submission, or an HTTP error status.
    states: list[dict | int] = field(default_factory=lambda: [DONE])
    uploads: list[dict] = field(default_factory=list)
    polls: int = 0
    url: str = ""


def _handler(course: Course) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest's output clean
            pass

        def _answer(self, status: int, body, headers: dict | None = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            self._answer(401, {"detail": "invalid token"})
            return False

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path != "/api/submissions" or not self._authorized():
                return
            head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            message = email.message_from_bytes(head + body, policy=email.policy.HTTP)
            if not _strict_multipart(body, message.get_boundary(), len(message.get_payload())):
                self._answer(400, {"detail": "malformed multipart body"})
                return
            parts = {
                p.get_param("name", header="content-disposition"): p for p in message.iter_parts()
            }
            course.uploads.append(
                {
                    "fields": {
                        k: p.get_payload(decode=True).decode()
                        for k, p in parts.items()
                        if k != "file"
                    },
                    "filename": parts["file"].get_filename(),
                    "data": parts["file"].get_payload(decode=True),
                }
            )
            if course.upload_answer is not None:
                status, headers, raw = course.upload_answer
                self._answer(status, raw, headers)
            else:
                self._answer(202, {"id": SID, "status": "queued", "position": 3})

        def do_GET(self) -> None:
            if self.path != f"/api/submissions/{SID}":
                self._answer(404, {"detail": "not found"})
            elif self._authorized():
                course.polls += 1
                state = course.states[min(course.polls, len(course.states)) - 1]
                if isinstance(state, int):  # a failing or restarting server
                    self._answer(state, {"detail": "restarting"})
                else:
                    self._answer(200, state)

    return Handler


def _strict_multipart(body: bytes, boundary: str | None, parts: int) -> bool:
    """RFC 7578's framing, which the email parser forgives: CRLF before every delimiter."""
    if not boundary:
        return False
    delimiter = f"\r\n--{boundary}".encode()
    return (
        body.startswith(f"--{boundary}\r\n".encode())
        and body.endswith(delimiter + b"--\r\n")
        and body.count(delimiter + b"\r\n") == parts - 1
    )


@pytest.fixture
def course():
    state = Course()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _dead_url() -> str:
    """An address where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# ---------------------------------------------------------------------------------------------
# Running submit.py as a student does
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def homework(tmp_path):
    """A student's copy of the English release: submit.py and their nn.py."""
    return _copy_release(tmp_path, "en")


def _copy_release(folder: Path, lang: str, server: str | None = None) -> Path:
    text = (RELEASE / lang / "submit.py").read_text(encoding="utf-8")
    if server is not None:  # as `bpgrade release --server` writes it
        text = text.replace("SERVER = None", f"SERVER = {server!r}")
    (folder / "submit.py").write_text(text, encoding="utf-8")
    (folder / "nn.py").write_text("def sigmoid(z):\n    return z\n", encoding="utf-8")
    return folder


def student_env(**extra: str) -> dict[str, str]:
    """This environment without our variables or proxies (the fake server is on loopback)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BPGRADE_") and "proxy" not in k.lower()
    }
    return {**env, **extra}


def run_submit(
    folder: Path,
    *args: str,
    server: str | None = None,
    token: str | None = TOKEN,
    typed: str = "",
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """``python submit.py ARGS`` in ``folder``; ``typed`` is what the student types at the prompt."""
    clean = student_env()
    clean.update({"BPGRADE_SERVER": server} if server else {})
    clean.update({"BPGRADE_TOKEN": token} if token else {})
    clean.update(env or {})
    done = subprocess.run(
        [sys.executable, "submit.py", *args],
        cwd=folder,
        env=clean,
        input=typed,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
        # No controlling terminal: getpass reads the typed token from stdin, as in a pipe.
        start_new_session=True,
    )
    assert TOKEN not in done.stdout + done.stderr  # never, whatever happened
    return done


# ---------------------------------------------------------------------------------------------
# A submission, end to end
# ---------------------------------------------------------------------------------------------


def test_a_graded_submission_prints_the_table_total_and_page(homework, course):
    course.states = STATES
    done = run_submit(homework, server=course.url)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^([✓✗]) (.+?)\s+(\d+\.\d\d)/(\d+)$", done.stdout, re.M)
    assert rows == [
        ("✓", "sigmoid: Sigmoid", "5.00", "5"),
        ("✓", "nnCost: 代价函数", "20.00", "20"),
        ("✗", "nnGrad: Backpropagation", "0.00", "30"),
    ]
    assert re.search(r"^\s+total\s+25\.00/55$", done.stdout, re.M)
    assert f"{course.url}/submissions/{SID}" in done.stdout
    assert "queued, position 2" in done.stdout and "grading" in done.stdout
    assert course.polls == len(STATES)


@pytest.mark.parametrize(
    "name, data",
    [
        ("nn.py", b"import numpy as np\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"),
        ("nn.py", "# 反向传播：梯度\ndef f():\n    return '代价'\n".encode()),
        ("nn.py", b"x = 1\r\ny = 2\r\n\x00\xff\xfe--boundary\r\n\r\n"),
        ("backprop.ipynb", json.dumps({"cells": [], "metadata": {"标题": "反向"}}).encode()),
    ],
    ids=["ascii", "chinese", "crlf-binary", "notebook"],
)
def test_the_file_and_fields_arrive_intact(homework, course, name, data):
    (homework / name).write_bytes(data)
    assert run_submit(homework, name, server=course.url).returncode == 0
    (upload,) = course.uploads
    assert upload == {
        "fields": {"homework": "backprop", "lang": "en"},
        "filename": name,
        "data": data,
    }


def test_without_a_file_argument_it_submits_the_releases_nn_py(homework, course, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # run from another folder
    done = subprocess.run(
        [sys.executable, str(homework / "submit.py"), "--server", course.url],
        cwd=elsewhere,
        env=student_env(BPGRADE_TOKEN=TOKEN),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert course.uploads[0]["data"] == (homework / "nn.py").read_bytes()


# ---------------------------------------------------------------------------------------------
# The token
# ---------------------------------------------------------------------------------------------


def test_an_asked_token_is_remembered_0600_and_reused(homework, course):
    first = run_submit(homework, server=course.url, token=None, typed=TOKEN + "\n")
    assert first.returncode == 0, first.stderr
    token_file = homework / ".bpgrade_token"
    assert token_file.read_text(encoding="utf-8").strip() == TOKEN
    if os.name == "posix":
        assert token_file.stat().st_mode & 0o777 == 0o600
    second = run_submit(homework, server=course.url, token=None, typed="")  # nothing typed
    assert second.returncode == 0, second.stderr
    assert len(course.uploads) == 2


def test_the_environment_token_wins_and_is_not_written(homework, course):
    (homework / ".bpgrade_token").write_text("an-old-wrong-token\n", encoding="utf-8")
    assert run_submit(homework, server=course.url).returncode == 0
    assert (homework / ".bpgrade_token").read_text(encoding="utf-8") == "an-old-wrong-token\n"


@pytest.mark.parametrize(
    "remembered, env_token, typed, file_after, says",
    [
        ("wrong-token", None, "", False, "forgotten"),
        (None, None, "wrong-token\n", False, "forgotten"),
        ("wrong-token", "also-wrong", "", True, "BPGRADE_TOKEN"),
    ],
    ids=["remembered", "typed", "environment"],
)
def test_a_refused_token_is_forgotten(
    homework, course, remembered, env_token, typed, file_after, says
):
    if remembered:
        (homework / ".bpgrade_token").write_text(remembered + "\n", encoding="utf-8")
    done = run_submit(homework, server=course.url, token=env_token, typed=typed)
    assert done.returncode == 1
    assert says in done.stderr
    assert (homework / ".bpgrade_token").exists() == file_after


@pytest.mark.parametrize("typed", ["", "\n", "two words\n"], ids=["eof", "empty", "spaces"])
def test_no_usable_token_is_a_clear_error_and_nothing_is_sent(homework, course, typed):
    done = run_submit(homework, server=course.url, token=None, typed=typed)
    assert done.returncode == 1 and "token" in done.stderr
    assert course.uploads == [] and not (homework / ".bpgrade_token").exists()


# ---------------------------------------------------------------------------------------------
# Which server
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "baked, env_server, flag",
    [
        ("dead", None, None),  # nothing overrides the release's address: unreachable
        ("live", None, None),
        ("dead", "live", None),
        ("dead", "dead", "live"),
    ],
    ids=["release-dead", "release", "env-overrides-release", "flag-overrides-both"],
)
def test_server_flag_then_environment_then_release(tmp_path, course, baked, env_server, flag):
    url = {"live": course.url, "dead": _dead_url(), None: None}
    folder = _copy_release(tmp_path, "en", server=url[baked])
    args = ("--server", url[flag]) if flag else ()
    done = run_submit(folder, *args, server=url[env_server])
    assert done.returncode == (0 if "live" in (baked, env_server, flag) else 1), done.stderr
    assert len(course.uploads) == (0 if done.returncode else 1)


@pytest.mark.parametrize(
    "lang, says", [("en", "no course server is set"), ("zh", "没有设置课程服务器")]
)
def test_without_any_server_it_says_so_in_the_releases_language(tmp_path, lang, says):
    done = run_submit(_copy_release(tmp_path, lang))
    assert done.returncode == 1 and says in done.stderr and "BPGRADE_SERVER" in done.stderr


@pytest.mark.parametrize(
    "url", ["ftp://example.edu", "example.edu", "http://student:pw@example.edu", "http://h/?x=1"]
)
def test_only_plain_http_urls_are_used(homework, url):
    done = run_submit(homework, "--server", url)
    assert done.returncode == 1 and "not a server address" in done.stderr


# ---------------------------------------------------------------------------------------------
# Every failure: one clear line, non-zero
# ---------------------------------------------------------------------------------------------


def _detail(status: int, detail: str, **headers) -> tuple[int, dict, bytes]:
    return status, headers, json.dumps({"detail": detail}).encode()


@pytest.mark.parametrize(
    "answer, says",
    [
        (_detail(400, "unknown homework 'x'"), "(HTTP 400): unknown homework 'x'"),
        (_detail(403, "the cutoff has passed"), "(HTTP 403): the cutoff has passed"),
        (_detail(409, "no attempts left (5 of 5)"), "(HTTP 409): no attempts left (5 of 5)"),
        (_detail(413, "larger than 5 MiB"), "(HTTP 413): larger than 5 MiB"),
        (_detail(429, "too many uploads", **{"Retry-After": "30"}), "try again in 30 s"),
        (_detail(500, "Traceback ..."), "the server failed (HTTP 500)"),
        ((200, {}, b"<html>a proxy login page</html>"), "not JSON"),
        ((202, {}, b'{"status": "queued"}'), "not JSON"),  # no id
        ((302, {"Location": "https://elsewhere.example/"}, b""), "redirects to https://elsewhere"),
        (_detail(422, "\x1b[31mred\x1b[0m"), "(HTTP 422):  [31mred [0m"),  # no terminal escapes
    ],
    ids=["400", "403", "409", "413", "429", "500", "html", "no-id", "redirect", "escapes"],
)
def test_refused_uploads_print_one_clear_line(homework, course, answer, says):
    course.upload_answer = answer
    done = run_submit(homework, server=course.url)
    assert done.returncode == 1
    assert says in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert done.stderr.strip().count("\n") == 0
    assert course.polls == 0


@pytest.mark.parametrize(
    "final, says",
    [
        (
            {"id": SID, "status": "error", "error": "the grader crashed"},
            "could not be graded: the grader crashed",
        ),
        (
            {"id": SID, "status": "error", "superseded_by": 9},
            "superseded by your later submission 9",
        ),
    ],
)
def test_a_submission_that_ends_in_error_says_why(homework, course, final, says):
    course.states = [STATES[0], final]
    done = run_submit(homework, server=course.url)
    assert done.returncode == 1 and says in done.stderr


def test_a_server_failing_while_we_wait_is_asked_again(homework, course):
    course.states = [STATES[0], 503, 502, DONE]
    done = run_submit(homework, server=course.url)
    assert done.returncode == 0, done.stderr
    assert "server unreachable, retrying" in done.stdout and course.polls == 4


def test_waiting_gives_up_after_its_limit_and_says_where_to_look(homework, course):
    course.states = [STATES[0]]  # queued for ever
    client = _import(homework / "submit.py")
    with pytest.raises(client.SubmitError, match="still not graded") as info:
        client.wait(course.url, {"id": SID, "status": "queued"}, TOKEN, limit_s=1.5)
    assert f"{course.url}/submissions/{SID}" in str(info.value)


def _import(path: Path):
    spec = importlib.util.spec_from_file_location("student_submit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda folder: folder / "missing.py", "no such file"),
        (lambda folder: _write(folder / "notes.txt", b"x"), "submit a .py or .ipynb file"),
        (lambda folder: _write(folder / "big.py", b"#" * (5 * 2**20 + 1)), "at most 5 MiB"),
    ],
    ids=["missing", "suffix", "too-large"],
)
def test_bad_files_are_refused_before_anything_is_sent(homework, course, make, says):
    done = run_submit(homework, make(homework).name, server=course.url)
    assert done.returncode == 1 and says in done.stderr
    assert course.uploads == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_an_unreachable_server_is_a_clear_error(homework):
    done = run_submit(homework, server=_dead_url())
    assert done.returncode == 1 and "cannot reach the course server" in done.stderr


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_while_waiting_says_the_submission_is_still_graded(homework, course):
    course.states = [STATES[0]]  # queued for ever
    proc = subprocess.Popen(
        [sys.executable, "submit.py", "--server", course.url],
        cwd=homework,
        env=student_env(BPGRADE_TOKEN=TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    deadline = time.monotonic() + 30
    while course.polls == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"submission {SID} is still graded on the server" in err
    assert f"{course.url}/submissions/{SID}" in err and "Traceback" not in err


def test_a_console_that_cannot_show_chinese_gets_replacements(tmp_path, course):
    folder = _copy_release(tmp_path, "zh")
    done = run_submit(folder, server=course.url, env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "25.00/55" in done.stdout and "?" in done.stdout


# ---------------------------------------------------------------------------------------------
# submit() for the notebook
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("live, expect", [(True, "done"), (False, "None")])
def test_submit_function_returns_the_graded_submission_or_none(homework, course, live, expect):
    (homework / "backprop.ipynb").write_text('{"cells": []}', encoding="utf-8")
    code = "from submit import submit; r = submit('backprop.ipynb'); print('->', r and r['status'])"
    url = course.url if live else _dead_url()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=homework,
        env=student_env(BPGRADE_TOKEN=TOKEN, BPGRADE_SERVER=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and f"-> {expect}" in done.stdout, done.stderr


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_notebook_ends_with_a_submit_cell(lang):
    nb = json.loads((RELEASE / lang / "backprop.ipynb").read_text(encoding="utf-8"))
    *_, text, code = nb["cells"]
    assert "submit" in "".join(text["source"]) and "Ctrl+S" in "".join(text["source"])
    assert 'submit("backprop.ipynb")' in "".join(code["source"])


# ---------------------------------------------------------------------------------------------
# bpgrade release --server
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_committed_release_has_no_server(lang):
    assert "\nSERVER = None\n" in (RELEASE / lang / "submit.py").read_text(encoding="utf-8")


def test_release_server_writes_the_url_into_submit_py_and_the_handout(tmp_path):
    from autograder.cli import main

    url = "https://grader.example.edu/nn2026"
    assert main(["release", "--out", str(tmp_path), "--server", url + "/"]) == 0
    for lang in ("en", "zh"):
        assert f"\nSERVER = {url!r}\n" in (tmp_path / lang / "submit.py").read_text(
            encoding="utf-8"
        )
        assert f"`{url}`" in (tmp_path / lang / "README.md").read_text(encoding="utf-8")
    assert main(["release", "--out", str(tmp_path), "--server", url, "--check"]) == 0
    assert main(["release", "--out", str(tmp_path), "--check"]) == 1  # SERVER differs


@pytest.mark.parametrize(
    "url, says",
    [
        ("ftp://grader.example.edu", "http:// or https://"),
        ("grader.example.edu", "http:// or https://"),
        ("https://", "http:// or https://"),
        ("https://ta:hunter2@grader.example.edu", "credentials"),
        ("https://grader.example.edu/?course=1", "query"),
        ("https://grader.example.edu/#top", "fragment"),
        ("https://grader.example.edu:port", "not a URL"),
        ("https://grader.example.edu/a b", "spaces"),
    ],
)
def test_release_refuses_a_bad_server_url(url, says):
    with pytest.raises(HandoutError, match=says) as info:
        build_release(HOMEWORK.source, SPEC, ["en"], server=url)
    assert "hunter2" not in str(info.value)
    with pytest.raises(HandoutError):
        check_server_url(url)
