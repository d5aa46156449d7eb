"""Case generators for the logreg homework, computed by the trusted reference ``bpnet_ref.logistic``.

Each generator has the signature ``gen(rng, visibility, count) -> list[CaseDraft]``. Public cases are
small and fixed (θ = 0 gives ex2's J = log 2 ≈ 0.693147); hidden cases are drawn from the
per-student ``rng`` and always include the edge cases the misconceptions need: one example
(m = 1), labels given as a column (m, 1), θ₀ ≠ 0 with λ > 0 (a regularized θ₀ shows), λ = 0, and
for ``predict`` scores between 0 and 0.5 (a threshold on Xθ at 0.5 instead of 0 shows). Hidden
labels name the kind of case, never its values.
"""

from __future__ import annotations

import numpy as np

from autograder.cases import PUBLIC, CaseDraft
from bpnet_ref import logistic as ref
from bpnet_ref import sigmoid as ref_sigmoid

#: Largest |Xθ| of a cost case: the textbook formula log(h) is then still finite (h < 1 - 1e-13).
MAX_SCORE = 12.0


def _pick(seq, i):
    return seq[i % len(seq)]


def _labels(rng: np.random.Generator, m: int, column: bool = False) -> np.ndarray:
    y = rng.integers(0, 2, size=m)
    if m >= 2:  # both classes present
        y[:2] = [0, 1]
    y = y.astype(np.float64)
    return y.reshape(-1, 1) if column else y


def _design(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    """An (m, n) design matrix with the intercept column of ones first."""
    return np.column_stack([np.ones(m), rng.normal(0, 1.5, size=(m, n - 1))])


def _bounded_theta(rng: np.random.Generator, X: np.ndarray) -> np.ndarray:
    """θ with θ₀ clearly non-zero and every |Xθ| at most MAX_SCORE."""
    theta = rng.normal(0, 1.0, size=X.shape[1])
    theta[0] = rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)
    peak = float(np.max(np.abs(X @ theta)))
    return theta * min(1.0, MAX_SCORE / peak) if peak > 0 else theta


def _cost_draft(theta, X, y, lambda_: float | None, label: str) -> CaseDraft:
    args = [theta, X, y] if lambda_ is None else [theta, X, y, lambda_]
    lam = 0.0 if lambda_ is None else lambda_
    expected = ref.cost_function_reg(theta, X, y, lam)
    context = {"theta": theta, "X": X, "y": y, "lambda_": lam}
    return CaseDraft(args, expected, label, n_outputs=2, context=context)


# ---------------------------------------------------------------------------------------------
# sigmoid
# ---------------------------------------------------------------------------------------------


def sigmoid_cases(rng, visibility, count):
    if visibility == PUBLIC:
        public = [
            (np.array(0.0), "z = 0 (g = 0.5)"),
            (np.array([[-2.0, -0.5, 0.0], [0.5, 2.0, 40.0]]), "2x3 matrix"),
        ]
        return [CaseDraft([z], ref_sigmoid(z), label) for z, label in public[:count]]
    kinds = [
        (lambda: rng.normal(0, 3, size=int(rng.integers(3, 9))), "vector"),
        (lambda: rng.normal(0, 3, size=tuple(rng.integers(2, 6, size=2))), "matrix"),
        (
            lambda: np.concatenate(
                [rng.choice([-1, 1], size=5) * rng.uniform(30, 700, size=5), rng.normal(0, 2, 3)]
            ),
            "large |z|",
        ),
    ]
    drafts = []
    for i in range(count):
        make, label = _pick(kinds, i)
        z = make()
        drafts.append(CaseDraft([z], ref_sigmoid(z), f"hidden: {label}"))
    return drafts


# ---------------------------------------------------------------------------------------------
# costFunction and costFunctionReg
# ---------------------------------------------------------------------------------------------


def _public_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    X = _design(rng, 6, 3)
    return X, np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])


_HIDDEN_COST = [
    ((8, 20), (2, 5), False, "random data"),
    ((1, 1), (2, 4), False, "single example (m = 1)"),
    ((10, 30), (3, 7), True, "labels as a column (m, 1)"),
    ((5, 15), (2, 6), False, "more features"),
]


def cost_cases(rng, visibility, count):
    if visibility == PUBLIC:
        X, y = _public_data()
        drafts = [
            _cost_draft(np.zeros(3), X, y, None, "θ = 0 (J = log 2 ≈ 0.693147)"),
            _cost_draft(np.array([-0.5, 1.0, -0.8]), X, y, None, "θ = [-0.5, 1, -0.8], m = 6"),
        ]
        return drafts[:count]
    drafts = []
    for i in range(count):
        (m_lo, m_hi), (n_lo, n_hi), column, label = _pick(_HIDDEN_COST, i)
        m, n = int(rng.integers(m_lo, m_hi + 1)), int(rng.integers(n_lo, n_hi + 1))
        X = _design(rng, m, n)
        drafts.append(
            _cost_draft(
                _bounded_theta(rng, X), X, _labels(rng, m, column), None, f"hidden: {label}"
            )
        )
    return drafts


_HIDDEN_REG = [
    ((8, 20), (3, 7), 1.0, False, "λ > 0"),
    ((1, 1), (2, 4), 1.0, False, "single example (m = 1), λ > 0"),
    ((10, 25), (3, 6), 0.0, True, "λ = 0, labels as a column (m, 1)"),
    ((6, 15), (4, 8), 10.0, False, "large λ"),
]


def cost_reg_cases(rng, visibility, count):
    if visibility == PUBLIC:
        X, y = _public_data()
        theta = np.array([-0.5, 1.0, -0.8])
        drafts = [
            _cost_draft(theta, X, y, 1.0, "θ = [-0.5, 1, -0.8], m = 6, λ = 1"),
            _cost_draft(np.ones(3), X, y, 10.0, "θ = 1, m = 6, λ = 10"),
        ]
        return drafts[:count]
    drafts = []
    for i in range(count):
        (m_lo, m_hi), (n_lo, n_hi), lam, column, label = _pick(_HIDDEN_REG, i)
        m, n = int(rng.integers(m_lo, m_hi + 1)), int(rng.integers(n_lo, n_hi + 1))
        X = _design(rng, m, n)
        if lam > 0:
            lam = round(float(lam * rng.uniform(0.5, 2.0)), 3)
        theta = _bounded_theta(rng, X)
        drafts.append(_cost_draft(theta, X, _labels(rng, m, column), lam, f"hidden: {label}"))
    return drafts


# ---------------------------------------------------------------------------------------------
# mapFeature
# ---------------------------------------------------------------------------------------------


def _map_draft(x1, x2, degree: int | None, label: str) -> CaseDraft:
    kwargs = {} if degree is None else {"degree": degree}
    expected = ref.map_feature(x1, x2, 6 if degree is None else degree)
    context = {"x1": x1, "x2": x2, "degree": 6 if degree is None else degree}
    return CaseDraft([x1, x2], expected, label, kwargs=kwargs, context=context)


def map_feature_cases(rng, visibility, count):
    if visibility == PUBLIC:
        drafts = [
            _map_draft(np.array([0.5, -1.0]), np.array([2.0, 0.3]), None, "two points, degree 6"),
            _map_draft(np.array([1.5, -0.5, 2.0]), np.array([-1.0, 0.7, 0.4]), 2, "degree 2"),
        ]
        return drafts[:count]
    drafts = []
    for i in range(count):
        m = int(rng.integers(3, 12)) if i != 1 else 1
        x1, x2 = rng.uniform(-1.5, 1.5, size=m), rng.uniform(-1.5, 1.5, size=m)
        if i == 2:  # column vectors, as a student slicing X[:, [0]] passes them
            x1, x2 = x1.reshape(-1, 1), x2.reshape(-1, 1)
        degree = None if i == 0 else int(rng.integers(2, 6))
        kind = ["degree 6", "single point (m = 1)", "column vectors (m, 1)"][i % 3]
        drafts.append(_map_draft(x1, x2, degree, f"hidden: {kind}"))
    return drafts


# ---------------------------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------------------------


def _predict_draft(rng, m: int, n: int, label: str) -> CaseDraft:
    """θ and X with scores Xθ away from 0 (no ties) and some in (0, 0.5) (a misplaced threshold)."""
    X = _design(rng, m, n)
    theta = _bounded_theta(rng, X)
    z = X @ theta
    keep = np.abs(z) > 1e-6
    X, z = X[keep], z[keep]
    band = int(max(1, len(X) // 4))
    # Move the first rows' scores into (0, 0.5) by shifting their non-intercept features along θ.
    w = theta[1:]
    for r in range(min(band, len(X))):
        target = float(rng.uniform(0.05, 0.45))
        X[r, 1:] += (target - z[r]) * w / float(w @ w)
    return CaseDraft([theta, X], ref.predict(theta, X), label, context={"theta": theta, "X": X})


def predict_cases(rng, visibility, count):
    if visibility == PUBLIC:
        rng = np.random.default_rng(5)
        return [_predict_draft(rng, 12, 3, "m = 12, 3 parameters")][:count]
    shapes = [(20, 3, "random"), (1, 4, "single example (m = 1)"), (30, 6, "more features")]
    return [_predict_draft(rng, m, n, f"hidden: {k}") for m, n, k in shapes[:count]] + [
        _predict_draft(rng, 15, 3, "hidden: random") for _ in range(count - len(shapes))
    ]


# ---------------------------------------------------------------------------------------------
# Labels in Chinese
# ---------------------------------------------------------------------------------------------

_LABEL_PHRASES_ZH = [
    ("hidden", "隐藏用例"),
    ("single example", "单个样本"),
    ("single point", "单个点"),
    ("labels as a column", "标签为列向量"),
    ("column vectors", "列向量"),
    ("random data", "随机数据"),
    ("more features", "更多特征"),
    ("large λ", "较大的 λ"),
    ("large |z|", "较大的 |z|"),
    ("two points", "两个点"),
    ("degree", "次数"),
    ("matrix", "矩阵"),
    ("vector", "向量"),
    ("random", "随机"),
    ("parameters", "个参数"),
]


def localize_label(label: str, lang: str) -> str:
    """A case label in ``lang`` (labels are written in English; values stay as they are)."""
    if lang != "zh":
        return label
    for en, zh in _LABEL_PHRASES_ZH:
        label = label.replace(en, zh)
    return label
