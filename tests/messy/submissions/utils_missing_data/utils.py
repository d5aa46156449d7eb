"""Helpers shared by my homework files."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def add_bias(X):
    return np.hstack([np.ones((X.shape[0], 1)), X])
