"""End to end through the real sandbox: scores, failure categories, and what feedback may reveal."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from autograder import grading
from autograder.cases import HIDDEN, Case, build_cases, resolve_secret
from autograder.diagnosis import Misconception, examine, load_catalog
from autograder.grading import grade_submission
from autograder.messages import msg
from autograder.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
CORRECT = (ROOT / "examples" / "submissions" / "correct.py").read_text()
SPEC = load_spec()


def _grade(tmp_path: Path, source: str, **kw):
    path = tmp_path / "nn.py"
    path.write_text(source)
    return grade_submission(path, student_id=kw.pop("student_id", "alice"), secret=b"k", **kw)


def _with(source: str, function: str, body: str) -> str:
    """The correct submission with ``function`` replaced by ``body`` (a whole def)."""
    pattern = re.compile(rf"^def {function}\(.*?(?=^def |\Z)", re.S | re.M)
    assert pattern.search(source), function
    return pattern.sub(body.strip() + "\n\n\n", source, count=1)


def _part(report, part_id):
    return next(p for p in report.parts if p.part == part_id)


def test_correct_submission_scores_100(tmp_path):
    report = _grade(tmp_path, CORRECT)
    assert (report.score, report.max_score, report.error) == (100, 100, None)
    assert report.tier in ("bwrap", "seccomp", "rlimits")


# One row per failure kind: the broken function, the part that must lose its points, the category.
FAILURES = [
    ("sigmoidGradient", "def sigmoidGradient(z):\n    return np.zeros((2, 2))", "wrong_shape"),
    ("sigmoidGradient", "def sigmoidGradient(z):\n    return z * np.nan", "not_finite"),
    (
        "sigmoidGradient",
        "def sigmoidGradient(z):\n    raise ValueError('secret 0.1966')",
        "exception",
    ),
    (
        "sigmoidGradient",
        "def sigmoidGradient(z):\n    raise NotImplementedError",
        "not_implemented",
    ),
    ("sigmoidGradient", "def sigmoidGradient(z):\n    return 'a string'", "wrong_type"),
    ("sigmoidGradient", "def sigmoidGradient(z):\n    while True:\n        pass", "timeout"),
    ("sigmoidGradient", "def sigmoidGradient(z):\n    import os\n    os._exit(3)", "crash"),
    ("sigmoidGradient", "sigmoidGradient = 3", "not_callable"),
    (
        "sigmoidGradient",
        "def sigmoidGradient(z):\n    return sigmoid(z) * (1 - sigmoid(z)) + 1e-3",
        "wrong_value",
    ),
    (
        "predict",
        "def predict(Theta1, Theta2, X):\n    return np.zeros(len(X)) + 0.5",
        "wrong_value",
    ),
    (
        "nnCostFunctionDeep",
        "def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):\n    return 1.0",
        "wrong_type",
    ),
    (
        "randInitializeWeights",
        "def randInitializeWeights(L_in, L_out, epsilon_init=0.12):\n"
        "    np.random.seed(0)\n"
        "    return np.random.rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init",
        "wrong_value",
    ),
]


@pytest.mark.parametrize(
    "function, body, category", FAILURES, ids=[f"{f}-{c}" for f, _, c in FAILURES]
)
def test_each_failure_kind_costs_its_own_part_only(tmp_path, function, body, category):
    report = _grade(tmp_path, _with(CORRECT, function, body))
    part_id = function
    failed = {p.part for p in report.parts if not p.passed}
    assert part_id in failed
    assert category in {c.category for c in _part(report, part_id).cases}
    independent = {
        "sigmoid",
        "randInitializeWeights",
        "computeNumericalGradient",
        "gradientDescent",
    }
    assert not (failed & independent - {part_id}), "unrelated parts must keep their points"
    assert report.score < 100 and all(0 <= p.score <= p.points for p in report.parts)


_INIT = "def randInitializeWeights(L_in, L_out, epsilon_init=0.12):\n"


@pytest.mark.parametrize(
    "body, key, tag",
    [
        (
            _INIT + "    np.random.seed(0)\n"
            "    return np.random.rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init",
            "init_same_every_call",
            "init_reseeded",
        ),
        (
            _INIT + "    n = L_out * (1 + L_in)\n"
            "    return np.linspace(-epsilon_init, epsilon_init, n).reshape(L_out, 1 + L_in)",
            "init_grid",
            "init_grid",
        ),
    ],
    ids=["reseeded", "grid"],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_weights_that_are_not_random_fail_every_case_and_say_why(tmp_path, body, key, tag, lang):
    report = _grade(tmp_path, _with(CORRECT, "randInitializeWeights", body), lang=lang)
    part = _part(report, "randInitializeWeights")
    assert part.score == 0 and part.misconceptions == [tag]
    assert all(msg(key, lang) in c.message for c in part.cases)
    assert report.score == 100 - part.points


def test_missing_function_is_named(tmp_path):
    source = _with(CORRECT, "gradientDescent", "")
    part = _part(_grade(tmp_path, source), "gradientDescent")
    assert part.score == 0 and "gradientDescent()" in part.cases[0].message


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("def f(:\n", "SyntaxError"),
        ("import not_a_module_anywhere\nnot_a_module_anywhere.main()\n", "ModuleNotFoundError"),
        ("raise RuntimeError('boom at import')\n", "RuntimeError"),
    ],
)
def test_a_module_that_cannot_load_scores_zero_with_the_reason(tmp_path, source, fragment):
    report = _grade(tmp_path, source)
    assert report.score == 0 and fragment in (report.error or "")


def test_hidden_feedback_never_reveals_expected_values_inputs_or_exception_text(tmp_path):
    body = "def sigmoidGradient(z):\n    raise ValueError('LEAK ' + repr(np.asarray(z).tolist()))"
    report = _grade(
        tmp_path,
        _with(
            _with(CORRECT, "sigmoidGradient", body),
            "sigmoid",
            "def sigmoid(z):\n    return np.asarray(z) * 0 + 0.3",
        ),
    )
    hidden = [c for p in report.parts for c in p.cases if c.visibility == HIDDEN]
    text = " ".join(c.message + c.label for c in hidden)
    assert "LEAK" not in text and "ValueError" in text
    secret, _ = resolve_secret(b"k")
    cases = build_cases(SPEC, secret=secret, student_id="alice", visibility=(HIDDEN,))
    for case in cases:
        if case.part in ("sigmoid", "sigmoidGradient"):
            for value in np.ravel(case.args[0])[:5]:
                assert f"{value:.4f}" not in text
            for value in np.ravel(case.expected)[:5]:
                assert f"{value:.4f}" not in text


def test_public_feedback_shows_expected_and_received(tmp_path):
    body = "def sigmoid(z):\n    return np.asarray(z) * 0 + 0.3"
    case = _part(_grade(tmp_path, _with(CORRECT, "sigmoid", body)), "sigmoid").cases[0]
    assert case.visibility == "public" and "0.268941" in case.message and "0.3" in case.message


def test_dependency_isolation_names_the_helper(tmp_path):
    body = "def sigmoidGradient(z):\n    return z * (1 - z)"
    report = _grade(tmp_path, _with(CORRECT, "sigmoidGradient", body))
    assert any("sigmoidGradient()" in n for n in _part(report, "nnGrad").notes)


# A wrong helper and its correct twin; a wrong sigmoid is rerun in nnCost and nnGrad, which share
# each call's (J, grad).
HELPERS = [
    ("sigmoidGradient", "def sigmoidGradient(z):\n    return z * (1 - z)", "nnGrad"),
    ("sigmoid", "def sigmoid(z):\n    return 1 / (1 + np.exp(z))", "nnCost"),
]


@pytest.mark.parametrize("helper, body, explained", HELPERS, ids=[h[0] for h in HELPERS])
def test_a_helper_is_substituted_once_per_part_it_explains(
    tmp_path, monkeypatch, helper, body, explained
):
    # The note is the part's: once one case passes with the helper replaced, the others (and the
    # large timed case) are not run again.
    substituted = []
    call = grading._Grader._call

    def spy(self, case, substitute=None):
        if substitute:
            substituted.append(case.part)
        return call(self, case, substitute)

    monkeypatch.setattr(grading._Grader, "_call", spy)
    report = _grade(tmp_path, _with(CORRECT, helper, body))
    noted = [p.part for p in report.parts if any(f"{helper}()" in n for n in p.notes)]
    assert explained in noted
    assert sorted(substituted) == sorted(noted)


def test_regrade_is_reproducible_and_students_differ(tmp_path):
    body = "def nnCostFunction(nn_params, il, hl, K, X, y, lambda_=0.0):\n    return 1.0, np.zeros(len(nn_params))"
    source = _with(CORRECT, "nnCostFunction", body)
    a1, a2 = _grade(tmp_path, source), _grade(tmp_path, source)
    assert [c.label for p in a1.parts for c in p.cases] == [
        c.label for p in a2.parts for c in p.cases
    ]
    assert a1.score == a2.score


def test_notebook_submission_scores_100(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# my homework"),
        nbformat.v4.new_code_cell("%matplotlib inline\n" + CORRECT),
        nbformat.v4.new_code_cell("for i in range(10**10):\n    pass  # a long training loop"),
    ]
    path = tmp_path / "backprop.ipynb"
    path.write_text(nbformat.writes(nb))
    report = grade_submission(path, student_id="nb", secret=b"k")
    assert report.score == 100


@pytest.mark.parametrize(
    "lang, fragment, hidden_label",
    [("en", "not implemented", "hidden"), ("zh", "尚未实现", "隐藏用例")],
)
def test_feedback_language(tmp_path, lang, fragment, hidden_label):
    body = "def sigmoid(z):\n    raise NotImplementedError"
    cases = _part(_grade(tmp_path, _with(CORRECT, "sigmoid", body), lang=lang), "sigmoid").cases
    assert all(fragment in c.message for c in cases)
    assert all(c.label.startswith(hidden_label) for c in cases if c.visibility == HIDDEN)


# ---------------------------------------------------------------------------------------------
# Feedback rough edges (issue 12)
# ---------------------------------------------------------------------------------------------

# A correct one-hot Y, with a typo in the cost: (1 - Y) log(h) for (1 - Y) log(1 - h). On student-5's
# single-example case (m = 1, label 1) that J equals the one of labels used directly as targets.
TYPO = CORRECT.replace("(1 - Y) * np.log(1 - h)", "(1 - Y) * np.log(h)")


def _typo_matches_on_the_single_example_case() -> list[str]:
    """The mistakes the typo's value matches on student-5's m = 1 case, every one compared (this
    test's own code computes the value, in-process)."""
    spec = load_spec()
    cases = build_cases(spec, secret=b"k", student_id="student-5", parts=["nnCost"])
    single = next(c for c in cases if "m = 1" in c.label)
    typo: dict = {}
    exec(compile(TYPO, "typo.py", "exec"), typo)
    value = tuple(typo["nnCostFunction"](*single.args, **single.kwargs))
    return [m.tag for m in examine(single, value, load_catalog(spec.misconceptions_module)).matched]


def test_a_mistake_matching_one_case_by_coincidence_is_not_named(tmp_path):
    assert TYPO != CORRECT
    assert "labels_not_one_hot" in _typo_matches_on_the_single_example_case()  # the coincidence
    part = _part(_grade(tmp_path, TYPO, student_id="student-5"), "nnCost")
    assert part.misconceptions == []  # ...but it explains no other failing case
    assert not [c.message for c in part.cases if "known mistake" in c.message]


def _counting(tag: str, value: float | None, calls: list[str]) -> Misconception:
    def variant(case):
        calls.append(tag)
        return value

    return Misconception(tag, ("p",), {"en": tag}, variant=variant)


def _scalar_case() -> Case:
    return Case(
        part="p",
        case_id="p/hidden/0",
        call_key="p/hidden/0",
        visibility=HIDDEN,
        function="f",
        args=[],
        kwargs={},
        n_outputs=1,
        expected=1.0,
        check="array",
        tolerance={"rtol": 1e-6, "atol": 1e-9, "float32": "reject"},
        label="a scalar",
        context={},
    )


@pytest.mark.parametrize(
    ("refuted", "computed", "matched", "now_refuted"),
    [
        (set(), ["same", "other", "none"], ["same"], ["other"]),
        ({"other"}, ["same", "none"], ["same"], []),  # a refuted mistake is not computed again
        ({"same", "other"}, ["none"], [], []),
    ],
)
def test_a_mistake_refuted_on_one_case_is_not_computed_on_the_next(
    refuted, computed, matched, now_refuted
):
    """On a failing case a mistake matches, changes nothing (unaffected), or is refuted; the part
    can never name a refuted one (see _part_misconceptions), so later cases skip it."""
    calls: list[str] = []
    catalog = [_counting("same", 2.0, calls), _counting("other", 3.0, calls)]
    catalog.append(_counting("none", None, calls))  # changes nothing on this case
    found = examine(_scalar_case(), 2.0, catalog, refuted=refuted)
    assert calls == computed
    assert [m.tag for m in found.matched] == matched and found.refuted == now_refuted
    assert found.unaffected == ["none"]


def test_a_case_message_names_the_mistake_its_part_names(tmp_path):
    body = "def sigmoidGradient(z):\n    return z * (1 - z)"
    part = _part(_grade(tmp_path, _with(CORRECT, "sigmoidGradient", body)), "sigmoidGradient")
    assert part.misconceptions == ["sigmoid_gradient_z"]
    failed = [c for c in part.cases if not c.passed]
    assert failed and all("known mistake: g'(z) computed as z(1 - z)" in c.message for c in failed)


# computeNumericalGradient's J may return (cost, grad), as nnCostFunction does in gradient
# checking (ex4 keeps J's first output): the cases call it both ways.
NUMGRAD_SUBTRACTS_J = """
def computeNumericalGradient(J, theta, e=1e-4):
    theta = np.asarray(theta, dtype=float)
    numgrad = np.zeros_like(theta)
    for p in range(theta.size):
        step = np.zeros_like(theta)
        step[p] = e
        numgrad[p] = (J(theta + step) - J(theta - step)) / (2 * e)
    return numgrad
"""


@pytest.mark.parametrize(
    "body, score, failures",
    [(None, 5.0, set()), (NUMGRAD_SUBTRACTS_J, 2.5, {"exception"})],
    ids=["keeps the cost of a tuple", "subtracts tuples"],
)
def test_numerical_gradient_is_graded_with_J_returning_cost_and_grad(
    tmp_path, body, score, failures
):
    source = CORRECT if body is None else _with(CORRECT, "computeNumericalGradient", body)
    part = _part(_grade(tmp_path, source), "computeNumericalGradient")
    public = [c for c in part.cases if c.visibility == "public"]
    assert any("J returns (cost, grad)" in c.label for c in public)
    assert part.score == score
    assert {c.category for c in part.cases if not c.passed} == failures


def test_partial_credit_is_stated_on_each_case(tmp_path):
    body = (
        "def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):\n"
        "    J, grad = _cost_grad(nn_params, layer_sizes, X, y, lambda_, 'ce')\n"
        "    return J + 1.0, grad"
    )
    part = _part(_grade(tmp_path, _with(CORRECT, "nnCostFunctionDeep", body)), "nnCostFunctionDeep")
    assert not any(c.passed for c in part.cases) and part.score == pytest.approx(0.6 * 15)
    assert all("(partial credit: 60% of this case's points)" in c.message for c in part.cases)
