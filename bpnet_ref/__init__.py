"""bpnet_ref: the trusted reference implementation of the backpropagation lecture.

Sigmoid networks of any depth, following Andrew Ng's ex4 and the lecture
"3.2 神经网络的反向传递算法": Theta^(l) has shape (s_(l+1), s_l + 1) with the bias
column first, parameters unroll row-major layer by layer, labels are 0..K-1.
"""

from .activations import log_sigmoid, sigmoid, sigmoid_gradient
from .data import holdout_split, load_digits
from .gradcheck import check_nn_gradients, gradient_check, numerical_gradient, relative_difference
from .loop import backprop_loop
from .network import ForwardResult, forward, nn_cost_function, output_delta
from .params import (
    debug_initialize_weights,
    from_octave_order,
    layer_shapes,
    n_params,
    rand_initialize_weights,
    roll,
    to_octave_order,
    unroll,
)
from .train import TrainResult, accuracy, predict, train
from .validation import LOSSES, one_hot

__all__ = [
    "LOSSES",
    "ForwardResult",
    "TrainResult",
    "accuracy",
    "backprop_loop",
    "check_nn_gradients",
    "debug_initialize_weights",
    "forward",
    "from_octave_order",
    "gradient_check",
    "holdout_split",
    "layer_shapes",
    "load_digits",
    "log_sigmoid",
    "n_params",
    "nn_cost_function",
    "numerical_gradient",
    "one_hot",
    "output_delta",
    "predict",
    "rand_initialize_weights",
    "relative_difference",
    "roll",
    "sigmoid",
    "sigmoid_gradient",
    "to_octave_order",
    "train",
    "unroll",
]
