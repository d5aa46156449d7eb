"""logreg zoo, correct: Octave-style column vectors, theta (n, 1), grad returned as (n, 1)."""

import numpy as np


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def costFunction(theta, X, y):
    theta = np.reshape(theta, (-1, 1))
    y = np.reshape(y, (-1, 1)).astype(float)
    m = y.shape[0]
    h = sigmoid(X @ theta)
    J = (1 / m) * np.sum(-y * np.log(h) - (1 - y) * np.log(1 - h))
    grad = (1 / m) * (X.T @ (h - y))
    return J, grad


def costFunctionReg(theta, X, y, lambda_):
    theta = np.reshape(theta, (-1, 1))
    m = np.size(y)
    J, grad = costFunction(theta, X, y)
    t = np.vstack([[0.0], theta[1:]])
    return J + lambda_ / (2 * m) * np.sum(t**2), grad + (lambda_ / m) * t


def mapFeature(x1, x2, degree=6):
    x1 = np.reshape(x1, (-1, 1))
    x2 = np.reshape(x2, (-1, 1))
    out = np.ones((x1.shape[0], 1))
    for i in range(1, degree + 1):
        for j in range(i + 1):
            out = np.hstack([out, (x1 ** (i - j)) * (x2**j)])
    return out


def predict(theta, X):
    p = sigmoid(X @ np.reshape(theta, (-1, 1))) >= 0.5
    return p.astype(int)
