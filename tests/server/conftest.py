"""Server test fixtures: a course folder (three students, the instructor, their tokens), and
real servers in subprocesses (``live_servers``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"


@dataclass
class CourseFixture:
    root: Path
    tokens: dict[str, str]  # student id -> token
    instructor: str

    def configure(self, homework: str = "", server: str = "") -> None:
        """Rewrite course.toml with these ``[homeworks.backprop]`` and ``[server]`` lines."""
        (self.root / "course.toml").write_text(
            f'[course]\nname = "Test course"\nlang = "en"\n\n[server]\n{server}\n\n'
            f"[homeworks.backprop]\n{homework}\n",
            encoding="utf-8",
        )


@pytest.fixture
def course(tmp_path) -> CourseFixture:
    from autograder.server.course import init_course

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,name,email\ns1,Ada,ada@example.edu\ns2,Bo,bo@example.edu\ns3,陈,chen@example.edu\n",
        encoding="utf-8",
    )
    summary = init_course(tmp_path / "course", roster, name="Test course")
    with open(summary.tokens_path, newline="", encoding="utf-8") as f:
        tokens = {row["id"]: row["token"] for row in csv.DictReader(f)}
    return CourseFixture(summary.root, tokens, summary.instructor_token)


@pytest.fixture
def live_servers():
    """``start(course_root, workers=1)``: a real ``bpgrade serve`` (tests/server/live.py), ready.

    Every server started is killed at teardown, its whole process group and every process it
    started, whatever the test did to it.
    """
    from tests.server.live import start_server

    started = []

    def start(course_root, workers: int = 1):
        server = start_server(course_root, workers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
