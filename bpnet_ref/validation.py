"""Input checks shared by the public functions.

Every public entry point of :mod:`bpnet_ref` validates its inputs here, so that
bad input fails with a ``ValueError`` naming the problem instead of a numpy
broadcasting error three calls deeper. The helpers return cleaned ``float64``
arrays so the numerical code can assume well-formed data.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

LOSSES = ("cross_entropy", "squared_error")


def check_layer_sizes(layer_sizes: Sequence[int]) -> tuple[int, ...]:
    """Return ``layer_sizes`` as a tuple of positive ints, or raise ``ValueError``.

    Parameters
    ----------
    layer_sizes : sequence of int, length L >= 2
        Units per layer, input first, bias units not counted (ex4: ``(400, 25, 10)``).
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, (Sequence, np.ndarray)):
        raise ValueError(
            f"layer_sizes must be a sequence of ints such as (400, 25, 10), got {layer_sizes!r}"
        )
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes needs at least 2 layers (input and output), got {len(sizes)}: {sizes}"
        )
    for i, s in enumerate(sizes):
        # bool is an Integral too; True as a layer size is always a mistake.
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise ValueError(f"layer_sizes[{i}] must be an int, got {s!r} in {sizes}")
        if s < 1:
            raise ValueError(f"layer_sizes[{i}] must be >= 1, got {s} in {sizes}")
    return tuple(int(s) for s in sizes)


def check_params(nn_params: ArrayLike, layer_sizes: tuple[int, ...], n_expected: int) -> np.ndarray:
    """Return ``nn_params`` as a finite 1-D float64 vector of length ``n_expected``.

    A column or row vector (Octave's ``nn_params`` is ``(n, 1)``) is accepted and flattened.
    """
    p = np.asarray(nn_params, dtype=np.float64)
    if p.ndim == 2 and 1 in p.shape:
        p = p.reshape(-1)
    if p.ndim != 1:
        raise ValueError(f"nn_params must be a 1-D vector, got an array of shape {p.shape}")
    if p.size != n_expected:
        raise ValueError(
            f"nn_params has {p.size} elements but layer_sizes {list(layer_sizes)} "
            f"needs {n_expected} (sum of (s_l + 1) * s_(l+1))"
        )
    _check_finite(p, "nn_params")
    return p


def check_X(X: ArrayLike, n_inputs: int) -> np.ndarray:
    """Return ``X`` as a finite ``(m, n_inputs)`` float64 array, or raise ``ValueError``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array of shape (m, {n_inputs}) (one example per row), "
            f"got shape {X.shape}"
        )
    if X.shape[0] < 1:
        raise ValueError("X has no rows (m = 0); need at least one example")
    if X.shape[1] != n_inputs:
        raise ValueError(
            f"X has {X.shape[1]} columns but the input layer has {n_inputs} units "
            f"(do not add the bias column yourself)"
        )
    _check_finite(X, "X")
    return X


def check_targets(y: ArrayLike, m: int, K: int) -> np.ndarray:
    """Return the ``(m, K)`` float64 target matrix for labels or targets ``y``.

    Parameters
    ----------
    y : array_like
        One of

        - integer labels 0..K-1 of shape ``(m,)`` or ``(m, 1)``;
        - an ``(m, K)`` target matrix with entries in [0, 1] (one-hot or soft).

        With a single output unit (K = 1) a label is meaningless, so ``(m,)`` and
        ``(m, 1)`` are read as targets in [0, 1] (binary logistic regression).
    m, K : int
        Number of examples and of output units.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric labels or targets, got dtype {y.dtype}")
    if K == 1 and y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim == 2 and y.shape[1] == K:
        return _check_target_matrix(y, m, K)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ValueError(
            f"y must be labels of shape ({m},) or ({m}, 1), or a target matrix of shape "
            f"({m}, {K}); got shape {y.shape}"
        )
    return one_hot(y, K, m=m)


def _check_target_matrix(Y: np.ndarray, m: int, K: int) -> np.ndarray:
    if Y.shape[0] != m:
        raise ValueError(f"y has {Y.shape[0]} rows but X has {m} examples")
    Y = Y.astype(np.float64)
    _check_finite(Y, "y")
    if Y.min() < 0.0 or Y.max() > 1.0:
        raise ValueError(
            f"target matrix y must have entries in [0, 1], got range "
            f"[{Y.min():g}, {Y.max():g}] (labels belong in a (m,) vector, not (m, {K}))"
        )
    return Y


def one_hot(y: ArrayLike, K: int, *, m: int | None = None) -> np.ndarray:
    """Turn integer labels into the ``(m, K)`` one-hot target matrix.

    Row i has a 1 in column ``y[i]`` (label k -> column k, 0-based, as in the
    Python port of ex4; Octave's label 10 for digit 0 must be mapped to 0 first).

    Parameters
    ----------
    y : (m,) or (m, 1) array_like of int
        Labels in 0..K-1. Floats are accepted if they hold whole numbers.
    K : int
        Number of classes (output units).
    m : int, optional
        Expected number of labels; checked if given.

    Returns
    -------
    Y : (m, K) ndarray of float64
    """
    if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K (number of classes) must be a positive int, got {K!r}")
    labels = check_labels(y, K, m=m)
    Y = np.zeros((labels.size, K), dtype=np.float64)
    Y[np.arange(labels.size), labels] = 1.0
    return Y


def check_labels(y: ArrayLike, K: int, *, m: int | None = None) -> np.ndarray:
    """Return labels as a 1-D int64 array in 0..K-1, or raise ``ValueError``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ValueError(f"labels must have shape (m,) or (m, 1), got shape {y.shape}")
    if m is not None and y.size != m:
        raise ValueError(f"y has {y.size} labels but X has {m} examples")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"labels must be integers 0..{K - 1}, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        _check_finite(y, "y")
        if np.any(y != np.round(y)):
            bad = y[y != np.round(y)][0]
            raise ValueError(f"labels must be whole numbers 0..{K - 1}, got {bad!r}")
    labels = y.astype(np.int64)
    out = (labels < 0) | (labels >= K)
    if np.any(out):
        i = int(np.flatnonzero(out)[0])
        hint = " (Octave-style 1..K labels? map them to 0..K-1)" if labels[i] == K else ""
        raise ValueError(
            f"label {labels[i]} at index {i} is out of range 0..{K - 1} for {K} output units{hint}"
        )
    return labels


def check_lambda(lambda_: float) -> float:
    """Return ``lambda_`` as a finite float >= 0, or raise ``ValueError``."""
    if isinstance(lambda_, bool) or not isinstance(lambda_, numbers.Real):
        raise ValueError(f"lambda_ must be a real number >= 0, got {lambda_!r}")
    lam = float(lambda_)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lambda_ must be a finite number >= 0, got {lambda_!r}")
    return lam


def check_loss(loss: str, lambda_: float = 0.0) -> str:
    """Check the loss name, and that ``squared_error`` is not asked to regularize."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    if loss == "squared_error" and lambda_ != 0.0:
        raise ValueError(
            "loss='squared_error' is the lecture's E = 1/2 sum (a - y)^2 with no "
            f"regularization term; lambda_ must be 0, got {lambda_!r}"
        )
    return loss


def check_thetas(thetas: Sequence[ArrayLike]) -> tuple[list[np.ndarray], tuple[int, ...]]:
    """Return float64 weight matrices and the layer sizes they imply.

    Each ``Theta^(l)`` must be 2-D of shape ``(s_(l+1), s_l + 1)`` and consecutive
    matrices must chain: the rows of one are the non-bias columns of the next.
    """
    if isinstance(thetas, np.ndarray) or not isinstance(thetas, Sequence) or len(thetas) < 1:
        raise ValueError(
            "thetas must be a non-empty list of weight matrices [Theta1, Theta2, ...]; "
            "use roll(nn_params, layer_sizes) to get it from an unrolled vector"
        )
    mats = [np.asarray(T, dtype=np.float64) for T in thetas]
    for i, T in enumerate(mats):
        if T.ndim != 2 or T.shape[1] < 2 or T.shape[0] < 1:
            raise ValueError(
                f"Theta{i + 1} must be 2-D of shape (s_out, s_in + 1) with the bias column "
                f"first, got shape {T.shape}"
            )
        _check_finite(T, f"Theta{i + 1}")
    for i in range(len(mats) - 1):
        if mats[i].shape[0] + 1 != mats[i + 1].shape[1]:
            raise ValueError(
                f"Theta{i + 1} has shape {mats[i].shape} so layer {i + 2} has "
                f"{mats[i].shape[0]} units, but Theta{i + 2} has shape {mats[i + 1].shape} "
                f"(expected {mats[i].shape[0] + 1} columns including bias)"
            )
    sizes = (mats[0].shape[1] - 1,) + tuple(T.shape[0] for T in mats)
    return mats, sizes


def _check_finite(a: np.ndarray, name: str) -> None:
    # Fast path: a NaN or an inf anywhere makes the sum NaN or inf, so a finite sum proves
    # every entry finite in one pass without the (m, n) boolean mask np.isfinite(a) builds
    # (for ex4's X a 2 MB temporary). Only a non-finite sum, which finite entries can also
    # give by overflowing, needs the entry-by-entry check. errstate: that overflow, or
    # inf + -inf, must not warn (or raise under np.seterr(all="raise")) before the real check.
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    if np.isfinite(total):
        return
    if not np.isfinite(a).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        where = f"[{idx[0]}]" if len(idx) == 1 else str(list(idx))
        raise ValueError(f"{name} contains NaN or inf (first at {name}{where} = {a[idx]})")
