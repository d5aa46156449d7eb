"""Training, the progress callback, and the offline digits data."""

import sys

import numpy as np
import pytest

import bpnet_ref as bp


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    X, y = bp.load_digits()
    return bp.holdout_split(X, y, test_fraction=0.25, seed=0)


def test_load_digits_shapes_and_ranges():
    pytest.importorskip("sklearn")
    X, y = bp.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.shape == (1797,) and set(np.unique(y)) == set(range(10))


def test_load_digits_without_sklearn_explains_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install 'bpgrade\[data\]'"):
        bp.load_digits()


def test_holdout_split_partitions_the_examples():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_tr, y_tr, X_te, y_te = bp.holdout_split(X, y, test_fraction=0.3, seed=1)
    assert len(y_te) == 3 and len(y_tr) == 7
    assert sorted(np.concatenate([y_tr, y_te])) == list(range(10))
    np.testing.assert_array_equal(X_te[:, 0], 2 * y_te)  # rows stay paired with labels


@pytest.mark.parametrize("method", ["cg", "l-bfgs-b"])
def test_training_64_25_10_on_digits_reaches_95_percent_held_out(digits, method):
    X_tr, y_tr, X_te, y_te = digits
    result = bp.train((64, 25, 10), X_tr, y_tr, lambda_=1.0, method=method, max_iter=60, rng=0)
    assert bp.accuracy(y_te, bp.predict(result.thetas, X_te)) >= 0.95


def small_digits_problem(digits, m=150):
    X_tr, y_tr, _, _ = digits
    return X_tr[:m], y_tr[:m]


def test_gradient_descent_lowers_the_cost_every_iteration(digits):
    X, y = small_digits_problem(digits)
    result = bp.train((64, 10, 10), X, y, lambda_=0.5, method="gd", learning_rate=1.0, max_iter=60)
    history = np.array(result.cost_history)
    assert len(history) == 61
    assert np.all(np.diff(history) < 0)
    assert history[-1] < 0.6 * history[0]


def test_gradient_descent_takes_the_lecture_step(digits):
    X, y = small_digits_problem(digits, m=20)
    sizes, eta = (64, 5, 10), 0.3
    start = bp.train(sizes, X, y, method="gd", max_iter=0).nn_params
    _, grad = bp.nn_cost_function(start, sizes, X, y)
    one_step = bp.train(
        sizes, X, y, method="gd", learning_rate=eta, max_iter=1, initial_params=start
    )
    np.testing.assert_allclose(one_step.nn_params, start - eta * grad, rtol=1e-15)


@pytest.mark.parametrize("method", ["gd", "cg", "l-bfgs-b"])
def test_progress_callback_sees_every_iteration(digits, method):
    X, y = small_digits_problem(digits, m=60)
    calls = []
    result = bp.train(
        (64, 6, 10), X, y, 0.1, method, max_iter=8, callback=lambda k, J, p: calls.append((k, J, p))
    )
    assert [k for k, _, _ in calls] == list(range(1, result.n_iter + 1))
    assert [J for _, J, _ in calls] == result.cost_history[1:]
    assert result.n_iter >= 1
    np.testing.assert_array_equal(calls[-1][2], result.nn_params)  # last call saw the result
    final_J, _ = bp.nn_cost_function(result.nn_params, (64, 6, 10), X, y, 0.1)
    assert final_J == pytest.approx(result.cost_history[-1], rel=1e-12)


def test_training_is_deterministic_and_unpacks_to_weights_and_history(digits):
    X, y = small_digits_problem(digits, m=60)
    thetas_a, history_a = bp.train((64, 6, 10), X, y, 0.1, "cg", max_iter=10, rng=3)
    thetas_b, history_b = bp.train((64, 6, 10), X, y, 0.1, "cg", max_iter=10, rng=3)
    assert history_a == history_b
    for A, B in zip(thetas_a, thetas_b, strict=True):
        np.testing.assert_array_equal(A, B)
    assert [T.shape for T in thetas_a] == bp.layer_shapes((64, 6, 10))


def test_training_with_squared_error_also_learns(digits):
    X, y = small_digits_problem(digits, m=150)
    result = bp.train((64, 10, 10), X, y, loss="squared_error", method="cg", max_iter=50)
    assert result.cost_history[-1] < 0.5 * result.cost_history[0]
    assert bp.accuracy(y, bp.predict(result.thetas, X)) > 0.8
