"""What the logreg homework gives the grading worker: a known-correct sigmoid.

The parent sends this file's *source* to the sandboxed worker with every ``load`` (see
``autograder.harness.protocol.Support``). It may import only the standard library and numpy, and
it holds no expected values. A costFunction that is wrong only because the student's sigmoid is
wrong is called again with this sigmoid in its place, and the feedback says so.
"""

import numpy as np


def sigmoid(z):
    """Correct logistic function."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


HELPERS = {"sigmoid": sigmoid}
CALLABLES = {}
