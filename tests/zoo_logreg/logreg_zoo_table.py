"""The logreg bug zoo's expectations, shared by test_logreg_zoo.py and benchmarks/zoo_kill_rate.py.

Each row: submission file (in ``submissions/``), the misconception tag the grader must name, and the
parts that must lose points (exactly these; every other part must keep full marks). costFunctionReg
calls costFunction, and both call sigmoid, so a bug there shows in every part that runs it.
"""

from pathlib import Path

HERE = Path(__file__).parent
SUBMISSIONS = HERE / "submissions"
CORRECT = HERE / "correct"
HOMEWORK = "logreg"

COSTS = {"costFunction", "costFunctionReg"}
REG = {"costFunctionReg"}

# (file stem, tag, parts that lose points)
ZOO: list[tuple[str, str, set[str]]] = [
    ("sigmoid_sign", "sigmoid_sign", {"sigmoid", *COSTS, "predict"}),
    ("cost_missing_1_over_m", "missing_1_over_m", COSTS),
    ("grad_missing_1_over_m", "missing_1_over_m", COSTS),
    ("cost_missing_negative_term", "cost_missing_negative_term", COSTS),
    ("grad_sign", "grad_sign", COSTS),
    ("labels_pm1_cost", "labels_pm1", COSTS),
    ("labels_pm1_predict", "labels_pm1", {"predict"}),
    ("theta0_regularized", "theta0_regularized", REG),
    ("theta0_regularized_grad", "theta0_regularized", REG),
    ("reg_cost_lambda_over_m", "reg_cost_lambda_over_m", REG),
    ("reg_grad_lambda_over_2m", "reg_grad_lambda_over_2m", REG),
    ("reg_missing", "reg_missing", REG),
    ("map_feature_swapped", "map_feature_order", {"mapFeature"}),
    ("map_feature_x1_outer", "map_feature_order", {"mapFeature"}),
    ("map_feature_no_bias", "map_feature_no_bias", {"mapFeature"}),
    ("map_feature_degree_off_by_one", "map_feature_degree_off_by_one", {"mapFeature"}),
    ("predict_threshold_on_score", "predict_threshold_on_score", {"predict"}),
    ("predict_probabilities", "predict_probabilities", {"predict"}),
]

# Correct alternatives: each must keep every point.
CORRECT_ALTERNATIVES = ["vectorized", "loops", "stable_expit", "column_vectors"]

STUDENT_ID = "zoo-student"
SECRET = b"zoo-secret"
