"""A Redis broker and ``bpgrade worker`` processes on loopback, started per test and always killed.

Every process a test starts (redis-server, workers, a server) is started in a session of its own
and killed with its whole process group in the fixture's finalizer, whatever the test did.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s process group (it was started in a session of its own)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def wait_for(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Redis:
    port: int
    folder: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--protected-mode",
                "yes",
            ],
            stdout=open(self.folder / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.ping, 10, "redis-server")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)


@pytest.fixture
def redis_server(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    server = Redis(free_port(), folder)
    server.start()
    yield server
    server.kill()


@dataclass
class Workers:
    """``bpgrade worker`` processes for one course and broker."""

    broker: str
    course: Path
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *extra: str, concurrency: int = 1) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder",
                "worker",
                "--broker",
                self.broker,
                "--course",
                str(self.course),
                "--concurrency",
                str(concurrency),
                "--name",
                f"{name}@test",
                *extra,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def wait_ready(self, *names: str, timeout: float = 60) -> None:
        """Until every named worker answers a ping (its pool is up)."""
        from autograder.distributed.celery_app import make_celery

        app = make_celery(self.broker)
        wanted = {f"{n}@test" for n in names}

        def ready():
            for name in names:
                if self.procs[name].poll() is not None:
                    raise AssertionError(f"worker {name} exited:\n{self.log(name)[-3000:]}")
            replies = app.control.ping(timeout=1.0) or []
            return wanted <= {host for reply in replies for host in reply}

        wait_for(ready, timeout, f"workers {sorted(wanted)}")

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def starts(self) -> list[str]:
        """Task ids of every attempt, over all workers' logs."""
        ids = []
        for path in self.logs.glob("*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if "start task=" in line:
                    ids.append(line.rsplit("start task=", 1)[1].strip())
        return ids

    def kill(self, name: str) -> None:
        kill_group(self.procs[name])

    def kill_all(self) -> None:
        for proc in self.procs.values():
            kill_group(proc)


@dataclass
class CourseFixture:
    root: Path
    tokens: dict[str, str]
    instructor: str

    @property
    def secret(self) -> str:
        return (self.root / "secret").read_text().strip()


@pytest.fixture
def course(tmp_path) -> CourseFixture:
    from autograder.server.course import init_course

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,name\n" + "".join(f"s{i},Student {i}\n" for i in range(1, 13)), encoding="utf-8"
    )
    summary = init_course(tmp_path / "course", roster, name="Distributed test course")
    with open(summary.tokens_path, newline="", encoding="utf-8") as f:
        tokens = {row["id"]: row["token"] for row in csv.DictReader(f)}
    return CourseFixture(summary.root, tokens, summary.instructor_token)


@pytest.fixture
def workers(redis_server, course, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    pool = Workers(redis_server.url, course.root, logs)
    yield pool
    pool.kill_all()
