"""Submitting files straight into a course database, and the expected grades from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submissions"
ZOO = ROOT / "tests" / "zoo" / "submissions"

#: A mix of correct, buggy and broken-at-import files: (file, what it is).
MIX = [
    EXAMPLES / "correct.py",
    EXAMPLES / "forgot_sigmoid_gradient.py",
    EXAMPLES / "bias_regularized.py",
    EXAMPLES / "forward_difference.py",
    EXAMPLES / "sigmoid_gradient_of_a.py",
    ZOO / "grad_sign.py",
    ZOO / "cost_missing_1_over_m.py",
    ZOO / "one_based_labels.py",
    ZOO / "reg_grad_missing.py",
    ZOO / "init_constant.py",
]


def submit(conn, course_root: Path, student_id: str, path: Path, *, data: bytes | None = None):
    """Accept ``path`` as ``student_id``'s submission; returns the submission id."""
    from autograder.server import store

    data = path.read_bytes() if data is None else data
    functions = {"sigmoid_gradient", "nn_cost_function"}
    sha = store.save_upload(
        course_root / "uploads", data, path.name, functions=functions, lang="en"
    )
    return store.accept(
        conn,
        student_id=student_id,
        homework="backprop",
        filename=path.name,
        sha256=sha,
        size=len(data),
        lang="en",
        now=time.time(),
    )


def cli_score(path: Path, student_id: str, secret: str) -> float:
    """What ``bpgrade grade FILE --student-id ID`` gives with the course secret."""
    env = dict(os.environ, BPGRADE_SECRET=secret)
    env.pop("BPGRADE_SECRET_FILE", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(path),
            "--student-id",
            student_id,
            "--format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return float(json.loads(out)["score"])


def rows(conn) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT s.id, s.student_id, s.status, s.result_key, s.submitted_at, s.queued_at, "
            "s.started_at, s.graded_at, s.stored_at, s.worker, r.score "
            "FROM submissions s LEFT JOIN results r ON r.key = s.result_key ORDER BY s.id"
        )
    ]


def all_done(conn) -> bool:
    return all(r["status"] == "done" for r in rows(conn))


def slow(seconds: float) -> bytes:
    """The correct submission, sleeping ``seconds`` at import (within the load timeout)."""
    return (
        EXAMPLES / "correct.py"
    ).read_bytes() + f"\nimport time as _t\n_t.sleep({seconds})\n".encode()


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def dispatcher(course_root: Path, broker: str, **options):
    """A started :class:`CeleryBackend` with short loss detection (stop it when done)."""
    from autograder.distributed.dispatch import CeleryBackend
    from autograder.server.course import load_course

    options = {"lost_after": 4.0, "ping_every": 1.0, **options}
    backend = CeleryBackend(load_course(course_root), broker, **options)
    backend.start()
    return backend


def exactly_once(conn) -> None:
    """Every submission done, with its result stored once under its key."""
    found = rows(conn)
    assert [r["status"] for r in found] == ["done"] * len(found)
    keys = [r["result_key"] for r in found]
    stored = [k for (k,) in conn.execute("SELECT key FROM results")]
    assert sorted(set(keys)) == sorted(stored)
    assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
