"""Case generators for the backprop homework, computed by the trusted reference ``bpnet_ref``.

Each generator has the signature ``gen(rng, visibility, count) -> list[CaseDraft]``. Public cases are
small and fixed (two of them are the published ex4 values); hidden cases are drawn from the per-student
``rng`` and are arranged so that the edge cases (m = 1, K = 2, λ = 0 and λ > 0, large |z|, four layers)
always occur. Hidden labels name the kind of case, never its values.
"""

from __future__ import annotations

import time

import numpy as np

import bpnet_ref as ref
from autograder.cases import PUBLIC, CaseDraft
from autograder.harness.protocol import CallableSpec

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _pick(seq, i):
    return seq[i % len(seq)]


def _random_net(rng: np.random.Generator, layer_sizes: list[int], scale: float = 1.0):
    thetas = [rng.normal(0.0, scale, size=shape) for shape in ref.layer_shapes(layer_sizes)]
    return ref.unroll(thetas)


def _labels(rng: np.random.Generator, m: int, K: int, column: bool) -> np.ndarray:
    y = rng.integers(0, K, size=m)
    if m >= K:  # every class present, so no output unit is trivially unused
        y[:K] = rng.permutation(K)
    return y.reshape(-1, 1) if column else y


def _net_context(layer_sizes, nn_params, X, y, lambda_, loss="cross_entropy") -> dict:
    return {
        "layer_sizes": list(layer_sizes),
        "nn_params": nn_params,
        "X": X,
        "y": y,
        "lambda_": lambda_,
        "loss": loss,
    }


def _quadratic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A well-conditioned SPD quadratic plus a sine ripple (so differences are not exact)."""
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(rng.uniform(0.5, 2.0, size=n)) @ Q.T
    return (A + A.T) / 2, rng.normal(size=n), float(rng.uniform(0.1, 0.5))


def quadratic_cost(A: np.ndarray, b: np.ndarray, c: float):
    """The parent's twin of the worker's ``quadratic_cost_grad`` callable: J(t), ∇J(t)."""

    def cost(t: np.ndarray) -> tuple[float, np.ndarray]:
        t = np.asarray(t, dtype=float).ravel()
        J = 0.5 * t @ A @ t + b @ t + c * np.sum(np.sin(t))
        return float(J), A @ t + b + c * np.cos(t)

    return cost


# ---------------------------------------------------------------------------------------------
# Elementwise parts
# ---------------------------------------------------------------------------------------------

_EX4_Z = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])


def _z_cases(rng, visibility: str, count: int, fn) -> list[CaseDraft]:
    if visibility == PUBLIC:
        public = [
            (_EX4_Z, "ex4 vector z = [-1 -0.5 0 0.5 1]"),
            (np.array([[-3.0, 0.0, 2.0], [10.0, -10.0, 0.25]]), "2x3 matrix"),
        ]
        return [CaseDraft([z], fn(z), label) for z, label in public[:count]]
    kinds = [
        (lambda: rng.normal(0, 3, size=int(rng.integers(3, 9))), "vector"),
        (lambda: rng.normal(0, 3, size=tuple(rng.integers(2, 6, size=2))), "matrix"),
        # Large |z| (overflow in a naive exp), mixed with moderate z: on large |z| alone g'(z) < 1e-13,
        # below atol, so an all-zeros sigmoidGradient would pass.
        (
            lambda: np.concatenate(
                [rng.choice([-1, 1], size=7) * rng.uniform(30, 700, size=7), rng.normal(0, 2, 3)]
            ),
            "large |z|",
        ),
        (lambda: np.array(float(rng.normal(0, 2))), "0-d scalar"),
    ]
    drafts = []
    for i in range(count):
        make, label = _pick(kinds, i)
        z = make()
        drafts.append(CaseDraft([z], fn(z), f"hidden: {label}"))
    return drafts


def sigmoid_cases(rng, visibility, count):
    return _z_cases(rng, visibility, count, ref.sigmoid)


def sigmoid_gradient_cases(rng, visibility, count):
    return _z_cases(rng, visibility, count, ref.sigmoid_gradient)


def rand_init_cases(rng, visibility, count):
    sizes = [(400, 25, None), (25, 10, None)] if visibility == PUBLIC else []
    while len(sizes) < count:
        eps = None if len(sizes) % 2 == 0 else round(float(rng.uniform(0.05, 1.0)), 3)
        sizes.append((int(rng.integers(30, 100)), int(rng.integers(10, 30)), eps))
    drafts = []
    for L_in, L_out, eps in sizes[:count]:
        args = [L_in, L_out] if eps is None else [L_in, L_out, eps]
        expected = {"shape": (L_out, 1 + L_in), "epsilon": 0.12 if eps is None else eps}
        label = f"L_in={L_in}, L_out={L_out}" + ("" if eps is None else f", epsilon_init={eps}")
        label = label if visibility == PUBLIC else "hidden: sizes"
        # Called twice: random weights differ from one call to the next (a reseeded generator
        # gives the same ones); the check gets both.
        drafts.append(CaseDraft(args, expected, label, calls=2))
    return drafts


# ---------------------------------------------------------------------------------------------
# Cost and gradient, three layers (ex4's nnCostFunction)
# ---------------------------------------------------------------------------------------------


def _mosher_case(lambda_: float) -> tuple[np.ndarray, list[int], np.ndarray, np.ndarray]:
    """Tom Mosher's ex4 forum case: nn = (1:18)/10 unrolled column-major by Octave."""
    layer_sizes = [2, 2, 4]
    octave = np.arange(1, 19) / 10.0
    nn_params = ref.from_octave_order(octave, layer_sizes)
    X = np.cos(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    y = np.array([4, 2, 3]) - 1  # Octave's 1-based labels → 0..K-1
    return nn_params, layer_sizes, X, y


def _three_layer_draft(nn_params, layer_sizes, X, y, lambda_, label) -> CaseDraft:
    il, hl, K = layer_sizes
    J, grad = ref.nn_cost_function(nn_params, layer_sizes, X, y, lambda_)
    return CaseDraft(
        args=[nn_params, il, hl, K, X, y, lambda_],
        expected=(J, grad),
        label=label,
        n_outputs=2,
        context=_net_context(layer_sizes, nn_params, X, y, lambda_),
    )


_HIDDEN_3_LAYER = [
    # (m range, K choices, lambda > 0?, label, column y)
    ((4, 12), (3, 4, 5), False, "λ = 0", False),
    ((4, 12), (3, 4, 6), True, "λ > 0", True),
    ((1, 1), (3, 4), True, "single example (m = 1), λ > 0", False),
    ((3, 9), (2,), True, "binary output (K = 2), λ > 0", True),
    ((5, 15), (4, 7, 10), True, "larger network, λ > 0", False),
]


def nn_cost_cases(rng, visibility, count, *, timed=False):
    """nnCostFunction's cases; the last hidden one is the large speed case (timed only if ``timed``).

    nnCost and nnGrad draw the same cases from the same seed, so they share one call per case; only
    nnGrad's copy of the speed case carries the time limit (a slow *gradient* is the mistake).
    """
    if visibility == PUBLIC:
        drafts = []
        for lam in (0.0, 4.0):
            nn, sizes, X, y = _mosher_case(lam)
            drafts.append(
                _three_layer_draft(nn, sizes, X, y, lam, f"ex4 forum case 2-2-4, m=3, λ={lam:g}")
            )
        return drafts[:count]
    drafts = []
    for i in range(count - 1):
        (m_lo, m_hi), Ks, reg, label, column = _pick(_HIDDEN_3_LAYER, i)
        sizes = [int(rng.integers(2, 9)), int(rng.integers(2, 8)), int(rng.choice(Ks))]
        m = int(rng.integers(m_lo, m_hi + 1))
        nn = _random_net(rng, sizes)
        X = rng.normal(0, 1, size=(m, sizes[0]))
        y = _labels(rng, m, sizes[-1], column)
        lam = round(float(rng.uniform(0.3, 3.0)), 3) if reg else 0.0
        drafts.append(_three_layer_draft(nn, sizes, X, y, lam, f"hidden: {label}"))
    return drafts + [_speed_draft(rng, SPEED_3_LAYER, timed, three_layer=True)]


def nn_grad_cases(rng, visibility, count):
    """nnGrad: nnCost's cases, with the speed case timed."""
    return nn_cost_cases(rng, visibility, count, timed=True)


# ---------------------------------------------------------------------------------------------
# The speed case: backpropagation, not finite differences
# ---------------------------------------------------------------------------------------------

# Finite differences need 2N cost evaluations, each 60–350 µs in a student's numpy code (N ≈ 4,600
# and 3,300 weights here): 0.4–3 s, inside this call's own SPEED_TIMEOUT_S (beyond it the case is a
# timeout, which loses the points all the same). Backprop needs one forward and one backward pass: the
# reference takes ~0.3 ms, a vectorized or per-example-loop submission ~1–5 ms, pure-Python scalar
# loops ~20 ms. The limit sits between the two worlds, with a margin of 10x on the correct side.
SPEED_3_LAYER = [180, 24, 10]
SPEED_DEEP = [100, 25, 20, 10]
SPEED_M = 8
SPEED_FLOOR_S = 0.25  # never stricter than this, whatever the reference's speed
SPEED_FACTOR = 50  # × the reference's own time on the case, for a slow or loaded grading machine
SPEED_TIMEOUT_S = 10.0  # long enough to tell "slow" (finite differences) from "hangs"


def _speed_draft(rng, sizes: list[int], timed: bool, three_layer: bool) -> CaseDraft:
    """A large network with few examples: cheap for backprop, ruinous for finite differences.

    Inputs look like ex4's: pixel-like X in [0, 1] and small weights (like randInitializeWeights),
    so no output saturates and a student's plain ``log(h)`` stays finite.
    """
    nn = _random_net(rng, sizes, scale=0.1)
    X = rng.uniform(0.0, 1.0, size=(SPEED_M, sizes[0]))
    y = _labels(rng, SPEED_M, sizes[-1], column=False)
    lam = round(float(rng.uniform(0.3, 3.0)), 3)
    label = "hidden: large network" + (
        ", timed (backpropagation, not finite differences)" if timed else ""
    )
    if three_layer:
        draft = _three_layer_draft(nn, sizes, X, y, lam, label)
    else:
        J, grad = ref.nn_cost_function(nn, sizes, X, y, lam)
        draft = CaseDraft(
            args=[nn, list(sizes), X, y, lam],
            expected=(J, grad),
            label=label,
            n_outputs=2,
            context=_net_context(sizes, nn, X, y, lam),
        )
    draft.timeout = SPEED_TIMEOUT_S  # nnCost and nnGrad share this call: both copies carry it
    if timed:
        draft.time_limit = _time_limit(nn, sizes, X, y, lam)
    return draft


def _time_limit(nn, sizes, X, y, lam) -> float:
    """``SPEED_FACTOR`` × the reference's time on the case, never below ``SPEED_FLOOR_S``.

    One timed call settles it where the floor wins by a wide margin, as on any ordinary machine;
    only a slow one is timed best-of-five. (Every grading builds two timed cases.)
    """
    if SPEED_FACTOR * _reference_seconds(nn, sizes, X, y, lam, repeats=1) <= SPEED_FLOOR_S / 2:
        return SPEED_FLOOR_S
    return max(SPEED_FLOOR_S, SPEED_FACTOR * _reference_seconds(nn, sizes, X, y, lam))


def _reference_seconds(nn, sizes, X, y, lam, repeats: int = 5) -> float:
    """Best-of-``repeats`` wall time of the reference on the case (after one warm-up call)."""
    ref.nn_cost_function(nn, sizes, X, y, lam)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ref.nn_cost_function(nn, sizes, X, y, lam)
        best = min(best, time.perf_counter() - start)
    return best


# ---------------------------------------------------------------------------------------------
# Any depth, and the squared-error variant
# ---------------------------------------------------------------------------------------------

_HIDDEN_DEEP = [
    ([3, 5, 4, 3], True, "4-layer network (the lecture's picture), λ > 0"),
    ([4, 3], False, "no hidden layer (L = 2), λ = 0"),
    ([3, 4, 4, 3, 2], True, "5-layer network, K = 2, λ > 0"),
    ([5, 6, 3], False, "3-layer network, λ = 0"),
]


def _deep_draft(rng, sizes, lambda_, m, label, loss="cross_entropy") -> CaseDraft:
    nn = _random_net(rng, sizes)
    X = rng.normal(0, 1, size=(m, sizes[0]))
    y = _labels(rng, m, sizes[-1], column=bool(rng.integers(0, 2)))
    J, grad = ref.nn_cost_function(nn, sizes, X, y, lambda_, loss=loss)
    args = [nn, list(sizes), X, y] + ([lambda_] if loss == "cross_entropy" else [])
    return CaseDraft(
        args=args,
        expected=(J, grad),
        label=label,
        n_outputs=2,
        context=_net_context(sizes, nn, X, y, lambda_, loss),
    )


def _jitter(rng, sizes: list[int]) -> list[int]:
    return [max(2, s + int(rng.integers(-1, 2))) for s in sizes]


def deep_cases(rng, visibility, count):
    if visibility == PUBLIC:
        rng = np.random.default_rng(4)
        return [_deep_draft(rng, [3, 5, 4, 3], 1.0, 5, "4-layer 3-5-4-3, m=5, λ=1")][:count]
    drafts = []
    for i in range(count - 1):
        sizes, reg, label = _pick(_HIDDEN_DEEP, i)
        lam = round(float(rng.uniform(0.3, 3.0)), 3) if reg else 0.0
        m = int(rng.integers(1 if i == 3 else 3, 10))
        drafts.append(_deep_draft(rng, _jitter(rng, sizes), lam, m, f"hidden: {label}"))
    return drafts + [_speed_draft(rng, SPEED_DEEP, timed=True, three_layer=False)]


def squared_error_delta_cases(rng, visibility, count):
    if visibility == PUBLIC:
        rng = np.random.default_rng(5)
    drafts = []
    for i in range(count):
        m, K = int(rng.integers(1, 8)), int(rng.integers(2, 6))
        a = rng.uniform(0.01, 0.99, size=(m, K))
        Y = ref.one_hot(rng.integers(0, K, size=m), K) if i % 2 == 0 else rng.uniform(size=(m, K))
        kind = "one-hot Y" if i % 2 == 0 else "soft targets Y"
        label = f"m={m}, K={K}, {kind}" if visibility == PUBLIC else f"hidden: {kind}"
        drafts.append(CaseDraft([a, Y], ref.output_delta(a, Y, "squared_error"), label))
    return drafts


_HIDDEN_SQUARED = [
    ([3, 4, 3], "3-layer network"),
    ([3, 4, 4, 2], "4-layer network, K = 2"),
    ([4, 5, 3], "3-layer network, single example (m = 1)"),
]


def squared_error_cost_cases(rng, visibility, count):
    if visibility == PUBLIC:
        rng = np.random.default_rng(6)
        return [_deep_draft(rng, [3, 4, 3], 0.0, 4, "3-4-3, m=4", "squared_error")][:count]
    drafts = []
    for i in range(count):
        sizes, label = _pick(_HIDDEN_SQUARED, i)
        m = 1 if "m = 1" in label else int(rng.integers(3, 10))
        drafts.append(
            _deep_draft(rng, _jitter(rng, sizes), 0.0, m, f"hidden: {label}", "squared_error")
        )
    return drafts


# ---------------------------------------------------------------------------------------------
# Gradient checking, prediction, gradient descent
# ---------------------------------------------------------------------------------------------


def numerical_gradient_cases(rng, visibility, count):
    """Central differences of a quadratic; every other case's J returns ``(cost, grad)``.

    That is how gradient checking calls it (ex4's checkNNGradients, and the handout's, pass
    ``nnCostFunction``, and ex4's computeNumericalGradient keeps J's first output), so the
    docstring's promise that J may return ``(cost, grad)`` is graded too.
    """
    if visibility == PUBLIC:
        rng = np.random.default_rng(7)
    drafts = []
    for i in range(count):
        n = int(rng.integers(3, 9))
        A, b, c = _quadratic(rng, n)
        theta = rng.normal(size=n)
        e = 1e-4 if i % 2 == 0 else 1e-3
        f = lambda t, A=A, b=b, c=c: quadratic_cost(A, b, c)(t)[0]  # noqa: E731
        expected = ref.numerical_gradient(f, theta, e)
        kind = "quadratic" if i % 2 == 0 else "quadratic_cost_grad"
        J = CallableSpec(kind, {"A": A, "b": b, "c": c})
        args = [J, theta] if e == 1e-4 else [J, theta, e]
        label = f"quadratic + sine ripple, n={n}, e={e:g}" + (
            "" if kind == "quadratic" else ", J returns (cost, grad)"
        )
        label = label if visibility == PUBLIC else "hidden"
        drafts.append(
            CaseDraft(
                args, expected, label, context={"A": A, "b": b, "c": c, "theta": theta, "e": e}
            )
        )
    return drafts


def predict_cases(rng, visibility, count):
    if visibility == PUBLIC:
        rng = np.random.default_rng(8)
    drafts = []
    for i in range(count):
        sizes = [
            int(rng.integers(2, 8)),
            int(rng.integers(2, 8)),
            2 if i == 1 else int(rng.integers(3, 8)),
        ]
        Theta1, Theta2 = ref.roll(_random_net(rng, sizes, scale=2.0), sizes)
        X = rng.normal(0, 1, size=(int(rng.integers(1 if i == 2 else 5, 25)), sizes[0]))
        X = _without_near_ties(X, [Theta1, Theta2])
        expected = ref.predict([Theta1, Theta2], X)
        label = (
            f"{sizes[0]}-{sizes[1]}-{sizes[2]}, m={len(X)}" if visibility == PUBLIC else "hidden"
        )
        drafts.append(
            CaseDraft(
                [Theta1, Theta2, X], expected, label, context={"thetas": [Theta1, Theta2], "X": X}
            )
        )
    return drafts


def _without_near_ties(X: np.ndarray, thetas) -> np.ndarray:
    """Drop rows whose two best outputs are within 1e-6: argmax there depends on rounding."""
    h = np.sort(ref.forward(thetas, X).a[-1], axis=1)
    keep = (h[:, -1] - h[:, -2]) > 1e-6
    return X[keep] if keep.any() else X[:1]


def gradient_descent_cases(rng, visibility, count):
    if visibility == PUBLIC:
        rng = np.random.default_rng(9)
    drafts = []
    for _ in range(count):
        n = int(rng.integers(2, 7))
        A, b, c = _quadratic(rng, n)
        theta0 = rng.normal(size=n)
        alpha = round(float(rng.uniform(0.05, 0.3)), 3)
        iters = int(rng.integers(5, 25))
        expected = _descend(quadratic_cost(A, b, c), theta0, alpha, iters)
        spec = CallableSpec("quadratic_cost_grad", {"A": A, "b": b, "c": c})
        label = f"n={n}, alpha={alpha}, num_iters={iters}" if visibility == PUBLIC else "hidden"
        drafts.append(
            CaseDraft(
                [spec, theta0, alpha, iters],
                expected,
                label,
                n_outputs=2,
                context={"A": A, "b": b, "c": c, "theta0": theta0, "alpha": alpha, "iters": iters},
            )
        )
    return drafts


def _descend(cost, theta0: np.ndarray, alpha: float, iters: int):
    """The lecture's update Θ := Θ − η ∇J, with J_history[i] the cost before step i."""
    theta = theta0.astype(float).copy()
    history = np.empty(iters)
    for i in range(iters):
        history[i], grad = cost(theta)
        theta = theta - alpha * grad
    return theta, history


# ---------------------------------------------------------------------------------------------
# Case labels in Chinese
# ---------------------------------------------------------------------------------------------

# Phrases of the labels above, longest first so that a phrase is replaced before its parts.
_LABEL_PHRASES_ZH = [
    (
        ", timed (backpropagation, not finite differences)",
        "，计时（应使用反向传播，而不是数值差分）",
    ),
    ("4-layer network (the lecture's picture)", "4 层网络（课件中的网络）"),
    ("single example (m = 1)", "单个样本 (m = 1)"),
    ("binary output (K = 2)", "二分类输出 (K = 2)"),
    ("no hidden layer (L = 2)", "无隐藏层 (L = 2)"),
    (", J returns (cost, grad)", "，J 返回 (cost, grad)"),
    ("quadratic + sine ripple", "二次函数 + 正弦扰动"),
    ("ex4 forum case", "ex4 论坛用例"),
    ("ex4 vector", "ex4 向量"),
    ("larger network", "较大的网络"),
    ("large network", "大型网络"),
    ("-layer network", " 层网络"),
    ("soft targets Y", "软目标 Y"),
    ("one-hot Y", "独热编码 Y"),
    ("large |z|", "较大的 |z|"),
    ("0-d scalar", "0 维标量"),
    ("-layer ", " 层 "),
    ("hidden: ", "隐藏用例："),
    ("hidden", "隐藏用例"),
    ("sizes", "尺寸"),
    ("vector", "向量"),
    ("matrix", "矩阵"),
]


def localize_label(label: str, lang: str) -> str:
    """A case label in ``lang`` (labels are written in English; values stay as they are)."""
    if lang != "zh":
        return label
    for en, zh in _LABEL_PHRASES_ZH:
        label = label.replace(en, zh)
    return label
