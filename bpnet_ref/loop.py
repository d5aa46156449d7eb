"""The lecture's per-example backpropagation, written as a loop over examples.

This is the readable twin of :func:`bpnet_ref.nn_cost_function`: one example at a
time, column vectors, ``Delta^(l) += delta^(l+1) (a^(l))^T``, exactly as on the
slide "Backpropagation算法中的梯度计算". It is slow (a Python loop over m) and
exists to show, and to test, that the vectorized code computes the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .activations import ignore_underflow, log_sigmoid, sigmoid, sigmoid_gradient
from .network import output_delta
from .params import roll, unroll
from .validation import check_lambda, check_layer_sizes, check_loss, check_targets, check_X


@ignore_underflow
def backprop_loop(
    nn_params: ArrayLike,
    layer_sizes: Sequence[int],
    X: ArrayLike,
    y: ArrayLike,
    lambda_: float = 0.0,
    loss: str = "cross_entropy",
) -> tuple[float, np.ndarray]:
    """Cost and gradient by the lecture's per-example Delta accumulation.

    Same parameters, returns and errors as :func:`bpnet_ref.nn_cost_function`;
    the results agree with it to about 1e-15 relative.

    Parameters
    ----------
    nn_params : (N,) array_like, row-major unrolled weights
    layer_sizes : sequence of int, length L >= 2
    X : (m, s_1) array_like
    y : labels 0..K-1 ``(m,)``/``(m, 1)`` or an ``(m, K)`` target matrix
    lambda_ : float, default 0.0
    loss : {"cross_entropy", "squared_error"}

    Returns
    -------
    J : float
    grad : (N,) ndarray of float64
    """
    sizes = check_layer_sizes(layer_sizes)
    lam = check_lambda(lambda_)
    check_loss(loss, lam)
    thetas = roll(nn_params, sizes)
    X = check_X(X, sizes[0])
    Y = check_targets(y, X.shape[0], sizes[-1])
    m, L = X.shape[0], len(sizes)

    # 1. Set Delta^(l) = 0 for all l.
    Deltas = [np.zeros_like(T) for T in thetas]
    J = 0.0
    # 2. For i = 1 to m:
    for i in range(m):
        # Set a^(1) = x^(i) (add a_0 = 1) and propagate forward to a^(L).
        a = [np.concatenate(([1.0], X[i]))]
        z = [None]  # z[l] pairs with a[l]; the input layer has no z
        for l, T in enumerate(thetas):
            z.append(T @ a[l])
            g = sigmoid(z[-1])
            a.append(np.concatenate(([1.0], g)) if l + 1 < L - 1 else g)
        h, y_i = a[-1], Y[i]

        if loss == "cross_entropy":
            # log h and log(1 - h) as log g(z) and log g(-z): finite even if h is 0 or 1.
            J -= np.sum(y_i * log_sigmoid(z[-1]) + (1 - y_i) * log_sigmoid(-z[-1]))
        else:
            J += 0.5 * np.sum((h - y_i) ** 2)

        # Using y^(i), compute delta^(L), then delta^(L-1), ..., delta^(2).
        delta = output_delta(h, y_i, loss)
        for l in range(L - 2, -1, -1):
            # Delta^(l) := Delta^(l) + delta^(l+1) (a^(l))^T
            Deltas[l] += np.outer(delta, a[l])
            if l > 0:
                # delta^(l) = (Theta^(l))^T delta^(l+1) .* g'(z^(l)); drop the bias unit's entry.
                delta = (thetas[l].T @ delta)[1:] * sigmoid_gradient(z[l])

    # 3. D^(l) = 1/m Delta^(l) + lambda/m Theta^(l) for j != 0 (cross-entropy);
    #    the squared error E has neither the 1/m nor the regularization term.
    if loss == "squared_error":
        return float(J), unroll(Deltas)
    J /= m
    D = []
    for Delta, T in zip(Deltas, thetas, strict=True):
        reg = (lam / m) * T
        reg[:, 0] = 0.0  # the bias weights Theta_i0 are not regularized
        D.append(Delta / m + reg)
        J += lam / (2 * m) * np.sum(T[:, 1:] ** 2)
    return float(J), unroll(D)
