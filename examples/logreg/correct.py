"""Example for `bpgrade demo` (logreg): the reference solution."""

import numpy as np


def sigmoid(z):
    """Sigmoid, elementwise: g(z) = 1 / (1 + exp(-z)).
    Sigmoid 函数（逐元素）。

    Parameters
    ----------
    z : array_like, any shape (a Python float is fine)

    Returns
    -------
    g : ndarray, the same shape as z, with values in [0, 1]
    """
    z = np.asarray(z, dtype=float)
    # exp(-z) overflows to inf for z < -709, and 1 / (1 + inf) = 0 is the right limit: no warning.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def costFunction(theta, X, y):
    """Cross-entropy cost of logistic regression and its gradient.
    逻辑回归的交叉熵代价及其梯度。

    Parameters
    ----------
    theta : ndarray, (n,)
    X : ndarray, (m, n), the column of ones included
    y : ndarray, (m,) or (m, 1), labels 0 or 1

    Returns
    -------
    J : float
    grad : ndarray, (n,)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    m = y.size
    h = sigmoid(X @ theta)
    J = float(-(y @ np.log(h) + (1 - y) @ np.log(1 - h)) / m)
    grad = X.T @ (h - y) / m
    return J, grad


def costFunctionReg(theta, X, y, lambda_):
    """Regularized cost and gradient; theta[0] is not regularized.
    带正则化的代价与梯度；theta[0] 不参与正则化。

    Parameters
    ----------
    theta : ndarray, (n,)
    X : ndarray, (m, n), the column of ones included
    y : ndarray, (m,) or (m, 1), labels 0 or 1
    lambda_ : float, the regularization strength λ

    Returns
    -------
    J : float
    grad : ndarray, (n,)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    m = np.asarray(y).size
    J, grad = costFunction(theta, X, y)
    reg = theta.copy()
    reg[0] = 0.0  # theta_0 is not regularized
    J = J + lambda_ / (2 * m) * float(reg @ reg)
    grad = grad + lambda_ / m * reg
    return J, grad


def mapFeature(x1, x2, degree=6):
    """Polynomial features of two inputs up to ``degree``, the column of ones first.
    两个输入的多项式特征（最高 degree 次），第一列为全 1 列。

    Parameters
    ----------
    x1, x2 : ndarray, (m,) or (m, 1)
    degree : int

    Returns
    -------
    ndarray, (m, (degree + 1) * (degree + 2) // 2)
    """
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    columns = [x1 ** (i - j) * x2**j for i in range(degree + 1) for j in range(i + 1)]
    return np.column_stack(columns)


def predict(theta, X):
    """0/1 predictions: 1 where sigmoid(X @ theta) >= 0.5.
    预测 0/1 标签：sigmoid(X @ theta) >= 0.5 处为 1。

    Parameters
    ----------
    theta : ndarray, (n,)
    X : ndarray, (m, n)

    Returns
    -------
    p : ndarray of int, (m,)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    return (sigmoid(X @ theta) >= 0.5).astype(int)
