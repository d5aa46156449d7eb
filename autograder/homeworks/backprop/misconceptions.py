"""The backprop homework's catalogue of classic mistakes, as small variants of the reference.

Each :class:`~autograder.diagnosis.Misconception` computes, from a case's trusted inputs
(``case.args`` / ``case.context``), what a submission with exactly that one bug returns. The grader
compares a failing student's value with every variant of the part (same check, same tolerance); a
match names the mistake. Nothing here is sent to the child.

Most network bugs are one knob of :class:`Bug`, fed to :func:`buggy_network`, a from-scratch
re-implementation of the reference's cost and backprop whose every step can be swapped. A bug that
only changes J (say) still returns a full ``(J, grad)`` pair, with the gradient untouched, so the same
variant serves the ``cost``, ``gradient`` and ``cost_and_gradient`` checks. A bug that changes nothing
on a case (regularization bugs at λ = 0, depth bugs on 3 layers, ...) computes the reference's value
there, or ``None``; the grader then counts it as unaffected (``diagnosis.unchanged``), so it can never
be blamed for a failure it does not cause.

A bug in a helper is named wherever it shows: ``sigmoidGradient`` returning ``z(1-z)`` is tagged on
the sigmoidGradient part *and* on the backprop parts, whose hidden δ it corrupts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.cases import Case
from autograder.checks import on_a_grid, same_weights
from autograder.diagnosis import Misconception
from autograder.homeworks.backprop.cases import quadratic_cost
from bpnet_ref import sigmoid

# Part ids (spec.toml), grouped by what they compute.
COST = "nnCost"
GRAD = "nnGrad"
DEEP = "nnCostFunctionDeep"
SE_COST = "squaredErrorCostFunction"
SE_DELTA = "squaredErrorDelta"
ALL_NETS = (COST, GRAD, DEEP, SE_COST)
BACKPROP = (GRAD, DEEP, SE_COST)  # parts whose gradient runs the hidden δ recursion

DEFAULT_EPSILON = 0.12  # ex4's INIT_EPSILON, the default of randInitializeWeights


# ---------------------------------------------------------------------------------------------
# A network with swappable steps
# ---------------------------------------------------------------------------------------------


def _one_hot(y: np.ndarray, K: int) -> np.ndarray:
    return np.eye(K)[y]


def _sigmoid_prime(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The correct g'(z), written as the lecture does: a(1 - a) with a = g(z)."""
    return a * (1.0 - a)


@dataclass(frozen=True)
class Bug:
    """One set of choices for every step of cost and backprop; the defaults are correct.

    Attributes
    ----------
    z_sign : float
        The sigmoid used everywhere is ``sigmoid(z_sign * z)``; -1 is ``1 / (1 + e^z)``.
    targets : callable
        ``targets(y, K) -> Y``, the (m, K) target matrix built from 0-based labels.
    params_order, grad_order : {"C", "F"}
        How ``nn_params`` is cut into matrices, and how the gradient is unrolled.
    drop_negative_term : bool
        Cross-entropy without its ``(1 - y) log(1 - h)`` term.
    j_scale : callable, optional
        ``j_scale(m, K)``: the factor in front of the data term; default 1/m (CE) or 1/2 (SE).
    grad_scale : callable, optional
        ``grad_scale(m)``: the factor in front of Δ; default 1/m (CE) or 1 (SE).
    reg_j, reg_grad : callable
        ``(lambda_, m) -> coefficient`` of Σθ² in J and of θ in the gradient.
    reg_bias_j, reg_bias_grad : bool
        Whether the bias column is (wrongly) regularized in J / in the gradient.
    reg_first_last_j, reg_first_last_grad : bool
        Only the first and the last weight matrix regularized (in J / in the gradient).
    output_delta : callable, optional
        ``output_delta(h, Y) -> δ^(L)``; default ``h - Y`` (CE) or ``(h - Y) h (1 - h)`` (SE).
    output_sign : float
        -1 writes δ^(L) the other way round (``y - a``); the regularization keeps its sign.
    hidden_gprime : callable
        ``hidden_gprime(z, a) -> g'`` used in the hidden δ (``a = g(z)`` without bias).
    backprop_depth : int or None
        Only the last ``backprop_depth`` weight matrices get a gradient; the others stay 0.
    reg_unreached : bool
        With ``backprop_depth``: the layers backprop never reached still get λ/m·Θ.
    grad_sign : float
        -1 returns the gradient's negative.
    """

    z_sign: float = 1.0
    targets: Callable[[np.ndarray, int], np.ndarray] = _one_hot
    params_order: str = "C"
    grad_order: str = "C"
    drop_negative_term: bool = False
    j_scale: Callable[[int, int], float] | None = None
    grad_scale: Callable[[int], float] | None = None
    reg_j: Callable[[float, int], float] = lambda lam, m: lam / (2 * m)  # noqa: E731
    reg_grad: Callable[[float, int], float] = lambda lam, m: lam / m  # noqa: E731
    reg_bias_j: bool = False
    reg_bias_grad: bool = False
    reg_first_last_j: bool = False
    reg_first_last_grad: bool = False
    output_delta: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    output_sign: float = 1.0
    hidden_gprime: Callable[[np.ndarray, np.ndarray], np.ndarray] = _sigmoid_prime
    backprop_depth: int | None = None
    reg_unreached: bool = False
    grad_sign: float = 1.0


CORRECT = Bug()


def _split(params: np.ndarray, sizes: Sequence[int], order: str) -> list[np.ndarray]:
    out, start = [], 0
    for s_in, s_out in zip(sizes[:-1], sizes[1:], strict=True):
        n = s_out * (s_in + 1)
        out.append(params[start : start + n].reshape((s_out, s_in + 1), order=order))
        start += n
    return out


def _with_bias(A: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((A.shape[0], 1)), A])


@dataclass(frozen=True)
class _Forward:
    """One forward pass: ``acts[l]`` is a^(l+1) with its bias column, ``zs[l]`` pairs with
    ``acts[l + 1]``, ``h`` is the output without bias; ``log_h`` and ``log_1mh`` are log h and
    log(1 - h) from z, exactly (as the reference does), for the pass's sigmoid sign."""

    thetas: tuple[np.ndarray, ...]
    acts: tuple[np.ndarray, ...]
    zs: tuple[np.ndarray, ...]
    h: np.ndarray
    log_h: np.ndarray
    log_1mh: np.ndarray
    y: np.ndarray
    memo: dict = field(default_factory=dict)

    def once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``key`` for this pass (its result is never written to)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


# Most bugs differ only after the forward pass (in the cost, δ, or the regularization): on one case
# they share one pass, keyed by the context's identity and the two knobs that change it. The entry
# holds the context itself, so its id cannot be reused while cached; a few entries are enough, since
# a case's variants are computed together. The arrays are shared: nothing below writes into them.
_FORWARDS: dict[tuple[int, float, str], tuple[dict, _Forward]] = {}
_FORWARDS_KEPT = 16
_FORWARDS_LOCK = threading.Lock()


def _forward(ctx: dict, z_sign: float, params_order: str) -> _Forward:
    """The forward pass of the case ``ctx`` with the sigmoid sign and unrolling order given."""
    key = (id(ctx), z_sign, params_order)
    hit = _FORWARDS.get(key)
    if hit is not None and hit[0] is ctx:
        return hit[1]
    X = np.asarray(ctx["X"], dtype=float)
    thetas = _split(
        np.asarray(ctx["nn_params"], dtype=float), list(ctx["layer_sizes"]), params_order
    )
    acts, zs = [_with_bias(X)], []
    for T in thetas:
        zs.append(acts[-1] @ T.T)
        acts.append(_with_bias(sigmoid(z_sign * zs[-1])))
    z_out = zs[-1]
    fwd = _Forward(
        thetas=tuple(thetas),
        acts=tuple(acts[:-1]),
        zs=tuple(zs),
        h=acts[-1][:, 1:],
        log_h=-np.logaddexp(0, -z_sign * z_out),
        log_1mh=-np.logaddexp(0, z_sign * z_out),
        y=np.asarray(ctx["y"]).ravel().astype(np.int64),
    )
    with _FORWARDS_LOCK:  # grade-all's thread pool shares this process
        while len(_FORWARDS) >= _FORWARDS_KEPT:
            _FORWARDS.pop(next(iter(_FORWARDS)))
        _FORWARDS[key] = (ctx, fwd)
    return fwd


def buggy_network(ctx: dict, bug: Bug = CORRECT) -> tuple[float, np.ndarray]:
    """Cost and gradient of the case's network, computed with ``bug``'s choices.

    Parameters
    ----------
    ctx : dict
        A network case's context: ``layer_sizes``, ``nn_params``, ``X``, ``y``, ``lambda_``, ``loss``.
    bug : Bug

    Returns
    -------
    J : float
    grad : (N,) ndarray
    """
    lam, loss, K = float(ctx["lambda_"]), ctx["loss"], list(ctx["layer_sizes"])[-1]
    fwd = _forward(ctx, bug.z_sign, bug.params_order)
    thetas, h, m = fwd.thetas, fwd.h, fwd.h.shape[0]
    # Each intermediate below depends on a few of the bug's knobs only: it is computed once per
    # forward pass (fwd.once, keyed by those knobs) and shared by every bug that agrees on them.
    # J and the gradient are two such results: a bug in J alone returns the gradient that every
    # bug leaving the gradient alone returns (the same array; nothing downstream writes to it).
    Y = fwd.once(("Y", bug.targets), lambda: bug.targets(fwd.y, K))
    n_layers = len(thetas)
    lowest = 0 if bug.backprop_depth is None else max(0, n_layers - bug.backprop_depth)
    ends = {0, n_layers - 1}

    def cost() -> float:
        if loss == "cross_entropy":

            def data_term() -> float:
                log_h, log_1mh = fwd.log_h, fwd.log_1mh
                terms = Y * log_h if bug.drop_negative_term else Y * log_h + (1 - Y) * log_1mh
                return float(np.sum(terms))

            total = fwd.once(("J", bug.targets, bug.drop_negative_term), data_term)
            J = -(bug.j_scale or (lambda m_, K_: 1 / m_))(m, K) * total
        else:
            total = fwd.once(("J", bug.targets), lambda: float(np.sum((h - Y) ** 2)))
            J = (bug.j_scale or (lambda m_, K_: 0.5))(m, K) * total
        for l, T in enumerate(thetas) if lam else ():
            if l in ends or not bug.reg_first_last_j:
                first = 0 if bug.reg_bias_j else 1
                squares = fwd.once(
                    ("squares", l, first), lambda T=T, i=first: float(np.sum(T[:, i:] ** 2))
                )
                J += bug.reg_j(lam, m) * squares
        return J

    def gradient() -> np.ndarray:
        if loss == "cross_entropy":
            output_delta = bug.output_delta or (lambda h_, Y_: h_ - Y_)
            scale = (bug.grad_scale or (lambda m_: 1 / m_))(m)
        else:
            output_delta = bug.output_delta or (lambda h_, Y_: (h_ - Y_) * h_ * (1 - h_))
            scale = (bug.grad_scale or (lambda m_: 1.0))(m)

        def backward() -> tuple[np.ndarray, ...]:
            delta = bug.output_sign * output_delta(h, Y)
            return tuple(_backward(fwd, bug, delta, scale, lowest))

        # The δ recursion is the same for every bug that changes only J or the regularization.
        steps = (bug.targets, bug.output_delta, bug.output_sign, bug.hidden_gprime, lowest)
        shared = fwd.once(("grads", *steps, bug.grad_scale), backward)
        grads = [G.copy() for G in shared]  # a copy: the regularization below adds into it
        for l, T in enumerate(thetas) if lam else ():
            reached = l >= lowest or bug.reg_unreached
            if reached and (l in ends or not bug.reg_first_last_grad):
                start = 0 if bug.reg_bias_grad else 1
                grads[l][:, start:] += bug.reg_grad(lam, m) * T[:, start:]
        grad = bug.grad_sign * np.concatenate([G.ravel(order=bug.grad_order) for G in grads])
        grad.flags.writeable = False  # shared by every bug with these gradient knobs
        return grad

    J_knobs = (bug.targets, bug.drop_negative_term, bug.j_scale, bug.reg_j, bug.reg_bias_j)
    J = fwd.once(("cost", *J_knobs, bug.reg_first_last_j), cost)
    grad_knobs = (bug.targets, bug.output_delta, bug.output_sign, bug.hidden_gprime, lowest)
    grad_reg = (bug.reg_grad, bug.reg_bias_grad, bug.reg_first_last_grad, bug.reg_unreached)
    grad = fwd.once(
        ("gradient", *grad_knobs, bug.grad_scale, *grad_reg, bug.grad_order, bug.grad_sign),
        gradient,
    )
    return J, grad


def _backward(fwd: _Forward, bug: Bug, delta: np.ndarray, scale: float, lowest: int) -> list:
    """Δ/m for each weight matrix from the output δ down; layers below ``lowest`` get zeros."""
    thetas, acts, zs = fwd.thetas, fwd.acts, fwd.zs
    grads = [np.zeros_like(T) for T in thetas]
    for l in range(len(thetas) - 1, lowest - 1, -1):
        grads[l] = scale * delta.T @ acts[l]
        if l > 0:
            a_hidden = acts[l][:, 1:]
            delta = (delta @ thetas[l][:, 1:]) * bug.hidden_gprime(zs[l - 1], a_hidden)
    return grads


def network_variant(bug: Bug) -> Callable[[Case], Any]:
    """``variant(case)``: the network with ``bug`` on the case's inputs.

    Whether the bug changes anything on the case is left to the grader (``diagnosis.unchanged``,
    at the part's own tolerance), which compares all the part's variants with the reference in one
    operation: comparing each here as well, at a tighter tolerance, decided nothing more (the
    network parts' tolerances are far wider) and cost about 7% of diagnosing a case.
    """

    def variant(case: Case):
        return buggy_network(case.context, bug)

    return variant


# ---------------------------------------------------------------------------------------------
# Variants of the other parts
# ---------------------------------------------------------------------------------------------


def _per_part(**by_part: Callable[[Case], Any]) -> Callable[[Case], Any]:
    """One mistake that shows in several parts, each computed its own way."""

    def variant(case: Case):
        make = by_part.get(case.part)
        return None if make is None else make(case)

    return variant


def _elementwise(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Case], Any]:
    return lambda case: fn(np.asarray(case.args[0], dtype=float))


# -- numerical gradient ------------------------------------------------------------------------


def _numgrad(case: Case, formula: str) -> np.ndarray:
    """computeNumericalGradient with a wrong difference ``formula`` on the case's quadratic."""
    ctx = case.context
    cost = quadratic_cost(ctx["A"], ctx["b"], ctx["c"])
    theta, e = np.asarray(ctx["theta"], dtype=float), float(ctx["e"])

    def J(t: np.ndarray) -> float:
        return cost(t)[0]

    if formula.startswith("drift"):
        return _numgrad_drifting(J, theta, e, first=1.0 if formula == "drift_down" else -1.0)
    out, perturb = np.empty_like(theta), np.zeros_like(theta)
    for p in range(theta.size):
        perturb[p] = e
        if formula == "forward":
            out[p] = (J(theta + perturb) - J(theta)) / e
        elif formula == "backward":
            out[p] = (J(theta) - J(theta - perturb)) / e
        elif formula == "over_e":
            out[p] = (J(theta + perturb) - J(theta - perturb)) / e
        else:  # "not_reset": the perturbation vector keeps every earlier e
            out[p] = (J(theta + perturb) - J(theta - perturb)) / (2 * e)
        if formula != "not_reset":
            perturb[p] = 0.0
    return out


def _numgrad_drifting(J: Callable, theta: np.ndarray, e: float, first: float) -> np.ndarray:
    """Central differences taken by moving θ_p itself, never put back.

    ``first = 1``: ``theta[p] += e; J; theta[p] -= 2 * e; J`` leaves θ_p at θ_p - e ("drift_down");
    ``first = -1`` steps down first and leaves θ_p + e. Each later component is then estimated at
    a θ whose earlier components are all off by e: close to the truth, but beyond any tolerance.
    """
    t, out = theta.copy(), np.empty_like(theta)
    for p in range(t.size):
        t[p] += first * e
        J_first = J(t)
        t[p] -= first * 2 * e
        out[p] = first * (J_first - J(t)) / (2 * e)
    return out


def _se_delta(case: Case) -> np.ndarray:
    a, Y = np.asarray(case.args[0], dtype=float), np.asarray(case.args[1], dtype=float)
    return (a - Y) * a * (1 - a)


# -- prediction ----------------------------------------------------------------------------------


def _predict(case: Case, *, offset: int = 0, drop_bias=(), z_sign: float = 1.0) -> np.ndarray:
    """predict() with labels shifted by ``offset`` and the bias weights of ``drop_bias`` layers ignored."""
    A = np.asarray(case.context["X"], dtype=float)
    thetas = case.context["thetas"]
    for l, T in enumerate(thetas):
        z = A @ T[:, 1:].T if l in drop_bias else _with_bias(A) @ T.T
        A = sigmoid(z_sign * z)
    return np.argmax(A, axis=1) + offset


# -- gradient descent ------------------------------------------------------------------------------


def _descent(case: Case, *, sign: float = 1.0, history: str = "before") -> tuple:
    """gradientDescent with update ``θ - sign·α∇J`` and J_history recorded ``before``/``after`` steps."""
    ctx = case.context
    cost = quadratic_cost(ctx["A"], ctx["b"], ctx["c"])
    theta, alpha, iters = np.array(ctx["theta0"], dtype=float), ctx["alpha"], ctx["iters"]
    costs = []
    for _ in range(iters):
        J, grad = cost(theta)
        costs.append(J)
        theta = theta - sign * alpha * grad
    costs.append(cost(theta)[0])
    hist = {"before": costs[:-1], "after": costs[1:], "both": costs}[history]
    return theta, np.array(hist)


# -- random initialization (random values: judged by matchers) --------------------------------


def _init_args(case: Case) -> tuple[int, int, float]:
    L_in, L_out = int(case.args[0]), int(case.args[1])
    eps = float(case.args[2]) if len(case.args) > 2 else DEFAULT_EPSILON
    return L_in, L_out, eps


def _looks_uniform(w: np.ndarray, lo: float, hi: float) -> bool:
    """Inside [lo, hi] and spread like U[lo, hi] (the same loose moments as check_uniform_init)."""
    width = hi - lo
    if w.size < 30 or width <= 0:
        return False
    inside = w.min() >= lo - 1e-12 * width and w.max() <= hi + 1e-12 * width
    std_ok = 0.7 < float(np.std(w)) / (width / np.sqrt(12)) < 1.3
    return inside and std_ok and abs(float(np.mean(w)) - (lo + hi) / 2) < 0.125 * width


def _draws(value: Any) -> list[np.ndarray]:
    """The weight matrices of a case: a tuple when the case called the function more than once."""
    values = value if isinstance(value, tuple) else (value,)
    return [np.asarray(v, dtype=float) for v in values]


def _init_matcher(test: Callable[[np.ndarray, int, int, float], bool]):
    """A matcher judging the first call's weights."""

    def matcher(case: Case, value: Any) -> bool:
        L_in, L_out, eps = _init_args(case)
        return bool(test(_draws(value)[0], L_in, L_out, eps))

    return matcher


def _init_reseeded(case: Case, value: Any) -> bool:
    """Random-looking weights, the same on two calls: a generator seeded inside the function.

    A grid is the same on every call too, but for another reason (``init_grid``).
    """
    L_in, L_out, eps = _init_args(case)
    draws = _draws(value)
    first = draws[0]
    return (
        len(draws) > 1
        and first.shape == (L_out, 1 + L_in)
        and _looks_uniform(first, -eps, eps)
        and not on_a_grid(first.ravel())
        and any(same_weights(first, other) for other in draws[1:])
    )


def _init_grid(w, L_in, L_out, eps):
    inside = w.size > 0 and float(np.max(np.abs(w))) <= eps * (1 + 1e-12)
    return w.shape == (L_out, 1 + L_in) and inside and on_a_grid(w.ravel())


def _init_zero_to_eps(w, L_in, L_out, eps):
    return w.shape == (L_out, 1 + L_in) and _looks_uniform(w, 0.0, eps)


def _init_unscaled(w, L_in, L_out, eps):
    # For any ε: a part's name must explain every failing case (near ε = 1, [0, 1) is also
    # [0, ε], and both mistakes are named: the values cannot tell them apart).
    return w.shape == (L_out, 1 + L_in) and _looks_uniform(w, 0.0, 1.0)


def _init_no_bias(w, L_in, L_out, eps):
    return w.shape == (L_out, L_in)


def _init_transposed(w, L_in, L_out, eps):
    return w.shape == (1 + L_in, L_out) and L_out != 1 + L_in


def _init_constant(w, L_in, L_out, eps):
    return w.shape == (L_out, 1 + L_in) and bool(np.all(w == w.flat[0]))


def _init_gaussian(w, L_in, L_out, eps):
    if w.shape != (L_out, 1 + L_in):
        return False
    return 0.8 < float(np.std(w)) / eps < 1.2 and float(np.max(np.abs(w))) > 1.5 * eps


def _init_epsilon_ignored(w, L_in, L_out, eps):
    if abs(eps - DEFAULT_EPSILON) < 0.02:
        return False
    e = DEFAULT_EPSILON
    return w.shape == (L_out, 1 + L_in) and _looks_uniform(w, -e, e)


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------


def _mc(tag, parts, en, zh, variant=None, matcher=None, ways=()) -> Misconception:
    title = {"en": en, "zh": zh}
    return Misconception(tag, tuple(parts), title, variant=variant, matcher=matcher, ways=ways)


def _net(tag, parts, en, zh, **knobs) -> Misconception:
    return _mc(tag, parts, en, zh, variant=network_variant(Bug(**knobs)))


def _gprime_everywhere(tag, en, zh, elementwise, gprime) -> Misconception:
    """A sigmoidGradient bug: wrong on its own part, and in every hidden δ that calls it."""
    net = network_variant(Bug(hidden_gprime=gprime))
    by_part = {"sigmoidGradient": _elementwise(elementwise)} | {p: net for p in BACKPROP}
    return _mc(tag, ("sigmoidGradient", *BACKPROP), en, zh, variant=_per_part(**by_part))


def _shifted_labels(y: np.ndarray, K: int) -> np.ndarray:
    return np.eye(K)[y - 1]  # eye(K)[y - 1]: label 0 wraps round to the last class


def _octave_labels(y: np.ndarray, K: int) -> np.ndarray:
    return (y[:, None] == np.arange(1, K + 1)).astype(float)  # Octave's y == 1:K


def _labels_as_targets(y: np.ndarray, K: int) -> np.ndarray:
    return np.repeat(y[:, None].astype(float), K, axis=1)  # y (m, 1) broadcast, never one-hot


_SIGMOID_SIGN = network_variant(Bug(z_sign=-1.0))

CATALOG: list[Misconception] = [
    # -- sigmoid and its gradient ---------------------------------------------------------------
    _mc(
        "sigmoid_sign",
        ("sigmoid", *ALL_NETS, "predict"),
        "the sigmoid computed as 1/(1 + e^z) (sign of the exponent lost)",
        "Sigmoid 写成了 1/(1 + e^z)（指数的负号丢了）",
        variant=_per_part(
            sigmoid=_elementwise(lambda z: sigmoid(-z)),
            predict=lambda case: _predict(case, z_sign=-1.0),
            **{p: _SIGMOID_SIGN for p in ALL_NETS},
        ),
    ),
    _gprime_everywhere(
        "sigmoid_gradient_z",
        "g'(z) computed as z(1 - z) instead of g(z)(1 - g(z))",
        "g'(z) 写成了 z(1 - z)，而不是 g(z)(1 - g(z))",
        lambda z: z * (1 - z),
        lambda z, a: z * (1 - z),
    ),
    _gprime_everywhere(
        "sigmoid_gradient_is_g",
        "g'(z) returned as g(z) itself (the factor 1 - g(z) missing)",
        "g'(z) 直接返回了 g(z)（少了因子 1 - g(z)）",
        sigmoid,
        lambda z, a: a,
    ),
    # -- backpropagation ------------------------------------------------------------------------
    _net(
        "gprime_of_a",
        BACKPROP,
        "the hidden δ uses sigmoidGradient(a) instead of sigmoidGradient(z): g' applied twice",
        "隐藏层 δ 用了 sigmoidGradient(a) 而不是 sigmoidGradient(z)：sigmoid 被套用了两次",
        hidden_gprime=lambda z, a: sigmoid(a) * (1 - sigmoid(a)),
    ),
    _net(
        "gprime_forgotten",
        BACKPROP,
        "the hidden δ is missing the factor g'(z)",
        "隐藏层 δ 漏乘了 g'(z)",
        hidden_gprime=lambda z, a: np.ones_like(a),
    ),
    _net(
        "ce_output_delta_gprime",
        (GRAD, DEEP),
        "the cross-entropy output δ multiplied by g'(z): with cross-entropy δ^(L) is just a - y",
        "交叉熵的输出层 δ 又乘了 g'(z)：交叉熵下 δ^(L) 就是 a - y",
        output_delta=lambda h, Y: (h - Y) * h * (1 - h),
    ),
    _mc(
        "backprop_two_layers_only",
        (DEEP, SE_COST),
        "backpropagation stops after two weight matrices: earlier layers get no gradient "
        "(the 3-layer code generalised only half-way)",
        "反向传播只算了最后两个权重矩阵：更前面各层没有梯度（三层网络的代码没有推广到任意层）",
        ways=(
            network_variant(Bug(backprop_depth=2)),
            network_variant(Bug(backprop_depth=2, reg_unreached=True)),
        ),
    ),
    _mc(
        "grad_sign",
        BACKPROP,
        "the gradient's sign flipped (y - a instead of a - y)",
        "梯度的符号反了（用了 y - a 而不是 a - y）",
        ways=(network_variant(Bug(output_sign=-1.0)), network_variant(Bug(grad_sign=-1.0))),
    ),
    # -- the cross-entropy cost -----------------------------------------------------------------
    _net(
        "cost_missing_1_over_m",
        (COST, DEEP),
        "the cost J not divided by m",
        "代价 J 没有除以 m",
        j_scale=lambda m, K: 1.0,
    ),
    _net(
        "grad_missing_1_over_m",
        (GRAD, DEEP),
        "the gradient (Δ) not divided by m",
        "梯度（Δ）没有除以 m",
        grad_scale=lambda m: 1.0,
    ),
    _net(
        "cost_mean_over_mK",
        (COST, DEEP),
        "the cost averaged over all m·K entries (np.mean) instead of summed over k and divided by m",
        "代价对全部 m·K 个元素取了平均（np.mean），而不是对 k 求和后除以 m",
        j_scale=lambda m, K: 1.0 / (m * K),
    ),
    _net(
        "cost_missing_negative_term",
        (COST, DEEP),
        "the cost without its (1 - y) log(1 - h) term",
        "代价少了 (1 - y) log(1 - h) 这一项",
        drop_negative_term=True,
    ),
    _net(
        "labels_not_one_hot",
        ALL_NETS,
        "y used directly instead of its one-hot matrix Y (the labels never recoded)",
        "直接用了 y，而没有把标签转换成 one-hot 矩阵 Y",
        targets=_labels_as_targets,
    ),
    # -- regularization -------------------------------------------------------------------------
    _net(
        "bias_regularized_cost",
        (COST, DEEP),
        "the bias column Θ(:, 0) regularized in the cost",
        "在代价中对偏置列 Θ(:, 0) 做了正则化",
        reg_bias_j=True,
    ),
    _net(
        "bias_regularized_grad",
        (GRAD, DEEP),
        "the bias column Θ(:, 0) regularized in the gradient",
        "在梯度中对偏置列 Θ(:, 0) 做了正则化",
        reg_bias_grad=True,
    ),
    _net(
        "reg_cost_lambda_over_m",
        (COST, DEEP),
        "λ/m in the cost's regularization term, where λ/(2m) belongs",
        "代价的正则化项用了 λ/m，应为 λ/(2m)",
        reg_j=lambda lam, m: lam / m,
    ),
    _net(
        "reg_grad_lambda_over_2m",
        (GRAD, DEEP),
        "λ/(2m) in the gradient's regularization term, where λ/m belongs",
        "梯度的正则化项用了 λ/(2m)，应为 λ/m",
        reg_grad=lambda lam, m: lam / (2 * m),
    ),
    _net(
        "reg_grad_missing_1_over_m",
        (GRAD, DEEP),
        "λ·Θ added to the gradient without dividing by m",
        "梯度的正则化项 λ·Θ 没有除以 m",
        reg_grad=lambda lam, m: lam,
    ),
    _net(
        "reg_cost_missing",
        (COST, DEEP),
        "the cost without its regularization term",
        "代价中没有加正则化项",
        reg_j=lambda lam, m: 0.0,
    ),
    _net(
        "reg_grad_missing",
        (GRAD, DEEP),
        "the gradient without its regularization term",
        "梯度中没有加正则化项",
        reg_grad=lambda lam, m: 0.0,
    ),
    _mc(
        "reg_first_and_last_only",
        (DEEP,),
        "only the first and last Θ regularized (the 3-layer formula on a deeper network)",
        "只对第一个和最后一个 Θ 做了正则化（把三层网络的公式用在更深的网络上）",
        ways=(
            network_variant(Bug(reg_first_last_j=True)),
            network_variant(Bug(reg_first_last_grad=True)),
            network_variant(Bug(reg_first_last_j=True, reg_first_last_grad=True)),
        ),
    ),
    # -- conventions ----------------------------------------------------------------------------
    _mc(
        "octave_unrolling",
        ALL_NETS,
        "column-major (Octave) unrolling: nn_params reshaped or the gradient flattened in "
        "Fortran order (or Θ_grad built transposed); numpy's order is row-major",
        "按列优先（Octave）展开：nn_params 的 reshape 或梯度的展开用了 Fortran 顺序（或梯度矩阵是转置的）；"
        "numpy 的约定是按行",
        ways=(
            network_variant(Bug(grad_order="F")),
            network_variant(Bug(params_order="F", grad_order="F")),
            network_variant(Bug(params_order="F")),
        ),
    ),
    _mc(
        "one_based_labels",
        ALL_NETS,
        "labels treated as 1..K (Octave's convention) when building Y; here they are 0..K-1",
        "构造 Y 时把标签当成了 1..K（Octave 的约定）；这里的标签是 0..K-1",
        ways=(
            network_variant(Bug(targets=_shifted_labels)),
            network_variant(Bug(targets=_octave_labels)),
        ),
    ),
    # -- squared error ----------------------------------------------------------------------------
    _mc(
        "se_delta_missing_gprime",
        (SE_DELTA, SE_COST),
        "the squared-error δ^(L) without the factor a(1 - a): that shortcut holds only for "
        "cross-entropy",
        "平方误差的 δ^(L) 漏乘了 a(1 - a)：省掉它只对交叉熵成立",
        variant=_per_part(
            squaredErrorDelta=lambda case: np.asarray(case.args[0]) - np.asarray(case.args[1]),
            squaredErrorCostFunction=network_variant(Bug(output_delta=lambda h, Y: h - Y)),
        ),
    ),
    _net(
        "se_cost_over_m",
        (SE_COST,),
        "the squared-error cost divided by m (E = 1/(2m) ΣΣ(a - y)²); this E has no 1/m",
        "平方误差代价除以了 m（E = 1/(2m) ΣΣ(a - y)²）；这里的 E 没有 1/m",
        j_scale=lambda m, K: 0.5 / m,
    ),
    _net(
        "se_grad_over_m",
        (SE_COST,),
        "the squared-error gradient divided by m (copied from the cross-entropy code)",
        "平方误差的梯度除以了 m（照搬了交叉熵的代码）",
        grad_scale=lambda m: 1.0 / m,
    ),
    _net(
        "se_cost_missing_half",
        (SE_COST,),
        "the squared-error cost without the ½",
        "平方误差代价少了 ½",
        j_scale=lambda m, K: 1.0,
    ),
    _mc(
        "se_delta_sign",
        (SE_DELTA, SE_COST),
        "the squared-error δ with its sign flipped ((y - a) instead of (a - y))",
        "平方误差的 δ 符号反了（(y - a) 而不是 (a - y)）",
        variant=_per_part(
            squaredErrorDelta=lambda case: -_se_delta(case),
            squaredErrorCostFunction=network_variant(Bug(output_sign=-1.0)),
        ),
    ),
    # -- numerical gradient --------------------------------------------------------------------------
    _mc(
        "numgrad_one_sided",
        ("computeNumericalGradient",),
        "one-sided (forward or backward) differences instead of central differences",
        "用了单侧（前向或后向）差分，而不是中心差分",
        ways=(lambda case: _numgrad(case, "forward"), lambda case: _numgrad(case, "backward")),
    ),
    _mc(
        "numgrad_over_e",
        ("computeNumericalGradient",),
        "central differences divided by e instead of 2e",
        "中心差分除以了 e，而不是 2e",
        variant=lambda case: _numgrad(case, "over_e"),
    ),
    _mc(
        "numgrad_theta_not_restored",
        ("computeNumericalGradient",),
        "θ perturbed in place (theta[p] += e) and never restored: every later component is "
        "estimated at a shifted θ",
        "在 theta 本身上做扰动（theta[p] += e）后没有复原：后面的每个分量都是在偏移了的 θ 处估计的",
        ways=(lambda case: _numgrad(case, "drift_down"), lambda case: _numgrad(case, "drift_up")),
    ),
    _mc(
        "numgrad_perturb_not_reset",
        ("computeNumericalGradient",),
        "the perturbation vector never reset to 0 after each parameter",
        "每算完一个参数后没有把扰动向量清零",
        variant=lambda case: _numgrad(case, "not_reset"),
    ),
    # -- predict ------------------------------------------------------------------------------------
    _mc(
        "predict_one_based",
        ("predict",),
        "predict returns labels 1..K (Octave's convention); here they are 0..K-1",
        "predict 返回了 1..K 的标签（Octave 的约定）；这里的标签是 0..K-1",
        variant=lambda case: _predict(case, offset=1),
    ),
    _mc(
        "predict_missing_bias",
        ("predict",),
        "predict ignores the bias unit (Θ's first column dropped instead of a column of ones added)",
        "predict 忽略了偏置单元（去掉了 Θ 的第一列，而不是给输入加一列 1）",
        ways=(
            lambda case: _predict(case, drop_bias=(0, 1)),
            lambda case: _predict(case, drop_bias=(0,)),
            lambda case: _predict(case, drop_bias=(1,)),
        ),
    ),
    # -- initialization -----------------------------------------------------------------------------
    _mc(
        "init_zero_to_eps",
        ("randInitializeWeights",),
        "weights drawn from [0, ε] instead of [-ε, ε]",
        "权重取自 [0, ε]，而不是 [-ε, ε]",
        matcher=_init_matcher(_init_zero_to_eps),
    ),
    _mc(
        "init_unscaled",
        ("randInitializeWeights",),
        "weights drawn from [0, 1) (rand without · 2ε - ε)",
        "权重取自 [0, 1)（rand 之后没有 · 2ε - ε）",
        matcher=_init_matcher(_init_unscaled),
    ),
    _mc(
        "init_no_bias_column",
        ("randInitializeWeights",),
        "weights without the bias column: shape (L_out, L_in) instead of (L_out, 1 + L_in)",
        "权重少了偏置列：形状是 (L_out, L_in)，而不是 (L_out, 1 + L_in)",
        matcher=_init_matcher(_init_no_bias),
    ),
    _mc(
        "init_transposed",
        ("randInitializeWeights",),
        "weights transposed: shape (1 + L_in, L_out) instead of (L_out, 1 + L_in)",
        "权重矩阵转置了：形状是 (1 + L_in, L_out)，而不是 (L_out, 1 + L_in)",
        matcher=_init_matcher(_init_transposed),
    ),
    _mc(
        "init_constant",
        ("randInitializeWeights",),
        "all weights equal (e.g. all zeros): the hidden units stay symmetric and never learn "
        "different features",
        "所有权重相同（例如全为 0）：隐藏单元始终对称，学不到不同的特征",
        matcher=_init_matcher(_init_constant),
    ),
    _mc(
        "init_gaussian",
        ("randInitializeWeights",),
        "weights drawn from a normal distribution ε·N(0, 1) instead of U[-ε, ε]",
        "权重取自正态分布 ε·N(0, 1)，而不是均匀分布 U[-ε, ε]",
        matcher=_init_matcher(_init_gaussian),
    ),
    _mc(
        "init_epsilon_ignored",
        ("randInitializeWeights",),
        "epsilon_init ignored: always ±0.12",
        "忽略了参数 epsilon_init：始终使用 ±0.12",
        matcher=_init_matcher(_init_epsilon_ignored),
    ),
    _mc(
        "init_reseeded",
        ("randInitializeWeights",),
        "the random generator reseeded inside randInitializeWeights (np.random.seed, "
        "default_rng(0)): every call returns the same weights",
        "在 randInitializeWeights 内部重新设定了随机种子（np.random.seed、default_rng(0)）："
        "每次调用都返回相同的权重",
        matcher=_init_reseeded,
    ),
    _mc(
        "init_grid",
        ("randInitializeWeights",),
        "an evenly spaced grid (np.linspace) instead of random weights",
        "用等间距网格（np.linspace）代替了随机权重",
        matcher=_init_matcher(_init_grid),
    ),
    # -- training -------------------------------------------------------------------------------------
    _mc(
        "gradient_ascent",
        ("gradientDescent",),
        "gradient ascent: Θ + α∇J instead of Θ - α∇J",
        "梯度上升：Θ + α∇J，而不是 Θ - α∇J",
        variant=lambda case: _descent(case, sign=-1.0),
    ),
    _mc(
        "history_after_step",
        ("gradientDescent",),
        "J_history[i] recorded after step i instead of before it (off by one)",
        "J_history[i] 记录的是第 i 步更新之后的代价，而不是之前的（差了一位）",
        variant=lambda case: _descent(case, history="after"),
    ),
    _mc(
        "history_extra_entry",
        ("gradientDescent",),
        "J_history with num_iters + 1 entries (the final cost appended)",
        "J_history 有 num_iters + 1 个元素（多加了最后的代价）",
        variant=lambda case: _descent(case, history="both"),
    ),
]


def by_tag() -> dict[str, Misconception]:
    """The catalogue keyed by tag (tags are unique)."""
    return {mc.tag: mc for mc in CATALOG}
