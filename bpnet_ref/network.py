"""Forward propagation, the two costs, and vectorized backpropagation.

Notation follows the lecture (3.2 神经网络的反向传递算法): layer 1 is the input,
layer L the output, ``z^(l+1) = Theta^(l) a^(l)`` with the bias unit a_0 = 1 added
to every non-output layer, ``a^(l+1) = g(z^(l+1))`` and ``h = a^(L)``. In the public
API (X, :func:`forward`) the m examples are the *rows* of a matrix, as in ex4, so
``Theta^(l) a^(l)`` is written ``A @ Theta.T``; the cost-and-gradient kernel keeps them as
*columns* instead, where it reads ``Theta @ a`` as in the lecture (and runs faster).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .activations import ignore_underflow
from .activations import sigmoid as expit
from .params import _split, layer_shapes, n_params
from .validation import (
    check_lambda,
    check_layer_sizes,
    check_loss,
    check_params,
    check_targets,
    check_thetas,
    check_X,
)


@dataclass(frozen=True)
class ForwardResult:
    """Activations and pre-activations of every layer, for m examples.

    For a network with L layers (``len(thetas) == L - 1``):

    Attributes
    ----------
    a : list of L ndarrays
        ``a[0]`` is a^(1) = x **with** the bias column: shape ``(m, s_1 + 1)``,
        ``a[0][:, 0] == 1``. Every hidden layer ``a[l]`` (0 < l < L-1) is a^(l+1)
        **with** its bias column prepended: ``(m, s_(l+1) + 1)`` (the lecture's
        "add a_0"). The output ``a[L-1]`` is h = a^(L) **without** bias: ``(m, K)``.
    z : list of L-1 ndarrays
        ``z[l]`` is z^(l+2) = ``a[l] @ thetas[l].T``, shape ``(m, s_(l+2))``, never
        with a bias column. There is no z^(1): ``z[l]`` pairs with ``a[l + 1]``
        (``a[l + 1][:, 1:] == sigmoid(z[l])`` for hidden layers).
    """

    a: list[np.ndarray]
    z: list[np.ndarray]

    @property
    def h(self) -> np.ndarray:
        """The network output a^(L), shape ``(m, K)``."""
        return self.a[-1]


@ignore_underflow
def forward(thetas: Sequence[ArrayLike], X: ArrayLike) -> ForwardResult:
    """Forward propagation through all layers.

    Parameters
    ----------
    thetas : list of L-1 arrays
        ``thetas[l]`` has shape ``(s_(l+2), s_(l+1) + 1)``, bias column first.
    X : (m, s_1) array_like
        One example per row, without a bias column.

    Returns
    -------
    ForwardResult
        Lists ``a`` (L entries, bias column on all but the output) and ``z``
        (L-1 entries, no bias); see :class:`ForwardResult`.
    """
    mats, sizes = check_thetas(thetas)
    X = check_X(X, sizes[0])
    m = X.shape[0]
    a, z = [_with_bias(X)], []
    for l, T in enumerate(mats):
        z.append(a[-1] @ T.T)
        if l < len(mats) - 1:
            a_next = np.empty((m, T.shape[0] + 1))
            a_next[:, 0] = 1.0
            expit(z[-1], out=a_next[:, 1:])
        else:
            a_next = expit(z[-1])
        a.append(a_next)
    return ForwardResult(a=a, z=z)


def output_delta(a_out: ArrayLike, Y: ArrayLike, loss: str = "cross_entropy") -> np.ndarray:
    """Error of the output layer, delta^(L) = dJ/dz^(L) per example (before any 1/m).

    - ``"cross_entropy"``: delta = a - y (the sigmoid derivative cancels, see the lecture).
    - ``"squared_error"``: delta = (a - y) * a * (1 - a), since dE/da = a - y and
      da/dz = g'(z) = a (1 - a).

    Parameters
    ----------
    a_out : (m, K) or (K,) array_like
        Output activations h = a^(L).
    Y : array_like, same shape as ``a_out``
        Targets (one-hot rows or soft targets).
    loss : {"cross_entropy", "squared_error"}

    Returns
    -------
    delta : ndarray of float64, same shape as ``a_out``
    """
    check_loss(loss)
    a = np.asarray(a_out, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if a.shape != Y.shape:
        raise ValueError(f"a_out has shape {a.shape} but Y has shape {Y.shape}; they must match")
    return _output_delta(a, Y, loss)


def _output_delta(a: np.ndarray, Y: np.ndarray, loss: str) -> np.ndarray:
    if loss == "cross_entropy":
        return a - Y
    return (a - Y) * a * (1.0 - a)


def nn_cost_function(
    nn_params: ArrayLike,
    layer_sizes: Sequence[int],
    X: ArrayLike,
    y: ArrayLike,
    lambda_: float = 0.0,
    loss: str = "cross_entropy",
) -> tuple[float, np.ndarray]:
    """Cost and its gradient for a sigmoid network of any depth (vectorized backprop).

    ``loss="cross_entropy"`` (the lecture's J)::

        J = -1/m sum_i sum_k [y log h + (1 - y) log(1 - h)]
            + lambda/(2m) sum_l sum_(j>=1) (Theta^(l)_ij)^2

    The log terms are evaluated from z^(L) as ``log(1 + e^z) - y z`` (identical
    algebraically), so a saturated output (h == 0.0 or 1.0 in float64) gives the
    exact finite cost instead of ``log(0)``; no clipping is involved.

    ``loss="squared_error"`` (the lecture's closing exercise)::

        E = 1/2 sum_i sum_k (h_k - y_k)^2         # no 1/m, no regularization

    The gradient is ``D^(l) = 1/m Delta^(l) + lambda/m Theta^(l)`` (bias column not
    regularized) for cross-entropy and ``Delta^(l)`` for squared error, where
    ``Delta^(l) = sum_i delta^(l+1) (a^(l))^T``.

    Parameters
    ----------
    nn_params : (N,) array_like
        Row-major unrolled weights (see :func:`bpnet_ref.unroll`); N must match ``layer_sizes``.
    layer_sizes : sequence of int, length L >= 2
        Units per layer without bias, e.g. ``(400, 25, 10)``.
    X : (m, s_1) array_like
        Inputs, one example per row, no bias column.
    y : array_like
        Labels 0..K-1 of shape ``(m,)`` or ``(m, 1)``, or an ``(m, K)`` target matrix
        with entries in [0, 1] (soft targets allowed).
    lambda_ : float, default 0.0
        Regularization strength (must be 0 for squared error).
    loss : {"cross_entropy", "squared_error"}

    Returns
    -------
    J : float
    grad : (N,) ndarray of float64
        dJ/dnn_params, unrolled in the same row-major order as ``nn_params``.

    Raises
    ------
    ValueError
        On inconsistent shapes, labels out of range, non-finite inputs, an unknown
        loss, negative lambda_, or lambda_ != 0 with squared error.
    """
    sizes = check_layer_sizes(layer_sizes)
    lam = check_lambda(lambda_)
    check_loss(loss, lam)
    params = check_params(nn_params, sizes, n_params(sizes))
    X = check_X(X, sizes[0])
    Y = check_targets(y, X.shape[0], sizes[-1])
    return _cost_grad(params, layer_shapes(sizes), X, Y, lam, loss)


@ignore_underflow
def _hidden_and_output(
    thetas: list[np.ndarray], X: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Bias-free activations [a^(1), ..., a^(L-1)] and the output pre-activation z^(L).

    Unlike :func:`forward`, these hold one example per **column**, exactly the lecture's
    ``z^(l+1) = Theta^(l) a^(l)``: ``a[0]`` is ``X.T`` (a view, not a copy), ``a[l]`` has
    shape ``(s_(l+1), m)`` and z^(L) is ``(K, m)``. Two choices here are for speed, since at
    ex4 scale the two products with X are most of the time:

    - this layout: OpenBLAS computes ``W (25, 400) @ X.T (400, 5000)`` about 25% faster than
      the same numbers as ``X (5000, 400) @ W.T (400, 25)``;
    - the bias is applied as ``W a + b`` with ``W = Theta[:, 1:]``, ``b = Theta[:, 0]``
      instead of stacking a row of ones onto a: that would copy all of X on every call.
    """
    acts = [X.T]
    for T in thetas[:-1]:
        z = _affine(T, acts[-1])
        # In place: backprop needs only a = g(z), through g'(z) = a (1 - a), not z itself.
        acts.append(expit(z, out=z))
    return acts, _affine(thetas[-1], acts[-1])


def _affine(T: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``T @ [1; A]`` (examples as columns) without building ``[1; A]``."""
    z = T[:, 1:] @ A
    z += T[:, :1]
    return z


def _softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + e^z)`` without overflow, for any finite z.

    The same value as ``np.logaddexp(0, z)`` (numpy computes that with this very formula),
    written out because numpy's logaddexp is a scalar loop, about 5x slower than these
    vectorized exp and log1p on the (K, m) output.
    """
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


@ignore_underflow
def _cost_grad(
    params: np.ndarray,
    shapes: list[tuple[int, int]],
    X: np.ndarray,
    Y: np.ndarray,
    lam: float,
    loss: str,
) -> tuple[float, np.ndarray]:
    """:func:`nn_cost_function` on already validated inputs (used in training loops).

    Internally examples are columns, as in the lecture (see :func:`_hidden_and_output`).
    """
    m = X.shape[0]
    thetas = _split(params, shapes)  # views into params
    acts, z_out = _hidden_and_output(thetas, X)
    Y = Y.T  # (K, m), like z_out
    h = expit(z_out)

    if loss == "cross_entropy":
        # -[y log g(z) + (1-y) log(1-g(z))] == log(1 + e^z) - y z, exact for any z.
        J = float(np.sum(_softplus(z_out) - Y * z_out)) / m
        scale = 1.0 / m
    else:
        J = 0.5 * float(np.sum((h - Y) ** 2))
        scale = 1.0

    # Backward pass; each layer's gradient is written straight into its slice of grad.
    grad = np.empty_like(params)
    grads = _split(grad, shapes)
    delta = _output_delta(h, Y, loss)  # delta^(L), (K, m)
    for l in range(len(thetas) - 1, -1, -1):
        G, A = grads[l], acts[l]
        # Delta^(l) = sum over examples of delta^(l+1) (a^(l))^T, bias unit a_0 = 1 first.
        G[:, 0] = delta.sum(axis=1)
        G[:, 1:] = delta @ A.T
        if l > 0:
            # delta^(l) = (Theta^(l))^T delta^(l+1) .* g'(z^(l)), bias row dropped;
            # g'(z) = a (1 - a) reuses the stored activation instead of recomputing g(z).
            delta = thetas[l][:, 1:].T @ delta
            delta *= A
            # 1 - a overwrites a, which nothing needs after this: one (units x m) temporary
            # fewer, and each such temporary costs about as much as this multiplication.
            delta *= np.subtract(1.0, A, out=A)
    grad *= scale

    if lam:
        for G, T in zip(grads, thetas, strict=True):
            W = T[:, 1:]  # the bias column is not regularized
            J += lam / (2 * m) * float(np.sum(W * W))
            G[:, 1:] += (lam / m) * W
    return J, grad


def _with_bias(A: np.ndarray) -> np.ndarray:
    """``[1, A]``: prepend a column of ones, shape ``(m, n)`` -> ``(m, n + 1)``."""
    out = np.empty((A.shape[0], A.shape[1] + 1))
    out[:, 0] = 1.0
    out[:, 1:] = A
    return out
