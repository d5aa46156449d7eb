"""Logistic regression, the lecture's first formula (Andrew Ng's ex2): the trusted reference of the
``logreg`` homework.

The network's cost J generalizes this one: a network without hidden layers and with one output
unit *is* logistic regression. Conventions (those of the homework): ``X`` is ``(m, n)`` with the
intercept column of ones already added when the model has one, ``theta`` is ``(n,)``, labels ``y``
are 0/1 of shape ``(m,)`` or ``(m, 1)``, and θ₀ (the intercept) is never regularized.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .activations import log_sigmoid, sigmoid

__all__ = [
    "cost_function",
    "cost_function_reg",
    "map_feature",
    "map_feature_terms",
    "predict",
    "train",
]


def _inputs(theta: ArrayLike, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, ...]:
    theta = np.asarray(theta, dtype=float).ravel()
    X = np.atleast_2d(np.asarray(X, dtype=float))
    y = np.asarray(y, dtype=float).ravel()
    if X.shape != (y.size, theta.size):
        raise ValueError(f"X is {X.shape}, expected (m, n) = ({y.size}, {theta.size})")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels y must be 0 or 1")
    return theta, X, y


def cost_function(theta: ArrayLike, X: ArrayLike, y: ArrayLike) -> tuple[float, np.ndarray]:
    """Cross-entropy cost and gradient of logistic regression.

    J(θ) = (1/m) Σ [-y log h - (1 - y) log(1 - h)],  ∇J = (1/m) Xᵀ(h - y),  h = g(Xθ).

    Parameters
    ----------
    theta : array_like, (n,)
    X : array_like, (m, n)
    y : array_like, (m,) or (m, 1), of 0/1

    Returns
    -------
    J : float
    grad : ndarray, (n,)
    """
    return cost_function_reg(theta, X, y, 0.0)


def cost_function_reg(
    theta: ArrayLike, X: ArrayLike, y: ArrayLike, lambda_: float
) -> tuple[float, np.ndarray]:
    """Regularized cost and gradient: ``cost_function`` plus λ/(2m) Σ_{j≥1} θⱼ² and λ/m θⱼ (j ≥ 1).

    Computed through log g(z), so that a confident, correct prediction costs ~0 instead of
    ``log(0)``.
    """
    theta, X, y = _inputs(theta, X, y)
    m = y.size
    z = X @ theta
    J = float(-(y @ log_sigmoid(z) + (1.0 - y) @ log_sigmoid(-z)) / m)
    grad = X.T @ (sigmoid(z) - y) / m
    reg = theta.copy()
    reg[0] = 0.0  # θ₀ is not regularized
    return J + lambda_ / (2 * m) * float(reg @ reg), grad + lambda_ / m * reg


def map_feature_terms(degree: int = 6) -> list[tuple[int, int]]:
    """The exponents ``(i - j, j)`` of ``x1^(i-j) x2^j`` in ex2's order: i = 0..degree, j = 0..i."""
    return [(i - j, j) for i in range(degree + 1) for j in range(i + 1)]


def map_feature(x1: ArrayLike, x2: ArrayLike, degree: int = 6) -> np.ndarray:
    """ex2's polynomial features of two inputs, the column of ones first.

    Parameters
    ----------
    x1, x2 : array_like, (m,) or (m, 1) (or scalars)
    degree : int

    Returns
    -------
    ndarray, (m, (degree + 1)(degree + 2) / 2)
        Columns 1, x1, x2, x1², x1·x2, x2², x1³, …, x2^degree.
    """
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    return np.column_stack([x1**a * x2**b for a, b in map_feature_terms(degree)])


def predict(theta: ArrayLike, X: ArrayLike) -> np.ndarray:
    """0/1 predictions: 1 where g(Xθ) ≥ 0.5, i.e. where Xθ ≥ 0."""
    theta = np.asarray(theta, dtype=float).ravel()
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return (X @ theta >= 0).astype(np.int64)


def train(X: ArrayLike, y: ArrayLike, lambda_: float = 0.0, *, max_iter: int = 400) -> np.ndarray:
    """θ minimizing ``cost_function_reg`` from zeros, with scipy's BFGS (ex2's fminunc).

    Raises
    ------
    ImportError
        Without scipy.
    """
    from scipy.optimize import minimize

    X = np.atleast_2d(np.asarray(X, dtype=float))
    result = minimize(
        lambda t: cost_function_reg(t, X, y, lambda_),
        np.zeros(X.shape[1]),
        jac=True,
        method="BFGS",
        options={"maxiter": max_iter},
    )
    return result.x
