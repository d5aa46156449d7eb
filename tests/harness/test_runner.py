"""SandboxedSubmission behaviour on small, well-understood sources, in every available tier."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from autograder.harness.runner import CallableSpec, SandboxedSubmission
from autograder.harness.sandbox import Sandbox
from autograder.spec import load_spec

from .conftest import FAST, ROOT_TIERS, tier_params

SOURCE = """
import os, sys, time
import numpy as np

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))

def sigmoidGradient(z):
    return sigmoid(z) * (1 - sigmoid(z)) * 0 + 123.0   # wrong on purpose: uses sigmoid

def uses_sigmoid(z):
    return sigmoid(z)

def cost_grad(theta):
    return float(np.sum(theta ** 2)), 2 * theta

def kinds(a, b=None, *, c=0):
    return float(len(a)) + (0 if b is None else b) + c

def raises():
    raise ValueError("x" * 5000)

def not_ready():
    raise NotImplementedError("TODO")

class LeakError(KeyError):
    pass

def custom_exception():
    raise LeakError("h")

def returns_dict():
    return {"J": 1}

def returns_complex():
    return np.array([1 + 2j])

def wrong_arity():
    return 1.0, 2.0, 3.0

def numeric_check(J, theta, e=1e-4):
    theta = np.asarray(theta, dtype=float)
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta); step[i] = e
        grad[i] = (J(theta + step) - J(theta - step)) / (2 * e)
    return grad

def call_cost_grad(f, t):
    return f(t)

def sleeper(seconds):
    time.sleep(seconds)
    return seconds

def spin():
    while True:
        pass

def die():
    os._exit(7)

def segv():
    import ctypes
    ctypes.string_at(0)

not_a_function = 3
"""

TIERS = tier_params(ROOT_TIERS)


@pytest.fixture(scope="module", params=TIERS)
def sub(request):
    """One loaded submission per tier, shared by the quick tests (restarts are tested separately)."""
    support = load_spec().support  # the homework's helpers and callable kinds
    with SandboxedSubmission(
        SOURCE, tier=request.param, limits=FAST, support=support
    ) as submission:
        assert submission.load().status == "ok"
        yield submission


def test_ok_call_and_float64_conversion(sub):
    out = sub.call("sigmoid", [np.array([[0.0, 100.0]])], {}, timeout=2)
    assert out.status == "ok" and out.value.dtype == np.float64 and out.value.shape == (1, 2)
    np.testing.assert_allclose(out.value, [[0.5, 1.0]])
    assert 0 <= out.elapsed < 1


def test_args_kwargs_and_scalar_result(sub):
    out = sub.call("kinds", [np.arange(4)], {"b": 2.5, "c": 1}, timeout=2)
    assert out.status == "ok" and out.value.shape == () and float(out.value) == 7.5


def test_two_outputs(sub):
    out = sub.call("cost_grad", [np.array([1.0, 2.0])], {}, n_outputs=2, timeout=2)
    assert out.status == "ok" and isinstance(out.value, tuple) and len(out.value) == 2
    assert float(out.value[0]) == 5.0
    np.testing.assert_array_equal(out.value[1], [2.0, 4.0])


def test_exception_type_and_capped_message(sub):
    out = sub.call("raises", [], {}, timeout=2)
    assert out.status == "exception" and out.error_type == "ValueError"
    assert 0 < len(out.error_message) <= 500


def test_not_implemented_is_reported_by_type(sub):
    out = sub.call("not_ready", [], {}, timeout=2)
    assert (out.status, out.error_type, out.error_message) == (
        "exception",
        "NotImplementedError",
        "TODO",
    )


def test_custom_exception_reported_as_builtin_base(sub):
    out = sub.call("custom_exception", [], {}, timeout=2)
    assert out.error_type == "KeyError"


def test_missing_and_not_callable(sub):
    assert sub.call("nnCostFunction", [], {}, timeout=2).status == "missing_function"
    out = sub.call("not_a_function", [], {}, timeout=2)
    assert out.status == "not_callable" and out.error_type == "int"


@pytest.mark.parametrize(
    ("function", "n_outputs", "type_name"),
    [
        ("returns_dict", 1, "dict"),
        ("returns_complex", 1, "ndarray"),
        ("wrong_arity", 2, "tuple"),
        ("raises", 1, None),
    ],
)
def test_bad_results(sub, function, n_outputs, type_name):
    out = sub.call(function, [], {}, n_outputs=n_outputs, timeout=2)
    if type_name is None:
        assert out.status == "exception"
    else:
        assert out.status == "bad_result" and out.error_type == type_name


def test_substitute_replaces_helper_for_one_call(sub):
    z = np.array([0.0, 2.0])
    wrong = sub.call("sigmoidGradient", [z], {}, timeout=2)
    np.testing.assert_array_equal(wrong.value, [123.0, 123.0])
    fixed = sub.call("uses_sigmoid", [z], {}, timeout=2, substitute={"sigmoid": "sigmoidGradient"})
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(fixed.value, s * (1 - s))
    again = sub.call("uses_sigmoid", [z], {}, timeout=2)
    np.testing.assert_allclose(again.value, s)  # the substitution was undone


def test_callable_spec_quadratic(sub):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    b, c, theta = rng.normal(size=4), 0.7, rng.normal(size=4)
    spec = CallableSpec("quadratic", {"A": A, "b": b, "c": c})
    out = sub.call("numeric_check", [spec, theta], {}, timeout=2)
    expected = 0.5 * (A + A.T) @ theta + b + c * np.cos(theta)
    np.testing.assert_allclose(out.value, expected, rtol=1e-6)
    spec2 = CallableSpec("quadratic_cost_grad", {"A": A, "b": b, "c": c})
    out2 = sub.call("call_cost_grad", [spec2, theta.reshape(-1, 1)], {}, n_outputs=2, timeout=2)
    assert out2.status == "ok" and out2.value[1].shape == (4, 1)
    np.testing.assert_allclose(out2.value[1].ravel(), expected)


def test_invalid_requests_raise_in_parent(sub):
    with pytest.raises(ValueError):
        sub.call("a b", [], {}, timeout=1)
    with pytest.raises(ValueError):
        sub.call("sigmoid", [], {}, timeout=1, substitute={"sigmoid": "os.system"})
    with pytest.raises(TypeError):
        sub.call("sigmoid", [object()], {}, timeout=1)
    with pytest.raises(TypeError):  # a kind the homework's support module does not define
        sub.call("numeric_check", [CallableSpec("evil", {}), np.zeros(2)], {}, timeout=1)


@pytest.mark.parametrize("tier", TIERS)
def test_timeout_crash_segfault_then_restart(tier, leftovers):
    with leftovers.track(SandboxedSubmission(SOURCE, tier=tier, limits=FAST)) as sub:
        start = time.monotonic()
        out = sub.call("spin", [], {}, timeout=0.5)
        assert out.status == "timeout" and out.error_type == "timeout"
        assert time.monotonic() - start < 3
        assert sub.call("sigmoid", [np.zeros(1)], {}, timeout=2).status == "ok"  # restarted
        out = sub.call("die", [], {}, timeout=2)
        assert out.status == "crash" and "status 7" in out.error_message
        out = sub.call("segv", [], {}, timeout=2)
        assert out.status == "crash" and "SIGSEGV" in out.error_message
        out = sub.call("sleeper", [0.05], {}, timeout=2)
        assert out.status == "ok" and 0.04 < out.elapsed < 1
        assert sub.restarts == 3


@pytest.mark.parametrize("queued", [False, True], ids=["load", "queue_load then load"])
@pytest.mark.parametrize("tier", TIERS)
def test_load_failures(tier, queued, leftovers):
    """Every way a module's top level fails reads the same whether the load request waited for
    the worker or was queued in its pipe while it started (as grading does)."""
    cases = {
        "def f(:\n": ("exception", "SyntaxError"),
        # An unprovided module costs nothing until it is used; used at import, the load fails.
        "import no_such_module_xyz\nno_such_module_xyz.run()\n": (
            "exception",
            "ModuleNotFoundError",
        ),
        "import sys\nsys.exit(0)\n": ("exception", "SystemExit"),
        "import os\nos._exit(0)\n": ("crash", "crash"),
        "while True:\n    pass\n": ("timeout", "timeout"),
    }
    limits = dataclasses.replace(FAST, load_timeout=0.5)
    for source, (status, error_type) in cases.items():
        with leftovers.track(
            SandboxedSubmission(source + "def f():\n    return 1.0\n", tier=tier, limits=limits)
        ) as sub:
            if queued:
                sub.queue_load()
            loaded = sub.load()
            assert (loaded.status, loaded.error_type) == (status, error_type), source
            out = sub.call("f", [], {}, timeout=1)
            assert out.status == "load_failed" and out.error_type == error_type


@pytest.mark.parametrize("tier", TIERS)
def test_call_without_explicit_load(tier):
    with SandboxedSubmission("def f(x):\n    return x + 1\n", tier=tier, limits=FAST) as sub:
        assert float(sub.call("f", [1.0], {}, timeout=2).value) == 2.0


@pytest.mark.parametrize("tier", TIERS)
def test_budget_exhaustion(tier, leftovers):
    limits = dataclasses.replace(FAST, total_budget=1.5)
    with leftovers.track(SandboxedSubmission(SOURCE, tier=tier, limits=limits)) as sub:
        assert sub.call("sleeper", [0.6], {}, timeout=5).status == "ok"
        second = sub.call("sleeper", [5.0], {}, timeout=5)
        assert second.status == "budget_exhausted"
        start = time.monotonic()
        third = sub.call("sigmoid", [np.zeros(1)], {}, timeout=5)
        assert third.status == "budget_exhausted" and time.monotonic() - start < 0.1
        assert sub.budget_left == 0


@pytest.mark.parametrize("tier", TIERS)
def test_student_output_captured_not_echoed(tier, capfd):
    source = "print('N passed, score 100/100')\nimport sys\ndef f():\n    print('x' * 100000)\n    return 1.0\n"
    with SandboxedSubmission(source, tier=tier, limits=FAST) as sub:
        assert sub.call("f", [], {}, timeout=2).status == "ok"
        assert sub.stderr.startswith("N passed") and sub.stderr_total > 100000
        assert len(sub.stderr) <= FAST.max_stderr_bytes
    captured = capfd.readouterr()
    assert "passed" not in captured.out and "passed" not in captured.err


def test_shared_sandbox_and_tier_attribute():
    sandbox = Sandbox(tier="auto")
    with SandboxedSubmission("def f():\n    return 2.0\n", sandbox=sandbox, limits=FAST) as sub:
        assert sub.tier == sandbox.tier and sub.tier in ("bwrap", "seccomp", "rlimits")
        assert sub.call("f", [], {}, timeout=2).status == "ok"
        assert sub.ping()


def test_closed_submission_refuses_calls():
    sub = SandboxedSubmission("def f():\n    return 1.0\n", limits=FAST)
    sub.close()
    sub.close()  # idempotent
    with pytest.raises(RuntimeError):
        sub.call("f", [], {}, timeout=1)


@pytest.mark.parametrize("zygote", [False, True], ids=["fresh worker", "zygote fork"])
def test_a_queued_load_still_waits_for_the_workers_isolation(zygote, leftovers):
    """The load request is in the pipe before the worker is ready; the reply is taken only after
    its ready frame, with the layers it reports, and the module then serves calls."""
    from autograder.harness.zygote import Zygote

    z = Zygote(tier="auto", limits=FAST) if zygote else None
    try:
        sub = SandboxedSubmission(SOURCE, tier="auto", limits=FAST, zygote=z)
        with leftovers.track(sub):
            sub.queue_load()
            assert sub.load().status == "ok"
            assert sub.layers.get("seccomp", "").startswith("active")
            assert float(sub.call("sigmoid", [np.zeros(1)], {}, timeout=2).value[0]) == 0.5
            assert sub.starts == 1
    finally:
        if z is not None:
            z.close()


# A prefetched call is sent while the grader checks the previous answer; its reply must still be
# the answer to exactly the call that claims it. Rows: what is prefetched, what is then called.
PREFETCH = [
    ("the same call", ("sigmoid", [0.0]), ("sigmoid", [0.0]), "ok", 0.5),
    ("another call", ("sleeper", [0.05]), ("sigmoid", [0.0]), "ok", 0.5),
    ("a hung function", ("spin", []), ("spin", []), "timeout", None),
    ("an exception", ("raises", []), ("raises", []), "exception", None),
]


@pytest.mark.parametrize(
    ("prefetched", "called", "status", "value"),
    [row[1:] for row in PREFETCH],
    ids=[row[0] for row in PREFETCH],
)
def test_a_prefetched_call_answers_only_the_call_that_claims_it(
    prefetched, called, status, value, leftovers
):
    with leftovers.track(SandboxedSubmission(SOURCE, tier="auto", limits=FAST)) as sub:
        assert sub.load().status == "ok"
        args = [np.array(a) for a in prefetched[1]]
        sub.prefetch(prefetched[0], args, {}, timeout=0.5)
        same = called == prefetched
        call_args = args if same else [np.array(a) for a in called[1]]
        started = time.monotonic()
        out = sub.call(called[0], call_args, {}, timeout=0.5)
        assert out.status == status
        if value is not None:
            assert float(out.value) == value
        if status == "timeout":
            assert time.monotonic() - started < 1.5  # counted from the prefetch, not again
        else:
            assert sub.starts == 1  # another call waited for the prefetched reply, no restart
        assert float(sub.call("sigmoid", [np.zeros(1)], {}, timeout=2).value[0]) == 0.5


def test_nothing_is_prefetched_before_the_module_is_loaded():
    with SandboxedSubmission(SOURCE, tier="auto", limits=FAST) as sub:
        sub.prefetch("sigmoid", [np.zeros(1)], {}, timeout=1)
        assert sub._prefetched is None
        assert float(sub.call("sigmoid", [np.zeros(1)], {}, timeout=2).value[0]) == 0.5
