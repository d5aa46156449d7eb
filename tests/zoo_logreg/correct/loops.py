"""logreg zoo, correct: per-example loops and Python floats throughout."""

import math

import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        out[index] = 1.0 / (1.0 + math.exp(-value)) if value > -700 else 0.0
    return out


def costFunction(theta, X, y):
    theta = np.asarray(theta, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    m, n = X.shape
    J, grad = 0.0, np.zeros(n)
    for i in range(m):
        h = float(sigmoid(X[i] @ theta))
        J += -y[i] * math.log(h) - (1 - y[i]) * math.log(1 - h)
        for j in range(n):
            grad[j] += (h - y[i]) * X[i, j]
    return J / m, grad / m


def costFunctionReg(theta, X, y, lambda_):
    theta = np.asarray(theta, dtype=float).ravel()
    m = len(np.ravel(y))
    J, grad = costFunction(theta, X, y)
    for j in range(1, theta.size):
        J += lambda_ / (2 * m) * theta[j] ** 2
        grad[j] += lambda_ / m * theta[j]
    return J, grad


def mapFeature(x1, x2, degree=6):
    x1, x2 = np.ravel(x1), np.ravel(x2)
    rows = []
    for a, b in zip(x1, x2, strict=True):
        row = []
        for i in range(degree + 1):
            for j in range(i + 1):
                row.append(a ** (i - j) * b**j)
        rows.append(row)
    return np.array(rows)


def predict(theta, X):
    return [1 if float(sigmoid(row @ np.ravel(theta))) >= 0.5 else 0 for row in X]
