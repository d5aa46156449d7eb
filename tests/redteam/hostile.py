"""The table of hostile submissions for the grading-level red team, with their expected outcomes.

Each entry is the correct example submission with ONE function made hostile (``target``) and/or
hostile code at module top level (``prelude``). Most bodies are the harness red team's own attacks
(``tests/harness/test_redteam_harness.py``): there ``def attack():`` is called directly, here it
becomes the target function, called by the grader with the real (public and hidden) cases.

Expectations:

* ``expect`` - the categories the attacked part's cases may fail with, ``says`` - a fragment of the
  message at least one of them carries;
* the parts that must score 0 are the target's and those of functions that genuinely call it in
  the correct submission (``LOSES``; ``zero`` overrides); every other part keeps full marks;
* ``partial`` - parts graded on (J, grad) that lose the gradient's credit only;
* ``load_error`` - the attack makes loading fail: every part scores 0 and ``report.error`` says why;
* ``top_level`` - the attack is top-level code that fails (an exception or the import time limit):
  the module's definitions are graded without it, every part keeps full marks, and one warning
  names the failure.

``$name`` placeholders are filled in per run (see :func:`build_source`).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.test_redteam_harness import ATTACKS, PLANTED
from test_grading import CORRECT, _with

HARNESS = {a.name: a for a in ATTACKS}

PARTS = (
    "sigmoid",
    "sigmoidGradient",
    "randInitializeWeights",
    "nnCost",
    "nnGrad",
    "nnCostFunctionDeep",
    "squaredErrorDelta",
    "squaredErrorCostFunction",
    "computeNumericalGradient",
    "predict",
    "gradientDescent",
)
NETWORK = ("nnCost", "nnGrad", "nnCostFunctionDeep", "squaredErrorCostFunction")
#: Parts that score 0 when a function is broken: its own, and those of the correct submission's
#: functions that call it (``_cost_grad`` computes the gradient for the cost parts too).
LOSES = {
    "sigmoid": ("sigmoid", "sigmoidGradient", *NETWORK, "predict"),
    "sigmoidGradient": ("sigmoidGradient", *NETWORK),
    "nnCostFunction": ("nnCost", "nnGrad"),
    "squaredErrorDelta": ("squaredErrorDelta", "squaredErrorCostFunction"),
}
#: Where a prelude goes: after the correct submission's imports.
PRELUDE_AT = "import numpy as np\n"


@dataclass(frozen=True)
class Hostile:
    """One hostile submission and what grading it must give."""

    name: str
    target: str | None = None
    body: str = ""
    prelude: str = ""
    expect: tuple[str, ...] = ()
    says: str = ""
    load_error: str | None = None
    top_level: str | None = None
    zero: tuple[str, ...] | None = None
    partial: tuple[str, ...] = ()  # must lose points, may keep partial credit
    seccomp: bool = False  # also run on tier "seccomp"
    cli: bool = False  # also run through `python -m autograder grade --format json --out`
    hides_files: bool = False  # needs a layer that hides world-readable files
    secret_from_file: bool = False  # the grader reads its secret from $BPGRADE_SECRET_FILE
    check: Callable | None = field(default=None, compare=False)

    @property
    def zero_parts(self) -> tuple[str, ...]:
        if self.load_error is not None:
            return PARTS
        if self.top_level is not None:
            return ()
        if self.zero is not None:
            return self.zero
        return LOSES.get(self.target or "", (self.target,) if self.target else ())

    @property
    def full_parts(self) -> tuple[str, ...]:
        return tuple(p for p in PARTS if p not in self.zero_parts + self.partial)


def build_source(hostile: Hostile, values: dict[str, object]) -> str:
    """The correct submission with the hostile function/prelude, placeholders filled in."""
    source = CORRECT
    if hostile.target is not None:
        # re.sub reads backslashes in the replacement: escape them (forged frames use b"\x93...").
        source = _with(source, hostile.target, hostile.body.replace("\\", "\\\\"))
    if hostile.prelude:
        assert PRELUDE_AT in source
        source = source.replace(PRELUDE_AT, PRELUDE_AT + "\n" + hostile.prelude + "\n", 1)
    return string.Template(source).safe_substitute(values)


def harness(name: str, target: str | None = None, **kw) -> Hostile:
    """A harness red-team attack: its ``attack()`` becomes ``target``; an import attack, the prelude."""
    attack = HARNESS[name]
    if target is None:
        return Hostile(name, prelude=attack.source, **kw)
    assert "def attack():" in attack.source, name
    body = attack.source.replace("def attack():", f"def {target}(*args, **kwargs):")
    return Hostile(name, target, body, **kw)


# --------------------------------------------------------------------------- attack-specific checks
# Each takes the run record (see the test module's ``Run``) and asserts what the attack aimed at
# is untouched.


def canary_untouched(run) -> None:
    assert run.canary_received == [], run.canary_received


def marker_absent(run) -> None:
    assert not run.marker_exists


def nothing_planted_and_next_grading_clean(run) -> None:
    assert run.planted == [], run.planted
    assert run.regrade_score == 100, "a planted module changed the next grading"


def grader_files_unchanged(run) -> None:
    assert run.hashes_after == run.hashes_before


def result_files_absent(run) -> None:
    assert run.stray_results == [], run.stray_results


def secret_not_in_feedback(run) -> None:
    assert "TOPSECRET" not in run.visible


def files_not_in_feedback(run) -> None:
    # First lines of the files the attack tried to read and raise.
    assert "Instructor source" not in run.visible and "Case generators" not in run.visible


def shape_code(X) -> str:
    """What ``SHAPE_CHANNEL`` encodes: four digits of the first input value."""
    import numpy as np

    return str(int(abs(float(np.ravel(X)[0])) * 1e4))


def hidden_inputs_not_encoded_in_shapes(run) -> None:
    codes = {shape_code(c.args[2]) for c in run.hidden_cases if c.function == "predict"}
    codes |= {shape_code(c.args[1]) for c in run.hidden_cases if c.function == "gradientDescent"}
    found = {code for code in codes if code in run.hidden_messages}
    assert found == set(), f"hidden inputs leaked through result shapes: {found}"


def flood_not_in_feedback(run) -> None:
    assert "xxxxxxxx" not in run.visible and "yyyyyyyy" not in run.visible


def fake_lines_not_in_feedback(run) -> None:
    assert "tests passed" not in run.visible and '"score": 100' not in run.visible


# --------------------------------------------------------------------------- custom bodies

LOOP = "def sigmoidGradient(z):\n    while True:\n        pass\n"
RETURN_72MB = "def predict(Theta1, Theta2, X):\n    return np.ones((3000, 3000))\n"
RETURN_64MB = "def predict(Theta1, Theta2, X):\n    return np.ones(64 * 2**20 // 8)\n"
J_ONLY = (
    "def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):\n"
    "    sizes = [input_layer_size, hidden_layer_size, num_labels]\n"
    "    return _cost_grad(nn_params, sizes, X, y, lambda_, 'ce')[0]\n"
)
NAN_GRADIENT = "def sigmoidGradient(z):\n    return np.full(np.shape(z), np.nan)\n"
INF_WEIGHTS = (
    "def randInitializeWeights(L_in, L_out, epsilon_init=0.12):\n"
    "    return np.full((L_out, 1 + L_in), np.inf)\n"
)
ZERO_WEIGHTS = (
    "def randInitializeWeights(L_in, L_out, epsilon_init=0.12):\n"
    "    return np.zeros((L_out, 1 + L_in))\n"
)
RAISE_INPUTS = (
    "def sigmoid(z):\n"
    "    raise ValueError('STUDENT-TEXT ' + repr(np.asarray(z).ravel().tolist()))\n"
)
WRITE_RESULTS = r"""
import json as _json
import os as _os
def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    fake = _json.dumps({"score": 100, "tests": [], "output": "All tests passed"})
    written = 0
    for path in ("$out", "/autograder/results/results.json", "../results.json", "results.json",
                 "$subdir/results.json", "$subdir/gradebook.csv", "$repo/gradebook.csv", "$marker"):
        try:
            _os.makedirs(_os.path.dirname(_os.path.abspath(path)), exist_ok=True)
        except OSError:
            pass
        try:
            with open(path, "w") as fh:
                fh.write(fake)
            written += 1
        except OSError:
            pass
    return float(written)
"""
MONKEYPATCH = """
import builtins, math, unittest
import numpy.testing
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
unittest.TestCase.assertEqual = lambda *a, **k: None
unittest.TestCase.assertTrue = lambda *a, **k: None
math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0
"""
READ_HIDDEN_FILES = """
def computeNumericalGradient(J, theta, e=1e-4):
    text = ""
    for path in ("$repo/solutions/backprop/backprop.py", "$repo/autograder/homeworks/backprop/cases.py"):
        with open(path) as fh:
            text += fh.read()[:300]
    raise ValueError(text)
"""
READ_SECRET = """
import os as _os
def gradientDescent(costFunction, initial_params, alpha, num_iters):
    path = _os.environ.get("BPGRADE_SECRET_FILE") or "$secret"
    with open(path) as fh:
        raise ValueError("STUDENT-TEXT " + fh.read())
"""
MODIFY_GRADER = r"""
import os as _os
def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    try:
        worker = open("/proc/self/cmdline", "rb").read().split(b"\0")[-3].decode()
    except Exception:
        worker = "/sandbox/worker.py"
    changed = 0
    for path in ("$repo/autograder/grading.py", "$repo/autograder/checks.py",
                 "$repo/autograder/scoring.py", "$repo/bpnet_ref/__init__.py",
                 "$repo/autograder/harness/worker.py", worker, "$subdir/nn.py"):
        try:
            with open(path, "a") as fh:
                fh.write("\nSCORE = 100\n")
            changed += 1
        except OSError:
            pass
        try:
            _os.utime(path, (0, 0))
            changed += 1
        except OSError:
            pass
    return float(changed)
"""

SHAPE_CHANNEL = """
def predict(Theta1, Theta2, X):
    return np.zeros((1, int(abs(float(np.ravel(X)[0])) * 1e4)))
"""
SHAPE_CHANNEL_HISTORY = """
def gradientDescent(costFunction, initial_params, alpha, num_iters):
    code = int(abs(float(np.ravel(initial_params)[0])) * 1e4)
    return np.ravel(initial_params), np.zeros(code)
"""

HOSTILE: list[Hostile] = [
    # ---------------------------------------------------------------- hangs (the real spec)
    harness("loop_at_import", top_level="longer than the 5 s limit"),
    Hostile(
        "loop_in_sigmoidGradient",
        "sigmoidGradient",
        LOOP,
        expect=("timeout",),
        says="time limit exceeded",
        seccomp=True,
    ),
    harness("sleep", "predict", expect=("timeout",), says="time limit exceeded"),
    harness(
        "ignore_sigterm_sigalrm", "gradientDescent", expect=("timeout",), says="time limit exceeded"
    ),
    # ---------------------------------------------------------------- exhaustion
    harness(
        "alloc_6GB",
        "randInitializeWeights",
        expect=("exception",),
        says="raised MemoryError",
        seccomp=True,
    ),
    harness(
        "numpy_alloc_32GB",
        "computeNumericalGradient",
        expect=("exception",),
        says="raised MemoryError",
    ),
    harness("return_800MB", "predict", expect=("wrong_type", "exception"), says="too large"),
    Hostile(
        "return_64MB_at_the_result_cap",  # accepted, checked, then dropped by the parent
        "predict",
        RETURN_64MB,
        expect=("wrong_shape",),
    ),
    Hostile(
        "return_72MB_over_result_cap",
        "predict",
        RETURN_72MB,
        expect=("wrong_type",),
        says="too large to grade",
    ),
    harness(
        "fork_bomb",
        "randInitializeWeights",
        expect=("exception", "timeout", "crash"),
        seccomp=True,
    ),
    harness("thread_bomb", "predict", expect=("wrong_shape", "exception", "timeout"), seccomp=True),
    harness("setsid_daemon", "gradientDescent", expect=("exception", "wrong_type"), seccomp=True),
    harness("subprocess_daemon", "gradientDescent", expect=("exception", "wrong_type")),
    harness("recursion_bomb", "computeNumericalGradient", expect=("crash", "exception", "timeout")),
    harness(
        "stdout_flood_300MB",
        "randInitializeWeights",
        expect=("wrong_shape", "timeout"),
        check=flood_not_in_feedback,
    ),
    harness(
        "stderr_flood_300MB",
        "randInitializeWeights",
        expect=("wrong_shape", "timeout"),
        check=flood_not_in_feedback,
        seccomp=True,
    ),
    harness("fill_disk_2GB", "randInitializeWeights", expect=("exception",), seccomp=True),
    # ---------------------------------------------------------------- crashes and broken code
    harness(
        "sys_exit_in_function",
        "randInitializeWeights",
        expect=("exception",),
        says="raised SystemExit",
        check=fake_lines_not_in_feedback,
    ),
    harness("sys_exit_at_import", top_level="SystemExit", cli=True),
    harness("os_exit", "predict", expect=("crash",), says="crashed", seccomp=True),
    harness("segfault", "gradientDescent", expect=("crash",), says="crashed", seccomp=True),
    harness("abort", "computeNumericalGradient", expect=("crash",), says="crashed"),
    harness("syntax_error", load_error="SyntaxError"),
    harness("missing_module", top_level="ModuleNotFoundError"),
    harness("wrong_type_str", "sigmoid", expect=("wrong_type",), says="not an array of numbers"),
    harness("complex_result", "randInitializeWeights", expect=("wrong_type",)),
    Hostile(
        "wrong_arity_J_only",
        "nnCostFunction",
        J_ONLY,
        expect=("wrong_type",),
        says="must return 2 values",
    ),
    Hostile(
        "nan_gradient",
        "sigmoidGradient",
        NAN_GRADIENT,
        expect=("not_finite",),
        says="NaN or inf",
        # J never calls sigmoidGradient: the cost part keeps its points, and the parts graded on
        # (J, grad) keep the credit for J.
        zero=("sigmoidGradient", "nnGrad"),
        partial=("nnCostFunctionDeep", "squaredErrorCostFunction"),
    ),
    Hostile(
        "inf_weights",
        "randInitializeWeights",
        INF_WEIGHTS,
        expect=("not_finite",),
        says="NaN or inf",
    ),
    Hostile(
        "exception_text_carries_hidden_inputs",
        "sigmoid",
        RAISE_INPUTS,
        expect=("exception",),
        says="raised ValueError",
    ),
    # ---------------------------------------------------------------- faking the score
    harness(
        "fake_results_output",
        "gradientDescent",
        expect=("wrong_type",),
        cli=True,
        check=fake_lines_not_in_feedback,
    ),
    Hostile(
        "write_results_and_gradebook_files",
        "randInitializeWeights",
        WRITE_RESULTS,
        expect=("wrong_shape", "exception"),
        cli=True,
        seccomp=True,
        check=result_files_absent,
    ),
    Hostile(
        "monkeypatch_numpy_unittest_math",
        "randInitializeWeights",
        ZERO_WEIGHTS,
        prelude=MONKEYPATCH,
        expect=("wrong_value",),
        seccomp=True,
    ),
    harness("eq_always_true", "predict", expect=("wrong_type",), says="not an array of numbers"),
    harness("ndarray_subclass", "computeNumericalGradient", expect=("wrong_shape", "wrong_value")),
    harness(
        "pickle_reduce_result",
        "gradientDescent",
        expect=("wrong_type",),
        check=marker_absent,
        seccomp=True,
    ),
    harness(
        "forged_frame_stolen_id_wrong_shape",
        "randInitializeWeights",
        expect=("protocol_error",),
        says="invalid response",
        cli=True,
        seccomp=True,
    ),
    harness(
        "forged_pickle_npy",
        "predict",
        expect=("protocol_error",),
        says="invalid response",
        check=marker_absent,
    ),
    harness(
        "forged_huge_length",
        "computeNumericalGradient",
        expect=("protocol_error",),
        says="invalid response",
    ),
    harness("forged_frame_at_import", load_error="protocol_error"),
    # ---------------------------------------------------------------- reaching what is hidden
    harness(
        "import_bpnet_ref",
        "randInitializeWeights",
        expect=("exception",),
        says="ModuleNotFoundError",
        seccomp=True,
    ),
    harness(
        "import_grader_from_repo",
        "predict",
        expect=("exception",),
        says="ModuleNotFoundError",
        hides_files=True,
        seccomp=True,
    ),
    Hostile(
        "read_solutions_and_hidden_case_generators",
        "computeNumericalGradient",
        READ_HIDDEN_FILES,
        expect=("exception",),
        hides_files=True,
        seccomp=True,
        check=files_not_in_feedback,
    ),
    Hostile(
        "read_0600_secret_file",
        "gradientDescent",
        READ_SECRET,
        expect=("exception",),
        secret_from_file=True,
        seccomp=True,
        check=secret_not_in_feedback,
    ),
    Hostile(
        "encode_hidden_inputs_in_result_shape",
        "predict",
        SHAPE_CHANNEL,
        expect=("wrong_shape",),
        seccomp=True,
        check=hidden_inputs_not_encoded_in_shapes,
    ),
    Hostile(
        "encode_hidden_inputs_in_history_length",
        "gradientDescent",
        SHAPE_CHANNEL_HISTORY,
        expect=("wrong_shape", "wrong_value"),
        check=hidden_inputs_not_encoded_in_shapes,
    ),
    harness("proc_parent_environ", "predict", expect=("exception",)),
    harness("proc_parent_cmdline", "predict", expect=("exception",), hides_files=True),
    harness("gc_and_frames_for_secrets", "randInitializeWeights", expect=("wrong_shape",)),
    harness(
        "network_tcp_canary",
        "predict",
        expect=("exception",),
        says="raised PermissionError",
        check=canary_untouched,
        seccomp=True,
    ),
    harness(
        "network_udp_canary",
        "computeNumericalGradient",
        expect=("exception",),
        check=canary_untouched,
    ),
    harness("kill_grader", "gradientDescent", expect=("exception",), says="PermissionError"),
    harness(
        "kill_everything",
        "randInitializeWeights",
        expect=("exception",),
        says="PermissionError",
        seccomp=True,
    ),
    harness("unset_pdeathsig_and_ptrace_grader", "predict", expect=("wrong_shape",)),
    # ---------------------------------------------------------------- tampering
    Hostile(
        "modify_grader_files",
        "randInitializeWeights",
        MODIFY_GRADER,
        expect=("wrong_shape",),
        seccomp=True,
        check=grader_files_unchanged,
    ),
    harness(
        "plant_modules",
        "predict",
        expect=("wrong_shape",),
        seccomp=True,
        check=nothing_planted_and_next_grading_clean,
    ),
    harness("read_stdin", "gradientDescent", expect=("wrong_type",)),
    Hostile(
        "clear_environ_path_chdir_at_import",
        "randInitializeWeights",
        ZERO_WEIGHTS,
        prelude=HARNESS["clear_environ_path_chdir_at_import"].source,
        expect=("wrong_value",),
        seccomp=True,
    ),
]

assert len({h.name for h in HOSTILE}) == len(HOSTILE)
assert all(set(h.zero_parts) <= set(PARTS) for h in HOSTILE)
__all__ = ["HOSTILE", "PARTS", "PLANTED", "Hostile", "build_source"]
