"""The check_* API: each received value is judged against the reference, with safe hidden messages."""

import gc
import weakref

import numpy as np
import pytest

from autograder.checks import (
    check_array,
    check_cost_and_gradient,
    check_descent,
    check_labels,
    check_scalar,
    check_uniform_init,
    check_vector,
    run_check,
)
from autograder.messages import msg

TOL = {"rtol": 1e-6, "atol": 1e-9}
REF = np.array([[0.1, 0.2], [0.3, 0.4]])


@pytest.mark.parametrize(
    "data, category",
    [
        (REF.copy(), "passed"),
        (REF + 1e-12, "passed"),
        (REF + 1e-3, "wrong_value"),
        (REF.T, "wrong_value"),
        (REF.ravel(), "wrong_shape"),
        (np.array([[np.nan, 0.2], [0.3, 0.4]]), "not_finite"),
        (np.array([[np.inf, 0.2], [0.3, 0.4]]), "not_finite"),
    ],
)
def test_check_array_categories(data, category):
    assert check_array("g", REF, data, **TOL).category == category


@pytest.mark.parametrize(
    "data", [2.5, np.float64(2.5), np.array(2.5), np.array([2.5]), np.array([[2.5]])]
)
def test_check_scalar_accepts_every_scalar_form(data):
    assert check_scalar("J", 2.5, data, **TOL).passed


@pytest.mark.parametrize(
    "data, category",
    [(np.array([2.5, 2.5]), "wrong_shape"), (np.nan, "not_finite"), (2.6, "wrong_value")],
)
def test_check_scalar_rejects(data, category):
    assert check_scalar("J", 2.5, data, **TOL).category == category


VEC = np.arange(1.0, 7.0)


@pytest.mark.parametrize("data", [VEC, VEC.reshape(-1, 1), VEC.reshape(1, -1)])
def test_check_vector_accepts_octave_forms(data):
    assert check_vector("grad", VEC, data, **TOL).passed


@pytest.mark.parametrize("data", [VEC.reshape(2, 3), VEC[:5], np.zeros((6, 2))])
def test_check_vector_rejects_other_shapes(data):
    assert check_vector("grad", VEC, data, **TOL).category == "wrong_shape"


def test_public_message_shows_expected_and_received_but_hidden_does_not():
    out = check_array("g", REF, REF + 0.5, **TOL)
    assert "0.1" in out.public_message and "0.6" in out.public_message
    assert "0.1" not in out.hidden_message and "0.6" not in out.hidden_message


@pytest.mark.parametrize(
    "check, ref, wrong",
    [
        ("array", REF, lambda: REF + 0.5),
        ("cost_and_gradient", (0.5, VEC), lambda: (0.7, VEC + 1.0)),
    ],
    ids=["array", "cost_and_gradient"],
)
@pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
def test_a_settled_outcome_says_the_same_and_keeps_no_value(check, ref, wrong, hidden):
    # A wrong value's public text is rendered on demand; the outcome a grade keeps must not hold
    # the student's value (up to 64 MiB) for that.
    data = wrong()
    kept = weakref.ref(data[1] if isinstance(data, tuple) else data)
    fresh = run_check(check, ref, data, tolerance=TOL)
    said = fresh.message(hidden)
    settled = run_check(check, ref, data, tolerance=TOL).settled(hidden)
    del data, fresh
    gc.collect()
    assert settled.message(hidden) == said and not settled.passed
    assert kept() is None


def test_hidden_shape_message_never_states_the_expected_shape():
    out = check_array("g", np.zeros((7, 11)), np.zeros((3, 3)), **TOL)
    assert "(7, 11)" in out.public_message and "(7, 11)" not in out.hidden_message


@pytest.mark.parametrize(
    "data, passed",
    [
        (np.array([0.0, 2.0, 1.0]), True),
        (np.array([[0.0], [2.0], [1.0]]), True),
        (np.array([1.0, 3.0, 2.0]), False),  # 1-based labels
        (np.array([0.0, 2.0, 1.5]), False),  # not integers
    ],
)
def test_check_labels(data, passed):
    assert check_labels("labels", np.array([0, 2, 1]), data).passed is passed


EPS = 0.12
SHAPE = (25, 401)  # the public case


def _grid(shape, eps=EPS):
    return np.linspace(-eps, eps, shape[0] * shape[1]).reshape(shape)


def _draw(rng, shape, eps=EPS):
    return rng.uniform(-eps, eps, size=shape)


# (make(rng, shape) -> one draw or a tuple of draws from separate calls, expected message key)
UNIFORM_INIT = {
    "uniform": (lambda rng, s: _draw(rng, s), "passed"),
    "octave-habit rand*2eps-eps": (lambda rng, s: rng.random(s) * (2 * EPS) - EPS, "passed"),
    "two calls, two draws": (lambda rng, s: (_draw(rng, s), _draw(rng, s)), "passed"),
    "float32 draws": (lambda rng, s: _draw(rng, s).astype(np.float32).astype(float), "passed"),
    "exactly +-eps at the ends": (
        lambda rng, s: np.clip(_draw(rng, s) * 1.01, -EPS, EPS),
        "passed",
    ),
    "one-sided [0, eps]": (lambda rng, s: rng.uniform(0, EPS, size=s), "init_not_spread"),
    "zeros": (lambda rng, s: np.zeros(s), "init_not_spread"),
    "a constant": (lambda rng, s: np.full(s, 0.05), "init_not_spread"),
    "too narrow": (lambda rng, s: rng.uniform(-0.01, 0.01, size=s), "init_not_spread"),
    "out of range": (lambda rng, s: rng.uniform(-1, 1, size=s), "init_out_of_range"),
    "no bias column": (lambda rng, s: _draw(rng, (s[0], s[1] - 1)), "wrong_shape"),
    "linspace grid": (lambda rng, s: _grid(s), "init_grid"),
    "linspace grid, Octave order": (
        lambda rng, s: _grid(s[::-1]).T.copy(),
        "init_grid",
    ),
    "shuffled grid": (lambda rng, s: rng.permutation(_grid(s).ravel()).reshape(s), "init_grid"),
    "few distinct values": (lambda rng, s: np.round(_draw(rng, s), 2), "init_grid"),
    "sorted": (lambda rng, s: np.sort(_draw(rng, s).ravel()).reshape(s), "init_ordered"),
    "rows sorted": (lambda rng, s: np.sort(_draw(rng, s), axis=1), "init_ordered"),
    "columns sorted": (lambda rng, s: np.sort(_draw(rng, s), axis=0), "init_ordered"),
    "the same weights on two calls": (
        lambda rng, s: (lambda w: (w, w.copy()))(_draw(rng, s)),
        "init_same_every_call",
    ),
    "reseeded: np.random.seed(0) each call": (
        lambda rng, s: tuple(np.random.RandomState(0).uniform(-EPS, EPS, s) for _ in range(2)),
        "init_same_every_call",
    ),
    "second call a grid": (lambda rng, s: (_draw(rng, s), _grid(s)), "init_grid"),
}


@pytest.mark.parametrize("shape", [SHAPE, (10, 31)], ids=["public", "smallest-hidden"])
@pytest.mark.parametrize("make, key", UNIFORM_INIT.values(), ids=UNIFORM_INIT.keys())
def test_check_uniform_init(make, key, shape):
    data = make(np.random.default_rng(0), shape)
    ref = {"shape": shape, "epsilon": EPS}
    outcome = check_uniform_init("w", ref, data)
    assert outcome.passed is (key == "passed")
    if key in ("passed", "wrong_shape"):
        assert outcome.category == key
        return
    assert outcome.category == "wrong_value"
    for lang in ("en", "zh"):  # a named reason, the same for public and hidden cases
        said = check_uniform_init("w", ref, data, lang=lang)
        assert said.public_message == said.hidden_message == msg(key, lang)


@pytest.mark.parametrize(
    "shape, eps, seeds", [((10, 31), 0.5, 3000), ((10, 31), 0.12, 3000), (SHAPE, 0.12, 300)]
)
def test_uniform_init_never_fails_two_correct_draws_over_many_seeds(shape, eps, seeds):
    # Each case fails a correct function with probability < 1e-9 (see check_uniform_init).
    ref = {"shape": shape, "epsilon": eps}
    failed = [
        s
        for s in range(seeds)
        if not check_uniform_init(
            "w", ref, tuple(np.random.default_rng(s).uniform(-eps, eps, (2, *shape)))
        ).passed
    ]
    assert failed == []


def test_cost_and_gradient_gives_partial_credit_for_the_right_half():
    ref = (1.5, VEC)
    only_cost = check_cost_and_gradient("r", ref, (np.array(1.5), VEC * 2), **TOL)
    only_grad = check_cost_and_gradient("r", ref, (np.array(9.0), VEC), **TOL)
    assert (only_cost.passed, only_cost.fraction) == (False, pytest.approx(0.4))
    assert (only_grad.passed, only_grad.fraction) == (False, pytest.approx(0.6))


def test_descent_checks_history_length():
    ref = (VEC, np.arange(5.0))
    out = check_descent("r", ref, (VEC, np.arange(6.0)), **TOL)
    assert out.fraction == pytest.approx(0.5) and out.category == "wrong_shape"


# ---------------------------------------------------------------------------------------------
# Single precision: an answer made of float32 numbers, right to float32 precision
# ---------------------------------------------------------------------------------------------

SIGMOID_REF = 1 / (1 + np.exp(-np.linspace(-8, 8, 40).reshape(5, 8)))
F32 = SIGMOID_REF.astype(np.float32).astype(np.float64)  # what a float32 student sends back


def _run(data, policy=None, ref=SIGMOID_REF, check="array"):
    from autograder.checks import run_check

    # tighter than float32 rounding (6e-8), as a sum over thousands of terms would need
    tolerance = {"rtol": 1e-9, "atol": 1e-12} | ({} if policy is None else {"float32": policy})
    return run_check(check, ref, data, tolerance=tolerance)


@pytest.mark.parametrize(
    "data, policy, passed, category, says",
    [
        (F32, "accept", True, "passed", "float32 precision, which this part accepts"),
        (F32, "reject", False, "float32", "only to float32 precision; compute in float64"),
        (F32, None, False, "float32", "only to float32 precision"),  # reject unless the spec says
        # float32 numbers, but wrong beyond single precision: a plain failure with a hint
        (
            (F32 * 1.001).astype(np.float32).astype(float),
            "accept",
            False,
            "wrong_value",
            "are float32 numbers",
        ),
        # float64 numbers off by 1e-6: not single precision, so no excuse and no hint
        (SIGMOID_REF * (1 + 1e-6), "accept", False, "wrong_value", "max abs error"),
    ],
)
def test_float32_answers_follow_the_part_policy(data, policy, passed, category, says):
    outcome = _run(data, policy)
    assert (outcome.passed, outcome.category) == (passed, category)
    assert says in (outcome.note or "") + outcome.public_message


def test_a_float32_pass_says_so_in_its_note_and_not_elsewhere():
    outcome = _run(F32, "accept")
    assert outcome.note and "float64" in outcome.note
    assert outcome.public_message == outcome.hidden_message == "passed"


def test_small_integers_are_not_taken_for_float32_answers():
    ref = np.array([0.0, 1.0, 2.0 + 1e-5])
    assert _run(np.array([0.0, 1.0, 2.0]), "accept", ref=ref).category == "wrong_value"


def test_float32_excuses_a_pair_only_when_nothing_else_is_wrong():
    J, grad = 0.7, np.linspace(-1, 1, 12) / 3
    grad32 = grad.astype(np.float32).astype(float)
    ok = _run((np.array(J), grad32), "accept", ref=(J, grad), check="cost_and_gradient")
    assert ok.passed and ok.note
    both = _run((np.array(J + 0.1), grad32), "accept", ref=(J, grad), check="cost_and_gradient")
    assert not both.passed and both.category == "wrong_value"


# English verbs agree with the output's name; the label check counts wrong labels.
GRAMMAR = [
    (
        lambda: check_labels("the predicted labels", np.arange(3), np.arange(3) + 1),
        "public",
        "the predicted labels are incorrect: expected [0 1 2], got [1 2 3] (3 of 3 wrong)",
    ),
    (
        lambda: check_labels("the predicted labels", np.arange(3), np.arange(3) + 1),
        "hidden",
        "the predicted labels are incorrect",
    ),
    (
        lambda: check_labels("the predicted labels", np.arange(3), np.zeros(4)),
        "hidden",
        "the predicted labels have the wrong shape",
    ),
    (
        lambda: check_descent("r", (VEC, np.arange(2.0)), (VEC * 0, np.arange(2.0)), **TOL),
        "hidden",
        "the final parameters are incorrect",
    ),
    (
        lambda: check_descent("r", (VEC, np.arange(2.0)), (VEC * np.nan, np.arange(2.0)), **TOL),
        "hidden",
        "the final parameters contain NaN or inf",
    ),
    (
        lambda: check_cost_and_gradient("r", (1.5, VEC), (1.5, VEC * 2), **TOL),
        "hidden",
        "the gradient is incorrect",
    ),
    (
        lambda: check_cost_and_gradient("r", (1.5, VEC), (1.5, VEC[:2]), **TOL),
        "hidden",
        "the gradient has the wrong shape",
    ),
    (
        lambda: check_labels("预测标签", np.arange(3), np.arange(3) + 1, lang="zh"),
        "public",
        "预测标签不正确：期望 [0 1 2]，实际得到 [1 2 3]（3 个中有 3 个错误）",
    ),
]


@pytest.mark.parametrize("make, visibility, text", GRAMMAR, ids=[g[2][:40] for g in GRAMMAR])
def test_messages_read_as_sentences(make, visibility, text):
    assert make().message(visibility == "hidden") == text


def test_no_catalogued_mistake_passes_as_a_float32_answer():
    """Rounding a mistake's answer to float32 never buys the float32 policy's wider tolerance.

    Every variant of the catalogue, on every case of ten students, rounded to float32: none
    passes its check, and none is even close enough for grading's ambiguity guard to be needed.
    """
    from dataclasses import replace

    from autograder.cases import build_cases
    from autograder.checks import FLOAT32_RTOL, run_check
    from autograder.diagnosis import examine, load_catalog
    from autograder.spec import load_spec

    spec = load_spec()
    catalog = load_catalog(spec.misconceptions_module)

    def f32(v):
        if isinstance(v, (tuple, list)):
            return type(v)(f32(x) for x in v)
        return np.asarray(v, dtype=np.float64).astype(np.float32).astype(np.float64)

    passed, pairs = [], 0
    for sid in [f"s{i}" for i in range(10)]:
        for case in build_cases(spec, secret=b"k" * 32, student_id=sid):
            if case.tolerance.get("float32") != "accept":
                continue
            for mc in catalog:
                if case.part not in mc.parts or mc.variant is None:
                    continue
                try:
                    alt = mc.variant(case)
                except Exception:  # noqa: BLE001 - a variant that does not apply to this case
                    continue
                if (
                    alt is None
                    or run_check(case.check, case.expected, alt, tolerance=case.tolerance).passed
                ):
                    continue
                pairs += 1
                if run_check(case.check, case.expected, f32(alt), tolerance=case.tolerance).passed:
                    loose = {"rtol": FLOAT32_RTOL, "atol": case.tolerance["atol"]}
                    guarded = bool(
                        examine(replace(case, tolerance=loose), f32(alt), catalog).matched
                    )
                    passed.append((sid, case.case_id, mc.tag, guarded))
    assert pairs > 1000 and passed == [], passed
