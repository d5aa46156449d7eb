"""``bpgrade grade-all`` end to end on a mixed class, through the real sandbox.

One uninterrupted run is the baseline. A second run is SIGKILLed mid-way, then rerun: its
gradebook must equal the baseline's, and the students finished before the kill must not be
regraded.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.batch import run as batch_run
from autograder.batch import store
from autograder.batch.discover import discover
from autograder.batch.run import BatchOptions, grade_all, plan

sys.path.insert(0, str(Path(__file__).parent))
import classmix  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECRET = "batch-test-secret"
N = 30
# Every broken kind and the quick hostile kinds, the rest from the usual mix.
OVERRIDES = {
    1: "broken:empty",
    3: "broken:binary",
    5: "broken:bad_utf8",
    9: "broken:corrupt_notebook",
    11: "broken:huge_file",
    13: "broken:wrong_extension",
    15: "broken:junk_folder",
    17: "hostile:exit_at_import",
    19: "hostile:raise_at_import",
    21: "hostile:fake_score",
    25: "hostile:memory_hog",
    27: "hostile:loop_at_import",
}
# Columns that legitimately differ between two runs.
VOLATILE = {"execution_time"}


def _cli(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out),
            "--jobs", "2", "--no-progress", *extra]  # fmt: skip


def _env() -> dict:
    return dict(os.environ, BPGRADE_SECRET=SECRET)


def _gradebook(out: Path) -> dict[str, dict]:
    with (out / "gradebook.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    ids = [r["student_id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate gradebook rows"
    return {r["student_id"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in rows}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    subs = tmp_path_factory.mktemp("class") / "submissions"
    kinds = classmix.make_class(subs, N, kinds=OVERRIDES)
    return subs, kinds


@pytest.fixture(scope="module")
def baseline(klass, tmp_path_factory):
    subs, _ = klass
    out = tmp_path_factory.mktemp("baseline")
    done = subprocess.run(_cli(subs, out), env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_one_row_per_submission_with_the_right_status(klass, baseline):
    _, kinds = klass
    rows = _gradebook(baseline)
    assert sorted(rows) == sorted(kinds)
    for sid, kind in kinds.items():
        row = rows[sid]
        if kind.startswith("broken:"):
            assert row["status"] == "broken" and row["error"], (sid, kind, row)
            assert float(row["score"]) == 0
        elif kind.startswith("correct"):
            assert (row["status"], float(row["score"])) == ("graded", 100.0), (sid, kind, row)
        elif kind.split(":")[1] in (
            "exit_at_import",
            "raise_at_import",
            "memory_hog",
            "loop_at_import",
        ):
            # Top-level code that fails is dropped: the (correct) definitions are graded alone.
            assert (row["status"], float(row["score"])) == ("graded", 100.0), (sid, kind, row)
        elif kind.startswith("buggy:"):
            assert row["status"] == "graded" and 0 < float(row["score"]) < 100, (sid, kind, row)
    assert float(rows[_sid(kinds, "hostile:fake_score")]["score"]) < 100


def _sid(kinds: dict[str, str], kind: str) -> str:
    return next(s for s, k in kinds.items() if k == kind)


def test_per_student_outputs_exist(klass, baseline):
    _, kinds = klass
    for sid in kinds:
        folder = baseline / "students" / sid
        for name in (store.RESULTS, store.FEEDBACK_MD, store.FEEDBACK_HTML):
            assert (folder / name).is_file(), (sid, name)
        results = store.load_results(folder)
        assert {"score", "tests", "execution_time"} <= set(results)
        assert all({"name", "score", "max_score", "status"} <= set(t) for t in results["tests"])
    assert (baseline / "report" / "index.html").is_file()


def _count_results(out: Path) -> int:
    return len(list((out / "students").glob("*/results.json")))


def test_sigkill_then_rerun_gives_the_same_gradebook(klass, baseline, tmp_path):
    subs, kinds = klass
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli(subs, out), env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300
    while _count_results(out) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # our own process group: the grader and its children
    proc.wait()
    finished = {p.parent.name: p.read_bytes() for p in (out / "students").glob("*/results.json")}
    assert 0 < len(finished) < N, "the kill should land mid-batch"
    assert not (out / "gradebook.csv").exists()

    again = subprocess.run(_cli(subs, out), env=_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"{len(finished)} students already graded" in again.stdout
    assert _gradebook(out) == _gradebook(baseline)
    for sid, before in finished.items():  # finished students were not graded again
        assert (out / "students" / sid / "results.json").read_bytes() == before
    assert not list(out.rglob(".*.tmp")), "stray temp files survived the rerun"


def test_rerun_plans_nothing_until_a_submission_changes(klass, baseline):
    subs, kinds = klass
    found = discover(subs).submissions
    options = BatchOptions(out=baseline)
    assert plan(found, options) == ([], N)
    changed = subs / f"{_sid(kinds, 'correct')}.py"
    original = changed.read_text()
    try:
        changed.write_text(original + "\n# edited\n")
        todo, done = plan(found, options)
        assert [t.student_id for t in todo] == [changed.stem] and done == N - 1
    finally:
        changed.write_text(original)


def test_grader_exception_becomes_an_error_row(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    classmix.make_class(subs, 4)
    real = batch_run.grade_submission

    def flaky(path, **kwargs):
        if kwargs["student_id"] == "s0001":
            raise ZeroDivisionError("grader bug")
        return real(path, **kwargs)

    monkeypatch.setattr(batch_run, "grade_submission", flaky)
    out = tmp_path / "out"
    result = grade_all(
        discover(subs).submissions,
        BatchOptions(out=out, jobs=2, secret=SECRET.encode(), pool=batch_run.THREAD),
    )
    assert result.counts[store.GRADER_ERROR_STATUS] == 1 and len(result.outcomes) == 4
    folder = out / "students" / "s0001"
    results = store.load_results(folder)
    assert "ZeroDivisionError" in results["extra_data"]["error"]
    assert "grader bug" not in (folder / store.FEEDBACK_HTML).read_text()
    assert "grader bug" in (folder / store.GRADER_ERROR).read_text()  # instructor-only traceback
    # a rerun regrades exactly that student: the failure was the grader's
    todo, _ = plan(discover(subs).submissions, BatchOptions(out=out))
    assert [t.student_id for t in todo] == ["s0001"]


def test_a_grader_that_always_fails_stops_the_batch(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    classmix.make_class(subs, 12, kinds={i: "correct" for i in range(12)})

    def broken(path, **kwargs):
        raise OSError("no child runtime")

    monkeypatch.setattr(batch_run, "grade_submission", broken)
    options = BatchOptions(out=tmp_path / "out", jobs=1, pool=batch_run.THREAD)
    with pytest.raises(batch_run.BatchAborted, match="no child runtime"):
        grade_all(discover(subs).submissions, options)
    assert _count_results(tmp_path / "out") < 12
