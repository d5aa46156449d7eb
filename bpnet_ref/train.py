"""Training (batch gradient descent, conjugate gradient, L-BFGS-B), prediction, accuracy."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .network import _cost_grad, _hidden_and_output
from .params import _split, layer_shapes, n_params, rand_initialize_weights
from .validation import (
    check_lambda,
    check_layer_sizes,
    check_loss,
    check_params,
    check_targets,
    check_thetas,
    check_X,
)

ProgressCallback = Callable[[int, float, np.ndarray], object]
METHODS = ("gd", "cg", "l-bfgs-b")


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Unpacks as ``thetas, cost_history = train(...)``.

    Attributes
    ----------
    thetas : list of L-1 ndarrays
        Trained weights, ``thetas[l]`` of shape ``(s_(l+2), s_(l+1) + 1)``.
    cost_history : list of float
        ``cost_history[0]`` is J at the initial weights, ``cost_history[k]`` J after
        iteration k; ``len(cost_history) == n_iter + 1``.
    nn_params : (N,) ndarray
        The trained weights unrolled row-major.
    n_iter : int
        Iterations performed.
    converged : bool
        True if a stopping tolerance was met before ``max_iter``.
    message : str
        Why training stopped.
    method : str
    """

    thetas: list[np.ndarray]
    cost_history: list[float]
    nn_params: np.ndarray
    n_iter: int
    converged: bool
    message: str
    method: str = field(default="")

    def __iter__(self) -> Iterator[object]:
        return iter((self.thetas, self.cost_history))


def train(
    layer_sizes: Sequence[int],
    X: ArrayLike,
    y: ArrayLike,
    lambda_: float = 0.0,
    method: str = "cg",
    *,
    loss: str = "cross_entropy",
    max_iter: int = 400,
    learning_rate: float = 1.0,
    tol: float = 1e-9,
    initial_params: ArrayLike | None = None,
    epsilon_init: float = 0.12,
    rng: np.random.Generator | int | None = 0,
    callback: ProgressCallback | None = None,
) -> TrainResult:
    """Train a sigmoid network by minimizing :func:`nn_cost_function`.

    Parameters
    ----------
    layer_sizes : sequence of int, length L >= 2, e.g. ``(64, 25, 10)``
    X : (m, s_1) array_like
    y : labels 0..K-1 ``(m,)``/``(m, 1)`` or an ``(m, K)`` target matrix
    lambda_ : float, default 0.0
    method : {"gd", "cg", "l-bfgs-b"}, default "cg"
        ``"gd"``: the lecture's batch gradient descent,
        ``Theta := Theta - learning_rate * dJ/dTheta`` "until converge or reach maximal
        iterations". ``"cg"`` (the lecture's 梯度共轭法, like ex4's fmincg) and
        ``"l-bfgs-b"`` use :func:`scipy.optimize.minimize`.
    loss : {"cross_entropy", "squared_error"}, keyword-only
    max_iter : int, default 400
        Maximum number of iterations (gradient steps, or optimizer iterations).
    learning_rate : float, default 1.0
        Step size eta, ``"gd"`` only.
    tol : float, default 1e-9
        ``"gd"`` stops when ``|J_(k-1) - J_k| <= tol * max(1, |J_k|)``; for scipy methods
        it is passed as ``minimize(tol=...)``.
    initial_params : (N,) array_like, optional
        Starting weights (row-major). Default: :func:`rand_initialize_weights` per layer.
    epsilon_init : float, default 0.12
        Half-width of the random initialization.
    rng : Generator, int or None, default 0
        Seed for the initialization; the default makes training deterministic.
    callback : callable, optional
        ``callback(iteration, cost, nn_params)`` after every iteration (1-based),
        with a copy of the current weights; use it for progress bars or logging.

    Returns
    -------
    TrainResult
        Weights, cost history and diagnostics; unpacks as ``thetas, history``.
    """
    sizes = check_layer_sizes(layer_sizes)
    lam = check_lambda(lambda_)
    check_loss(loss, lam)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be an int >= 0, got {max_iter!r}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    X = check_X(X, sizes[0])
    Y = check_targets(y, X.shape[0], sizes[-1])
    shapes = layer_shapes(sizes)
    if initial_params is None:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        w0 = np.concatenate(
            [rand_initialize_weights(c - 1, r, epsilon_init, gen).ravel() for r, c in shapes]
        )
    else:
        w0 = check_params(initial_params, sizes, n_params(sizes)).copy()

    def f(p: np.ndarray) -> tuple[float, np.ndarray]:
        return _cost_grad(p, shapes, X, Y, lam, loss)

    if method == "gd":
        w, history, converged, message = _gradient_descent(
            f, w0, learning_rate, max_iter, tol, callback
        )
    else:
        w, history, converged, message = _scipy_minimize(f, w0, method, max_iter, tol, callback)
    return TrainResult(
        thetas=[T.copy() for T in _split(w, shapes)],
        cost_history=history,
        nn_params=w,
        n_iter=len(history) - 1,
        converged=converged,
        message=message,
        method=method,
    )


def _gradient_descent(f, w, learning_rate, max_iter, tol, callback):
    """Batch gradient descent with a fixed step (the lecture's algorithm)."""
    J, grad = f(w)
    history = [J]
    for k in range(1, max_iter + 1):
        w = w - learning_rate * grad
        J, grad = f(w)
        history.append(J)
        if callback is not None:
            callback(k, J, w.copy())
        if not np.isfinite(J):
            return (
                w,
                history,
                False,
                f"cost became non-finite at iteration {k}; lower learning_rate",
            )
        if abs(history[-2] - J) <= tol * max(1.0, abs(J)):
            return w, history, True, f"cost change below tol={tol:g} at iteration {k}"
    return w, history, False, f"reached max_iter={max_iter}"


def _scipy_minimize(f, w0, method, max_iter, tol, callback):
    """``scipy.optimize.minimize`` with jac=True, recording J after every iteration."""
    last = {"x": None, "J": None}

    def fun(p):
        J, grad = f(p)
        last["x"], last["J"] = p.copy(), J
        return J, grad

    history = [f(w0)[0]]

    def on_iteration(xk):
        # The optimizer's last evaluation is usually at xk; otherwise evaluate once more.
        J = last["J"] if last["x"] is not None and np.array_equal(last["x"], xk) else f(xk)[0]
        history.append(J)
        if callback is not None:
            callback(len(history) - 1, J, xk.copy())

    scipy_method = {"cg": "CG", "l-bfgs-b": "L-BFGS-B"}[method]
    import scipy.optimize  # only the cg and l-bfgs-b paths need scipy (a slow import)

    res = scipy.optimize.minimize(
        fun, w0, jac=True, method=scipy_method, tol=tol,
        options={"maxiter": max_iter}, callback=on_iteration,
    )  # fmt: skip
    return np.asarray(res.x, dtype=np.float64), history, bool(res.success), str(res.message)


def predict(thetas: Sequence[ArrayLike], X: ArrayLike) -> np.ndarray:
    """Predicted labels: the index of the largest output unit for each example.

    Parameters
    ----------
    thetas : list of L-1 arrays, ``thetas[l]`` of shape ``(s_(l+2), s_(l+1) + 1)``
    X : (m, s_1) array_like

    Returns
    -------
    labels : (m,) ndarray of int64, values 0..K-1 (ties go to the smaller label)
    """
    mats, sizes = check_thetas(thetas)
    X = check_X(X, sizes[0])
    _, z_out = _hidden_and_output(mats, X)  # z^(L) is (K, m): one example per column
    # g is increasing, so argmax over z^(L) equals argmax over h = g(z^(L)), and
    # unlike h it does not tie when several outputs saturate at 1.0.
    return np.argmax(z_out, axis=0).astype(np.int64)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of labels predicted correctly, in [0, 1] (ex4 prints it times 100).

    Parameters
    ----------
    y_true : (m,) or (m, 1) array_like of int
    y_pred : (m,) or (m, 1) array_like of int

    Returns
    -------
    acc : float
    """
    t, p = _as_label_vector(y_true), _as_label_vector(y_pred)
    if t.ndim != 1 or p.shape != t.shape or t.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty label vectors of the same length, "
            f"got shapes {np.shape(y_true)} and {np.shape(y_pred)}"
        )
    return float(np.mean(t == p))


def _as_label_vector(y: ArrayLike) -> np.ndarray:
    y = np.asarray(y)
    return y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
