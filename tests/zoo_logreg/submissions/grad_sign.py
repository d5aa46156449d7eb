"""logreg bug zoo, grad_sign: the gradient written X^T (y - h) / m."""

import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    return 1.0 / (1.0 + np.exp(-z))


def costFunction(theta, X, y):
    theta = np.asarray(theta, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    m = y.size
    h = sigmoid(X @ theta)
    J = (-y @ np.log(h) - (1 - y) @ np.log(1 - h)) / m
    grad = X.T @ (y - h) / m
    return J, grad


def costFunctionReg(theta, X, y, lambda_):
    theta = np.asarray(theta, dtype=float).ravel()
    m = np.asarray(y).size
    J, grad = costFunction(theta, X, y)
    reg = theta.copy()
    reg[0] = 0.0
    J = J + lambda_ / (2 * m) * np.sum(reg**2)
    grad = grad + lambda_ / m * reg
    return J, grad


def mapFeature(x1, x2, degree=6):
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    out = [np.ones(x1.size)]
    for i in range(1, degree + 1):
        for j in range(i + 1):
            out.append(x1 ** (i - j) * x2**j)
    return np.column_stack(out)


def predict(theta, X):
    theta = np.asarray(theta, dtype=float).ravel()
    return (sigmoid(X @ theta) >= 0.5).astype(int)
