r"""Batch norm, ReLU, global average pooling, dense layer and softmax cross-entropy (numpy).

Each ``*_forward`` returns ``(output, cache)`` and each ``*_backward`` maps the upstream
gradient to the input gradient (and parameter gradients). Tensors are channels-last
``(N, H, W, C)``; batch norm normalises over every axis but the last.

Batch norm [1]_ Algorithm 1, with :math:`m = N·H·W`:

.. math::
    \hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon},\qquad y = \gamma \hat x + \beta,\qquad
    \partial x = \frac{\gamma}{m\sqrt{\sigma^2+\epsilon}}\Bigl(m\,\partial y
      - \textstyle\sum \partial y - \hat x \sum \partial y\,\hat x\Bigr)

(train mode: :math:`\mu, \sigma^2` are the biased batch statistics). Eval mode uses the running
estimates, so it is an affine map per channel and its backward is :math:`\gamma\,\partial y/\sqrt{\cdot}`.

References
----------
.. [1] Ioffe, Szegedy. "Batch Normalization". ICML 2015, arXiv:1502.03167, §3, Algorithm 1–2.
"""

from __future__ import annotations

import numpy as np

#: PyTorch's defaults: ε in the denominator, running = (1 − momentum)·running + momentum·batch.
BN_EPS, BN_MOMENTUM = 1e-5, 0.1


def bn_forward(x, gamma, beta, mean, var, *, train):
    """Batch norm of ``x`` (..., C). Returns ``(y, cache, (new_mean, new_var))``.

    In train mode the running estimates move towards the batch mean and the *unbiased* batch
    variance (the PyTorch convention); in eval mode they are used and returned unchanged.
    """
    flat = x.reshape(-1, x.shape[-1])
    if train:
        m = flat.shape[0]
        mu, v = flat.mean(axis=0), flat.var(axis=0)
        unbiased = v * m / max(m - 1, 1)
        running = ((1 - BN_MOMENTUM) * mean + BN_MOMENTUM * mu, (1 - BN_MOMENTUM) * var + BN_MOMENTUM * unbiased)
    else:
        mu, v, running = mean, var, (mean, var)
    inv_std = 1.0 / np.sqrt(v + BN_EPS)
    xhat = (flat - mu) * inv_std
    y = xhat * gamma + beta
    return y.reshape(x.shape), (xhat, inv_std, gamma, train, x.shape), running


def bn_backward(dy, cache):
    """``(dx, dgamma, dbeta)`` of :func:`bn_forward`."""
    xhat, inv_std, gamma, train, shape = cache
    g = dy.reshape(-1, shape[-1])
    dbeta = g.sum(axis=0)
    dgamma = (g * xhat).sum(axis=0)
    if not train:
        return (g * (gamma * inv_std)).reshape(shape), dgamma, dbeta
    m = g.shape[0]
    dx = (gamma * inv_std / m) * (m * g - dbeta - xhat * dgamma)
    return dx.reshape(shape), dgamma, dbeta


def relu_forward(x):
    """``max(x, 0)``; the cache is the mask ``x > 0`` (the subgradient at 0 is taken as 0)."""
    mask = x > 0
    return np.maximum(x, 0.0), mask


def relu_backward(dy, mask):
    return dy * mask


def gap_forward(x):
    """Global average pooling (N, H, W, C) → (N, C)."""
    return x.mean(axis=(1, 2)), x.shape


def gap_backward(dy, shape):
    n, h, w, c = shape
    return np.broadcast_to(dy[:, None, None, :] / (h * w), shape).copy()


def dense_forward(x, w, b):
    """``x @ w + b`` with ``x`` (N, F), ``w`` (F, K), ``b`` (K,)."""
    return x @ w + b, x


def dense_backward(dy, x, w):
    """``(dx, dw, db)`` of :func:`dense_forward`."""
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def softmax_cross_entropy(logits, y):
    r"""Mean cross-entropy of ``logits`` (N, K) against integer labels ``y`` (N,) and its gradient.

    .. math::
        L = \frac1N\sum_n \bigl(\operatorname{logsumexp}(z_n) - z_{n,y_n}\bigr),\qquad
        \partial z = (\operatorname{softmax}(z) - \mathrm{onehot}(y))/N

    The row maximum is subtracted before exponentiating, so large logits cannot overflow.

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, K)
    """
    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y)
    n, k = logits.shape
    if y.shape != (n,) or (n and (y.min() < 0 or y.max() >= k)):
        raise ValueError(f"labels must have shape ({n},) with values in [0, {k}); got shape {y.shape}")
    z = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    rows = np.arange(n)
    loss = float(np.mean(lse - z[rows, y]))
    d = np.exp(z - lse[:, None])
    d[rows, y] -= 1.0
    return loss, d / n
