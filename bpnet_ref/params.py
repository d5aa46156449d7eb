"""Weight matrices Theta^(l): shapes, (un)rolling, initialisation, Octave order.

Conventions (ex4, Python port):

- ``Theta^(l)`` maps layer l to layer l+1 and has shape ``(s_(l+1), s_l + 1)``;
  column 0 multiplies the bias unit a_0 = 1.
- An unrolled parameter vector ``nn_params`` is numpy **row-major**, layer by
  layer: ``np.concatenate([T.ravel() for T in thetas])``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .validation import check_layer_sizes, check_params, check_thetas


def layer_shapes(layer_sizes: Sequence[int]) -> list[tuple[int, int]]:
    """Shapes of the weight matrices for a network.

    Parameters
    ----------
    layer_sizes : sequence of int, length L >= 2
        Units per layer without bias, input first, e.g. ``(400, 25, 10)``.

    Returns
    -------
    shapes : list of L-1 tuples
        ``shapes[l] == (s_(l+2), s_(l+1) + 1)`` (0-based l), e.g.
        ``[(25, 401), (10, 26)]`` for ex4.
    """
    sizes = check_layer_sizes(layer_sizes)
    return [(s_out, s_in + 1) for s_in, s_out in zip(sizes[:-1], sizes[1:], strict=True)]


def n_params(layer_sizes: Sequence[int]) -> int:
    """Length of the unrolled parameter vector, ``sum((s_l + 1) * s_(l+1))``."""
    return sum(r * c for r, c in layer_shapes(layer_sizes))


def unroll(thetas: Sequence[ArrayLike]) -> np.ndarray:
    """Flatten weight matrices into one vector, row-major, layer by layer.

    This is ``np.concatenate([T.ravel() for T in thetas])``: within ``Theta1`` the
    order is ``Theta1[0, 0], Theta1[0, 1], ...`` (along a row first). Octave's
    ``[Theta1(:); Theta2(:)]`` is **column-major** (``Theta1(1,1), Theta1(2,1), ...``),
    so the same weights give a differently ordered vector; convert with
    :func:`to_octave_order` / :func:`from_octave_order`.

    Parameters
    ----------
    thetas : list of L-1 arrays, ``thetas[l]`` of shape ``(s_(l+2), s_(l+1) + 1)``

    Returns
    -------
    nn_params : (N,) ndarray of float64, a new array
    """
    mats, _ = check_thetas(thetas)
    return np.concatenate([T.ravel() for T in mats])


def roll(nn_params: ArrayLike, layer_sizes: Sequence[int]) -> list[np.ndarray]:
    """Inverse of :func:`unroll`: cut a row-major vector into weight matrices.

    Each slice is reshaped in numpy's default C (row-major) order. To read an
    Octave vector ``[Theta1(:); Theta2(:)]`` (column-major) pass it through
    :func:`from_octave_order` first; rolling it directly silently scrambles the weights.

    Parameters
    ----------
    nn_params : (N,) array_like
        N must equal ``n_params(layer_sizes)``.
    layer_sizes : sequence of int

    Returns
    -------
    thetas : list of L-1 ndarrays of float64 (copies, not views of ``nn_params``)
    """
    sizes = check_layer_sizes(layer_sizes)
    params = check_params(nn_params, sizes, n_params(sizes))
    return [T.copy() for T in _split(params, layer_shapes(sizes))]


def _split(params: np.ndarray, shapes: list[tuple[int, int]], order: str = "C") -> list[np.ndarray]:
    """Cut ``params`` into matrices of the given shapes (views when possible, no checks)."""
    out, start = [], 0
    for r, c in shapes:
        out.append(params[start : start + r * c].reshape((r, c), order=order))
        start += r * c
    return out


def to_octave_order(nn_params: ArrayLike, layer_sizes: Sequence[int]) -> np.ndarray:
    """Reorder a row-major parameter vector into Octave's ``[Theta1(:); Theta2(:); ...]``.

    Parameters
    ----------
    nn_params : (N,) array_like, row-major (as produced by :func:`unroll`)
    layer_sizes : sequence of int

    Returns
    -------
    octave_params : (N,) ndarray of float64, column-major within each layer
    """
    return np.concatenate([T.ravel(order="F") for T in roll(nn_params, layer_sizes)])


def from_octave_order(octave_params: ArrayLike, layer_sizes: Sequence[int]) -> np.ndarray:
    """Reorder Octave's column-major ``[Theta1(:); Theta2(:); ...]`` into row-major.

    Use it on parameter or gradient vectors published for the Octave ex4, e.g.
    ``from_octave_order(np.arange(1, 19) / 10, (2, 2, 4))``.

    Parameters
    ----------
    octave_params : (N,) array_like, column-major within each layer
    layer_sizes : sequence of int

    Returns
    -------
    nn_params : (N,) ndarray of float64, row-major (the :func:`unroll` order)
    """
    sizes = check_layer_sizes(layer_sizes)
    params = check_params(octave_params, sizes, n_params(sizes))
    return np.concatenate([T.ravel() for T in _split(params, layer_shapes(sizes), order="F")])


def rand_initialize_weights(
    L_in: int,
    L_out: int,
    epsilon_init: float = 0.12,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Random weights for a layer, uniform on [-epsilon_init, epsilon_init).

    Mirrors ex4's ``rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init``; the
    randomness breaks the symmetry between hidden units.

    Parameters
    ----------
    L_in, L_out : int
        Units in the incoming and outgoing layer (without bias).
    epsilon_init : float
        Half-width of the interval; ex4 uses 0.12.
    rng : numpy.random.Generator or int or None
        Source of randomness: a Generator (used and advanced), a seed, or None for
        fresh OS entropy (the only non-deterministic case).

    Returns
    -------
    W : (L_out, 1 + L_in) ndarray of float64
    """
    L_in, L_out = check_layer_sizes((L_in, L_out))
    if not np.isfinite(epsilon_init) or epsilon_init < 0:
        raise ValueError(f"epsilon_init must be a finite number >= 0, got {epsilon_init!r}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return gen.random((L_out, 1 + L_in)) * 2.0 * epsilon_init - epsilon_init


def debug_initialize_weights(fan_out: int, fan_in: int) -> np.ndarray:
    """ex4's deterministic test weights: ``reshape(sin(1:numel(W)), size(W)) / 10``.

    The values ``sin(1), sin(2), ...`` fill W **column by column** (Octave's
    ``reshape`` is column-major), i.e. ``W[i, j] = sin(1 + i + j * fan_out) / 10``
    with 0-based i, j. A C-order port (``reshape(...)`` in numpy's default order)
    gives a different matrix; this function reproduces Octave's.

    Parameters
    ----------
    fan_out : int
        Units in the outgoing layer (rows).
    fan_in : int
        Units in the incoming layer (columns, not counting the bias).

    Returns
    -------
    W : (fan_out, 1 + fan_in) ndarray of float64
    """
    # fan_in = 0 is allowed: ex4 builds its debug X with debugInitializeWeights(m, il - 1).
    fan_in, fan_out = check_layer_sizes((fan_in + 1, fan_out))
    fan_in -= 1
    n = fan_out * (1 + fan_in)
    return (
        np.sin(np.arange(1, n + 1, dtype=np.float64)).reshape((fan_out, 1 + fan_in), order="F") / 10
    )
