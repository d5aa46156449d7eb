"""Homework: backpropagation (lecture 3.2, after Andrew Ng's ex4).
作业：神经网络的反向传递算法（课程 3.2 节，吴恩达 ex4）。

Implement every function whose body holds a START/END OF YOUR CODE block. Conventions:

* X is (m, n): one example per row. Labels y are integers 0..K-1, shape (m,) or (m, 1).
* Theta^(l) is (s_{l+1}, s_l + 1); its first column multiplies the bias unit a_0 = 1.
* Parameters are unrolled row-major: np.concatenate([Theta1.ravel(), Theta2.ravel()]).

约定：X 每行一个样本；标签为 0..K-1；Theta 的第一列对应偏置；参数按行（row-major）展开。
Check your work with ``python check.py nn.py`` (needs the bpgrade package).
"""

from collections.abc import Callable

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Sigmoid activation, elementwise: g(z) = 1 / (1 + exp(-z)).
    Sigmoid 激活函数（逐元素）。

    Parameters
    ----------
    z : array_like, any shape (a Python float is fine)

    Returns
    -------
    g : ndarray, the same shape as z, with values in [0, 1]
    """
    z = np.asarray(z, dtype=float)
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('sigmoid：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def sigmoidGradient(z: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid, elementwise: g'(z) = g(z) * (1 - g(z)).
    Sigmoid 函数的导数（逐元素）。

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    g_prime : ndarray, the same shape as z, with values in [0, 0.25]
    """
    z = np.asarray(z, dtype=float)
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('sigmoidGradient：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def randInitializeWeights(L_in: int, L_out: int, epsilon_init: float = 0.12) -> np.ndarray:
    """Random weights for a layer with L_in inputs and L_out outputs, drawn from U[-eps, eps].
    随机初始化一层的权重，服从 [-epsilon_init, epsilon_init] 上的均匀分布。

    Parameters
    ----------
    L_in : int, number of incoming units (without the bias)
    L_out : int, number of outgoing units
    epsilon_init : float, half-width of the interval

    Returns
    -------
    W : ndarray of shape (L_out, 1 + L_in); column 0 holds the bias weights
    """
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('randInitializeWeights：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def nnCostFunction(
    nn_params: np.ndarray,
    input_layer_size: int,
    hidden_layer_size: int,
    num_labels: int,
    X: np.ndarray,
    y: np.ndarray,
    lambda_: float = 0.0,
) -> tuple[float, np.ndarray]:
    """Cost and gradient of a 3-layer network (input, hidden, output).
    三层神经网络的代价函数及其梯度（反向传递）。

    J = -1/m sum_i sum_k [ y_k log h_k + (1 - y_k) log(1 - h_k) ]
        + lambda/(2m) * (sum of squares of Theta1[:, 1:] and Theta2[:, 1:])

    Parameters
    ----------
    nn_params : ndarray of shape (s2*(s1+1) + K*(s2+1),)
        Theta1 (s2, s1+1) and Theta2 (K, s2+1), unrolled row-major and concatenated.
    input_layer_size : int, s1
    hidden_layer_size : int, s2
    num_labels : int, K
    X : ndarray of shape (m, s1)
    y : ndarray of shape (m,) or (m, 1), integer labels in 0..K-1
    lambda_ : float, regularization strength (the bias column is not regularized)

    Returns
    -------
    J : float, the regularized cross-entropy cost
    grad : ndarray of shape nn_params.shape
        dJ/dTheta1 and dJ/dTheta2 unrolled the same way:
        D = Delta/m + (lambda/m) * Theta, without the lambda term in column 0.
    """
    # Given: unroll the parameters, one-hot labels.
    s1, s2, K = input_layer_size, hidden_layer_size, num_labels
    Theta1 = np.reshape(nn_params[: s2 * (s1 + 1)], (s2, s1 + 1))
    Theta2 = np.reshape(nn_params[s2 * (s1 + 1) :], (K, s2 + 1))
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    Y = np.eye(K)[np.asarray(y).astype(int).ravel()]  # (m, K), row i = one-hot label of example i

    J = 0.0
    Theta1_grad = np.zeros_like(Theta1)
    Theta2_grad = np.zeros_like(Theta2)

    # Part 4: forward propagation (a1, z2, a2, z3, a3) and the regularized cost J.
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('nnCostFunction：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****

    # Part 5: backpropagation. delta3 = a3 - Y; delta2 = (delta3 Theta2)[:, 1:] .* g'(z2);
    # Theta_grad = Delta / m, plus (lambda/m) Theta outside column 0.
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    pass
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****

    grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    return float(J), grad


def computeNumericalGradient(
    J: Callable[[np.ndarray], float | tuple], theta: np.ndarray, e: float = 1e-4
) -> np.ndarray:
    """Central-difference estimate of the gradient of J at theta.
    用中心差分估计 J 在 theta 处的梯度（梯度检验）。

    numgrad[p] = (J(theta + e * u_p) - J(theta - e * u_p)) / (2 e), u_p the p-th unit vector.

    Parameters
    ----------
    J : callable, J(theta) -> cost, or -> (cost, grad) like nnCostFunction; as in ex4, only
        the first output (the cost) is used. The graded cases call it both ways.
    theta : ndarray of shape (n,)
    e : float, the perturbation

    Returns
    -------
    numgrad : ndarray of shape theta.shape
    """

    def cost(t):  # given: accept J returning a cost or a (cost, grad) tuple
        value = J(t)
        return value[0] if isinstance(value, (tuple, list)) else value

    theta = np.asarray(theta, dtype=float)
    numgrad = np.zeros_like(theta)
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('computeNumericalGradient：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****
    return numgrad


def rollParams(nn_params: np.ndarray, layer_sizes: list[int]) -> list[np.ndarray]:
    """Split unrolled parameters into [Theta1, ..., Theta_{L-1}] (given).
    把展开的参数向量还原为各层的 Theta 矩阵（已给出）。

    Theta_l has shape (layer_sizes[l+1], layer_sizes[l] + 1); the blocks are row-major, in order.
    """
    Thetas, start = [], 0
    for s_in, s_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        size = s_out * (s_in + 1)
        Thetas.append(np.reshape(nn_params[start : start + size], (s_out, s_in + 1)))
        start += size
    if start != np.size(nn_params):
        raise ValueError(
            f"nn_params has {np.size(nn_params)} entries, layer_sizes {layer_sizes} need {start}"
        )
    return Thetas


def unrollParams(Thetas: list[np.ndarray]) -> np.ndarray:
    """Concatenate [Theta1, ..., Theta_{L-1}] row-major into one vector (given).
    把各层的 Theta 按行展开并拼接成一个向量（已给出）。
    """
    return np.concatenate([np.ravel(T) for T in Thetas])


def nnCostFunctionDeep(
    nn_params: np.ndarray,
    layer_sizes: list[int],
    X: np.ndarray,
    y: np.ndarray,
    lambda_: float = 0.0,
) -> tuple[float, np.ndarray]:
    """Cost and gradient of a network with any number of layers L >= 2.
    任意层数（L >= 2）神经网络的代价函数及其梯度。

    Forward:  a1 = [1, X];  z_{l+1} = a_l Theta_l^T;  a_{l+1} = [1, g(z_{l+1})]  (no bias on the output)
    Cost:     as nnCostFunction, regularizing every Theta_l[:, 1:]
    Backward: delta_L = a_L - Y;  delta_l = (delta_{l+1} Theta_l)[:, 1:] * g'(z_l)
              grad Theta_l = delta_{l+1}^T a_l / m  (+ lambda/m Theta_l outside column 0)

    Parameters
    ----------
    nn_params : ndarray of shape (sum_l s_{l+1} (s_l + 1),), the Thetas unrolled row-major in order
    layer_sizes : list of int [s_1, ..., s_L], input size first, K = s_L outputs last
    X : ndarray of shape (m, s_1)
    y : ndarray of shape (m,) or (m, 1), integer labels in 0..K-1
    lambda_ : float, regularization strength

    Returns
    -------
    J : float
    grad : ndarray of shape nn_params.shape
    """
    Thetas = rollParams(nn_params, layer_sizes)
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    Y = np.eye(layer_sizes[-1])[np.asarray(y).astype(int).ravel()]  # (m, K)
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('nnCostFunctionDeep：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def squaredErrorDelta(a_out: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Output-layer delta for the squared-error cost E = 1/2 sum (a - y)^2 with sigmoid outputs.
    误差平方和代价函数下输出层的误差 delta = dE/dz。

    Parameters
    ----------
    a_out : ndarray of shape (m, K), the output activations a^(L) = g(z^(L))
    Y : ndarray of shape (m, K), the one-hot targets

    Returns
    -------
    delta : ndarray of shape (m, K), dE/dz^(L) = dE/da * da/dz
    """
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('squaredErrorDelta：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def squaredErrorCostFunction(
    nn_params: np.ndarray, layer_sizes: list[int], X: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Squared-error cost E = 1/2 sum_i sum_k (a_k - y_k)^2 and its gradient (no 1/m, no regularization).
    误差平方和代价函数 E 及其梯度（不除以 m，不加正则项）。

    Backward: delta_L = squaredErrorDelta(a_L, Y);  delta_l = (delta_{l+1} Theta_l)[:, 1:] * g'(z_l);
              grad Theta_l = delta_{l+1}^T a_l  (= Delta_l, not divided by m)

    Parameters
    ----------
    nn_params : ndarray, the Thetas unrolled row-major in order (as nnCostFunctionDeep)
    layer_sizes : list of int [s_1, ..., s_L]
    X : ndarray of shape (m, s_1)
    y : ndarray of shape (m,) or (m, 1), integer labels in 0..K-1

    Returns
    -------
    E : float
    grad : ndarray of shape nn_params.shape
    """
    Thetas = rollParams(nn_params, layer_sizes)
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    Y = np.eye(layer_sizes[-1])[np.asarray(y).astype(int).ravel()]  # (m, K)
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('squaredErrorCostFunction：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def predict(Theta1: np.ndarray, Theta2: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Labels predicted by a trained 3-layer network: argmax_k h_Theta(x)_k.
    用训练好的三层网络预测类别。

    Parameters
    ----------
    Theta1 : ndarray of shape (s2, s1 + 1)
    Theta2 : ndarray of shape (K, s2 + 1)
    X : ndarray of shape (m, s1)

    Returns
    -------
    p : ndarray of int, shape (m,), labels in 0..K-1
    """
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('predict：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****


def gradientDescent(
    costFunction: Callable[[np.ndarray], tuple[float, np.ndarray]],
    initial_params: np.ndarray,
    alpha: float,
    num_iters: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch gradient descent: params := params - alpha * grad, num_iters times.
    批量梯度下降。

    Parameters
    ----------
    costFunction : callable, costFunction(params) -> (J, grad), grad shaped like params
    initial_params : ndarray of shape (n,), not modified
    alpha : float, the learning rate
    num_iters : int, the number of steps

    Returns
    -------
    params : ndarray of shape (n,), the parameters after num_iters steps
    J_history : ndarray of shape (num_iters,), J_history[i] = the cost before step i
    """
    params = np.array(initial_params, dtype=float)  # a copy: never change the caller's array
    J_history = np.zeros(num_iters)
    # *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****
    raise NotImplementedError('gradientDescent：尚未实现（请在 START/END 两行之间写你的代码）')
    # *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****
    return params, J_history
