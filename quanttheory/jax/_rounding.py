r"""Deterministic and stochastic rounding onto Δ·Z in JAX, straight-through backward.

References
----------
.. [1] H. Li, S. De, Z. Xu, C. Studer, H. Samet, T. Goldstein. "Training Quantized Nets: A
   Deeper Understanding". NeurIPS 2017, arXiv:1706.02379, §2 (Q_d and Q_s).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _common as C
from ._common import div


@jax.custom_vjp
def _ste(x, q):
    """q in the forward pass, identity in x in the backward pass (the STE); q gets no gradient."""
    return q


def _ste_fwd(x, q):
    return q, None


def _ste_bwd(_, g):
    return g, None


_ste.defvjp(_ste_fwd, _ste_bwd)


def _prepare(x, delta):
    C.check_values(x, delta=(delta, 0.0, None))
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(C.compute_dtype())
    d = jnp.asarray(delta)
    if d.ndim:
        raise ValueError(f"delta must be a scalar (one grid spacing); got shape {d.shape}")
    return x, jax.lax.stop_gradient(d.astype(C.compute_dtype()))


@jax.jit
def _round_nearest(x, d):
    w = jax.lax.stop_gradient(x).astype(d.dtype)
    a = jnp.abs(div(w, d, w))
    r = jnp.floor(a)
    q = C.sign(w) * d * (r + (a - r >= 0.5))
    return _ste(x, q.astype(x.dtype))


@jax.jit
def _stochastic_round(x, d, key):
    w = jax.lax.stop_gradient(x).astype(d.dtype)
    scaled = div(w, d, w)
    low = jnp.floor(scaled)  # scaled − low is exact, so P(up) is exactly the fractional part
    u = jax.random.uniform(key, w.shape, dtype=w.dtype)
    q = d * (low + (u < scaled - low))
    return _ste(x, q.astype(x.dtype))


def round_nearest(x, *, delta):
    r"""Deterministic rounding :math:`Q_d(w) = \mathrm{sign}(w)\Delta\lfloor|w|/\Delta + 1/2\rfloor`
    [1]_ §2, ties away from zero, with the straight-through backward ∂q/∂x = 1.

    Forward: :func:`quanttheory.quantizers.round_nearest`, bit for bit in float64 (the fraction
    a − ⌊a⌋, not a rounded a + ½, decides). Δ is a fixed grid (no gradient).

    Parameters
    ----------
    x : jax.Array, shape (...)
    delta : float or jax.Array, shape ()
        Δ > 0 (checked on eager calls only).

    Returns
    -------
    q : jax.Array, shape (...), dtype of ``x``
    """
    return _round_nearest(*_prepare(x, delta))


def stochastic_round(x, *, delta, key):
    r"""Stochastic rounding :math:`Q_s` [1]_ §2, unbiased, with the straight-through backward.

    .. math:: Q_s(w) = \Delta\lfloor w/\Delta\rfloor + \Delta\,[\,U < w/\Delta - \lfloor w/\Delta\rfloor\,],
        \quad U \sim \mathcal{U}[0, 1)

    exactly the reference formula (:func:`quanttheory.quantizers.stochastic_round`); U comes
    from ``jax.random.uniform(key, x.shape)`` in the compute dtype, so the draws differ from a
    numpy Generator's but the same key always gives the same result (no hidden state).

    Parameters
    ----------
    x : jax.Array, shape (...)
    delta : float or jax.Array, shape ()
        Δ > 0.
    key : jax.Array
        A ``jax.random`` key (``jax.random.key(0)`` or ``jax.random.PRNGKey(0)``); split it
        yourself for every call that must be independent.

    Returns
    -------
    q : jax.Array, shape (...), dtype of ``x``; never more than one step Δ from x.
    """
    return _stochastic_round(*_prepare(x, delta), key)
