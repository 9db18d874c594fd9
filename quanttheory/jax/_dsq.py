r"""DSQ in JAX: the reference's hard forward with the soft-map (or STE) backward as a custom VJP.

References
----------
.. [1] R. Gong et al. "Differentiable Soft Quantization". ICCV 2019, arXiv:1908.05033, §3.2
   Eqs. 3–6 and Fig. 1 (hard forward, soft backward).

Every line mirrors :mod:`quanttheory.quantizers.dsq` (same formulas, same order of operations);
notation there: N = 2^b − 1, Δ = (u − l)/N, t = (x − l)/Δ, i = min(⌊t⌋, N − 1),
a = min(α, 2 − α), K = log(2/a − 1), s = 1/(1 − a), c = t − i − ½.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from quanttheory.quantizers._validate import check_bits, expand_param
from quanttheory.quantizers.dsq import BITS

from . import _common as C
from ._common import div, mul


def _coords(xf, lower, upper, n):
    delta = div(upper - lower, n, xf)
    t = div(jnp.clip(xf, lower, upper) - lower, delta, xf)
    i = jnp.clip(jnp.floor(t), 0, n - 1)
    return delta, t, i


def _hard(xf, lower, upper, n):
    delta, t, _ = _coords(xf, lower, upper, n)
    r = jnp.floor(t)
    g = jnp.clip(r + (t - r >= 0.5), 0, n)  # ties (t − ⌊t⌋ = ½ exactly) go up, as the reference
    q = jnp.where(g >= n, upper, lower + mul(delta, g, xf))
    return jnp.where(xf <= lower, lower, jnp.where(xf >= upper, upper, q))


def _d_alpha(xf, c, th, sech2, a, K, s, delta):
    """∂Q_S/∂a, a ∈ (0, 1): the reference's printed form, or its Taylor series for 1 − a < 1e-3."""
    eps = 1.0 - a
    c2 = c * c
    f1 = div(2.0 * c * (1.0 - mul(4.0, c2, xf)), 3.0, xf)
    f3 = 2.0 * c * (1.0 / 5.0 - div(4.0 * c2, 3.0, xf) + div(32.0 * c2 * c2, 15.0, xf))
    series = -delta * (mul(f1, eps, xf) + mul(2.0 * f3, eps**3, xf))
    printed = delta / 2.0 * (div(th, eps**2, xf) - div(s * (sech2 * c) * div(2.0, 2.0 - a, xf), a, xf))
    return jnp.where(eps < 1e-3, series, printed)


def _soft_partials(xf, lower, upper, alpha, n):
    """Partials of the soft map Q_S ([1]_ Eqs. 3–5; formulas in :func:`quanttheory.quantizers.dsq_partials`)."""
    delta, t, i = _coords(xf, lower, upper, n)
    a = jnp.minimum(alpha, 2.0 - alpha)
    K = jnp.where(a > 1e-300, jnp.log1p(div(2.0 * (1.0 - a), a, xf)), jnp.log(2.0 - a) - jnp.log(a))
    s = div(1.0, 1.0 - a, xf)
    c = t - i - 0.5
    th = jnp.tanh(K * c)
    e = jnp.exp(-2.0 * jnp.abs(K * c))
    sech2 = div(4.0 * e, (1.0 + e) ** 2, xf)
    g = i + (1.0 + mul(s, th, xf)) / 2.0
    gp = s * K / 2.0 * sech2
    d_alpha = _d_alpha(xf, c, th, sech2, a, K, s, delta)
    d_alpha = jnp.where(alpha <= 1.0, d_alpha, -d_alpha)  # α > 1 was evaluated at a = 2 − α
    ident = a == 1.0  # the K → 0 limit: Q_S is the identity on [l, u]
    g, gp, d_alpha = jnp.where(ident, t, g), jnp.where(ident, 1.0, gp), jnp.where(ident, 0.0, d_alpha)
    below, above = xf < lower, xf > upper
    inside = ~(below | above)
    return {
        "x": jnp.where(inside, gp, 0.0),
        "lower": jnp.where(inside, 1.0 - div(g, n, xf) + mul(gp, div(t, n, xf) - 1.0, xf), below * 1.0),
        "upper": jnp.where(inside, div(g - mul(t, gp, xf), n, xf), above * 1.0),
        "alpha": jnp.where(inside, d_alpha, 0.0),
    }


def _ste_partials(xf, q, lower, upper, n):
    """STE on DSQ's grid (the ``dsq-ste`` recipe, :mod:`quanttheory.nn.layers`): ∂x = 1 inside
    [l, u]; l and u move the level l + jΔ they produced, ∂l = 1 − j/N, ∂u = j/N; ∂α = 0."""
    j = jnp.rint(div(q - lower, div(upper - lower, n, xf), xf))
    inside = (xf >= lower) & (xf <= upper)
    return {"x": inside * 1.0,
            "lower": jnp.where(inside, 1.0 - div(j, n, xf), (xf < lower) * 1.0),
            "upper": jnp.where(inside, div(j, n, xf), (xf > upper) * 1.0),
            "alpha": jnp.zeros_like(xf)}


@functools.cache
def _core(backward: str):
    """custom_vjp of (x, l, u, α, N): N = 2^b − 1 is an argument, so one compilation serves
    every bit-width (it gets no gradient)."""

    @jax.custom_vjp
    def f(x, lower, upper, alpha, n):
        return _hard(x.astype(lower.dtype), lower, upper, n).astype(x.dtype)

    def fwd(x, lower, upper, alpha, n):
        q = f(x, lower, upper, alpha, n)
        return q, (x, q, lower, upper, alpha, n)

    def bwd(res, g):
        x, q, lower, upper, alpha, n = res
        xf = x.astype(lower.dtype)
        if backward == "soft":
            p = _soft_partials(xf, lower, upper, alpha, n)
        else:
            p = _ste_partials(xf, q.astype(lower.dtype), lower, upper, n)
        gf = g.astype(lower.dtype)
        return ((gf * p["x"]).astype(x.dtype), gf * p["lower"], gf * p["upper"], gf * p["alpha"],
                jnp.zeros_like(n))

    f.defvjp(fwd, bwd)
    return f


@functools.partial(jax.jit, static_argnames=("axes", "backward"))
def _run(x, lower, upper, alpha, n, *, axes, backward):
    f = C.compute_dtype()
    ps = [C.expand(v, k, x.shape, axes, f) for k, v in (("lower", lower), ("upper", upper), ("alpha", alpha))]
    return _core(backward)(x, *ps, n.astype(f))


def dsq(x, *, lower, upper, bits, alpha, axis=None, backward="soft"):
    r"""DSQ [1]_: hard forward (the grid point nearest to x of {l + jΔ}), differentiable backward.

    Forward: :func:`quanttheory.quantizers.dsq` (``soft=False``), bit for bit in float64.
    Backward (``custom_vjp``):

    * ``"soft"``: the partials of the soft map Q_S ([1]_ Eqs. 3–6, Fig. 1; the formulas of
      :func:`quanttheory.quantizers.dsq_partials`), for x, l, u and α;
    * ``"ste"``: the straight-through estimator on DSQ's grid (the ``dsq-ste`` recipe):
      ∂x = 1 on [l, u], ∂l = 1 − j/N, ∂u = j/N for the level index j, ∂α = 0.

    Parameters
    ----------
    x : jax.Array, shape (...)
    lower, upper, alpha : float or jax.Array, shape () or P
        Per-tensor scalars, or with ``axis`` one value per channel or group (the numpy
        reference's shape rules). l < u and α ∈ (0, 2) are checked on eager calls only.
    bits : int
        1–16 (static).
    axis : None, int or tuple of int (static)
    backward : {"soft", "ste"} (static)

    Returns
    -------
    q : jax.Array, shape (...), dtype of ``x`` (computed in float64 under ``jax_enable_x64``)

    Notes
    -----
    Measured agreement with the reference (tests/jax/test_maps.py): the forward is bit-identical
    in float64; the STE partials are bit-identical; the soft partials differ only through
    XLA's tanh/exp/log1p (a few ulp each, up to the bound stated in the test), and a
    per-channel or per-tensor parameter's gradient by the summation order of its reduction.
    """
    bits = check_bits(bits, BITS)
    backward = C.check_backward(backward)
    axes = C.axes_of(axis, x)
    C.check_values(x, lower=(lower, None, None), upper=(upper, None, None), alpha=(alpha, 0.0, 2.0))
    if C.is_concrete(x, lower, upper):  # per-group shapes of l and u may differ: compare per element
        lo, hi = (expand_param(np.asarray(v, dtype=np.float64), np.shape(x), axes, k) if np.ndim(v) else float(v)
                  for k, v in (("lower", lower), ("upper", upper)))
        if not np.all(np.asarray(lo) < np.asarray(hi)):
            raise ValueError(f"need lower < upper elementwise; got lower={lower!r:.80}, upper={upper!r:.80}")
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(C.compute_dtype())
    return _run(x, lower, upper, alpha, np.asarray(2**bits - 1, dtype=C.compute_dtype()), axes=axes,
                backward=backward)
