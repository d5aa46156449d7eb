"""A real ``bpgrade serve`` in a subprocess, for the crash and browser tests and the load benchmark.

``start_server(course_root, workers)`` starts the server on a free loopback port in a session of
its own (``start_new_session=True``: its process group is the server and its grading workers) and
returns once ``/api/health`` shows every worker up. :meth:`LiveServer.stop` always ends it: a
signal first if asked, then SIGKILL to the whole group and to every process it started (the
sandbox's processes run in sessions of their own). The HTTP helpers use only the standard library,
so the benchmark and any test can use them without a client package.

Linux only (the process tree is read from ``/proc``).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER_MODULE = "autograder.server.worker"
START_TIMEOUT = 90.0
POLL_EVERY = 0.2


# ---------------------------------------------------------------------------------------------
# Courses
# ---------------------------------------------------------------------------------------------


@dataclass
class LiveCourse:
    """A course folder made by :func:`make_course`, with every student's token."""

    root: Path
    tokens: dict[str, str]  # student id -> token
    instructor: str

    @property
    def db_path(self) -> Path:
        return self.root / "course.db"

    def db(self) -> sqlite3.Connection:
        """A plain connection to course.db for checks (rows as :class:`sqlite3.Row`)."""
        conn = sqlite3.connect(str(self.db_path), timeout=30.0)
        conn.row_factory = sqlite3.Row
        return conn


def make_course(folder: Path, students: list[str], *, uploads_per_minute: int = 6) -> LiveCourse:
    """``bpgrade course init`` for ``students`` in ``folder/course`` (roster written beside it)."""
    from autograder.server.course import init_course

    folder.mkdir(parents=True, exist_ok=True)
    roster = folder / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "email"])
        writer.writerows([sid, f"Student {sid}", f"{sid}@example.edu"] for sid in students)
    summary = init_course(folder / "course", roster, name="Live course")
    with open(summary.tokens_path, newline="", encoding="utf-8") as f:
        tokens = {row["id"]: row["token"] for row in csv.DictReader(f)}
    toml = summary.root / "course.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("uploads_per_minute = 6", f"uploads_per_minute = {uploads_per_minute}"),
        encoding="utf-8",
    )
    return LiveCourse(summary.root, tokens, summary.instructor_token)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, start time, process group) of ``pid`` from /proc, or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    return fields[0], int(fields[1]), int(fields[19]), int(fields[2])


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): with the pid, names one process."""
    stat = _stat(pid)
    return None if stat is None else stat[2]


def alive(pid: int) -> bool:
    """Running (a zombie is not: nobody may reap an orphan in a container)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _living(where) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] not in ("Z", "X") and where(stat):
                found.append(int(entry.name))
    return sorted(found)


def children(pid: int) -> list[int]:
    return _living(lambda stat: stat[1] == pid)


def group_members(pgid: int) -> list[int]:
    return _living(lambda stat: stat[3] == pgid)


def descendants(pid: int) -> list[int]:
    """Every living process under ``pid`` (children first)."""
    found, frontier = [], [pid]
    while frontier:
        kids = [kid for parent in frontier for kid in children(parent)]
        found += kids
        frontier = kids
    return found


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` runs; returns those still running at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _kill(pid: int, started: int | None = None) -> None:
    """SIGKILL ``pid``; with ``started``, only if it is still that process (pids are reused)."""
    if started is not None and start_time(pid) != started:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running ``bpgrade serve`` (``proc`` leads its own process group)."""

    url: str
    proc: subprocess.Popen
    course_root: Path
    workers: int
    log: Path
    _seen: dict[int, int] = field(default_factory=dict)  # pid -> start time, for stop()

    def _remember(self, pids: list[int]) -> None:
        for pid in pids:
            started = start_time(pid)
            if started is not None:
                self._seen.setdefault(pid, started)

    def worker_pids(self) -> list[int]:
        """The server's grading workers: its children running :mod:`autograder.server.worker`."""
        pids = [pid for pid in children(self.proc.pid) if WORKER_MODULE in cmdline(pid)]
        self._remember(pids)
        return pids

    def tree(self) -> list[int]:
        """The server and everything it started (also remembered for :meth:`stop`)."""
        if self.proc.poll() is not None:  # its pid may name another process by now
            return []
        pids = [self.proc.pid, *descendants(self.proc.pid)]
        self._remember(pids)
        return pids

    def health(self) -> dict:
        return get_json(self.url, "/api/health")

    def kill(self, *, group: bool = True) -> None:
        """SIGKILL the whole process group (a machine crash), or the server process alone."""
        self.tree()
        if group:
            self._killpg()
        else:
            _kill(self.proc.pid)
        self.proc.wait(timeout=30)

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one of this server's grading workers (refuses any other process)."""
        if pid not in self.worker_pids():
            raise ValueError(f"{pid} is not a grading worker of this server")
        self.tree()
        _kill(pid, self._seen.get(pid))

    def stop(self, sig: int | None = None, timeout: float = 30.0) -> int | None:
        """End the server: ``sig`` (e.g. SIGINT) and wait, then SIGKILL whatever is left.

        Returns the server's exit code when ``sig`` ended it in time, else None.
        """
        code = None
        if sig is not None and self.proc.poll() is None:
            self.tree()
            self.proc.send_signal(sig)
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
        self.tree()
        self._killpg()
        for pid, started in self._seen.items():  # the sandboxes run in sessions of their own
            if pid != self.proc.pid and alive(pid):
                _kill(pid, started)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        return code

    def _killpg(self) -> None:
        """SIGKILL the server's process group (its pgid is its pid, while any member lives)."""
        if self.proc.returncode is not None and not group_members(self.proc.pid):
            return  # reaped, and nothing of its group is left: the number may name another
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(
    course_root: str | Path, workers: int = 1, *, timeout: float = START_TIMEOUT
) -> LiveServer:
    """``bpgrade serve course_root --workers N`` on a free loopback port, ready to take uploads.

    The server runs this checkout's ``autograder`` (``cwd`` and ``PYTHONPATH`` are the repository
    root). Its output goes to ``<course>-server-<port>.log`` beside the course folder.

    Raises
    ------
    RuntimeError
        The server did not come up (its log's tail is in the message).
    """
    course_root = Path(course_root).resolve()
    for _ in range(3):  # a free port can be taken between the probe and the bind
        port = free_port()
        log = course_root.parent / f"{course_root.name}-server-{port}.log"
        server = _spawn(course_root, workers, port, log)
        if _wait_ready(server, timeout):
            return server
        tail = server.log_tail()
        server.stop()
        if "address already in use" not in tail.lower():
            raise RuntimeError(f"bpgrade serve did not start:\n{tail}")
    raise RuntimeError("bpgrade serve found no free port")


def _spawn(course_root: Path, workers: int, port: int, log: Path) -> LiveServer:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    cmd = [sys.executable, "-m", "autograder", "serve", str(course_root)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LiveServer(f"http://127.0.0.1:{port}", proc, course_root, workers, log)


def _wait_ready(server: LiveServer, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False
        try:
            if server.health()["workers"] >= server.workers:
                server.tree()
                return True
        except (OSError, ValueError):
            pass
        time.sleep(POLL_EVERY)
    return False


# ---------------------------------------------------------------------------------------------
# HTTP (standard library only)
# ---------------------------------------------------------------------------------------------


class HTTPFailure(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status, self.body = status, body


def _request(req: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str, path: str, token: str | None = None, timeout: float = 30.0) -> dict:
    """GET ``url + path`` as JSON; :class:`HTTPFailure` on any status but 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = _request(urllib.request.Request(url + path, headers=headers), timeout)
    if status != 200:
        raise HTTPFailure(status, body.decode(errors="replace"))
    return json.loads(body)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def submit(url: str, token: str, data: bytes, name: str = "nn.py", timeout: float = 60.0) -> dict:
    """POST an upload; the 202 answer (:class:`HTTPFailure` otherwise)."""
    body, content_type = multipart({}, {"file": (name, data)})
    req = urllib.request.Request(
        url + "/api/submissions",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    status, answer = _request(req, timeout)
    if status != 202:
        raise HTTPFailure(status, answer.decode(errors="replace"))
    return json.loads(answer)


FINAL = ("done", "error")


def wait_final(url: str, owners: dict[int, str], timeout: float) -> dict[int, dict]:
    """Poll ``GET /api/submissions/{id}`` (``owners``: id -> token) until each is done or error.

    Raises
    ------
    TimeoutError
        Some are still queued or grading at the deadline (their ids and statuses are named).
    """
    deadline = time.monotonic() + timeout
    final: dict[int, dict] = {}
    while True:
        for sid, token in owners.items():
            if sid not in final:
                shown = get_json(url, f"/api/submissions/{sid}", token)
                if shown["status"] in FINAL:
                    final[sid] = shown
        if len(final) == len(owners):
            return final
        if time.monotonic() > deadline:
            pending = {sid: "?" for sid in owners if sid not in final}
            raise TimeoutError(f"not graded in {timeout:.0f} s: {sorted(pending)}")
        time.sleep(POLL_EVERY)
