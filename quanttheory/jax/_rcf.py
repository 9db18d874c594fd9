r"""Clip-then-project quantizers in JAX: uniform, APoT (RCF) and LSQ, with their reference STE partials.

References
----------
.. [1] Y. Li, X. Dong, W. Wang. "Additive Powers-of-Two Quantization". ICLR 2020,
   arXiv:1909.13144, Eq. 2 (uniform levels), Eq. 5 (APoT levels), §2.2 (RCF) and Eq. 7 (its
   α-gradient).
.. [2] S. K. Esser et al. "Learned Step Size Quantization". ICLR 2020, arXiv:1902.08153, Eq. 1
   (forward), Eq. 3 (step gradient), §2.2 (gradient scale).

Mirrors :mod:`quanttheory.quantizers._projection` line by line: d = x/α clipped to [−1, 1]
(signed) or [0, 1], nearest level of a sorted float64 set by counting midpoints ≤ |d| (ties to
the larger magnitude), q = α·sign(d)·level.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from quanttheory.quantizers.apot import apot_levels
from quanttheory.quantizers.lsq import lsq_qp
from quanttheory.quantizers.uniform import uniform_levels

from . import _common as C
from ._common import div

#: Level sets up to this size are padded to it (midpoints with +inf, which no |d| <= 1 reaches)
#: and searched by comparing with every midpoint: one compilation for all of them.
PADDED = 64


def _project(xf, alpha, levels, mids, signed):
    d = div(xf, alpha, xf)
    d = jnp.clip(d, -1.0 if signed else 0.0, 1.0)
    # index = number of midpoints <= |d| (numpy's searchsorted side="right"), exact either way;
    # a scan keeps memory O(x.size) for the big sets (uniform, 8-16 bits)
    method = "compare_all" if mids.shape[0] < PADDED else "scan"
    idx = jnp.searchsorted(mids, jnp.abs(d), side="right", method=method)
    return alpha * C.sign(d) * levels[idx]


def _partials(xf, alpha, qf, signed):
    """APoT [1]_ Eq. 7 / :func:`quanttheory.quantizers._projection.partials`: ∂x = 1 inside the clip
    range (boundaries included), ∂α = q/α − x/α inside and sign(x) (signed) or 1[x > α] outside."""
    if signed:
        inside = jnp.abs(xf) <= alpha
        outside = C.sign(xf)
    else:
        inside = (xf >= 0.0) & (xf <= alpha)
        outside = (xf > alpha) * 1.0
    return inside * 1.0, jnp.where(inside, div(qf, alpha, xf) - div(xf, alpha, xf), outside)


@functools.cache
def _core(signed: bool, grad_scale: float):
    """custom_vjp of (x, p, levels, mids, Q_P) with clip α = Q_P·p (uniform/APoT: Q_P = 1,
    p = α; LSQ: p = s). The level set is an argument (no gradient): one compilation per size."""

    @jax.custom_vjp
    def f(x, p, levels, mids, qp):
        return _project(x.astype(p.dtype), qp * p, levels, mids, signed).astype(x.dtype)

    def fwd(x, p, levels, mids, qp):
        q = f(x, p, levels, mids, qp)
        return q, (x, q, p, levels, mids, qp)

    def bwd(res, g):
        x, q, p, levels, mids, qp = res
        xf = x.astype(p.dtype)
        d_x, d_alpha = _partials(xf, qp * p, q.astype(p.dtype), signed)
        d_alpha = qp * d_alpha  # ∂/∂s = Q_P ∂/∂α (lsq_partials); exact for Q_P = 1
        if grad_scale != 1.0:
            d_alpha = grad_scale * d_alpha
        gf = g.astype(p.dtype)
        return ((gf * d_x).astype(x.dtype), gf * d_alpha, jnp.zeros_like(levels), jnp.zeros_like(mids),
                jnp.zeros_like(qp))

    f.defvjp(fwd, bwd)
    return f


@functools.partial(jax.jit, static_argnames=("name", "axes", "signed", "grad_scale"))
def _run(x, p, levels, mids, qp, *, name, axes, signed, grad_scale):
    p = C.expand(p, name, x.shape, axes, C.compute_dtype())
    return _core(signed, grad_scale)(x, p, levels, mids, qp)


def _level_arrays(levels, dtype):
    """(levels, midpoints) as arrays, the midpoints computed in float64 numpy like the reference."""
    mids = (levels[1:] + levels[:-1]) / 2.0
    if levels.size <= PADDED:
        levels = np.concatenate([levels, np.full(PADDED - levels.size, levels[-1])])
        mids = np.concatenate([mids, np.full(PADDED - 1 - mids.size, np.inf)])
    return levels.astype(dtype), mids.astype(dtype)


def _apply(x, param, name, levels, signed, axis, qp=1.0, grad_scale=1.0):
    axes = C.axes_of(axis, x)
    C.check_values(x, **{name: (param, 0.0, None)})
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(C.compute_dtype())
    f = C.compute_dtype()
    return _run(x, param, *_level_arrays(levels, f), np.asarray(qp, dtype=f), name=name, axes=axes,
                signed=signed, grad_scale=float(grad_scale))


def _magnitudes(levels):
    return levels[levels >= 0]


def uniform(x, *, alpha, bits, signed, axis=None):
    r"""Clipped uniform quantizer (APoT [1]_ Eq. 2) with the clipped STE backward.

    Forward: :func:`quanttheory.quantizers.uniform`, bit for bit in float64. Backward
    (``custom_vjp``): :func:`quanttheory.quantizers.uniform_partials`, ∂q/∂x = 1 on the clip
    range (boundaries included), ∂q/∂α = q/α − x/α inside and sign(x) / 1[x > α] outside.

    Parameters
    ----------
    x : jax.Array, shape (...)
    alpha : float or jax.Array, shape () or P
        Clip α > 0 (checked on eager calls only); per channel with ``axis``.
    bits : int
        2–16 signed, 1–16 unsigned (static).
    signed : bool (static)
    axis : None, int or tuple of int (static)

    Returns
    -------
    q : jax.Array, shape (...), dtype of ``x``
    """
    signed = C.signed_flag(signed)
    levels = _magnitudes(uniform_levels(bits, signed=signed))
    return _apply(x, alpha, "alpha", levels, signed, axis)


def apot(x, *, alpha, bits, signed, axis=None):
    r"""APoT with the reparameterised clipping function [1]_ §2.2, Eq. 5 levels (official-code sets).

    Forward: :func:`quanttheory.quantizers.apot`, bit for bit in float64. Backward
    (``custom_vjp``): :func:`quanttheory.quantizers.apot_partials` ([1]_ Eq. 7).

    Parameters
    ----------
    x : jax.Array, shape (...)
    alpha : float or jax.Array, shape () or P
        Clip α > 0; per channel with ``axis``.
    bits : int
        2–7 signed (weights), 1–6 unsigned (activations) (static).
    signed : bool (static)
    axis : None, int or tuple of int (static)
    """
    signed = C.signed_flag(signed)
    levels = _magnitudes(apot_levels(bits, signed=signed))
    return _apply(x, alpha, "alpha", levels, signed, axis)


def lsq(x, *, step, bits, signed, axis=None, grad_scale=1.0):
    r"""LSQ [2]_: :math:`\hat v = s\lfloor\mathrm{clip}(v/s, -Q_N, Q_P)\rceil`, step gradient of Eq. 3.

    Forward: :func:`quanttheory.quantizers.lsq` (the clipped uniform map at α = Q_P·s), bit for
    bit in float64. Backward: :func:`quanttheory.quantizers.lsq_partials`, ∂x = 1 inside the
    clip range and ∂s = Q_P(q/α − x/α) (= ⌊v/s⌉ − v/s inside, −Q_N / Q_P outside), times
    ``grad_scale`` (the paper's g = 1/√(N·Q_P), :func:`quanttheory.quantizers.lsq.lsq_grad_scale`;
    static).

    Parameters
    ----------
    x : jax.Array, shape (...)
    step : float or jax.Array, shape () or P
        s > 0; per channel with ``axis``.
    bits : int
    signed : bool
    axis : None, int or tuple of int
    grad_scale : float, default 1.0
    """
    signed = C.signed_flag(signed)
    qp = lsq_qp(bits, signed)
    grad_scale = C.check_static_float(grad_scale, "grad_scale")
    if not grad_scale > 0.0:
        raise ValueError(f"grad_scale={grad_scale!r} is out of range; valid: (0, inf)")
    levels = _magnitudes(uniform_levels(bits, signed=signed))
    return _apply(x, step, "step", levels, signed, axis, qp=qp, grad_scale=grad_scale)
