"""Shapes, unrolling, initialisation, forward propagation and the two costs."""

import math

import numpy as np
import pytest

import bpnet_ref as bp

# ---- layer_shapes / unroll / roll / Octave order ---------------------------------------------


@pytest.mark.parametrize(
    ("layer_sizes", "shapes", "n"),
    [
        ((400, 25, 10), [(25, 401), (10, 26)], 10285),  # ex4
        ((3, 5, 3), [(5, 4), (3, 6)], 38),  # checkNNGradients
        ((4, 5, 3, 2), [(5, 5), (3, 6), (2, 4)], 51),  # the lecture's 4-layer drawing
        ((2, 1), [(1, 3)], 3),
    ],
)
def test_layer_shapes_are_s_next_by_s_plus_bias(layer_sizes, shapes, n):
    assert bp.layer_shapes(layer_sizes) == shapes
    assert bp.n_params(layer_sizes) == n


def test_unroll_is_row_major_layer_by_layer():
    T1 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    T2 = np.array([[7.0, 8.0, 9.0]])
    np.testing.assert_array_equal(bp.unroll([T1, T2]), [1, 2, 3, 4, 5, 6, 7, 8, 9])


def test_roll_inverts_unroll_and_returns_independent_copies():
    layer_sizes = (4, 3, 2, 3)
    params = np.random.default_rng(0).normal(size=bp.n_params(layer_sizes))
    thetas = bp.roll(params, layer_sizes)
    assert [T.shape for T in thetas] == bp.layer_shapes(layer_sizes)
    np.testing.assert_array_equal(bp.unroll(thetas), params)
    thetas[0][0, 0] = 123.0
    assert params[0] != 123.0


def test_to_octave_order_gives_octave_colon_order():
    # Octave: [Theta1(:); Theta2(:)] with Theta1 = [1 3 5; 2 4 6], Theta2 = [7 8 9] is 1:9.
    T1 = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    T2 = np.array([[7.0, 8.0, 9.0]])
    octave = bp.to_octave_order(bp.unroll([T1, T2]), (2, 2, 1))
    np.testing.assert_array_equal(octave, np.arange(1, 10))


def test_octave_order_round_trip():
    layer_sizes = (3, 4, 2)
    params = np.random.default_rng(1).normal(size=bp.n_params(layer_sizes))
    octave = bp.to_octave_order(params, layer_sizes)
    assert not np.array_equal(octave, params)
    np.testing.assert_array_equal(bp.from_octave_order(octave, layer_sizes), params)


# ---- initialisation --------------------------------------------------------------------------


def test_rand_initialize_weights_shape_and_range_as_in_ex4():
    W = bp.rand_initialize_weights(10, 5, rng=0)
    assert W.shape == (5, 11)  # ex4.pdf: (10, 5) gives size [5 11]
    assert np.all(np.abs(W) <= 0.12)
    assert W.std() > 0.03  # spread over the interval, not all equal


def test_rand_initialize_weights_is_reproducible_from_a_seed():
    np.testing.assert_array_equal(
        bp.rand_initialize_weights(3, 4, rng=7), bp.rand_initialize_weights(3, 4, rng=7)
    )
    gen = np.random.default_rng(7)
    first, second = (
        bp.rand_initialize_weights(3, 4, rng=gen),
        bp.rand_initialize_weights(3, 4, rng=gen),
    )
    assert not np.array_equal(first, second)  # a Generator is advanced, breaking symmetry


def test_rand_initialize_weights_honours_epsilon():
    W = bp.rand_initialize_weights(20, 20, epsilon_init=0.5, rng=0)
    assert np.abs(W).max() <= 0.5 and np.abs(W).max() > 0.4


# ---- forward ---------------------------------------------------------------------------------


def small_problem(layer_sizes=(3, 4, 5, 2), m=6, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.uniform(-1, 1, bp.n_params(layer_sizes))
    X = rng.uniform(-1, 1, (m, layer_sizes[0]))
    y = rng.integers(0, layer_sizes[-1], size=m)
    return layer_sizes, params, X, y


def test_forward_a_has_bias_column_on_all_but_the_output_layer():
    layer_sizes, params, X, _ = small_problem()
    fwd = bp.forward(bp.roll(params, layer_sizes), X)
    assert [a.shape for a in fwd.a] == [(6, 4), (6, 5), (6, 6), (6, 2)]
    for a in fwd.a[:-1]:
        np.testing.assert_array_equal(a[:, 0], 1.0)
    np.testing.assert_array_equal(fwd.a[0][:, 1:], X)
    assert fwd.h is fwd.a[-1]


def test_forward_z_has_no_bias_and_feeds_the_next_activation():
    layer_sizes, params, X, _ = small_problem()
    thetas = bp.roll(params, layer_sizes)
    fwd = bp.forward(thetas, X)
    assert [z.shape for z in fwd.z] == [(6, 4), (6, 5), (6, 2)]
    for l, T in enumerate(thetas):
        np.testing.assert_allclose(fwd.z[l], fwd.a[l] @ T.T, rtol=1e-14)
        a_next = fwd.a[l + 1] if l == len(thetas) - 1 else fwd.a[l + 1][:, 1:]
        np.testing.assert_array_equal(a_next, bp.sigmoid(fwd.z[l]))


# ---- costs -----------------------------------------------------------------------------------


def test_cross_entropy_equals_the_lecture_formula():
    layer_sizes, params, X, y = small_problem()
    lambda_, m = 1.3, X.shape[0]
    thetas = bp.roll(params, layer_sizes)
    h, Y = bp.forward(thetas, X).h, bp.one_hot(y, layer_sizes[-1])
    lecture_J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m + lambda_ / (2 * m) * sum(
        np.sum(T[:, 1:] ** 2) for T in thetas
    )
    J, _ = bp.nn_cost_function(params, layer_sizes, X, y, lambda_)
    assert J == pytest.approx(lecture_J, rel=1e-13)


def test_single_layer_network_is_logistic_regression():
    theta = [0.5, -1.0, 2.0]  # bias, w1, w2
    X = [[1.0, 0.5], [-2.0, 0.25]]
    y = [[1.0], [0.0]]  # K = 1: targets, not labels
    expected = 0.0
    for (x1, x2), (t,) in zip(X, y, strict=True):
        h = 1 / (1 + math.exp(-(theta[0] + theta[1] * x1 + theta[2] * x2)))
        expected -= (t * math.log(h) + (1 - t) * math.log(1 - h)) / 2
    J, _ = bp.nn_cost_function(theta, (2, 1), X, y)
    assert J == pytest.approx(expected, rel=1e-14)


def test_squared_error_is_half_sum_of_squares():
    layer_sizes, params, X, y = small_problem()
    h = bp.forward(bp.roll(params, layer_sizes), X).h
    E, _ = bp.nn_cost_function(params, layer_sizes, X, y, loss="squared_error")
    assert E == pytest.approx(0.5 * np.sum((h - bp.one_hot(y, 2)) ** 2), rel=1e-14)


@pytest.mark.parametrize(("loss", "factor"), [("squared_error", 2.0), ("cross_entropy", 1.0)])
def test_duplicating_the_data_scales_only_the_unaveraged_loss(loss, factor):
    # squared error has no 1/m (the lecture's E); cross-entropy is a mean over examples.
    layer_sizes, params, X, y = small_problem()
    J1, g1 = bp.nn_cost_function(params, layer_sizes, X, y, loss=loss)
    J2, g2 = bp.nn_cost_function(
        params, layer_sizes, np.vstack([X, X]), np.concatenate([y, y]), loss=loss
    )
    assert J2 == pytest.approx(factor * J1, rel=1e-13)
    np.testing.assert_allclose(g2, factor * g1, rtol=1e-12, atol=1e-15)


def test_regularization_skips_the_bias_column():
    layer_sizes, params, X, y = small_problem()
    lambda_, m = 2.0, X.shape[0]
    J0, g0 = bp.nn_cost_function(params, layer_sizes, X, y, 0.0)
    J, g = bp.nn_cost_function(params, layer_sizes, X, y, lambda_)
    thetas = bp.roll(params, layer_sizes)
    assert J - J0 == pytest.approx(lambda_ / (2 * m) * sum(np.sum(T[:, 1:] ** 2) for T in thetas))
    expected_reg = [np.hstack([np.zeros((T.shape[0], 1)), lambda_ / m * T[:, 1:]]) for T in thetas]
    np.testing.assert_allclose(g - g0, bp.unroll(expected_reg), atol=1e-14)


@pytest.mark.parametrize(
    "as_targets",
    [
        lambda y, K: y.reshape(-1, 1),  # Octave-style column of labels
        lambda y, K: y.astype(float),  # whole-number floats
        lambda y, K: bp.one_hot(y, K),  # the (m, K) target matrix
    ],
    ids=["column", "float-labels", "one-hot"],
)
def test_label_encodings_give_the_same_cost(as_targets):
    layer_sizes, params, X, y = small_problem()
    J, g = bp.nn_cost_function(params, layer_sizes, X, y, 0.5)
    J2, g2 = bp.nn_cost_function(params, layer_sizes, X, as_targets(y, layer_sizes[-1]), 0.5)
    assert J2 == J
    np.testing.assert_array_equal(g2, g)


def test_soft_targets_enter_the_cost_linearly():
    layer_sizes, params, X, y = small_problem()
    Y = bp.one_hot(y, 2)
    soft = 0.25 * Y + 0.75 * (1 - Y)
    J_soft, _ = bp.nn_cost_function(params, layer_sizes, X, soft)
    J_y, _ = bp.nn_cost_function(params, layer_sizes, X, Y)
    J_not_y, _ = bp.nn_cost_function(params, layer_sizes, X, 1 - Y)
    assert J_soft == pytest.approx(0.25 * J_y + 0.75 * J_not_y, rel=1e-13)


@pytest.mark.parametrize(
    ("loss", "expected"),
    [("cross_entropy", [-0.2, 0.3]), ("squared_error", [-0.2 * 0.8 * 0.2, 0.3 * 0.3 * 0.7])],
)
def test_output_delta(loss, expected):
    np.testing.assert_allclose(bp.output_delta([0.8, 0.3], [1.0, 0.0], loss), expected, rtol=1e-14)


def test_one_hot_puts_label_k_in_column_k():
    np.testing.assert_array_equal(bp.one_hot([2, 0, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_cost_function_is_pure():
    layer_sizes, params, X, y = small_problem()
    copies = [a.copy() for a in (params, X, y)]
    first = bp.nn_cost_function(params, layer_sizes, X, y, 1.0)
    second = bp.nn_cost_function(params, layer_sizes, X, y, 1.0)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    for before, after in zip(copies, (params, X, y), strict=True):
        np.testing.assert_array_equal(before, after)


def test_predict_is_argmax_of_the_output():
    layer_sizes, params, X, _ = small_problem(layer_sizes=(3, 4, 5), m=20)
    thetas = bp.roll(params, layer_sizes)
    pred = bp.predict(thetas, X)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, np.argmax(bp.forward(thetas, X).h, axis=1))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "expected"),
    [
        ([0, 1, 2, 3], [0, 1, 2, 3], 1.0),
        ([0, 1, 2, 3], [0, 1, 0, 0], 0.5),
        ([[1], [2]], [1, 0], 0.5),
    ],
)
def test_accuracy_is_the_fraction_correct(y_true, y_pred, expected):
    assert bp.accuracy(y_true, y_pred) == expected
