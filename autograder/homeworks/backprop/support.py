"""What the backprop homework gives the grading worker: known-correct helpers and callables.

The parent sends this file's *source* to the sandboxed worker with every ``load`` (see
``autograder.harness.protocol.Support``); the worker runs it before the student's module. It may
import only the standard library and numpy, and it holds no expected values.

``HELPERS``: a part that fails only because a helper it calls is wrong (nnCostFunction through a
wrong sigmoidGradient) is called again with the student's helper replaced by these, and told so.
``CALLABLES``: ``kind -> build(params)``; computeNumericalGradient and gradientDescent are handed a
cost function, which the worker builds from its parameters because code never crosses the pipe.
"""

import numpy as np


def sigmoid(z):
    """Correct logistic function."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def sigmoidGradient(z):
    """Correct g'(z) = g(z)(1 - g(z))."""
    g = sigmoid(z)
    return g * (1.0 - g)


def _quadratic(params):
    """``J(t) = .5 tᵀAt + bᵀt + c Σ sin t`` and its gradient, from ``A`` (n, n), ``b`` (n,), ``c``."""
    A = np.asarray(params["A"], dtype=float)
    b = np.asarray(params["b"], dtype=float).ravel()
    c = float(params.get("c", 0.0))

    def cost(t):
        t = np.asarray(t, dtype=float).ravel()
        return float(0.5 * t @ A @ t + b @ t + c * np.sum(np.sin(t)))

    def cost_grad(t):
        shape = np.shape(t)
        flat = np.asarray(t, dtype=float).ravel()
        grad = 0.5 * (A + A.T) @ flat + b + c * np.cos(flat)
        return cost(flat), grad.reshape(shape)

    return cost, cost_grad


HELPERS = {"sigmoid": sigmoid, "sigmoidGradient": sigmoidGradient}
CALLABLES = {
    "quadratic": lambda params: _quadratic(params)[0],
    "quadratic_cost_grad": lambda params: _quadratic(params)[1],
}
