"""Analytic gradients: against central differences, and vectorized against the per-example loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bpnet_ref as bp


@st.composite
def networks(draw):
    """A random small problem: 2-5 layers of 1-4 units, m = 1-5, weights and inputs in [-1, 1]."""
    layer_sizes = tuple(draw(st.lists(st.integers(1, 4), min_size=2, max_size=5)))
    m = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = rng.uniform(-1.0, 1.0, bp.n_params(layer_sizes))
    X = rng.uniform(-1.0, 1.0, (m, layer_sizes[0]))
    K = layer_sizes[-1]
    if K > 1 and draw(st.booleans()):
        y = rng.integers(0, K, size=m)  # labels
    else:
        y = rng.uniform(0.0, 1.0, (m, K))  # soft targets
    return layer_sizes, params, X, y


# lambda_ > 0 only exists for cross-entropy; squared error has no regularization term.
LOSS_LAMBDA = st.sampled_from(
    [("cross_entropy", 0.0), ("cross_entropy", 0.7), ("cross_entropy", 3.0), ("squared_error", 0.0)]
)


@settings(max_examples=60, deadline=None)
@given(net=networks(), loss_lambda=LOSS_LAMBDA)
def test_analytic_gradient_matches_central_differences(net, loss_lambda):
    layer_sizes, params, X, y = net
    loss, lambda_ = loss_lambda

    def f(p):
        return bp.nn_cost_function(p, layer_sizes, X, y, lambda_, loss)

    _, grad = f(params)
    numgrad = bp.numerical_gradient(f, params)
    # Central differences with eps=1e-4 are accurate to ~1e-9 here (O(eps^2) truncation).
    np.testing.assert_allclose(grad, numgrad, rtol=1e-6, atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(net=networks(), loss_lambda=LOSS_LAMBDA)
def test_vectorized_backprop_equals_per_example_loop(net, loss_lambda):
    layer_sizes, params, X, y = net
    loss, lambda_ = loss_lambda
    J_vec, grad_vec = bp.nn_cost_function(params, layer_sizes, X, y, lambda_, loss)
    J_loop, grad_loop = bp.backprop_loop(params, layer_sizes, X, y, lambda_, loss)
    assert J_vec == pytest.approx(J_loop, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad_vec, grad_loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("layer_sizes", "loss", "lambda_"),
    [
        ((3, 5, 3), "cross_entropy", 0.0),
        ((3, 5, 3), "cross_entropy", 3.0),
        ((3, 5, 3), "squared_error", 0.0),
        ((4, 5, 3, 2), "cross_entropy", 1.0),  # the lecture's 4-layer network
        ((4, 5, 3, 2, 3), "squared_error", 0.0),
        ((2, 1), "cross_entropy", 0.5),  # no hidden layer: logistic regression
    ],
)
def test_check_nn_gradients_passes_ex4_standard_at_any_depth(layer_sizes, loss, lambda_):
    assert bp.check_nn_gradients(lambda_, loss, layer_sizes) < 1e-9


def test_gradient_check_flags_a_wrong_gradient():
    layer_sizes, X, y = (3, 5, 3), bp.debug_initialize_weights(5, 2), np.array([1, 2, 0, 1, 2])
    params = bp.unroll([bp.debug_initialize_weights(5, 3), bp.debug_initialize_weights(3, 5)])

    def forgot_one_over_m(p):
        J, grad = bp.nn_cost_function(p, layer_sizes, X, y)
        return J, grad * X.shape[0]

    assert bp.gradient_check(forgot_one_over_m, params) > 0.5


def test_numerical_gradient_of_a_quadratic_is_exact_and_leaves_theta_alone():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    theta = np.array([0.5, -1.5])
    before = theta.copy()
    numgrad = bp.numerical_gradient(lambda t: 0.5 * t @ A @ t, theta)
    np.testing.assert_allclose(numgrad, A @ theta, rtol=1e-10)
    np.testing.assert_array_equal(theta, before)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1.0, 0.0], [1.0, 0.0], 0.0),
        ([3.0, 0.0], [1.0, 0.0], 0.5),  # |3-1| / |3+1|
        ([0.0, 0.0], [0.0, 0.0], 0.0),
        ([1.0, 2.0], [-1.0, -2.0], np.inf),  # sign-flipped gradient: a + b == 0
    ],
)
def test_relative_difference_is_ex4_norm_ratio(a, b, expected):
    assert bp.relative_difference(a, b) == pytest.approx(expected)
