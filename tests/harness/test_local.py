"""LocalSubmission: the self-check's plain-process runner behaves like the sandboxed one.

The same sources and the same table of behaviours as ``test_runner.py`` where they mean anything
without a sandbox: replies, exceptions, bad results, timeouts and crashes (each followed by a
fresh worker), the budget, the student's output drained and capped, a forged frame. Plus what
is particular to it: it cleans up its process and folder, the student's own folder is not
importable, and grading refuses it whenever hidden cases are asked for.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

import numpy as np
import pytest

from autograder.grading import grade_submission
from autograder.harness.local import LocalSubmission
from autograder.harness.protocol import CallableSpec
from autograder.harness.sandbox import SandboxError
from autograder.spec import load_spec

from .conftest import FAST
from .test_runner import SOURCE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORRECT = os.path.join(ROOT, "examples", "submissions", "correct.py")


class _Tracker:
    """Submissions of a test; afterwards each must have no worker, no process and no folder."""

    def __init__(self) -> None:
        self.subs: list[LocalSubmission] = []
        self.procs: list = []

    def track(self, sub: LocalSubmission) -> LocalSubmission:
        self.subs.append(sub)
        spawn = sub._spawn

        def spawn_and_remember() -> None:
            spawn()
            self.procs.append(sub._child.proc)

        sub._spawn = spawn_and_remember
        return sub

    def check(self) -> None:
        for sub in self.subs:
            assert sub._closed and sub._child is None
            assert not sub._dir.exists(), "temporary folder left behind"
        assert [p.pid for p in self.procs if p.poll() is None] == [], "worker still running"


@pytest.fixture
def tracked():
    tracker = _Tracker()
    yield tracker
    tracker.check()


@pytest.fixture(scope="module")
def sub():
    with LocalSubmission(SOURCE, limits=FAST, support=load_spec().support) as submission:
        assert submission.load().status == "ok"
        yield submission


def test_tier_and_no_isolation_warning_of_its_own(sub):
    assert sub.tier == "local" and sub.warnings == []


def test_ok_call_and_float64_conversion(sub):
    out = sub.call("sigmoid", [np.array([[0.0, 100.0]])], {}, timeout=2)
    assert out.status == "ok" and out.value.dtype == np.float64 and out.value.shape == (1, 2)
    np.testing.assert_allclose(out.value, [[0.5, 1.0]])
    assert 0 <= out.elapsed <= out.wall < 1


def test_args_kwargs_and_scalar_result(sub):
    out = sub.call("kinds", [np.arange(4)], {"b": 2.5, "c": 1}, timeout=2)
    assert out.status == "ok" and out.value.shape == () and float(out.value) == 7.5


def test_two_outputs(sub):
    out = sub.call("cost_grad", [np.array([1.0, 2.0])], {}, n_outputs=2, timeout=2)
    assert out.status == "ok" and isinstance(out.value, tuple) and len(out.value) == 2
    assert float(out.value[0]) == 5.0
    np.testing.assert_array_equal(out.value[1], [2.0, 4.0])


@pytest.mark.parametrize(
    ("function", "status", "error_type", "message"),
    [
        ("raises", "exception", "ValueError", "x" * 500),  # capped at 500 characters
        ("not_ready", "exception", "NotImplementedError", "TODO"),
        ("custom_exception", "exception", "KeyError", "'h'"),  # a student class is not named
        ("nnCostFunction", "missing_function", "missing_function", None),
        ("not_a_function", "not_callable", "int", "int"),
    ],
)
def test_failures_are_reported_as_by_the_sandboxed_runner(
    sub, function, status, error_type, message
):
    out = sub.call(function, [], {}, timeout=2)
    assert (out.status, out.error_type, out.error_message) == (status, error_type, message)


@pytest.mark.parametrize(
    ("function", "n_outputs", "type_name"),
    [("returns_dict", 1, "dict"), ("returns_complex", 1, "ndarray"), ("wrong_arity", 2, "tuple")],
)
def test_bad_results(sub, function, n_outputs, type_name):
    out = sub.call(function, [], {}, n_outputs=n_outputs, timeout=2)
    assert out.status == "bad_result" and out.error_type == type_name


def test_substitute_replaces_helper_for_one_call(sub):
    z = np.array([0.0, 2.0])
    fixed = sub.call("uses_sigmoid", [z], {}, timeout=2, substitute={"sigmoid": "sigmoidGradient"})
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(fixed.value, s * (1 - s))
    again = sub.call("uses_sigmoid", [z], {}, timeout=2)
    np.testing.assert_allclose(again.value, s)  # the substitution was undone


def test_callable_spec_is_built_by_the_worker(sub):
    rng = np.random.default_rng(0)
    A, b, theta = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    spec = CallableSpec("quadratic", {"A": A, "b": b, "c": 0.7})
    out = sub.call("numeric_check", [spec, theta], {}, timeout=2)
    expected = 0.5 * (A + A.T) @ theta + b + 0.7 * np.cos(theta)
    np.testing.assert_allclose(out.value, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("function", "args", "kwargs", "error"),
    [
        ("a b", [], {}, ValueError),
        ("sigmoid", [], {"substitute": {"sigmoid": "os.system"}}, ValueError),
        ("sigmoid", [object()], {}, TypeError),
        ("numeric_check", [CallableSpec("evil", {}), np.zeros(2)], {}, TypeError),
    ],
)
def test_invalid_requests_raise_in_parent(sub, function, args, kwargs, error):
    with pytest.raises(error):
        sub.call(function, args, {}, timeout=1, **kwargs)


CRASHES = [
    pytest.param("spin", "timeout", "no answer within 0.5 s", id="timeout"),
    pytest.param("die", "crash", "worker exited with status 7", id="os._exit"),
    pytest.param(
        "segv",
        "crash",
        "worker killed by SIGSEGV",
        id="segfault",
        marks=pytest.mark.skipif(os.name != "posix", reason="POSIX signal"),
    ),
]


@pytest.mark.parametrize(("function", "status", "message"), CRASHES)
def test_timeout_and_crash_then_a_fresh_worker(tracked, function, status, message):
    with tracked.track(LocalSubmission(SOURCE, limits=FAST)) as sub:
        assert sub.call("sigmoid", [np.zeros(1)], {}, timeout=2).status == "ok"
        first = sub._child.proc
        start = time.monotonic()
        out = sub.call(function, [], {}, timeout=0.5)
        assert (out.status, out.error_message) == (status, message)
        assert time.monotonic() - start < 3
        assert first.poll() is not None  # the old worker is gone
        again = sub.call("sleeper", [0.05], {}, timeout=2)  # a new one, module reloaded
        assert again.status == "ok" and 0.04 < again.elapsed < 1
        assert sub.restarts == 1


LOAD_FAILURES = {
    "def f(:\n": ("exception", "SyntaxError"),
    # An unprovided module binds a placeholder: the load fails only when it is used there.
    "import no_such_module_xyz\nno_such_module_xyz.run()\n": ("exception", "ModuleNotFoundError"),
    "import sys\nsys.exit(0)\n": ("exception", "SystemExit"),
    "import os\nos._exit(0)\n": ("crash", "crash"),
    "while True:\n    pass\n": ("timeout", "timeout"),
}


@pytest.mark.parametrize(("source", "expected"), LOAD_FAILURES.items(), ids=list(LOAD_FAILURES))
def test_load_failures(tracked, source, expected):
    limits = dataclasses.replace(FAST, load_timeout=0.5)
    full = source + "def f():\n    return 1.0\n"
    with tracked.track(LocalSubmission(full, limits=limits)) as sub:
        loaded = sub.load()
        assert (loaded.status, loaded.error_type) == expected
        out = sub.call("f", [], {}, timeout=1)
        assert out.status == "load_failed" and out.error_type == expected[1]


def test_budget_exhaustion(tracked):
    limits = dataclasses.replace(FAST, total_budget=1.5)
    with tracked.track(LocalSubmission(SOURCE, limits=limits)) as sub:
        assert sub.call("sleeper", [0.6], {}, timeout=5).status == "ok"
        assert sub.call("sleeper", [5.0], {}, timeout=5).status == "budget_exhausted"
        start = time.monotonic()
        third = sub.call("sigmoid", [np.zeros(1)], {}, timeout=5)
        assert third.status == "budget_exhausted" and time.monotonic() - start < 0.1
        assert sub.budget_left == 0


def test_student_output_is_drained_capped_and_not_echoed(tracked, capfd):
    source = (
        "print('N passed, score 100/100')\n"
        "def f():\n"
        "    print('x' * 3_000_000)\n"  # far more than any pipe holds: the worker must not block
        "    return 1.0\n"
    )
    with tracked.track(LocalSubmission(source, limits=FAST)) as sub:
        assert sub.call("f", [], {}, timeout=5).status == "ok"
        deadline = time.monotonic() + 5
        while sub.stderr_total < 3_000_000 and time.monotonic() < deadline:
            time.sleep(0.01)  # the drain thread may still be reading the tail
        assert sub.stderr.startswith("N passed") and sub.stderr_total > 3_000_000
        assert len(sub.stderr) == FAST.max_stderr_bytes
    captured = capfd.readouterr()
    assert "passed" not in captured.out and "passed" not in captured.err


def test_forged_bytes_on_the_response_pipe_are_a_protocol_error(tracked):
    source = (
        "import os, sys\n"
        "def forge():\n"
        "    os.write(sys.modules['__main__'].RESP_FD, b'NOPE' + bytes(8))\n"
        "    return 1.0\n"
        "def f():\n"
        "    return 2.0\n"
    )
    with tracked.track(LocalSubmission(source, limits=FAST)) as sub:
        out = sub.call("forge", [], {}, timeout=2)
        assert (out.status, out.error_message) == ("protocol_error", "bad magic")
        assert float(sub.call("f", [], {}, timeout=2).value) == 2.0 and sub.restarts == 1


def test_worker_runs_in_a_private_folder_that_close_removes(tracked):
    source = (
        "import os\nopen('log.txt', 'w').write('hi')\n"
        "def where():\n    return float(open('log.txt').read() == 'hi' and os.getcwd().endswith('work'))\n"
    )
    with tracked.track(LocalSubmission(source, limits=FAST)) as sub:
        answer = sub.call("where", [], {}, timeout=2)
        assert answer.status == "ok" and float(answer.value) == 1.0
        # writes go to the worker's in-memory scratch space, as in the sandbox
        assert not (sub._dir / "work" / "log.txt").exists()
    # tracked.check: the folder is gone


def test_the_students_own_folder_is_not_importable(tracked, tmp_path, monkeypatch):
    """As in the sandbox: a helper next to nn.py is not there unless the grader ships it."""
    (tmp_path / "helper_xyz.py").write_text("def g():\n    return 1.0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    importlib.import_module("helper_xyz")  # importable here, in the grader's process
    source = "from helper_xyz import g\nVALUE = g()\n"  # a placeholder: it fails when used
    with tracked.track(LocalSubmission(source, limits=FAST)) as sub:
        loaded = sub.load()
        assert (loaded.status, loaded.error_type) == ("exception", "ModuleNotFoundError")
    sys.modules.pop("helper_xyz", None)


def test_closed_submission_refuses_calls(tracked):
    sub = tracked.track(LocalSubmission("def f():\n    return 1.0\n", limits=FAST))
    assert sub.call("f", [], {}, timeout=2).status == "ok"
    sub.close()
    sub.close()  # idempotent
    with pytest.raises(RuntimeError, match="LocalSubmission is closed"):
        sub.call("f", [], {}, timeout=1)


@pytest.mark.parametrize(
    "visibility", [("public", "hidden"), ("hidden",)], ids=["public+hidden", "hidden"]
)
def test_grading_refuses_hidden_cases_in_tier_local(visibility, monkeypatch):
    started = []
    monkeypatch.setattr(LocalSubmission, "start", lambda self: started.append(self))
    with pytest.raises(SandboxError, match="public cases only"):
        grade_submission(CORRECT, tier="local", visibility=visibility)
    assert started == []  # refused before any student code ran


def test_grading_runs_public_cases_in_tier_local():
    report = grade_submission(CORRECT, tier="local", visibility=("public",), student_id="s")
    assert report.tier == "local" and report.score == report.max_score
    assert all(c.visibility == "public" for p in report.parts for c in p.cases)
    assert report.warnings[-1].startswith("no sandbox on this machine")
