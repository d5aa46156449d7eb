"""Homework: logistic regression (after Andrew Ng's ex2).
作业：逻辑回归（吴恩达 ex2）。

Implement every function whose body holds a START/END OF YOUR CODE block. Conventions:

* X is (m, n), one example per row, the column of ones (intercept) already added.
* theta is (n,); labels y are 0 or 1, shape (m,) or (m, 1); theta[0] is never regularized.

约定：X 每行一个样本，已含全 1 列；标签为 0/1；theta[0] 不参与正则化。
Check your work with ``python check.py logreg.py`` (needs the bpgrade package).
"""

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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError('sigmoid: not implemented yet (write your code between the START/END lines)')
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError('costFunction: not implemented yet (write your code between the START/END lines)')
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError('costFunctionReg: not implemented yet (write your code between the START/END lines)')
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError('mapFeature: not implemented yet (write your code between the START/END lines)')
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****


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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError('predict: not implemented yet (write your code between the START/END lines)')
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
