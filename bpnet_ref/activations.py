"""The sigmoid g(z) = 1 / (1 + e^(-z)), its derivative, and its logarithm.

All three are numerically safe for any finite z (no overflow warnings, no log(0)).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike

F = TypeVar("F", bound=Callable)


def ignore_underflow(fn: F) -> F:
    """Run ``fn`` with numpy's underflow flag ignored.

    Underflow to 0 is the correct result here (g(-800) is 0.0 in float64); this
    keeps the library quiet even under ``np.seterr(all="raise")``. Overflow,
    division by zero and invalid operations are left to the caller's settings.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(under="ignore"):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@ignore_underflow
def sigmoid(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function g(z) = 1 / (1 + exp(-z)), elementwise.

    Evaluated as written, which keeps full relative precision for tiny values such as
    ``sigmoid(-40)`` (within 2 ulp of the exact value for z >= -708). Below that, g(z) is
    subnormal and equal to e^z to rounding, while exp(-z) becomes huge or overflows to inf
    (expected, and silenced: ``sigmoid(-1e6)`` is 0.0 and ``sigmoid(1e6)`` is 1.0 without
    warnings); those few entries are recomputed as e^z.

    All steps write into one buffer (``out``, which may be ``z`` itself): in the cost kernel z
    is (hidden units x m), and each temporary of that size would cost as much as a step.

    Parameters
    ----------
    z : array_like, any shape
    out : ndarray, optional
        Where to write the result (same shape as ``z``; ``z`` itself is allowed).

    Returns
    -------
    g : ndarray of float64, same shape as ``z``, values in [0, 1]
    """
    z = np.asarray(z, dtype=np.float64)
    tail = z < -708.0  # found before out, which may be z, is overwritten
    e_tail = np.exp(z[tail]) if tail.any() else None
    if out is None:
        out = np.empty_like(z)
    np.negative(z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    np.divide(1.0, out, out=out)
    if e_tail is not None:
        out[tail] = e_tail
    return out if out.ndim else out[()]


@ignore_underflow
def sigmoid_gradient(z: ArrayLike) -> np.ndarray:
    """Derivative of the sigmoid, g'(z) = g(z) (1 - g(z)), elementwise.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    dg : ndarray of float64, same shape as ``z``, values in [0, 0.25]
        ``sigmoid_gradient(0) == 0.25``; far from 0 it underflows gracefully to 0.

    Examples
    --------
    >>> sigmoid_gradient([-1, -0.5, 0, 0.5, 1]).round(6)
    array([0.196612, 0.235004, 0.25    , 0.235004, 0.196612])
    """
    g = sigmoid(z)
    return g * (1.0 - g)


@ignore_underflow
def log_sigmoid(z: ArrayLike) -> np.ndarray:
    """log g(z) = -log(1 + exp(-z)), computed without forming g(z).

    ``log(1 - g(z))`` is ``log_sigmoid(-z)``. Cross-entropy is written with these
    instead of ``log(h)``: when h rounds to exactly 0 or 1 in float64 (|z| > ~37),
    ``log(h)`` would give -inf and a warning, while this stays exact and finite.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    out : ndarray of float64, same shape as ``z``, values <= 0
    """
    # logaddexp(0, -z) = log(e^0 + e^-z), evaluated stably by numpy.
    return -np.logaddexp(0.0, -np.asarray(z, dtype=np.float64))
