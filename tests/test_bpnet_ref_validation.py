"""Bad input raises a ValueError naming the problem; extreme values stay warning-free."""

import warnings

import numpy as np
import pytest

import bpnet_ref as bp

SIZES = (2, 3, 4)
GOOD = {
    "nn_params": np.linspace(-1, 1, bp.n_params(SIZES)),
    "layer_sizes": SIZES,
    "X": np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 0.0]]),
    "y": np.array([0, 3, 1]),
}


def with_nan(X):
    X = X.copy()
    X[1, 0] = np.nan
    return X


def with_inf(X):
    X = X.copy()
    X[2, 1] = -np.inf
    return X


BAD_COST_INPUTS = [
    ("params too short", {"nn_params": np.zeros(24)}, r"nn_params has 24 elements .* needs 25"),
    ("params 2-D", {"nn_params": np.zeros((25, 2))}, r"nn_params must be a 1-D vector"),
    ("params NaN", {"nn_params": np.full(25, np.nan)}, r"nn_params contains NaN or inf"),
    ("label too big", {"y": np.array([0, 4, 1])}, r"label 4 at index 1 is out of range 0\.\.3"),
    ("label negative", {"y": np.array([0, -1, 1])}, r"label -1 .* out of range"),
    ("label not whole", {"y": np.array([0, 1.5, 1])}, r"whole numbers"),
    ("too few labels", {"y": np.array([0, 1])}, r"y has 2 labels but X has 3 examples"),
    ("target matrix rows", {"y": np.zeros((2, 4))}, r"y has 2 rows but X has 3 examples"),
    ("target out of [0,1]", {"y": np.full((3, 4), 2.0)}, r"entries in \[0, 1\]"),
    ("y wrong shape", {"y": np.zeros((3, 2, 2))}, r"y must be labels of shape \(3,\)"),
    ("X columns", {"X": np.zeros((3, 3))}, r"X has 3 columns but the input layer has 2 units"),
    ("X 1-D", {"X": np.zeros(2)}, r"X must be a 2-D array"),
    ("X empty", {"X": np.zeros((0, 2)), "y": np.zeros(0, dtype=int)}, r"X has no rows"),
    ("X NaN", {"X": with_nan(GOOD["X"])}, r"X contains NaN or inf \(first at X\[1, 0\]"),
    ("X inf", {"X": with_inf(GOOD["X"])}, r"X contains NaN or inf \(first at X\[2, 1\]"),
    ("one layer", {"layer_sizes": (2,)}, r"at least 2 layers"),
    ("zero units", {"layer_sizes": (2, 0, 4)}, r"layer_sizes\[1\] must be >= 1"),
    ("float units", {"layer_sizes": (2, 2.5, 4)}, r"layer_sizes\[1\] must be an int"),
    ("sizes not a sequence", {"layer_sizes": 3}, r"layer_sizes must be a sequence"),
    ("negative lambda", {"lambda_": -1.0}, r"lambda_ must be a finite number >= 0"),
    ("NaN lambda", {"lambda_": float("nan")}, r"lambda_ must be a finite number >= 0"),
    ("unknown loss", {"loss": "mse"}, r"unknown loss 'mse'"),
    (
        "squared error with lambda",
        {"loss": "squared_error", "lambda_": 1.0},
        r"squared_error.*no regularization.*lambda_ must be 0",
    ),
]


@pytest.mark.parametrize("cost_function", [bp.nn_cost_function, bp.backprop_loop])
@pytest.mark.parametrize(
    ("change", "message"),
    [case[1:] for case in BAD_COST_INPUTS],
    ids=[case[0] for case in BAD_COST_INPUTS],
)
def test_bad_cost_input_raises_a_named_value_error(cost_function, change, message):
    with pytest.raises(ValueError, match=message):
        cost_function(**{**GOOD, **change})


def test_good_inputs_of_the_table_are_accepted():
    J, grad = bp.nn_cost_function(**GOOD)
    assert np.isfinite(J) and grad.shape == GOOD["nn_params"].shape


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bp.roll(np.zeros(5), (2, 3)), r"nn_params has 5 elements .* needs 9"),
        (lambda: bp.forward([np.zeros((3, 3)), np.zeros((2, 3))], np.zeros((1, 2))), r"Theta2 has shape \(2, 3\)"),
        (lambda: bp.forward([np.zeros((3, 3))], np.zeros((1, 5))), r"X has 5 columns but the input layer has 2"),
        (lambda: bp.forward(np.zeros((3, 3)), np.zeros((1, 2))), r"thetas must be a non-empty list"),
        (lambda: bp.predict([np.zeros(3)], np.zeros((1, 2))), r"Theta1 must be 2-D"),
        (lambda: bp.one_hot([0, 3], 3), r"label 3 .* out of range 0\.\.2"),
        (lambda: bp.one_hot([1, 10], 10), r"Octave-style 1\.\.K labels"),
        (lambda: bp.output_delta(np.zeros(3), np.zeros(2)), r"a_out has shape \(3,\) but Y has shape \(2,\)"),
        (lambda: bp.accuracy([1, 2], [1, 2, 3]), r"same length"),
        (lambda: bp.numerical_gradient(np.sum, np.zeros((2, 2))), r"1-D parameter vector"),
        (lambda: bp.rand_initialize_weights(3, 0), r"must be >= 1"),
        (lambda: bp.train((2, 3), np.zeros((2, 2)), [0, 1], method="adam"), r"unknown method 'adam'"),
        (lambda: bp.train((2, 3), np.zeros((2, 2)), [0, 1], max_iter=-1), r"max_iter must be an int >= 0"),
        (lambda: bp.train((2, 3), np.zeros((2, 2)), [0, 1], learning_rate=0), r"learning_rate must be a positive"),
        (lambda: bp.from_octave_order(np.zeros(4), (2, 3)), r"nn_params has 4 elements .* needs 9"),
    ],
)  # fmt: skip
def test_other_public_functions_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- numerical safety ------------------------------------------------------------------------


@pytest.fixture
def strict_floats():
    """Turn every floating-point warning into an error (underflow included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


HUGE = np.array([-1e6, -1000.0, -40.0, 0.0, 40.0, 1000.0, 1e6])


def test_sigmoid_is_exact_and_quiet_for_huge_z(strict_floats):
    np.testing.assert_array_equal(
        bp.sigmoid(HUGE), [0, 0, bp.sigmoid(-40.0), 0.5, bp.sigmoid(40.0), 1, 1]
    )
    assert 0 < bp.sigmoid(-40.0) < 1e-17


@pytest.mark.parametrize(
    ("z", "expected"),
    [
        (-720.0, np.exp(-720.0)),  # subnormal g(z): e^z to rounding, not 0.0
        (-745.0, np.exp(-745.0)),  # the smallest subnormal
        (-709.5, np.exp(-709.5)),  # exp(-z) is finite but g(z) is subnormal
        (-40.0, 4.248354255291589e-18),  # full relative precision for tiny g
    ],
)
def test_sigmoid_keeps_tiny_and_subnormal_values(strict_floats, z, expected):
    with np.errstate(under="ignore"):  # np.exp(-720) itself underflows to a subnormal
        np.testing.assert_allclose(bp.sigmoid(np.array([z])), [expected], rtol=4e-16, atol=0)


@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
def test_sigmoid_in_place_equals_sigmoid(strict_floats, shape):
    z = np.linspace(-745.0, 40.0, int(np.prod(shape))).reshape(shape)  # subnormal tail included
    if not shape:
        z = np.array(-720.0)
    expected = bp.sigmoid(z)
    out = np.array(z, copy=True)
    result = bp.sigmoid(out, out=out) if shape else bp.sigmoid(out)
    np.testing.assert_array_equal(result, expected)


def test_finite_input_whose_sum_overflows_is_accepted(strict_floats):
    """The finite-input check sums first; an overflowing sum of finite entries is not NaN."""
    X = np.full((3, 2), 1e308)
    J, grad = bp.nn_cost_function(**{**GOOD, "X": X})
    assert np.isfinite(J) and np.all(np.isfinite(grad))


def test_sigmoid_gradient_and_log_sigmoid_are_quiet_for_huge_z(strict_floats):
    assert np.all(np.isfinite(bp.sigmoid_gradient(HUGE)))
    np.testing.assert_allclose(bp.log_sigmoid(HUGE)[[0, 1]], [-1e6, -1000.0])
    assert bp.log_sigmoid(1e6) == 0.0


@pytest.mark.parametrize("cost_function", [bp.nn_cost_function, bp.backprop_loop])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_saturated_network_gives_finite_exact_cost_without_warnings(
    strict_floats, cost_function, loss
):
    # All weights 1e3: every output saturates to h == 1.0 in float64, so log(1 - h) would be log(0).
    sizes = (2, 3, 2)
    params = np.full(bp.n_params(sizes), 1e3)
    X = np.array([[1.0, 2.0], [-3.0, 4.0]])
    J, grad = cost_function(params, sizes, X, [0, 1], loss=loss)
    assert np.all(np.isfinite(grad))
    if loss == "cross_entropy":
        # z^(3) = 1e3 * (1 + 3 * 1) = 4000 for both outputs; the wrong one costs -log(1 - g(4000)) = 4000.
        assert J == pytest.approx(4000.0)
    else:
        assert J == pytest.approx(1.0)  # 1/2 * (0^2 + 1^2) per example, summed over 2
