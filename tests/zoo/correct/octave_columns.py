"""Correct: an Octave-style port: column vectors everywhere, examples as columns, J a 1x1 matrix.

nn_params and y become (n, 1) and (m, 1) columns, activations are (units, m) with the bias as row 0
(z2 = Theta1 * a1 as on the lecture's slides), the gradient is returned as an (n, 1) column and J as
a 1x1 array, predict returns an (m, 1) column, gradientDescent returns column vectors.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def sigmoidGradient(z):
    return sigmoid(z) * (1.0 - sigmoid(z))


def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    return np.random.rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init


def _reshape_thetas(nn_params, layer_sizes):
    nn_params = np.asarray(nn_params, dtype=float).reshape(-1, 1)  # Octave's column
    thetas, start = [], 0
    for s_in, s_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        n = s_out * (s_in + 1)
        thetas.append(nn_params[start : start + n, 0].reshape(s_out, s_in + 1))
        start += n
    return thetas


def _cost_grad(nn_params, layer_sizes, X, y, lambda_, squared):
    thetas = _reshape_thetas(nn_params, layer_sizes)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).reshape(-1, 1)  # (m, 1)
    m, K = X.shape[0], layer_sizes[-1]
    Y = (y == np.arange(K).reshape(1, -1)).astype(float).T  # (K, m), one column per example
    a = [np.vstack([np.ones((1, m)), X.T])]  # (n+1, m)
    z = [None]
    for l, T in enumerate(thetas):
        z.append(T @ a[l])
        g = sigmoid(z[-1])
        a.append(g if l == len(thetas) - 1 else np.vstack([np.ones((1, m)), g]))
    h = a[-1]
    if squared:
        J = 0.5 * np.sum(np.sum((h - Y) ** 2, axis=0, keepdims=True), axis=1, keepdims=True)
        delta = squaredErrorDelta(h, Y)
    else:
        J = (
            -np.sum(
                np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h), axis=0, keepdims=True),
                axis=1,
                keepdims=True,
            )
            / m
        )
        J = J + lambda_ / (2 * m) * sum(np.sum(T[:, 1:] ** 2) for T in thetas)
        delta = h - Y
    grads = [None] * len(thetas)
    for l in range(len(thetas) - 1, -1, -1):
        grads[l] = delta @ a[l].T
        if l > 0:
            delta = (thetas[l].T @ delta)[1:, :] * sigmoidGradient(z[l])
    if not squared:
        for l, T in enumerate(thetas):
            grads[l] = grads[l] / m
            grads[l][:, 1:] = grads[l][:, 1:] + lambda_ / m * T[:, 1:]
    grad = np.vstack([G.reshape(-1, 1) for G in grads])  # (n, 1), same order as nn_params
    return J.reshape(1, 1), grad


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    sizes = [input_layer_size, hidden_layer_size, num_labels]
    return _cost_grad(nn_params, sizes, X, y, lambda_, squared=False)


def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):
    return _cost_grad(nn_params, list(layer_sizes), X, y, lambda_, squared=False)


def squaredErrorDelta(a_out, Y):
    return (a_out - Y) * a_out * (1 - a_out)


def squaredErrorCostFunction(nn_params, layer_sizes, X, y):
    return _cost_grad(nn_params, list(layer_sizes), X, y, 0.0, squared=True)


def computeNumericalGradient(J, theta, e=1e-4):
    numgrad = np.zeros(np.shape(theta))
    perturb = np.zeros(np.shape(theta))
    for p in range(np.size(theta)):
        perturb.flat[p] = e
        loss1 = J(theta - perturb)
        loss2 = J(theta + perturb)
        if isinstance(loss1, tuple):  # like Octave's loss1 = J(...): only the first output
            loss1, loss2 = loss1[0], loss2[0]
        numgrad.flat[p] = (loss2 - loss1) / (2 * e)
        perturb.flat[p] = 0
    return numgrad


def predict(Theta1, Theta2, X):
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    h1 = sigmoid(np.hstack([np.ones((m, 1)), X]) @ Theta1.T)
    h2 = sigmoid(np.hstack([np.ones((m, 1)), h1]) @ Theta2.T)
    return np.argmax(h2, axis=1).reshape(-1, 1)  # (m, 1), like Octave's [dummy, p] = max(h2, [], 2)


def gradientDescent(costFunction, initial_params, alpha, num_iters):
    theta = np.asarray(initial_params, dtype=float).reshape(-1, 1)
    J_history = np.zeros((num_iters, 1))
    for it in range(num_iters):
        J, grad = costFunction(theta)
        J_history[it] = J
        theta = theta - alpha * np.reshape(grad, theta.shape)
    return theta, J_history
