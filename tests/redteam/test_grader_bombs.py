"""Bombs aimed at the grader's own process, not the sandbox (issue 13, item 5).

A notebook is converted and every returned value is checked in the trusted parent, so a
submission can try to make *that* process hang, crash or swell: JSON nested 100,000 deep, hundreds
of thousands of arrays, a 4 MiB cell of ``a=1;``, expressions nested past the recursion limit,
every function returning the harness's 64 MiB maximum. Each must end as an ordinary result:
``bpgrade grade`` exits 0 with a clear error or warning, and the grader's own peak memory (measured
by ``benchmarks/bench_grader_memory.py``, one fresh process per attack) stays under 300 MB.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.conftest import TIER_REPORT

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench_grader_memory.py"
GOAL_MB = 300

pytestmark = [
    pytest.mark.skipif(
        not any(info["available"] for info in TIER_REPORT.values()), reason="no sandbox tier"
    ),
    pytest.mark.timeout(600),
]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_grader_memory", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()
GOOD = bench.CORRECT


@dataclass(frozen=True)
class Bomb:
    name: str
    text: str  # the notebook's text
    says: str  # in the output
    score: float = 0.0


BOMBS = [
    Bomb("json nested 100,000 deep", "[" * 100_000 + "]" * 100_000, "nested more than 64 levels"),
    Bomb("json objects nested deep", '{"a":' * 50_000 + "1" + "}" * 50_000, "nested more than 64"),
    Bomb(
        "400,000 empty arrays",
        '{"cells": [' + "[]," * 400_000 + "[]]}",
        "more than 250000 values",
    ),
    Bomb("json that is not an object", "[1, 2, 3]", "its JSON is not an object"),
    Bomb("truncated json", '{"cells": [{"cell_type": "code", "sour', "not valid JSON"),
    Bomb("2,001 code cells", bench._cells(*["x = 1"] * 2001), "more than 2000 code cells"),
    Bomb("4 MiB of a=1; in one cell", bench._cells("a=1;" * (1 << 20)), "code cell 1 is too large"),
    Bomb(
        "cells over the notebook's budget",
        bench._cells(*["a=1;" * 12_000] * 20, GOOD),
        "code cells from 5 on were skipped",
    ),
    Bomb(
        "expression past the recursion limit, then the solution",
        bench._cells("x = " + "1+" * 900 + "1", "y = " + "-" * 40_000 + "1", GOOD),
        "code cell 2 is nested too deeply",
        score=100,
    ),
]


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_bpgrade_grade_gives_a_clean_result(bomb, tmp_path):
    path = tmp_path / "backprop.ipynb"
    path.write_text(bomb.text)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    results = json.loads(done.stdout)
    assert results["score"] == bomb.score
    assert bomb.says in done.stdout, done.stdout[:3000]
    assert results["execution_time"] < 30


MEMORY = [
    "every function returns 64 MiB",
    "notebook: 4 MiB of a=1; in one cell",
    "notebook: 1,000 cells of a=1;",
    "notebook: 5 MiB of short JSON strings",
    "module: failing top level + 4 MiB of statements",
    "folder: 20 MiB of data files",
]


@pytest.mark.slow
@pytest.mark.parametrize("attack", MEMORY)
def test_the_graders_own_memory_stays_bounded(attack):
    row = bench.run_one(attack, timeout=300)
    assert row["peak_mb"] < GOAL_MB, row


def test_the_memory_benchmark_covers_the_red_team_suite():
    from redteam.hostile import HOSTILE

    names = set(bench.attacks())
    assert {f"redteam: {h.name}" for h in HOSTILE} <= names
    assert set(MEMORY) <= names
