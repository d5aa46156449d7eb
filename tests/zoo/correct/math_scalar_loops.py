"""Correct: pure-Python scalar loops with the math module, lists in and out (no vectorization).

Slow but a correct backpropagation: one forward and one backward pass per example, never finite
differences. Elementwise functions handle a scalar, a vector or a matrix by recursion on lists.
"""

import math

import numpy as np


def _g(v):
    # stable for large |v|: math.exp(-v) overflows for v < -709
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _map(f, x):
    if isinstance(x, list):
        return [_map(f, v) for v in x]
    return f(x)


def sigmoid(z):
    return _map(_g, np.asarray(z, dtype=float).tolist())


def sigmoidGradient(z):
    return _map(lambda v: _g(v) * (1.0 - _g(v)), np.asarray(z, dtype=float).tolist())


def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    import random

    return [
        [random.uniform(-epsilon_init, epsilon_init) for _ in range(1 + L_in)] for _ in range(L_out)
    ]


def _thetas(nn_params, sizes):
    flat = [float(v) for v in np.asarray(nn_params, dtype=float).ravel()]
    thetas, k = [], 0
    for s_in, s_out in zip(sizes[:-1], sizes[1:], strict=True):
        T = []
        for _ in range(s_out):
            T.append(flat[k : k + s_in + 1])
            k += s_in + 1
        thetas.append(T)
    return thetas


def _forward_one(thetas, x):
    a = [[1.0] + list(x)]
    zs = [None]
    for l, T in enumerate(thetas):
        z = [sum(w * v for w, v in zip(row, a[-1], strict=True)) for row in T]
        zs.append(z)
        g = [_g(v) for v in z]
        a.append(g if l == len(thetas) - 1 else [1.0] + g)
    return a, zs


def _cost_grad(nn_params, sizes, X, y, lambda_, squared):
    sizes = [int(s) for s in sizes]
    thetas = _thetas(nn_params, sizes)
    X = np.asarray(X, dtype=float).tolist()
    labels = [int(v) for v in np.asarray(y).ravel()]
    m, K = len(X), sizes[-1]
    D = [[[0.0] * len(row) for row in T] for T in thetas]
    J = 0.0
    for x, label in zip(X, labels, strict=True):
        a, zs = _forward_one(thetas, x)
        h = a[-1]
        yk = [1.0 if k == label else 0.0 for k in range(K)]
        if squared:
            J += 0.5 * sum((hk - t) ** 2 for hk, t in zip(h, yk, strict=True))
            delta = [(hk - t) * hk * (1 - hk) for hk, t in zip(h, yk, strict=True)]
        else:
            J -= sum(
                t * math.log(hk) + (1 - t) * math.log(1 - hk) for hk, t in zip(h, yk, strict=True)
            )
            delta = [hk - t for hk, t in zip(h, yk, strict=True)]
        for l in range(len(thetas) - 1, -1, -1):
            for i, d in enumerate(delta):
                row = D[l][i]
                for j, v in enumerate(a[l]):
                    row[j] += d * v
            if l > 0:
                T = thetas[l]
                delta = [
                    sum(T[i][j + 1] * delta[i] for i in range(len(delta)))
                    * _g(zs[l][j])
                    * (1 - _g(zs[l][j]))
                    for j in range(len(zs[l]))
                ]
    grad = []
    if squared:
        for Dl in D:
            for row in Dl:
                grad.extend(row)
        return J, grad
    J /= m
    J += lambda_ / (2 * m) * sum(w * w for T in thetas for row in T for w in row[1:])
    for T, Dl in zip(thetas, D, strict=True):
        for trow, drow in zip(T, Dl, strict=True):
            grad.extend(
                [drow[0] / m]
                + [d / m + lambda_ / m * w for d, w in zip(drow[1:], trow[1:], strict=True)]
            )
    return J, grad


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    return _cost_grad(
        nn_params, [input_layer_size, hidden_layer_size, num_labels], X, y, lambda_, False
    )


def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):
    return _cost_grad(nn_params, list(layer_sizes), X, y, lambda_, False)


def squaredErrorDelta(a_out, Y):
    return [
        [(a - t) * a * (1 - a) for a, t in zip(arow, trow, strict=True)]
        for arow, trow in zip(np.asarray(a_out).tolist(), np.asarray(Y).tolist(), strict=True)
    ]


def squaredErrorCostFunction(nn_params, layer_sizes, X, y):
    return _cost_grad(nn_params, list(layer_sizes), X, y, 0.0, True)


def computeNumericalGradient(J, theta, e=1e-4):
    theta = [float(v) for v in theta]
    out = []
    for p in range(len(theta)):
        plus, minus = list(theta), list(theta)
        plus[p] += e
        minus[p] -= e
        loss_plus, loss_minus = J(np.array(plus)), J(np.array(minus))
        if isinstance(loss_plus, (tuple, list)):  # J returned (cost, grad): keep the cost
            loss_plus, loss_minus = loss_plus[0], loss_minus[0]
        out.append((loss_plus - loss_minus) / (2 * e))
    return out


def predict(Theta1, Theta2, X):
    thetas = [np.asarray(Theta1).tolist(), np.asarray(Theta2).tolist()]
    labels = []
    for x in np.asarray(X, dtype=float).tolist():
        h = _forward_one(thetas, x)[0][-1]
        labels.append(max(range(len(h)), key=lambda k: h[k]))
    return labels


def gradientDescent(costFunction, initial_params, alpha, num_iters):
    params = [float(v) for v in np.asarray(initial_params).ravel()]
    history = []
    for _ in range(num_iters):
        J, grad = costFunction(np.array(params))
        history.append(float(J))
        params = [
            p - alpha * float(g) for p, g in zip(params, np.asarray(grad).ravel(), strict=True)
        ]
    return params, history
