"""The bug zoo: every classic mistake is caught and named, no correct alternative loses a point.

Every submission runs through the real sandboxed runner (``autograder.harness.runner``), about a
second each. The expectations live in ``zoo_table.py`` (shared with benchmarks/zoo_kill_rate.py).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from zoo_table import (
    CORRECT,
    CORRECT_ALTERNATIVES,
    FINITE_DIFFERENCES,
    SECRET,
    STUDENT_ID,
    SUBMISSIONS,
    ZOO,
)

from autograder.cases import HIDDEN, PUBLIC, Case, build_cases
from autograder.diagnosis import Misconception, diagnose, examine, load_catalog
from autograder.grading import CaseResult, GradeReport, _part_misconceptions, grade_submission
from autograder.homeworks.backprop import misconceptions as mc
from autograder.spec import load_spec

SPEC = load_spec()
CATALOG = load_catalog(SPEC.misconceptions_module)


@functools.cache
def _grade(path: Path) -> GradeReport:
    return grade_submission(path, student_id=STUDENT_ID, secret=SECRET)


def _losing_parts(report: GradeReport) -> set[str]:
    return {p.part for p in report.parts if p.score < p.points - 1e-9}


# ---------------------------------------------------------------------------------------------
# The zoo under the real grader
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem, tag, parts", ZOO, ids=[row[0] for row in ZOO])
def test_zoo_submission_is_caught_and_named(stem, tag, parts):
    report = _grade(SUBMISSIONS / f"{stem}.py")
    assert report.error is None, report.error
    assert _losing_parts(report) == parts
    for part in report.parts:
        if part.part in parts:
            assert tag in part.misconceptions, (part.part, part.misconceptions)


@pytest.mark.parametrize("stem", CORRECT_ALTERNATIVES)
def test_correct_alternative_keeps_full_marks(stem):
    report = _grade(CORRECT / f"{stem}.py")
    if report.error and "No module named 'scipy'" in report.error:
        pytest.xfail("the child runtime has no scipy; a submission importing it cannot load")
    assert report.error is None, report.error
    lost = {
        p.part: [c.message for c in p.cases if not c.passed] for p in report.parts if not p.passed
    }
    assert report.score == report.max_score, lost


def test_finite_difference_backprop_is_too_slow_and_nothing_else():
    stem, parts, categories = FINITE_DIFFERENCES
    report = _grade(SUBMISSIONS / f"{stem}.py")
    assert _losing_parts(report) == parts
    failed = [c for p in report.parts for c in p.cases if not c.passed]
    assert failed and all(c.category in categories for c in failed)
    assert all("timed" in c.label for c in failed)  # only the speed cases
    assert any(c.category == "too_slow" for c in failed)


def test_the_catalog_is_covered_by_the_zoo():
    assert {tag for _, tag, _ in ZOO} == set(mc.by_tag())
    assert {f"{stem}.py" for stem, _, _ in ZOO} | {f"{FINITE_DIFFERENCES[0]}.py"} == {
        p.name for p in SUBMISSIONS.glob("*.py")
    }


# ---------------------------------------------------------------------------------------------
# A submission that hard-codes the public answers
# ---------------------------------------------------------------------------------------------

_HARDCODED_TEMPLATE = """
import numpy as np

TABLE = {table!r}


def _keys(args):
    return [np.asarray(a, dtype=float) for a in args if isinstance(a, (np.ndarray, int, float))]


def _lookup(name, args):
    keys = _keys(args)
    for stored, out in TABLE.get(name, []):
        stored = [np.asarray(s, dtype=float) for s in stored]
        if len(stored) == len(keys) and all(
            s.shape == k.shape and np.allclose(s, k) for s, k in zip(stored, keys)
        ):
            return out
    return None


def _answer(name, args, fallback):
    out = _lookup(name, args)
    if out is None:
        return fallback
    return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)


def sigmoid(z):
    return _answer("sigmoid", [z], np.zeros(np.shape(z)))


def sigmoidGradient(z):
    return _answer("sigmoidGradient", [z], np.zeros(np.shape(z)))


def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    return np.zeros((L_out, 1 + L_in))


def nnCostFunction(nn_params, il, hl, K, X, y, lambda_=0.0):
    args = [nn_params, il, hl, K, X, y, lambda_]
    return _answer("nnCostFunction", args, (0.0, np.zeros(np.size(nn_params))))


def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):
    args = [nn_params, X, y, lambda_]
    return _answer("nnCostFunctionDeep", args, (0.0, np.zeros(np.size(nn_params))))


def squaredErrorDelta(a_out, Y):
    return _answer("squaredErrorDelta", [a_out, Y], np.zeros(np.shape(a_out)))


def squaredErrorCostFunction(nn_params, layer_sizes, X, y):
    args = [nn_params, X, y]
    return _answer("squaredErrorCostFunction", args, (0.0, np.zeros(np.size(nn_params))))


def computeNumericalGradient(J, theta, e=1e-4):
    args = [theta] if e == 1e-4 else [theta, e]  # as the cases pass them
    return _answer("computeNumericalGradient", args, np.zeros(np.shape(theta)))


def predict(Theta1, Theta2, X):
    return _answer("predict", [Theta1, Theta2, X], np.zeros(np.shape(X)[0]))


def gradientDescent(costFunction, initial_params, alpha, num_iters):
    fallback = (np.zeros(np.size(initial_params)), np.zeros(num_iters))
    return _answer("gradientDescent", [initial_params, alpha, num_iters], fallback)
"""


def _plain(value):
    """Arrays and tuples of them as nested lists (so they can be written into source code)."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return np.asarray(value, dtype=float).tolist()


def _key_args(case: Case) -> list:
    """The numeric arguments the hard-coded module can see (layer_sizes lists aside)."""
    args = case.args
    if case.function in ("nnCostFunctionDeep", "squaredErrorCostFunction"):
        args = [args[0], *args[2:]]
    keys = [a for a in args if isinstance(a, (np.ndarray, int, float)) and not isinstance(a, bool)]
    return [_plain(a) for a in keys]


def _hardcoded_source() -> str:
    table: dict[str, list] = {}
    for case in build_cases(SPEC, secret=SECRET, student_id=STUDENT_ID, visibility=(PUBLIC,)):
        if isinstance(case.expected, dict):  # randInitializeWeights: nothing to copy
            continue
        table.setdefault(case.function, []).append((_key_args(case), _plain(case.expected)))
    return _HARDCODED_TEMPLATE.format(table=table)


def test_hardcoding_the_public_answers_fails_every_hidden_case(tmp_path):
    path = tmp_path / "nn.py"
    path.write_text(_hardcoded_source())
    report = grade_submission(path, student_id=STUDENT_ID, secret=SECRET)
    cases = [c for p in report.parts for c in p.cases]
    public = [
        c for c in cases if c.visibility == PUBLIC and "randInitializeWeights" not in c.case_id
    ]
    hidden = [c for c in cases if c.visibility == HIDDEN]
    assert public and all(c.passed for c in public), [c.case_id for c in public if not c.passed]
    assert hidden and not any(c.passed for c in hidden), [c.case_id for c in hidden if c.passed]
    assert all(p.score < p.points for p in report.parts)


# ---------------------------------------------------------------------------------------------
# The diagnosis machinery, without the sandbox
# ---------------------------------------------------------------------------------------------


def _deep_case_with_lambda() -> Case:
    cases = build_cases(SPEC, secret=SECRET, student_id=STUDENT_ID, visibility=(HIDDEN,))
    return next(c for c in cases if c.part == "nnCostFunctionDeep" and c.context["lambda_"] > 0)


def test_two_mistakes_in_one_call_are_both_named_on_a_cost_and_gradient_case():
    case = _deep_case_with_lambda()
    bug = mc.Bug(j_scale=lambda m, K: 1.0, reg_bias_grad=True)
    value = mc.buggy_network(case.context, bug)
    tags = {m.tag for m in diagnose(case, value, CATALOG)}
    assert {"cost_missing_1_over_m", "bias_regularized_grad"} <= tags


def test_a_mistake_that_would_spoil_a_correct_half_is_not_blamed():
    case = _deep_case_with_lambda()
    J_wrong, grad_right = mc.buggy_network(case.context, mc.Bug(j_scale=lambda m, K: 1.0))
    tags = {m.tag for m in diagnose(case, (J_wrong, grad_right), CATALOG)}
    assert tags == {"cost_missing_1_over_m"}


@pytest.mark.parametrize(
    "bug",
    [mc.Bug(j_scale=lambda m, K: 1.0), mc.Bug(reg_j=lambda lam, m: 0.0), mc.Bug(reg_bias_j=True)],
    ids=["cost_missing_1_over_m", "reg_cost_missing", "bias_regularized_cost"],
)
def test_a_bug_in_J_alone_shares_the_correct_gradient_which_nobody_can_write(bug):
    # Every variant of a case is computed on one forward pass; a gradient that several bugs share
    # is one array, so it must be read-only.
    case = _deep_case_with_lambda()
    J, grad = mc.buggy_network(case.context, bug)
    J0, grad0 = mc.buggy_network(case.context)
    assert J != J0 and grad is grad0
    with pytest.raises(ValueError):
        grad[0] = 0.0


@pytest.mark.parametrize("as_array", [True, False], ids=["0-d array", "float"])
def test_a_cost_is_matched_the_same_as_a_0d_array_or_a_float(as_array):
    # The harness sends J as a 0-d array; diagnosis compares it as a float.
    case = _deep_case_with_lambda()
    _, grad = mc.buggy_network(case.context)
    J_wrong, _ = mc.buggy_network(case.context, mc.Bug(j_scale=lambda m, K: 1.0))
    value = (np.asarray(J_wrong) if as_array else J_wrong, np.array(grad))
    assert [m.tag for m in diagnose(case, value, CATALOG)] == ["cost_missing_1_over_m"]


def test_the_reference_twin_reproduces_every_network_case():
    for case in build_cases(SPEC, secret=SECRET, student_id=STUDENT_ID):
        if "loss" in case.context:
            J, grad = mc.buggy_network(case.context)
            assert J == pytest.approx(case.expected[0], rel=1e-10)
            np.testing.assert_allclose(grad, case.expected[1], rtol=1e-9, atol=1e-12)


def test_catalog_entries_are_well_formed():
    part_ids = {p.id for p in SPEC.parts}
    assert len(mc.by_tag()) == len(mc.CATALOG)
    for m in mc.CATALOG:
        assert set(m.parts) <= part_ids, m.tag
        assert m.title.get("en") and m.title.get("zh"), m.tag
        assert [m.variant is not None, bool(m.ways), m.matcher is not None].count(True) == 1, m.tag


# Part-level naming (_part_misconceptions). Each failing case: (matched tags, unaffected tags); a
# tag is named only if it explains every failing, diagnosed case, or changes nothing on it while
# another named tag explains it.
_NAMING = [
    ("one mistake on every failing case", [("a", ""), ("a", "")], ["a"]),
    ("a match on one case of several is a coincidence", [("a", ""), ("", ""), ("", "")], []),
    ("no mistake explains every case", [("a", ""), ("a b", ""), ("c d", "")], []),
    ("mistakes agreeing everywhere cannot be told apart", [("a b", ""), ("a b", "")], ["a", "b"]),
    ("a second mistake that changes nothing on some cases", [("a b", ""), ("a", "b")], ["a", "b"]),
    ("changing nothing is no excuse when nothing else explains", [("b", ""), ("", "b")], []),
    ("an excuse that rests on a dropped mistake", [("a", ""), ("b", "a"), ("b", "a")], []),
]


def _results(rows, extra=()) -> list[CaseResult]:
    out = []
    for i, (tags, unaffected) in enumerate(rows):
        out.append(
            CaseResult(
                f"p/hidden/{i}",
                HIDDEN,
                "",
                False,
                0.0,
                "wrong_value",
                "",
                tags.split(),
                diagnosed=True,
                unaffected=unaffected.split(),
            )
        )
    return out + list(extra)


@pytest.mark.parametrize("rows, named", [r[1:] for r in _NAMING], ids=[r[0] for r in _NAMING])
def test_a_part_names_only_the_mistakes_that_explain_all_its_failing_cases(rows, named):
    assert _part_misconceptions(_results(rows)) == named


# Cases that are not evidence: passed, or failed without an answer the catalogue could compare.
_NOT_EVIDENCE = [
    CaseResult("p/hidden/8", HIDDEN, "", True, 1.0, "passed", ""),
    CaseResult("p/hidden/9", HIDDEN, "", False, 0.0, "exception", ""),
    CaseResult("p/hidden/10", HIDDEN, "", False, 0.0, "wrong_value", ""),  # the timed case
]


@pytest.mark.parametrize("other", _NOT_EVIDENCE, ids=["passed", "exception", "not_diagnosed"])
def test_cases_without_a_compared_answer_neither_confirm_nor_refute(other):
    assert _part_misconceptions(_results([("a", "")], [other])) == ["a"]


def test_a_mistake_that_changes_nothing_on_a_case_is_reported_unaffected():
    case = next(
        c
        for c in build_cases(SPEC, secret=SECRET, student_id=STUDENT_ID, visibility=(HIDDEN,))
        if c.part == "nnGrad" and c.context["lambda_"] == 0 and c.time_limit is None
    )
    value = mc.buggy_network(case.context, mc.Bug(grad_scale=lambda m: 1.0))
    found = examine(case, value, CATALOG)
    assert [m.tag for m in found.matched] == ["grad_missing_1_over_m"]
    assert {"bias_regularized_grad", "reg_grad_missing"} <= set(found.unaffected)


# What a mistake computes on a public case is the same for every student: worked out once per
# process. On a hidden case it is computed for each student's case.
def _counting(calls: list[str]) -> tuple[list, mc.Bug]:
    bug = mc.Bug(reg_bias_grad=True)
    variant = mc.network_variant(bug)

    def way(case: Case):
        calls.append(case.case_id)
        return variant(case)

    probe = Misconception("probe", ("nnGrad",), {"en": "probe", "zh": "probe"}, ways=(way,))
    return [probe], bug


@pytest.mark.parametrize(
    "visibility, computed", [(PUBLIC, 1), (HIDDEN, 2)], ids=["public: once", "hidden: each time"]
)
def test_a_mistake_on_a_case_is_remembered_only_when_the_case_is_public(visibility, computed):
    calls: list[str] = []
    catalog, bug = _counting(calls)
    for sid in ("student-a", "student-b"):
        case = next(
            c
            for c in build_cases(SPEC, secret=SECRET, student_id=sid, visibility=(visibility,))
            if c.part == "nnGrad" and c.context["lambda_"] > 0 and c.time_limit is None
        )
        value = mc.buggy_network(case.context, bug)
        assert [m.tag for m in examine(case, value, catalog).matched] == ["probe"]
    assert len(calls) == computed
