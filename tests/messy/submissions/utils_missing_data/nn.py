"""Correct, split over nn.py and utils.py, loading a data file at import that was not submitted."""

import numpy as np

from utils import add_bias, sigmoid

SIZES = np.loadtxt("sizes.txt", dtype=int)  # sizes.txt was left out of the submission



def sigmoidGradient(z):
    g = sigmoid(z)
    return g * (1.0 - g)


def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    return np.random.rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init


def _roll(nn_params, layer_sizes):
    thetas, start = [], 0
    for s_in, s_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        size = s_out * (s_in + 1)
        thetas.append(nn_params[start : start + size].reshape(s_out, s_in + 1))
        start += size
    return thetas


def _one_hot(y, K):
    y = np.asarray(y).ravel().astype(int)
    return np.eye(K)[y]


def _forward(thetas, X):
    a = [add_bias(X)]
    z = [None]
    for i, T in enumerate(thetas):
        z.append(a[-1] @ T.T)
        g = sigmoid(z[-1])
        a.append(g if i == len(thetas) - 1 else np.hstack([np.ones((X.shape[0], 1)), g]))
    return a, z


def _cost_grad(nn_params, layer_sizes, X, y, lambda_, loss):
    X = np.asarray(X, dtype=float)
    thetas = _roll(np.asarray(nn_params, dtype=float).ravel(), list(layer_sizes))
    m = X.shape[0]
    Y = _one_hot(y, layer_sizes[-1])
    a, z = _forward(thetas, X)
    h = a[-1]
    if loss == "ce":
        J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
        J += lambda_ / (2 * m) * sum(np.sum(T[:, 1:] ** 2) for T in thetas)
        delta = h - Y
        scale = 1.0 / m
    else:
        J = 0.5 * np.sum((h - Y) ** 2)
        delta = squaredErrorDelta(h, Y)
        scale = 1.0
    grads = [None] * len(thetas)
    for l in range(len(thetas) - 1, -1, -1):
        grads[l] = scale * delta.T @ a[l]
        if loss == "ce":
            grads[l][:, 1:] += lambda_ / m * thetas[l][:, 1:]
        if l > 0:
            delta = (delta @ thetas[l])[:, 1:] * sigmoidGradient(z[l])
    return J, np.concatenate([g.ravel() for g in grads])


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    sizes = [input_layer_size, hidden_layer_size, num_labels]
    return _cost_grad(nn_params, sizes, X, y, lambda_, "ce")


def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):
    return _cost_grad(nn_params, layer_sizes, X, y, lambda_, "ce")


def squaredErrorDelta(a_out, Y):
    return (a_out - Y) * a_out * (1 - a_out)


def squaredErrorCostFunction(nn_params, layer_sizes, X, y):
    return _cost_grad(nn_params, layer_sizes, X, y, 0.0, "se")


def computeNumericalGradient(J, theta, e=1e-4):
    def cost(t):  # J may return (cost, grad), as nnCostFunction does: keep the cost
        value = J(t)
        return value[0] if isinstance(value, tuple) else value

    theta = np.asarray(theta, dtype=float)
    numgrad = np.zeros_like(theta)
    perturb = np.zeros_like(theta)
    for p in range(theta.size):
        perturb.flat[p] = e
        numgrad.flat[p] = (cost(theta + perturb) - cost(theta - perturb)) / (2 * e)
        perturb.flat[p] = 0
    return numgrad


def predict(Theta1, Theta2, X):
    a, _ = _forward([Theta1, Theta2], np.asarray(X, dtype=float))
    return np.argmax(a[-1], axis=1)


def gradientDescent(costFunction, initial_params, alpha, num_iters):
    params = np.array(initial_params, dtype=float)
    J_history = np.zeros(num_iters)
    for i in range(num_iters):
        J_history[i], grad = costFunction(params)
        params = params - alpha * grad
    return params, J_history
