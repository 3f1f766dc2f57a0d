"""Central-difference gradients for checking the losses' analytic gradients."""

import numpy as np


def central_difference(fn, x, eps=1e-6):
    """Numerical gradient of the scalar ``fn`` at ``x``, one element at a time.

    Use float64 inputs with the default ``eps`` (truncation error about eps^2,
    rounding about 1e-16 / eps, both far below the tolerances used).
    """
    x = np.asarray(x)
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (float(fn(plus)) - float(fn(minus))) / (2 * eps)
    return grad
