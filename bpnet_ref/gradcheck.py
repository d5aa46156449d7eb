"""Numerical gradients by central differences, and ex4's gradient check."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .network import nn_cost_function
from .params import debug_initialize_weights, unroll
from .validation import check_layer_sizes


def numerical_gradient(
    f: Callable[[np.ndarray], object], theta: ArrayLike, eps: float = 1e-4
) -> np.ndarray:
    """Central-difference gradient (J(theta + eps e_p) - J(theta - eps e_p)) / (2 eps).

    Parameters
    ----------
    f : callable
        ``f(theta)`` returns the cost J, or a tuple whose first element is J
        (so a ``(J, grad)`` cost function works as is). Called 2N times, each time
        with a fresh array; ``theta`` itself is never modified.
    theta : (N,) array_like
    eps : float, default 1e-4
        Perturbation; ex4 uses 1e-4 (error O(eps^2) from truncation, O(1e-16/eps) from rounding).

    Returns
    -------
    numgrad : (N,) ndarray of float64
    """
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"theta must be a 1-D parameter vector, got shape {theta.shape}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    numgrad = np.empty_like(theta)
    for p in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[p] += eps
        minus[p] -= eps
        numgrad[p] = (_cost(f(plus)) - _cost(f(minus))) / (2.0 * eps)
    return numgrad


def _cost(value: object) -> float:
    return float(value[0] if isinstance(value, tuple) else value)


def relative_difference(a: ArrayLike, b: ArrayLike) -> float:
    """ex4's measure ``norm(a - b) / norm(a + b)``.

    Both zero gives 0.0; ``a == -b != 0`` (e.g. a gradient with the wrong sign) gives inf.

    Parameters
    ----------
    a, b : array_like of the same shape
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    num, denom = np.linalg.norm(a - b), np.linalg.norm(a + b)
    if denom == 0.0:
        # a == -b: identical only if both are zero; a sign-flipped gradient must fail.
        return 0.0 if num == 0.0 else float("inf")
    return float(num / denom)


def gradient_check(
    f: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: ArrayLike, eps: float = 1e-4
) -> float:
    """Compare an analytic gradient with central differences.

    Parameters
    ----------
    f : callable
        ``f(theta) -> (J, grad)`` with ``grad`` of shape ``(N,)``.
    theta : (N,) array_like
        Point at which to check.
    eps : float, default 1e-4

    Returns
    -------
    diff : float
        ``norm(numgrad - grad) / norm(numgrad + grad)``; ex4 passes when it is < 1e-9.
    """
    _, grad = f(np.asarray(theta, dtype=np.float64).copy())
    return relative_difference(numerical_gradient(f, theta, eps), grad)


def check_nn_gradients(
    lambda_: float = 0.0,
    loss: str = "cross_entropy",
    layer_sizes: Sequence[int] = (3, 5, 3),
    m: int = 5,
) -> float:
    """ex4's ``checkNNGradients``: gradient check on a small deterministic network.

    Weights are ``debug_initialize_weights`` for every layer, ``X =
    debug_initialize_weights(m, s_1 - 1)`` and labels ``y = 1 + mod(1:m, K)``
    shifted to 0-based, i.e. ``y = (1..m) % K``.

    Parameters
    ----------
    lambda_ : float, default 0.0 (ex4 checks 0 and 3)
    loss : {"cross_entropy", "squared_error"}
    layer_sizes : sequence of int, default (3, 5, 3) as in ex4
    m : int, default 5

    Returns
    -------
    diff : float
        Relative difference of :func:`gradient_check`; ex4's standard is < 1e-9.
    """
    sizes = check_layer_sizes(layer_sizes)
    thetas = [
        debug_initialize_weights(s_out, s_in)
        for s_in, s_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    X = debug_initialize_weights(m, sizes[0] - 1)
    y = np.arange(1, m + 1) % sizes[-1]

    def cost(p: np.ndarray) -> tuple[float, np.ndarray]:
        return nn_cost_function(p, sizes, X, y, lambda_, loss)

    return gradient_check(cost, unroll(thetas))
