r"""Quantization Networks in JAX: sigmoid-sum forward at temperature T or the step map, exact partials.

References
----------
.. [1] J. Yang et al. "Quantization Networks". CVPR 2019, arXiv:1911.09464, §3.1 Eqs. 1–3 (step
   and sigmoid maps), Eqs. 5–8 (gradients; ours as re-derived in :mod:`quanttheory.quantizers.qn`).

Summation order. The reference forms Σ_i s_i a_i as ``a @ s``, which numpy hands to BLAS
(OpenBLAS gemv: vectorised partial sums with FMA, and a different kernel for one row than for
many), so its rounding depends on the BLAS build and on x's shape. Here the sum runs over i in
order, each product rounded (:func:`quanttheory.jax._common.mul`). For the step map every term
is an integer, so both are exact and agree bit for bit; for the sigmoid map they differ in the
last bits (the measured bound is in tests/jax/test_maps.py).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from quanttheory.quantizers.qn import qn_steps

from . import _common as C
from ._common import mul


def _weighted(a, s, x1):
    """Σ_i s_i a[..., i], left to right, each product rounded once."""
    acc = mul(a[..., 0], s[0], x1[..., 0])
    for k in range(1, len(s)):
        acc = acc + mul(a[..., k], s[k], x1[..., 0])
    return acc


def _u(xf, beta, biases):
    # u[..., i] = βx − b_i in the compute dtype (the step map reads the sign of u itself)
    x1 = xf[..., None]
    return mul(beta[..., None], x1, x1) - biases


def _sigmoid(z):
    return jax.nn.sigmoid(z)


@functools.cache
def _core(steps: tuple[float, ...], offset: float, backward: str):
    s = np.asarray(steps, dtype=np.float64)

    @jax.custom_vjp
    def f(x, biases, alpha, beta, temperature):
        xf = x.astype(alpha.dtype)
        u = _u(xf, beta, biases)
        a = _sigmoid(temperature[..., None] * u) if backward == "soft" else (u >= 0) * jnp.ones((), xf.dtype)
        return (alpha * (_weighted(a, s, xf[..., None]) - offset)).astype(C.out_dtype(x))

    def fwd(x, biases, alpha, beta, temperature):
        return f(x, biases, alpha, beta, temperature), (x, biases, alpha, beta, temperature)

    def bwd(res, g):
        x, biases, alpha, beta, temperature = res
        xf = x.astype(alpha.dtype)
        x1 = xf[..., None]
        T = temperature
        z = T[..., None] * _u(xf, beta, biases)
        dsig = _sigmoid(z) * _sigmoid(-z)
        weighted = _weighted(dsig, s, x1)
        parts = {
            "x": alpha * beta * (T * weighted),
            "alpha": _weighted(_sigmoid(z), s, x1) - offset,  # ∂y/∂α = y/α, without dividing y
            "beta": alpha * (T * weighted) * xf,
            "biases": -alpha[..., None] * s * (T[..., None] * dsig),
        }
        gf = g.astype(alpha.dtype)
        return ((gf * parts["x"]).astype(x.dtype), gf[..., None] * parts["biases"], gf * parts["alpha"],
                gf * parts["beta"], jnp.zeros_like(T))

    f.defvjp(fwd, bwd)
    return f


@functools.partial(jax.jit, static_argnames=("steps", "offset", "axes", "backward"))
def _run(x, biases, alpha, beta, temperature, *, steps, offset, axes, backward):
    f = C.compute_dtype()
    bx = C.expand(biases, "biases", x.shape, axes, f, trailing=1)
    named = (("alpha", alpha), ("beta", beta), ("temperature", temperature))
    ps = [C.expand(v, k, x.shape, axes, f) for k, v in named]
    return _core(steps, offset, backward)(x, bx, *ps)


def qn(x, *, levels, biases, alpha, beta, temperature, axis=None, backward="soft"):
    r"""QN [1]_: :math:`y = \alpha(\sum_i s_i\,\sigma(T(\beta x - b_i)) - o)`, differentiable.

    * ``backward="soft"`` (training, [1]_ Eqs. 2–3): forward = the sigmoid map at temperature T
      (:func:`quanttheory.quantizers.qn`, ``soft=True``), backward = its exact partials
      (:func:`quanttheory.quantizers.qn_partials`) for x, α, β and the biases.
    * ``backward="ste"``: forward = the step map A(βx − b_i) (A(0) = 1, the deployed network,
      ``soft=False``), backward = the same sigmoid partials at T (straight through the steps).

    The temperature is a schedule, not learned: it may be traced (no recompilation per epoch)
    and gets a zero gradient.

    Parameters
    ----------
    x : jax.Array, shape (...)
    levels : sequence of float, shape (n + 1,)
        Sorted target levels Y (static).
    biases : jax.Array, shape (n,) or P + (n,)
    alpha, beta, temperature : float or jax.Array, shape () or P
        > 0 (checked on eager calls only).
    axis : None, int or tuple of int (static)
    backward : {"soft", "ste"} (static)

    Returns
    -------
    y : jax.Array, shape (...), dtype of ``x`` (computed in the compute dtype, float64 under
        ``jax_enable_x64``, like the reference, which returns float64; as quanttheory.torch).
    """
    s, o = qn_steps(levels)
    backward = C.check_backward(backward)
    axes = C.axes_of(axis, x)
    b = jnp.asarray(biases)
    if b.ndim < 1 or b.shape[-1] != s.size:
        raise ValueError(f"need one bias per step: {s.size} steps but biases has shape {b.shape} "
                         f"(valid: ({s.size},) or P + ({s.size},))")
    C.check_values(x, biases=(biases, None, None), alpha=(alpha, 0.0, None), beta=(beta, 0.0, None),
                   temperature=(temperature, 0.0, None))
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(C.compute_dtype())
    return _run(x, b, alpha, beta, temperature, steps=tuple(float(v) for v in s), offset=float(o), axes=axes,
                backward=backward)
