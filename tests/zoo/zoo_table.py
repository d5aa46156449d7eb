"""The bug zoo's expectations, shared by tests/zoo/test_zoo.py and benchmarks/zoo_kill_rate.py.

Each row: submission file (in ``submissions/``), the misconception tag the grader must name, and the
parts that must lose points (exactly these; every other part must keep full marks). A bug in shared
code shows wherever that code runs: the zoo's base routes nnCostFunction, nnCostFunctionDeep and
squaredErrorCostFunction through one ``costAndGradient``, so e.g. a J bug costs points on nnCost and
on nnCostFunctionDeep.
"""

from pathlib import Path

HERE = Path(__file__).parent
SUBMISSIONS = HERE / "submissions"
CORRECT = HERE / "correct"

COST, GRAD, DEEP = "nnCost", "nnGrad", "nnCostFunctionDeep"
SE_COST, SE_DELTA = "squaredErrorCostFunction", "squaredErrorDelta"
NETS = {COST, GRAD, DEEP, SE_COST}
BACKPROP = {GRAD, DEEP, SE_COST}

# (file stem, tag, parts that lose points)
ZOO: list[tuple[str, str, set[str]]] = [
    # sigmoid and its gradient
    ("sigmoid_sign", "sigmoid_sign", {"sigmoid", *NETS, "predict"}),
    ("sigmoid_gradient_z", "sigmoid_gradient_z", {"sigmoidGradient", *BACKPROP}),
    ("sigmoid_gradient_is_g", "sigmoid_gradient_is_g", {"sigmoidGradient", *BACKPROP}),
    # backpropagation
    ("gprime_of_a", "gprime_of_a", BACKPROP),
    ("gprime_forgotten", "gprime_forgotten", BACKPROP),
    ("ce_output_delta_gprime", "ce_output_delta_gprime", {GRAD, DEEP}),
    ("backprop_two_layers_only", "backprop_two_layers_only", {DEEP, SE_COST}),
    ("grad_sign", "grad_sign", {GRAD, DEEP}),
    # the cross-entropy cost
    ("cost_missing_1_over_m", "cost_missing_1_over_m", {COST, DEEP}),
    ("grad_missing_1_over_m", "grad_missing_1_over_m", {GRAD, DEEP}),
    ("cost_mean_over_mK", "cost_mean_over_mK", {COST, DEEP}),
    ("cost_missing_negative_term", "cost_missing_negative_term", {COST, DEEP}),
    ("labels_not_one_hot", "labels_not_one_hot", NETS),
    # regularization
    ("bias_regularized_cost", "bias_regularized_cost", {COST, DEEP}),
    ("bias_regularized_grad", "bias_regularized_grad", {GRAD, DEEP}),
    ("reg_cost_lambda_over_m", "reg_cost_lambda_over_m", {COST, DEEP}),
    ("reg_grad_lambda_over_2m", "reg_grad_lambda_over_2m", {GRAD, DEEP}),
    ("reg_grad_missing_1_over_m", "reg_grad_missing_1_over_m", {GRAD, DEEP}),
    ("reg_cost_missing", "reg_cost_missing", {COST, DEEP}),
    ("reg_grad_missing", "reg_grad_missing", {GRAD, DEEP}),
    ("reg_first_and_last_only", "reg_first_and_last_only", {DEEP}),
    # conventions
    ("octave_unrolling", "octave_unrolling", BACKPROP),
    ("octave_unrolling_params", "octave_unrolling", NETS),
    ("one_based_labels", "one_based_labels", NETS),
    ("one_based_labels_compare", "one_based_labels", NETS),
    # squared error
    ("se_delta_missing_gprime", "se_delta_missing_gprime", {SE_DELTA, SE_COST}),
    ("se_delta_sign", "se_delta_sign", {SE_DELTA, SE_COST}),
    ("se_cost_over_m", "se_cost_over_m", {SE_COST}),
    ("se_grad_over_m", "se_grad_over_m", {SE_COST}),
    ("se_cost_missing_half", "se_cost_missing_half", {SE_COST}),
    # numerical gradient
    ("numgrad_one_sided", "numgrad_one_sided", {"computeNumericalGradient"}),
    ("numgrad_over_e", "numgrad_over_e", {"computeNumericalGradient"}),
    ("numgrad_perturb_not_reset", "numgrad_perturb_not_reset", {"computeNumericalGradient"}),
    ("numgrad_theta_not_restored", "numgrad_theta_not_restored", {"computeNumericalGradient"}),
    # predict
    ("predict_one_based", "predict_one_based", {"predict"}),
    ("predict_missing_bias", "predict_missing_bias", {"predict"}),
    # initialization
    ("init_zero_to_eps", "init_zero_to_eps", {"randInitializeWeights"}),
    ("init_unscaled", "init_unscaled", {"randInitializeWeights"}),
    ("init_no_bias_column", "init_no_bias_column", {"randInitializeWeights"}),
    ("init_transposed", "init_transposed", {"randInitializeWeights"}),
    ("init_constant", "init_constant", {"randInitializeWeights"}),
    ("init_gaussian", "init_gaussian", {"randInitializeWeights"}),
    ("init_epsilon_ignored", "init_epsilon_ignored", {"randInitializeWeights"}),
    ("init_reseeded", "init_reseeded", {"randInitializeWeights"}),
    ("init_reseeded_rng", "init_reseeded", {"randInitializeWeights"}),
    ("init_grid", "init_grid", {"randInitializeWeights"}),
    ("init_grid_shuffled", "init_grid", {"randInitializeWeights"}),
    # training
    ("gradient_ascent", "gradient_ascent", {"gradientDescent"}),
    ("history_after_step", "history_after_step", {"gradientDescent"}),
    ("history_extra_entry", "history_extra_entry", {"gradientDescent"}),
]

# Right values, wrong algorithm: only the timed cases fail. A very slow finite-difference code can
# exceed the call timeout instead of the time limit; it loses the same points.
FINITE_DIFFERENCES = ("finite_differences", {GRAD, DEEP}, {"too_slow", "timeout"})

# Correct alternatives: each must keep every point.
CORRECT_ALTERNATIVES = [
    "vectorized",
    "per_example_loop",
    "octave_columns",
    "scipy_expit",
    "tanh_sigmoid",
    "math_scalar_loops",
    "lists_and_floats",
    "init_uniform",
    "init_default_rng",
    "init_seeded_once",
]

STUDENT_ID = "zoo-student"
SECRET = b"zoo-secret"
