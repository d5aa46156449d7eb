"""logreg zoo, correct: scipy's expit and a log-sum-exp cost (stable for any |z|)."""

import numpy as np
from scipy.special import expit


def sigmoid(z):
    return expit(z)


def costFunction(theta, X, y):
    theta = np.ravel(theta)
    y = np.ravel(y).astype(float)
    z = X @ theta
    J = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    return float(J), X.T @ (expit(z) - y) / len(y)


def costFunctionReg(theta, X, y, lambda_):
    theta = np.ravel(theta)
    m = len(np.ravel(y))
    J, grad = costFunction(theta, X, y)
    J += lambda_ / (2 * m) * np.sum(theta[1:] ** 2)
    grad[1:] += lambda_ / m * theta[1:]
    return J, grad


def mapFeature(x1, x2, degree=6):
    x1, x2 = np.ravel(x1), np.ravel(x2)
    terms = [(i - j, j) for i in range(degree + 1) for j in range(i + 1)]
    return np.stack([x1**a * x2**b for a, b in terms], axis=1)


def predict(theta, X):
    return (X @ np.ravel(theta) >= 0).astype(float)
