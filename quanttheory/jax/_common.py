"""Shared pieces of the JAX adapter: dtypes, per-channel parameters, exact arithmetic, value checks.

Exact arithmetic. The adapter reproduces the numpy reference bit for bit in float64, which needs
two XLA:CPU rewrites switched off (measured with jax/jaxlib 0.10.2; neither is an IEEE
operation-by-operation evaluation, and no XLA flag turns them off):

* ``a / broadcast(b)`` becomes ``a * broadcast(1 / b)`` in XLA's algebraic simplifier (1 ulp off
  for b = 0.7 or 3, so a per-tensor α or Δ would move x/α by an ulp and can flip a level);
* ``a + b * c`` is contracted into a fused multiply-add by the CPU code generator (up to 7336 ulp
  apart from the rounded product under cancellation, e.g. at the DSQ level l + jΔ ≈ 0).

:func:`opaque` hides the divisor or the product behind ``where(isnan(x), x, v)``: a select on the
input that returns v unchanged (and x's own NaN where x is NaN, so NaN propagation is the same),
which neither the simplifier nor LLVM's contraction looks through. ``lax.optimization_barrier``
does not help (it is removed before fusion on CPU).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from quanttheory.quantizers._validate import check_axis, check_bool, param_layout

BACKWARDS = ("soft", "ste")


def compute_dtype():
    """float64 when ``jax_enable_x64`` is on (the reference's precision), else float32."""
    return jax.dtypes.canonicalize_dtype(np.float64)


def out_dtype(x):
    """The output dtype: x's float dtype, or the default float for integer/bool input."""
    dt = jnp.asarray(x).dtype
    return dt if jnp.issubdtype(dt, jnp.floating) else compute_dtype()


def opaque(v, x):
    """v, behind a select on x that XLA/LLVM cannot see through (see the module notes)."""
    return jnp.where(jnp.isnan(x), x, v)


def sign(v):
    """numpy's sign: +0.0 for ±0 (XLA's sign keeps −0.0), NaN for NaN."""
    return jnp.where(jnp.isnan(v), v, (v > 0).astype(v.dtype) - (v < 0).astype(v.dtype))


def div(a, b, x):
    """a / b rounded once (IEEE division), never a multiplication by a reciprocal."""
    return a / opaque(jnp.broadcast_to(b, jnp.shape(x)), x)


def mul(a, b, x):
    """a * b rounded once, never fused into a following addition."""
    return opaque(a * b, x)


def check_backward(backward) -> str:
    if backward not in BACKWARDS:
        raise ValueError(f"backward={backward!r} is not supported; valid: {list(BACKWARDS)}")
    return backward


def expand(value, name, x_shape, axes, dtype, trailing=0):
    """A (per-channel) parameter as a ``dtype`` array broadcast to ``x_shape`` (+ trailing dims).

    Shape rules and errors are the reference's (:func:`quanttheory.quantizers._validate.param_layout`):
    a scalar, or with ``axes`` an array of shape P (one entry per axis, dividing the channel
    count). ``trailing`` trailing dims (QN's biases: one per step) are kept as they are. The
    expansion (repeat, reshape, broadcast) is differentiable: its transpose sums the cotangent
    over the elements each parameter value governs.
    """
    p = jnp.asarray(value)
    if not (jnp.issubdtype(p.dtype, jnp.floating) or jnp.issubdtype(p.dtype, jnp.integer)):
        raise TypeError(f"{name} must be real numbers; got dtype {p.dtype}")
    p = p.astype(dtype)
    lead, tail = p.shape[: p.ndim - trailing], p.shape[p.ndim - trailing:]
    repeats, bshape = param_layout(lead, x_shape, axes, name)
    for i, r in enumerate(repeats):
        if r != 1:
            p = jnp.repeat(p, r, axis=i, total_repeat_length=lead[i] * r)
    p = p.reshape(tuple(bshape) + tail)
    return jnp.broadcast_to(p, tuple(x_shape) + tail)


def axes_of(axis, x):
    return check_axis(axis, jnp.ndim(x))


def signed_flag(signed) -> bool:
    return check_bool(signed, "signed")


def is_concrete(*values) -> bool:
    """True when no value is a tracer (eager call): then values can be checked (see checked())."""
    return not any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


def check_values(x, **params):
    """Eager-call value checks (NaN/inf x; parameters outside their open intervals).

    ``params`` maps a name to ``(value, low, high)``. Under ``jax.jit``/``jax.grad`` the values
    are tracers and cannot be inspected; see the package notes for what happens then.
    """
    if not is_concrete(x, *(v for v, _, _ in params.values())):
        return
    arr = np.asarray(x)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"x contains a non-finite value ({bad}); quantizers need finite input")
    for name, (value, low, high) in params.items():
        p = np.asarray(value, dtype=np.float64)
        good = np.isfinite(p)
        if low is not None:
            good &= p > low
        if high is not None:
            good &= p < high
        if not np.all(good):
            idx = tuple(int(i) for i in np.argwhere(~good)[0]) if p.ndim else ()
            where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
            lo = "-inf" if low is None else low
            hi = "inf" if high is None else high
            raise ValueError(f"{where}={float(p[idx])!r} is out of range; valid: ({lo}, {hi})")


def check_static_float(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a Python real number (it is static); got {value!r}")
    return float(value)
