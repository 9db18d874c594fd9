"""Shared helpers of the JAX adapter tests (comparison with the numpy reference)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

jax = pytest.importorskip("jax")  # the test extra installs jax: this skips only without it
jnp = pytest.importorskip("jax.numpy")
qj = pytest.importorskip("quanttheory.jax")

EPS = np.finfo(np.float64).eps
JAX_SETTINGS = settings(max_examples=40)


def as_f32(x):
    """float32 copy without float32 subnormals (XLA:CPU flushes them to zero, see strategies)."""
    return np.where(np.abs(x) < 1e-30, 0.0, x).astype(np.float32)


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    as_int = np.int64 if a.dtype == np.float64 else np.int32
    ia, ib = a.view(as_int), b.view(as_int)
    bad = ia != ib
    assert not np.any(bad), f"{int(np.sum(bad))} of {a.size} differ, e.g. {a[bad][:3]} vs {b[bad][:3]}"


def _elementwise_vjp(fn, names, static):
    """x, *params -> the VJP with ones. Not jitted here: the adapter's own jitted core is cached
    per (shape, static arguments), and its VJP with it (a jit of this closure would be keyed on
    ``bits`` too and recompile for every bit-width)."""

    def run(x, *ps):
        def f(x, *ps):
            return fn(x, **dict(zip(names, ps, strict=True)), axis=tuple(range(x.ndim)), **dict(static))

        y, vjp = jax.vjp(f, x, *ps)
        return vjp(jnp.ones_like(y))

    return run


def same_values(a, b):
    """Exactly equal values (a gradient's zero may carry either sign)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and np.array_equal(a, b), f"max |diff| {np.max(np.abs(a - b)) if a.size else 0}"


def elementwise(fn, x, params, **static):
    """Elementwise partials from jax.vjp with every parameter given per element (axis = all dims):
    no reduction happens, so these are directly comparable with the reference's dicts."""
    names = tuple(params)
    full = [np.broadcast_to(np.asarray(params[k], dtype=np.float64), x.shape + np.shape(params[k]))
            for k in names]
    static = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(static.items()))
    out = _elementwise_vjp(fn, names, static)(x, *full)
    return {"x": np.asarray(out[0]), **{k: np.asarray(v) for k, v in zip(names, out[1:], strict=True)}}


def ulp32(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32))
