"""A batch always finishes (issue 13): hostile or broken entries are their own error rows.

One class holds every entry that stopped ``grade-all`` before (a FIFO named ``x.py``, links to
``/proc`` and ``/usr``, a folder nested 1,000 deep, a GBK file name, JSON-bomb notebooks that sort
first, a 4 MiB notebook of ``a=1;``...) beside correct neighbours, and is graded once through the
CLI with the default process pool. Each test states one thing the instructor cares about: the run
ends, every entry has its row, the neighbours keep full marks, every output file is valid UTF-8.
The circuit breaker, a dying worker, a failing write and fingerprint costs are tested on their own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.batch import run as batch_run
from autograder.batch import store
from autograder.batch.discover import discover, shown_id, student_slug
from autograder.batch.gradebook import build_rows
from autograder.batch.run import BatchOptions, grade_all, plan
from autograder.spec import load_spec

sys.path.insert(0, str(Path(__file__).parent))
import classmix  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = os.geteuid() == 0
SECRET = "hostile-batch-secret"
GOOD = classmix.source("correct")
GBK = "张伟".encode("gbk")  # an honest name from a Chinese Windows machine


def _cells(cells: tuple[str, ...]) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "code", "source": c, "metadata": {}, "outputs": []} for c in cells
            ],
        }
    )


def _nest(folder: Path, depth: int) -> None:
    """``folder/d/d/.../d/nn.py``, made relative to dir fds (no PATH_MAX, no recursion)."""
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = sub
    leaf = os.open("nn.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(leaf, GOOD.encode())
    os.close(leaf)
    os.close(fd)


def _flatten(folder: Path) -> None:
    """Remove a deep tree without recursion (pytest's rmtree would hit the recursion limit)."""
    while (folder / "d").is_dir():
        spare = folder.parent / f".{folder.name}.spare"
        os.rename(folder / "d", spare)
        for child in list(spare.iterdir()):
            if child.name != "d":
                child.unlink()
        if (spare / "d").is_dir():
            os.rename(spare / "d", folder / "d")
        os.rmdir(spare)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)


@dataclass(frozen=True)
class Entry:
    """One entry of the class: what is on disk, and the row it must get."""

    sid: str  # the student id discovery gives it (surrogate-escaped for GBK)
    make: object  # (folder) -> None
    status: str
    score: float | None = None  # None: only 0 <= score < 100 is required
    says: str = ""  # fragment of the row's error, or of the feedback when it was graded
    root_only: bool = False


ENTRIES = [
    # neighbours, which must keep full marks
    Entry("alice", lambda f: (f / "alice.py").write_text(GOOD), "graded", 100),
    Entry("bob", lambda f: (f / "bob.ipynb").write_text(classmix.notebook(GOOD)), "graded", 100),
    Entry("carol", lambda f: classmix.write_one(f, "carol", "correct_folder"), "graded", 100),
    # four JSON bombs that sort first (they tripped the circuit breaker)
    *[
        Entry(
            f"0bomb{i}",
            lambda f, i=i: (f / f"0bomb{i}.ipynb").write_text("[" * 100_000 + "]" * 100_000),
            "broken",
            0,
            "nested more than 64 levels",
        )
        for i in range(4)
    ],
    Entry(
        "0wide",
        lambda f: (f / "0wide.ipynb").write_text('{"cells": [' + "[]," * 400_000 + "[]]}"),
        "broken",
        0,
        "more than 250000 values",
    ),
    Entry("x", lambda f: os.mkfifo(f / "x.py"), "broken", 0, "not a regular file"),
    Entry("proc", lambda f: (f / "proc").symlink_to("/proc"), "broken", 0, "symbolic link"),
    Entry("usr", lambda f: (f / "usr").symlink_to("/usr"), "broken", 0, "symbolic link"),
    Entry("loop", lambda f: (f / "loop.py").symlink_to("loop.py"), "broken", 0, "symbolic link"),
    Entry("deep", lambda f: _nest(f / "deep", 1000), "broken", 0, "nested more than 8 folders"),
    Entry("sock", lambda f: _socket(f / "sock.py"), "broken", 0, "not a regular file"),
    Entry(
        "dev",
        lambda f: os.mknod(f / "dev.py", stat.S_IFCHR | 0o600, os.makedev(1, 5)),
        "broken",
        0,
        "not a regular file",
        root_only=True,
    ),
    Entry("sparse", lambda f: _sparse(f / "sparse.py", 5 << 20), "broken", 0, "binary"),
    Entry(
        os.fsdecode(GBK),
        lambda f: Path(os.fsdecode(os.fsencode(f) + b"/" + GBK + b".py")).write_text(GOOD),
        "graded",
        100,
    ),
    Entry(
        "statements",
        lambda f: (f / "statements.ipynb").write_text(_cells(("a=1;" * (1 << 20),))),
        "graded",
        0,
        "code cell 1 is too large",
    ),
    Entry(
        "deepcode",
        lambda f: (f / "deepcode.ipynb").write_text(_cells(("x = " + "1+" * 900 + "1", GOOD))),
        "graded",
        100,
        "code cell 1 is nested too deeply",
    ),
]
ENTRIES = [e for e in ENTRIES if ROOT or not e.root_only]


def _cli(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out),
            "--jobs", "2", "--no-progress", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("hostile") / "submissions"
    subs.mkdir()
    for entry in ENTRIES:
        entry.make(subs)
    out = subs.parent / "out"
    env = dict(os.environ, BPGRADE_SECRET=SECRET)
    started = time.monotonic()
    done = subprocess.run(_cli(subs, out), env=env, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - started
    yield subs, out, done, wall
    _flatten(subs / "deep")


def _rows(out: Path) -> dict[str, dict]:
    text = (out / "gradebook.csv").read_bytes().decode("utf-8")
    return {r["student_id"]: r for r in csv.DictReader(io.StringIO(text))}


def test_the_batch_finishes_with_exit_0(graded):
    _, _, done, wall = graded
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert wall < 600


def test_every_entry_has_exactly_one_row(graded):
    _, out, _, _ = graded
    assert sorted(_rows(out)) == sorted(shown_id(e.sid) for e in ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES, ids=[shown_id(e.sid) for e in ENTRIES])
def test_each_entry_gets_its_own_outcome(graded, entry):
    _, out, _, _ = graded
    row = _rows(out)[shown_id(entry.sid)]
    assert row["status"] == entry.status, row
    if entry.score is not None:
        assert float(row["score"]) == entry.score, row
    folder = out / "students" / student_slug(entry.sid)
    feedback = (folder / store.FEEDBACK_MD).read_text(encoding="utf-8")
    assert entry.says in row["error"] + feedback, (row["error"], feedback[:2000])


def test_every_output_file_is_valid_utf8(graded):
    _, out, _, _ = graded
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".csv", ".md", ".html")]
    files += list(out.rglob("results.json"))
    assert len(files) >= 3 * len(ENTRIES)
    for path in files:
        path.read_bytes().decode("utf-8")  # no lone surrogate, no raw GBK byte
    report = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert shown_id(os.fsdecode(GBK)) in report  # the GBK student is listed, escaped


def test_a_rerun_grades_nothing_again(graded):
    subs, out, _, _ = graded
    found = discover(subs).submissions
    started = time.monotonic()
    todo, done = plan(found, BatchOptions(out=out))
    assert [t.student_id for t in todo] == [] and done == len(ENTRIES)
    assert time.monotonic() - started < 10


# --------------------------------------------------------------------------- the circuit breaker


def test_input_that_breaks_the_grader_does_not_trip_the_breaker(tmp_path, monkeypatch):
    """Four submissions sorting first make the grader raise: the probe shows the grader works,
    so the batch goes on and the neighbours are graded."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("0evil1", "0evil2", "0evil3", "0evil4", "0evil5", "alice", "bob"):
        (subs / f"{name}.py").write_text(GOOD)
    real = batch_run.grade_submission

    def fragile(path, **kwargs):
        if Path(path).name.startswith("0evil"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, **kwargs)

    monkeypatch.setattr(batch_run, "grade_submission", fragile)
    options = BatchOptions(out=tmp_path / "out", jobs=1, secret=b"k", pool=batch_run.THREAD)
    result = grade_all(discover(subs).submissions, options)
    statuses = {o.student_id: o.status for o in result.outcomes}
    assert statuses == {
        **{f"0evil{i}": store.GRADER_ERROR_STATUS for i in range(1, 6)},
        "alice": store.GRADED,
        "bob": store.GRADED,
    }
    assert {o.student_id: o.score for o in result.outcomes}["alice"] == 100


def test_a_worker_that_dies_costs_only_its_own_row(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice", "bob", "mallory"):
        (subs / f"{name}.py").write_text(GOOD)
    real = batch_run.grade_task
    calls = []

    def dying(task, options):
        calls.append(task.student_id)
        if task.student_id == "mallory":
            raise BrokenProcessPool("a worker process died")
        return real(task, options)

    monkeypatch.setattr(batch_run, "grade_task", dying)
    out = tmp_path / "out"
    options = BatchOptions(out=out, jobs=2, secret=b"k", pool=batch_run.THREAD)
    result = grade_all(discover(subs).submissions, options)
    statuses = {o.student_id: o.status for o in result.outcomes}
    assert statuses == {"alice": "graded", "bob": "graded", "mallory": "grader_error"}
    assert calls.count("mallory") == batch_run.MAX_POOL_RESTARTS
    rows = {r.student_id: r for r in build_rows(discover(subs).submissions, out, load_spec())}
    assert (
        rows["mallory"].status == "grader_error" and "worker process died" in rows["mallory"].error
    )


def test_a_feedback_that_cannot_be_written_is_that_students_error_row(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice", "mallory"):
        (subs / f"{name}.py").write_text(GOOD)
    real = store.to_html

    def failing(report):
        if report.student_id == "mallory" and report.error is None:
            raise OSError(28, "No space left on device")
        return real(report)

    monkeypatch.setattr(store, "to_html", failing)
    out = tmp_path / "out"
    options = BatchOptions(out=out, jobs=1, secret=b"k", pool=batch_run.THREAD)
    result = grade_all(discover(subs).submissions, options)
    assert {o.student_id: o.status for o in result.outcomes} == {
        "alice": "graded",
        "mallory": "grader_error",
    }
    results = store.load_results(out / "students" / "mallory")
    assert "could not write" in results["extra_data"]["error"]


def test_a_fingerprint_that_fails_only_means_grading_again(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text(GOOD)

    def broken(path, *, salt=""):
        raise RuntimeError("fingerprint bug")

    monkeypatch.setattr(store, "fingerprint", broken)
    todo, done = plan(discover(subs).submissions, BatchOptions(out=tmp_path / "out"))
    assert [t.student_id for t in todo] == ["alice"] and done == 0
    assert todo[0].fingerprint.startswith(store.UNKNOWN_FINGERPRINT)


# --------------------------------------------------------------------------- fingerprint cost


@pytest.mark.parametrize("layout", ["1500 students", "one folder of 1500 files"])
def test_sparse_files_are_not_read_to_fingerprint_them(tmp_path, layout):
    """1,500 sparse 5 MiB files: hashed by size and times, not 7.5 GB of zeros."""
    subs = tmp_path / "subs"
    subs.mkdir()
    if layout == "1500 students":
        for i in range(1500):
            _sparse(subs / f"s{i:04d}.py", 5 << 20)
    else:
        (subs / "alice").mkdir()
        (subs / "alice" / "nn.py").write_text(GOOD)
        for i in range(1500):
            _sparse(subs / "alice" / f"data{i:04d}.npy", 5 << 20)
    found = discover(subs).submissions
    started = time.monotonic()
    todo, _ = plan(found, BatchOptions(out=tmp_path / "out"))
    assert time.monotonic() - started < 8
    assert len({t.fingerprint for t in todo}) == len(todo)
    again, _ = plan(found, BatchOptions(out=tmp_path / "out"))
    assert [t.fingerprint for t in again] == [t.fingerprint for t in todo]  # stable


def test_a_changed_sparse_file_is_noticed(tmp_path):
    path = tmp_path / "alice.py"
    _sparse(path, 5 << 20)
    before = store.fingerprint(path)
    time.sleep(0.01)
    with open(path, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"x = 1\n")
    assert store.fingerprint(path) != before
