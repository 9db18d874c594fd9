"""Fused batch norm + ReLU (forward and backward) as numba loops over channels-last data.

Same maths as :func:`quanttheory.nn._cnn_ops.bn_forward` followed by
:func:`~quanttheory.nn._cnn_ops.relu_forward` (and their backward passes), in three passes over
the (M, C) data forward and two backward instead of numpy's ten or so temporaries. The per-channel
sums run over the M rows in order, as numpy's axis-0 reduction of a C-contiguous (M, C) array
does, and every element is computed with the same operations in the same order, so the fused
path reproduces the numpy reference bit for bit (checked by the tests and by ``bench nn``).
"""

from __future__ import annotations

import numba
import numpy as np

from ._cnn_ops import BN_EPS, BN_MOMENTUM


@numba.njit(cache=True, nogil=True)
def _moments(x):  # pragma: no cover - compiled
    m, c = x.shape
    mu = np.zeros(c)
    for i in range(m):
        for k in range(c):
            mu[k] += x[i, k]
    mu /= m
    var = np.zeros(c)
    for i in range(m):
        for k in range(c):
            d = x[i, k] - mu[k]
            var[k] += d * d
    return mu, var / m  # two passes: no cancellation of E[x²] − E[x]²


@numba.njit(cache=True, nogil=True)
def _normalise_relu(x, mu, inv_std, gamma, beta, xhat, y):  # pragma: no cover - compiled
    m, c = x.shape
    for i in range(m):
        for k in range(c):
            h = (x[i, k] - mu[k]) * inv_std[k]
            xhat[i, k] = h
            v = h * gamma[k] + beta[k]
            y[i, k] = v if v > 0.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _backward(g, y, xhat, gamma, inv_std, train, dx):  # pragma: no cover - compiled
    m, c = g.shape
    dbeta, dgamma = np.zeros(c), np.zeros(c)
    for i in range(m):
        for k in range(c):
            if y[i, k] > 0.0:
                dbeta[k] += g[i, k]
                dgamma[k] += g[i, k] * xhat[i, k]
    # per-channel factor computed once, in the reference's operation order
    coef = gamma * inv_std / m if train else gamma * inv_std
    for i in range(m):
        for k in range(c):
            gm = g[i, k] if y[i, k] > 0.0 else 0.0
            if train:
                dx[i, k] = coef[k] * (m * gm - dbeta[k] - xhat[i, k] * dgamma[k])
            else:
                dx[i, k] = gm * coef[k]
    return dgamma, dbeta


def bn_relu_forward(x, gamma, beta, mean, var, *, train):
    """``relu(bn(x))`` for ``x`` (..., C). Returns ``(y, cache, (new_mean, new_var))`` like ``bn_forward``."""
    flat = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
    if train:
        mu, v = _moments(flat)
        m = flat.shape[0]
        running = ((1 - BN_MOMENTUM) * mean + BN_MOMENTUM * mu,
                   (1 - BN_MOMENTUM) * var + BN_MOMENTUM * v * m / max(m - 1, 1))
    else:
        mu, v, running = mean, var, (mean, var)
    inv_std = 1.0 / np.sqrt(v + BN_EPS)
    xhat, y = np.empty_like(flat), np.empty_like(flat)
    _normalise_relu(flat, np.asarray(mu, dtype=np.float64), inv_std, gamma, beta, xhat, y)
    return y.reshape(x.shape), (y, xhat, inv_std, gamma, train, x.shape), running


def bn_relu_backward(dy, cache):
    """``(dx, dgamma, dbeta)`` of :func:`bn_relu_forward`."""
    y, xhat, inv_std, gamma, train, shape = cache
    g = np.ascontiguousarray(dy.reshape(y.shape))
    dx = np.empty_like(g)
    dgamma, dbeta = _backward(g, y, xhat, gamma, inv_std, train, dx)
    return dx.reshape(shape), dgamma, dbeta
