"""Bug zoo, init_reseeded_rng: randInitializeWeights makes a default_rng(42) on each call: the same weights every time."""

import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    return 1.0 / (1.0 + np.exp(-z))


def sigmoidGradient(z):
    z = np.asarray(z, dtype=float)
    g = sigmoid(z)
    return g * (1 - g)


def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    rng = np.random.default_rng(42)
    return rng.uniform(-epsilon_init, epsilon_init, size=(L_out, 1 + L_in))


def rollParams(nn_params, layer_sizes):
    thetas, start = [], 0
    for s_in, s_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        n = s_out * (s_in + 1)
        thetas.append(np.reshape(nn_params[start : start + n], (s_out, s_in + 1)))
        start += n
    return thetas


def unrollParams(grads):
    return np.concatenate([G.ravel() for G in grads])


def oneHot(y, K):
    y = np.asarray(y).ravel().astype(int)
    return np.eye(K)[y]


def costAndGradient(nn_params, layer_sizes, X, y, lambda_=0.0, loss="cross_entropy"):
    X = np.asarray(X, dtype=float)
    thetas = rollParams(np.asarray(nn_params, dtype=float).ravel(), list(layer_sizes))
    m = X.shape[0]
    Y = oneHot(y, layer_sizes[-1])

    # forward propagation: a[l] has its bias column, except the output a[-1] = h
    a = [np.hstack([np.ones((m, 1)), X])]
    z = [None]
    for l, Theta in enumerate(thetas):
        z.append(a[l] @ Theta.T)
        if l < len(thetas) - 1:
            a.append(np.hstack([np.ones((m, 1)), sigmoid(z[-1])]))
        else:
            a.append(sigmoid(z[-1]))
    h = a[-1]

    if loss == "cross_entropy":
        J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
        reg = sum(np.sum(Theta[:, 1:] ** 2) for Theta in thetas)
        J = J + lambda_ / (2 * m) * reg
        delta = h - Y
    else:
        J = 0.5 * np.sum((h - Y) ** 2)
        delta = squaredErrorDelta(h, Y)

    # backpropagation
    grads = [np.zeros_like(Theta) for Theta in thetas]
    for l in range(len(thetas) - 1, -1, -1):
        grads[l] = delta.T @ a[l]
        if l > 0:
            delta = (delta @ thetas[l])[:, 1:] * sigmoidGradient(z[l])
    for l in range(len(thetas)):
        if loss == "cross_entropy":
            grads[l] = grads[l] / m
            grads[l][:, 1:] = grads[l][:, 1:] + lambda_ / m * thetas[l][:, 1:]
    return J, unrollParams(grads)


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    layer_sizes = [input_layer_size, hidden_layer_size, num_labels]
    return costAndGradient(nn_params, layer_sizes, X, y, lambda_)


def nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_=0.0):
    return costAndGradient(nn_params, layer_sizes, X, y, lambda_)


def squaredErrorDelta(a_out, Y):
    return (a_out - Y) * a_out * (1 - a_out)


def squaredErrorCostFunction(nn_params, layer_sizes, X, y):
    return costAndGradient(nn_params, layer_sizes, X, y, 0.0, loss="squared_error")


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
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    a1 = np.hstack([np.ones((m, 1)), X])
    a2 = np.hstack([np.ones((m, 1)), sigmoid(a1 @ Theta1.T)])
    h = sigmoid(a2 @ Theta2.T)
    return np.argmax(h, axis=1)


def gradientDescent(costFunction, initial_params, alpha, num_iters):
    params = np.array(initial_params, dtype=float)
    J_history = np.zeros(num_iters)
    for i in range(num_iters):
        J, grad = costFunction(params)
        J_history[i] = J
        params = params - alpha * grad
    return params, J_history
