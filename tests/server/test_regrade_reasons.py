"""The regrade panel says which parts moved and why (``regrade.summary`` over regrade_diff)."""

from __future__ import annotations

import json

from autograder.server import db, regrade
from autograder.server.course import load_course
from autograder.server.queue import Result, SQLiteQueue
from autograder.server.store import accept

PART = {"points": 20.0, "rtol": 1e-06, "atol": 1e-09, "float32": "accept", "public_cases": 2,
        "hidden_cases": 6, "check": "grad"}  # fmt: skip
CHILD = {"python": "3.11.2", "numpy": "1.26.4", "scipy": "1.11.4", "blas": "openblas 0.3.23"}


def _results(nn_grad: float, rtol: float) -> str:
    prov = {"code_version": "c0de", "spec_hash": "5bec", "seed_id": "5eed", "tier": "bwrap",
            "child": CHILD, "parts": {"nnGrad": dict(PART, rtol=rtol)}}  # fmt: skip
    tests = [
        {"name": "sigmoid: Sigmoid", "score": 5.0, "max_score": 5.0},
        {"name": "nnGrad: Gradient", "score": nn_grad, "max_score": 20.0},
    ]
    return json.dumps({"score": 5.0 + nn_grad, "tests": tests, "extra_data": {"provenance": prov}})


def _complete(conn, version: str, nn_grad: float, rtol: float) -> None:
    queue = SQLiteQueue(conn)
    job = queue.claim("w")
    result = Result("a" * 64, version, "5eed", "en", 5.0 + nn_grad, 25.0, "graded",
                    _results(nn_grad, rtol), "<p>ok</p>")  # fmt: skip
    queue.complete(job, result)


def test_a_change_lists_its_parts_and_reasons_and_keeps_the_old_keys(course):
    loaded = load_course(course.root)
    conn = db.connect(loaded.db_path)
    accept(conn, student_id="s1", homework="backprop", filename="nn.py", sha256="a" * 64,
           size=10, lang="en", now=0.0)  # fmt: skip
    _complete(conn, "v1", 20.0, 1e-6)
    regrade_id = regrade.start(conn, "backprop")
    _complete(conn, "v2", 12.0, 1e-9)
    [change] = regrade.summary(conn, loaded, regrade_id)["changes"]
    assert {k: change[k] for k in ("student_id", "before", "after", "delta")} == {
        "student_id": "s1", "before": 25.0, "after": 17.0, "delta": -8.0,
    }  # fmt: skip
    assert change["parts"] == [
        {"part": "nnGrad", "old": 20.0, "new": 12.0, "delta": -8.0,
         "reasons": ["rtol 1e-06 → 1e-09"]}
    ]  # fmt: skip
    assert change["reasons"] == []
