"""The logreg homework's catalogue of classic mistakes, as small variants of the reference.

Each :class:`~autograder.diagnosis.Misconception` computes, from a case's trusted inputs
(``case.context``), what a submission with exactly that one bug returns; the grader compares a
failing student's value with every variant of the part (same check, same tolerance) and a match
names the mistake. Nothing here is sent to the child.

The cost bugs are knobs of :class:`Bug`, fed to :func:`buggy_cost`, a from-scratch
re-implementation of ex2's cost and gradient whose every step can be swapped. A variant returns
``None`` when the bug changes nothing on that case (a regularization bug at λ = 0), so it is never
blamed for a failure it does not cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.cases import Case
from autograder.diagnosis import Misconception, unchanged, variant_matches
from bpnet_ref import logistic as ref

COSTS = ("costFunction", "costFunctionReg")


@dataclass(frozen=True)
class Bug:
    """One set of choices for every step of ex2's cost and gradient; the defaults are correct.

    Attributes
    ----------
    z_sign : float
        The sigmoid is ``g(z_sign · z)``; -1 is ``1 / (1 + e^z)``.
    pm1_labels : bool
        The ±1-label formula ``log(1 + e^{-yz})`` applied to 0/1 labels.
    drop_negative_term : bool
        Cross-entropy without its ``(1 - y) log(1 - h)`` term.
    j_scale, grad_scale : callable
        ``(m) -> factor`` in front of the data term of J and of the gradient (1/m).
    reg_j, reg_grad : callable
        ``(lambda_, m) -> coefficient`` of Σθⱼ² in J (λ/2m) and of θ in the gradient (λ/m).
    reg_theta0_j, reg_theta0_grad : bool
        θ₀ (wrongly) regularized in J / in the gradient.
    grad_sign : float
        -1 returns ``Xᵀ(y - h) / m``.
    """

    z_sign: float = 1.0
    pm1_labels: bool = False
    drop_negative_term: bool = False
    j_scale: Callable[[int], float] = lambda m: 1.0 / m  # noqa: E731
    grad_scale: Callable[[int], float] = lambda m: 1.0 / m  # noqa: E731
    reg_j: Callable[[float, int], float] = lambda lam, m: lam / (2 * m)  # noqa: E731
    reg_grad: Callable[[float, int], float] = lambda lam, m: lam / m  # noqa: E731
    reg_theta0_j: bool = False
    reg_theta0_grad: bool = False
    grad_sign: float = 1.0


def _log_g(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def buggy_cost(ctx: dict, bug: Bug = Bug()) -> tuple[float, np.ndarray]:
    """Cost and gradient of the case's (θ, X, y, λ), computed with ``bug``'s choices."""
    theta = np.asarray(ctx["theta"], dtype=float).ravel()
    X = np.asarray(ctx["X"], dtype=float)
    y = np.asarray(ctx["y"], dtype=float).ravel()
    lam, m = float(ctx["lambda_"]), y.size
    z = bug.z_sign * (X @ theta)
    if bug.pm1_labels:
        data_j = np.sum(np.logaddexp(0.0, -y * z))
        residual = -y * np.exp(_log_g(-y * z))
    else:
        negative = 0.0 if bug.drop_negative_term else (1.0 - y) @ _log_g(-z)
        data_j = -(y @ _log_g(z) + negative)
        residual = np.exp(_log_g(z)) - y
    grad = bug.grad_sign * bug.grad_scale(m) * (X.T @ residual)
    J = bug.j_scale(m) * float(data_j)
    rest = theta.copy()
    rest[0] = 0.0
    t_j = theta if bug.reg_theta0_j else rest
    t_g = theta if bug.reg_theta0_grad else rest
    return J + bug.reg_j(lam, m) * float(t_j @ t_j), grad + bug.reg_grad(lam, m) * t_g


def _differs(value: tuple[float, np.ndarray], reference: tuple) -> bool:
    (J, grad), (J0, grad0) = value, reference
    with np.errstate(invalid="ignore", over="ignore"):
        same = abs(J - J0) <= 1e-12 + 1e-9 * abs(J0) and bool(
            np.all(np.abs(grad - np.ravel(grad0)) <= 1e-12 + 1e-9 * np.abs(np.ravel(grad0)))
        )
    return not same


def cost_variant(bug: Bug) -> Callable[[Case], Any]:
    """``variant(case)``: the cost with ``bug``, or ``None`` if on this case it changes nothing."""

    def variant(case: Case):
        value = buggy_cost(case.context, bug)
        return value if _differs(value, case.expected) else None

    return variant


def _any_of(*variants: Callable[[Case], Any]) -> Callable[[Case, Any], bool | None]:
    """A matcher for one mistake written in several ways; ``None`` where none makes a difference."""

    def matcher(case: Case, value: Any) -> bool | None:
        alts = [alt for alt in (v(case) for v in variants) if not unchanged(case, alt)]
        if not alts:
            return None
        return any(variant_matches(case, alt, value) for alt in alts)

    return matcher


def _cost_any(*bugs: Bug) -> Callable[[Case, Any], bool | None]:
    return _any_of(*(cost_variant(b) for b in bugs))


def _per_part(**by_part: Callable[[Case], Any]) -> Callable[[Case], Any]:
    def variant(case: Case):
        make = by_part.get(case.part)
        return None if make is None else make(case)

    return variant


# -- sigmoid, predict, mapFeature ----------------------------------------------------------------


def _sigmoid_variant(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Case], Any]:
    return lambda case: fn(np.asarray(case.args[0], dtype=float))


def _scores(case: Case) -> np.ndarray:
    return np.asarray(case.context["X"], dtype=float) @ np.ravel(case.context["theta"])


def _predict_variant(rule: Callable[[np.ndarray], np.ndarray]) -> Callable[[Case], Any]:
    def variant(case: Case):
        labels = rule(_scores(case)).astype(np.int64)
        return None if np.array_equal(labels, case.expected) else labels

    return variant


def _predicts_probabilities(case: Case, value: Any) -> bool | None:
    """predict returned g(Xθ) itself (not rounded to labels)."""
    data = np.asarray(value, dtype=float).ravel()
    h = 1.0 / (1.0 + np.exp(-_scores(case)))
    return data.shape == h.shape and bool(np.allclose(data, h, rtol=1e-6, atol=1e-9))


def _map(case: Case, degree_shift: int = 0, swap: bool = False, bias: bool = True):
    ctx = case.context
    x1, x2 = (ctx["x2"], ctx["x1"]) if swap else (ctx["x1"], ctx["x2"])
    out = ref.map_feature(x1, x2, ctx["degree"] + degree_shift)
    return out if bias else out[:, 1:]


def _map_reordered(case: Case, value: Any) -> bool | None:
    """The right columns in another order (x1 and x2 swapped, powers of x1 first, …)."""
    data, expected = np.asarray(value, dtype=float), np.asarray(case.expected)
    if data.shape != expected.shape or expected.shape[1] < 3:
        return None if expected.shape[1] < 3 else False
    if np.allclose(data, expected, rtol=1e-7, atol=1e-12):
        return False
    used: set[int] = set()
    for col in data.T:
        match = next(
            (
                k
                for k in range(expected.shape[1])
                if k not in used and np.allclose(col, expected[:, k], rtol=1e-7, atol=1e-12)
            ),
            None,
        )
        if match is None:
            return False
        used.add(match)
    return True


def _map_variant(**knobs) -> Callable[[Case], Any]:
    def variant(case: Case):
        try:
            out = _map(case, **knobs)
        except ValueError:
            return None
        return (
            None
            if out.shape == np.shape(case.expected) and np.allclose(out, case.expected)
            else out
        )

    return variant


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------


def _mc(tag, parts, en, zh, variant=None, matcher=None) -> Misconception:
    return Misconception(tag, tuple(parts), {"en": en, "zh": zh}, variant=variant, matcher=matcher)


CORRECT = Bug()
_SIGMOID_SIGN = Bug(z_sign=-1.0)

CATALOG: list[Misconception] = [
    # -- sigmoid ---------------------------------------------------------------------------------
    _mc(
        "sigmoid_sign",
        ("sigmoid", *COSTS, "predict"),
        "sigmoid computed as 1 / (1 + e^z) instead of 1 / (1 + e^-z)",
        "sigmoid 写成了 1 / (1 + e^z)，而不是 1 / (1 + e^-z)",
        variant=_per_part(
            sigmoid=_sigmoid_variant(lambda z: 1.0 / (1.0 + np.exp(np.clip(z, -700, 700)))),
            costFunction=cost_variant(_SIGMOID_SIGN),
            costFunctionReg=cost_variant(_SIGMOID_SIGN),
            predict=_predict_variant(lambda z: z <= 0),
        ),
    ),
    # -- the cost --------------------------------------------------------------------------------
    _mc(
        "missing_1_over_m",
        COSTS,
        "the 1/m in front of the sum forgotten (in J, in the gradient, or both)",
        "求和前面的 1/m 忘了乘（在 J 中、梯度中或两者中）",
        matcher=_cost_any(
            Bug(j_scale=lambda m: 1.0),
            Bug(grad_scale=lambda m: 1.0),
            Bug(j_scale=lambda m: 1.0, grad_scale=lambda m: 1.0),
        ),
    ),
    _mc(
        "cost_missing_negative_term",
        COSTS,
        "the (1 - y) log(1 - h) term of the cross-entropy left out",
        "交叉熵中漏掉了 (1 - y) log(1 - h) 项",
        variant=cost_variant(Bug(drop_negative_term=True)),
    ),
    _mc(
        "grad_sign",
        COSTS,
        "gradient with the wrong sign: Xᵀ(y - h)/m instead of Xᵀ(h - y)/m",
        "梯度符号反了：写成了 Xᵀ(y - h)/m，而不是 Xᵀ(h - y)/m",
        variant=cost_variant(Bug(grad_sign=-1.0)),
    ),
    _mc(
        "labels_pm1",
        (*COSTS, "predict"),
        "labels treated as -1/+1 (log(1 + e^(-yz)), or predictions -1/+1); here they are 0/1",
        "把标签当成了 -1/+1（用了 log(1 + e^(-yz))，或预测 -1/+1）；这里的标签是 0/1",
        variant=_per_part(
            costFunction=cost_variant(Bug(pm1_labels=True)),
            costFunctionReg=cost_variant(Bug(pm1_labels=True)),
            predict=_predict_variant(lambda z: np.where(z >= 0, 1, -1)),
        ),
    ),
    # -- regularization --------------------------------------------------------------------------
    _mc(
        "theta0_regularized",
        ("costFunctionReg",),
        "θ₀ (the intercept) regularized: the sums of the penalty must start at j = 1",
        "对 θ₀（截距）也做了正则化：惩罚项的求和应从 j = 1 开始",
        matcher=_cost_any(
            Bug(reg_theta0_j=True, reg_theta0_grad=True),
            Bug(reg_theta0_j=True),
            Bug(reg_theta0_grad=True),
        ),
    ),
    _mc(
        "reg_cost_lambda_over_m",
        ("costFunctionReg",),
        "λ/m instead of λ/(2m) in front of Σθⱼ² in J",
        "J 中 Σθⱼ² 前面的系数写成了 λ/m，而不是 λ/(2m)",
        variant=cost_variant(Bug(reg_j=lambda lam, m: lam / m)),
    ),
    _mc(
        "reg_grad_lambda_over_2m",
        ("costFunctionReg",),
        "λ/(2m) instead of λ/m in front of θⱼ in the gradient",
        "梯度中 θⱼ 前面的系数写成了 λ/(2m)，而不是 λ/m",
        variant=cost_variant(Bug(reg_grad=lambda lam, m: lam / (2 * m))),
    ),
    _mc(
        "reg_missing",
        ("costFunctionReg",),
        "no regularization at all (λ ignored)",
        "完全没有正则化（忽略了 λ）",
        matcher=_cost_any(
            Bug(reg_j=lambda lam, m: 0.0, reg_grad=lambda lam, m: 0.0),
            Bug(reg_j=lambda lam, m: 0.0),
            Bug(reg_grad=lambda lam, m: 0.0),
        ),
    ),
    # -- mapFeature ------------------------------------------------------------------------------
    _mc(
        "map_feature_order",
        ("mapFeature",),
        "the right polynomial terms in another order: ex2's is 1, x1, x2, x1², x1·x2, x2², x1³, …",
        "多项式项都对，但顺序不对：ex2 的顺序是 1, x1, x2, x1², x1·x2, x2², x1³, …",
        matcher=_map_reordered,
    ),
    _mc(
        "map_feature_no_bias",
        ("mapFeature",),
        "the column of ones (the intercept term) left out",
        "漏掉了全为 1 的第一列（截距项）",
        variant=_map_variant(bias=False),
    ),
    _mc(
        "map_feature_degree_off_by_one",
        ("mapFeature",),
        "powers up to degree - 1 only (range(degree) instead of range(degree + 1))",
        "最高只到 degree - 1 次（用了 range(degree)，而不是 range(degree + 1)）",
        matcher=_any_of(_map_variant(degree_shift=-1), _map_variant(degree_shift=1)),
    ),
    # -- predict ---------------------------------------------------------------------------------
    _mc(
        "predict_threshold_on_score",
        ("predict",),
        "the 0.5 threshold applied to Xθ instead of to g(Xθ) (Xθ ≥ 0.5 instead of Xθ ≥ 0)",
        "把 0.5 的阈值用在了 Xθ 上，而不是 g(Xθ) 上（写成了 Xθ ≥ 0.5，而不是 Xθ ≥ 0）",
        variant=_predict_variant(lambda z: z >= 0.5),
    ),
    _mc(
        "predict_probabilities",
        ("predict",),
        "predict returns the probabilities g(Xθ) instead of 0/1 labels",
        "predict 返回的是概率 g(Xθ)，而不是 0/1 标签",
        matcher=_predicts_probabilities,
    ),
]


def by_tag() -> dict[str, Misconception]:
    """The catalogue keyed by tag (tags are unique)."""
    return {mc.tag: mc for mc in CATALOG}
