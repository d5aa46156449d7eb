"""bpnet_ref against the values published for Andrew Ng's ex4 (independent anchors).

Sources are listed in ../shared/reference/anchors.md section 4.
"""

import numpy as np
import pytest

import bpnet_ref as bp

# ---- sigmoidGradient([-1 -0.5 0 0.5 1]) from ex4.m -------------------------------------------


def test_sigmoid_gradient_matches_ex4_published_vector():
    got = bp.sigmoid_gradient([-1, -0.5, 0, 0.5, 1])
    published = [0.196612, 0.235004, 0.250000, 0.235004, 0.196612]  # printed to 6 decimals
    np.testing.assert_allclose(got, published, atol=5e-7)


def test_sigmoid_gradient_matches_recomputed_exact_values():
    got = bp.sigmoid_gradient([-1.0, -0.5, 0.0])
    np.testing.assert_allclose(got, [0.1966119332, 0.2350037122, 0.25], rtol=1e-9)


# ---- Tom Mosher's forum case (il=2, hl=2, nl=4) ----------------------------------------------

MOSHER_SIZES = (2, 2, 4)
# Octave: nn = (1:18)/10 unrolled column-major gives these matrices (anchors.md).
MOSHER_THETA1 = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
MOSHER_THETA2 = np.array([[0.7, 1.1, 1.5], [0.8, 1.2, 1.6], [0.9, 1.3, 1.7], [1.0, 1.4, 1.8]])
MOSHER_X = np.cos(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
MOSHER_Y_OCTAVE = np.array([4, 2, 3])  # 1-based labels
# Gradient at lambda = 4 as published, in Octave's column-major order (5 decimals).
MOSHER_GRAD_LAMBDA4_OCTAVE = np.array(
    [0.76614, 0.97990, 0.37246, 0.49749, 0.64174, 0.74614, 0.88342, 0.56876, 0.58467,
     0.59814, 1.92598, 1.94462, 1.98965, 2.17855, 2.47834, 2.50225, 2.52644, 2.72233]
)  # fmt: skip


def mosher_params():
    return bp.unroll([MOSHER_THETA1, MOSHER_THETA2])


def test_octave_vector_1_to_18_converts_to_the_published_matrices():
    row_major = bp.from_octave_order(np.arange(1, 19) / 10, MOSHER_SIZES)
    np.testing.assert_array_equal(row_major, mosher_params())


@pytest.mark.parametrize(
    ("lambda_", "published_J"),
    [(4.0, 19.4736365227), (0.0, 7.40696985607)],
)
def test_mosher_cost(lambda_, published_J):
    J, _ = bp.nn_cost_function(
        mosher_params(), MOSHER_SIZES, MOSHER_X, MOSHER_Y_OCTAVE - 1, lambda_
    )
    assert J == pytest.approx(published_J, rel=1e-10)


@pytest.mark.parametrize("cost_function", [bp.nn_cost_function, bp.backprop_loop])
def test_mosher_gradient_lambda4_after_column_major_to_row_major(cost_function):
    _, grad = cost_function(mosher_params(), MOSHER_SIZES, MOSHER_X, MOSHER_Y_OCTAVE - 1, 4.0)
    expected = bp.from_octave_order(MOSHER_GRAD_LAMBDA4_OCTAVE, MOSHER_SIZES)
    np.testing.assert_allclose(grad, expected, atol=5e-6)


def test_mosher_gradient_in_octave_order_matches_published_order():
    _, grad = bp.nn_cost_function(mosher_params(), MOSHER_SIZES, MOSHER_X, MOSHER_Y_OCTAVE - 1, 4.0)
    np.testing.assert_allclose(
        bp.to_octave_order(grad, MOSHER_SIZES), MOSHER_GRAD_LAMBDA4_OCTAVE, atol=5e-6
    )


# ---- debugInitializeWeights and checkNNGradients ---------------------------------------------


@pytest.mark.parametrize(("fan_out", "fan_in"), [(5, 3), (3, 5), (2, 1), (4, 0), (1, 1)])
def test_debug_initialize_weights_follows_its_octave_definition(fan_out, fan_in):
    # W = reshape(sin(1:numel(W)), size(W)) / 10, Octave's reshape filling column by column.
    W = bp.debug_initialize_weights(fan_out, fan_in)
    assert W.shape == (fan_out, 1 + fan_in)
    for i in range(fan_out):
        for j in range(1 + fan_in):
            linear_index_1_based = 1 + i + j * fan_out
            assert W[i, j] == pytest.approx(np.sin(linear_index_1_based) / 10, abs=1e-15)


def test_debug_initialize_weights_is_not_c_order():
    W = bp.debug_initialize_weights(2, 1)
    assert W[0, 1] == pytest.approx(np.sin(3) / 10)  # C order would hold sin(2)/10 here


@pytest.mark.parametrize("lambda_", [0.0, 3.0])  # ex4 runs checkNNGradients at 0 and 3
def test_check_nn_gradients_ex4_setup_meets_the_1e9_standard(lambda_):
    assert bp.check_nn_gradients(lambda_) < 1e-9
