"""Offline data for demos and tests: scikit-learn's bundled 8x8 digits.

scikit-learn ships the 1797 digit images inside its wheel, so nothing is
downloaded. It is an optional dependency (``pip install 'bpgrade[data]'``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI optical digits bundled with scikit-learn (8x8 images, 10 classes).

    Returns
    -------
    X : (1797, 64) ndarray of float64
        Pixel intensities scaled from 0..16 to [0, 1], one image per row
        (row-major 8x8).
    y : (1797,) ndarray of int64
        Digit labels 0..9 (label k is output unit k; no Octave "10 means 0").

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(
            "bpnet_ref.load_digits needs scikit-learn, which ships the digits offline. "
            "Install it with: pip install 'bpgrade[data]'  (or: pip install scikit-learn)"
        ) from exc
    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    return X, y


def holdout_split(
    X: ArrayLike, y: ArrayLike, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split examples into a training and a held-out set.

    Parameters
    ----------
    X : (m, n) array_like
    y : (m,) array_like
    test_fraction : float in (0, 1), default 0.25
    seed : int, default 0
        Seed of the shuffle; the split is deterministic.

    Returns
    -------
    X_train : (m - t, n) ndarray
    y_train : (m - t,) ndarray
    X_test : (t, n) ndarray
    y_test : (t,) ndarray
        With ``t = round(test_fraction * m)``.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X must be (m, n) and y (m,); got shapes {X.shape} and {y.shape}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    m = X.shape[0]
    t = int(round(test_fraction * m))
    if not 0 < t < m:
        raise ValueError(f"test_fraction={test_fraction} leaves an empty split for m={m}")
    order = np.random.default_rng(seed).permutation(m)
    test, tr = order[:t], order[t:]
    return X[tr], y[tr], X[test], y[test]
