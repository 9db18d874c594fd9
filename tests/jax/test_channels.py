"""Per-channel and per-group parameters: the JAX VJP against loops of per-tensor reference calls
and against the reference's own ``*_partials(axis=, cotangent=)`` (the contract). Tolerances:
see tests/jax/test_maps.py (elementwise bounds and the summation bound 2γ_{m−1}Σ|t_j|)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quanttheory import quantizers as Q

from ..strategies import jax_channel_layouts, normal_floats
from ._helpers import EPS, jax, jnp, qj, same_bits, same_values

# --------------------------------------------------------------------------- per-channel parameters

PER_CHANNEL = {
    # name: (adapter call, numpy per-tensor reference, elementwise numpy partials, params(draw))
    "uniform": (lambda x, p, axis: qj.uniform(x, **p, bits=3, signed=True, axis=axis),
                lambda x, p: Q.uniform(x, **p, bits=3, signed=True),
                lambda x, p: Q.uniform_partials(x, **p, bits=3, signed=True)),
    "apot": (lambda x, p, axis: qj.apot(x, **p, bits=4, signed=False, axis=axis),
             lambda x, p: Q.apot(x, **p, bits=4, signed=False),
             lambda x, p: Q.apot_partials(x, **p, bits=4, signed=False)),
    "lsq": (lambda x, p, axis: qj.lsq(x, **p, bits=4, signed=True, axis=axis),
            lambda x, p: Q.lsq(x, **p, bits=4, signed=True),
            lambda x, p: Q.lsq_partials(x, **p, bits=4, signed=True)),
    "dsq": (lambda x, p, axis: qj.dsq(x, **p, bits=2, axis=axis),
            lambda x, p: Q.dsq(x, **p, bits=2),
            lambda x, p: Q.dsq_partials(x, **p, bits=2)),
    "qn": (lambda x, p, axis: qj.qn(x, **p, levels=[-1, 0, 1], temperature=20.0, axis=axis),
           lambda x, p: Q.qn(x, **p, levels=[-1, 0, 1], temperature=20.0),
           lambda x, p: Q.qn_partials(x, **p, levels=[-1, 0, 1], temperature=20.0)),
}
PARAM_DRAWS = {
    "uniform": {"alpha": st.floats(0.5, 3)}, "apot": {"alpha": st.floats(0.5, 3)},
    "lsq": {"step": st.floats(0.05, 1)},
    "dsq": {"lower": st.floats(-3, -0.5), "upper": st.floats(0.5, 3), "alpha": st.floats(0.05, 0.9)},
    "qn": {"biases": st.floats(0.05, 1), "alpha": st.floats(0.5, 2), "beta": st.floats(0.5, 2)},
}
# elementwise bound (in ε, relative to the natural scale) of the non-exact partials; 0 = bit-exact
ELEMENTWISE_EPS = {"uniform": 0, "apot": 0, "lsq": 0, "dsq": 4, "qn": 6}


def _channel_values(draw, strat, pshape, name):
    vals = np.asarray(draw(st.lists(strat, min_size=int(np.prod(pshape)), max_size=int(np.prod(pshape)))))
    vals = vals.reshape(pshape)
    if name == "biases":  # QN: ∓b per channel, two sorted steps
        vals = np.stack([-vals, vals], axis=-1)
    return vals


def _channel_of(idx, shape, axes, pshape):
    """The parameter index governing x[idx] (channel c of axis i uses c // (C_i // p_i))."""
    return tuple(idx[a] // (shape[a] // p) for a, p in zip(axes, pshape, strict=True))


def _elementwise_bound(kind, name, parts, p):
    """The measured elementwise bound (module notes) of one looped reference partial; 0 if exact."""
    if kind == "dsq":
        gp = abs(parts["x"][0])
        if name == "alpha":
            a, delta = p["alpha"], (p["upper"] - p["lower"]) / 3
            return 3 * EPS * delta / 2 * (1 / (1 - a) ** 2 + 1 / ((1 - a) * a * (2 - a)))
        return (4 * EPS * gp) if name == "x" else 3 * EPS * (1 + gp)
    if kind == "qn":
        return 3 * EPS * 3 if name == "alpha" else 6 * EPS * np.abs(parts[name][0]) + 1e-300
    return 0.0


@settings(max_examples=12)
@given(data=st.data(), kind=st.sampled_from(sorted(PER_CHANNEL)), layout=jax_channel_layouts())
def test_per_channel_equals_loop_of_per_tensor_calls(data, kind, layout):
    """Forward: bit for bit (QN's sigmoid map: its measured bound). Gradients: a loop of per-tensor
    reference partials, reduced per channel; tolerance = Σ|cotangent|·(elementwise bound) over the
    governed elements + 2γ_{m−1}·Σ|terms| for the summation order (module notes)."""
    shape, axes, pshape = layout
    call, ref, ref_partials = PER_CHANNEL[kind]
    size = int(np.prod(shape))
    x = np.asarray(data.draw(st.lists(normal_floats, min_size=size, max_size=size))).reshape(shape) / 10
    params = {k: _channel_values(data.draw, s, pshape, k) for k, s in PARAM_DRAWS[kind].items()}
    names = list(params)
    ct = np.asarray(data.draw(st.lists(st.floats(-2, 2), min_size=size, max_size=size))).reshape(shape)

    y, vjp = jax.vjp(lambda x, *ps: call(x, dict(zip(names, ps, strict=True)), axes), x, *params.values())
    grads = dict(zip(["x", *names], (np.asarray(g) for g in vjp(jnp.asarray(ct))), strict=True))

    # the loop: one per-tensor reference call per element, with that element's channel values
    want_y, want_gx, bound_x = np.empty(shape), np.empty(shape), np.empty(shape)
    want = {k: np.zeros(v.shape) for k, v in params.items()}
    tol = {k: np.zeros(v.shape) for k, v in params.items()}
    m = size // int(np.prod(pshape))  # elements per parameter value
    for idx in np.ndindex(*shape):
        ch = _channel_of(idx, shape, axes, pshape)
        p = {k: v[ch] for k, v in params.items()}
        xi = np.asarray([x[idx]])
        want_y[idx] = ref(xi, p)[0]
        parts = ref_partials(xi, p)
        want_gx[idx] = ct[idx] * parts["x"][0]
        bound_x[idx] = abs(ct[idx]) * _elementwise_bound(kind, "x", parts, p)
        for k in names:
            t = ct[idx] * parts[k][0]
            want[k][ch] += t
            tol[k][ch] += 2.02 * (m - 1) * EPS * np.abs(t) + abs(ct[idx]) * _elementwise_bound(kind, k, parts, p)
            tol[k][ch] += 1e-300  # a subnormal term is flushed to zero by XLA:CPU
    if kind == "qn":
        assert np.all(np.abs(np.asarray(y) - want_y) <= 3 * EPS * 3 * 2)  # α ≤ 2, Σ|s| + |o| = 3
    else:
        same_bits(y, want_y)
    if kind in ("dsq", "qn"):
        assert np.all(np.abs(grads["x"] - want_gx) <= bound_x + 1e-300)
    else:
        same_values(grads["x"], want_gx)
    for k in names:
        assert np.all(np.abs(grads[k] - want[k]) <= tol[k]), (k, grads[k], want[k], tol[k])


# --------------------------------------------------------------------------- the contract's VJP

REF_VJP = {
    "uniform": lambda x, p, axis, ct: Q.uniform_partials(x, **p, bits=3, signed=True, axis=axis, cotangent=ct),
    "apot": lambda x, p, axis, ct: Q.apot_partials(x, **p, bits=4, signed=False, axis=axis, cotangent=ct),
    "lsq": lambda x, p, axis, ct: Q.lsq_partials(x, **p, bits=4, signed=True, axis=axis, cotangent=ct),
    "dsq": lambda x, p, axis, ct: Q.dsq_partials(x, **p, bits=2, axis=axis, cotangent=ct),
    "qn": lambda x, p, axis, ct: Q.qn_partials(x, **p, levels=[-1, 0, 1], temperature=20.0, axis=axis,
                                               cotangent=ct),
}


def _expand_np(v, shape, axes, pshape):
    """A parameter of shape P (+ trailing) repeated to x's shape (+ trailing), numpy."""
    out = v
    for i, (a, p) in enumerate(zip(axes, pshape, strict=True)):
        out = np.repeat(out, shape[a] // p, axis=i)
    bshape = [1] * len(shape)
    for a in axes:
        bshape[a] = shape[a]
    out = out.reshape(tuple(bshape) + v.shape[len(pshape):])
    return np.broadcast_to(out, shape + v.shape[len(pshape):])


@settings(max_examples=12)
@given(data=st.data(), kind=st.sampled_from(sorted(REF_VJP)), layout=jax_channel_layouts())
def test_vjp_equals_reference_partials_with_axis_and_cotangent(data, kind, layout):
    """The contract: the backward pass reproduces ``*_partials(x, ..., axis=, cotangent=)``.
    Forward bit for bit against the reference's own ``axis=`` call (QN's sigmoid map: its bound);
    parameter cotangents within Σ|cotangent|·(elementwise bound) + 2γ_{m−1}Σ|t_j| (module notes),
    the terms t_j taken from the reference's unreduced partials (parameters given per element)."""
    shape, axes, pshape = layout
    call, ref_forward, _ = PER_CHANNEL[kind]
    size = int(np.prod(shape))
    x = np.asarray(data.draw(st.lists(normal_floats, min_size=size, max_size=size))).reshape(shape) / 10
    params = {k: _channel_values(data.draw, s, pshape, k) for k, s in PARAM_DRAWS[kind].items()}
    names = list(params)
    ct = np.asarray(data.draw(st.lists(st.floats(-2, 2), min_size=size, max_size=size))).reshape(shape)
    y, vjp = jax.vjp(lambda x, *ps: call(x, dict(zip(names, ps, strict=True)), axes), x, *params.values())
    got = dict(zip(["x", *names], (np.asarray(g) for g in vjp(jnp.asarray(ct))), strict=True))
    want = REF_VJP[kind](x, params, axes, ct)
    all_axes = tuple(range(len(shape)))
    full = {k: _expand_np(v, shape, axes, pshape) for k, v in params.items()}
    terms = REF_VJP[kind](x, full, all_axes, ct)  # unreduced: one parameter value per element
    ones = REF_VJP[kind](x, full, all_axes, np.ones(shape))  # the elementwise partials themselves
    ref_y = {"qn": lambda: Q.qn(x, **params, levels=[-1, 0, 1], temperature=20.0, axis=axes),
             "dsq": lambda: Q.dsq(x, **params, bits=2, axis=axes),
             "uniform": lambda: Q.uniform(x, **params, bits=3, signed=True, axis=axes),
             "apot": lambda: Q.apot(x, **params, bits=4, signed=False, axis=axes),
             "lsq": lambda: Q.lsq(x, **params, bits=4, signed=True, axis=axes)}[kind]()
    if kind == "qn":
        assert np.all(np.abs(np.asarray(y) - ref_y) <= 3 * EPS * 3 * 2)
    else:
        same_bits(y, ref_y)
    m = size // int(np.prod(pshape))
    for k in ["x", *names]:
        t, e = np.abs(terms[k]), np.abs(ct).reshape(shape + (1,) * (terms[k].ndim - len(shape)))
        if kind == "dsq":
            gp = np.abs(ones["x"])
            a = np.minimum(full["alpha"], 2 - full["alpha"])
            s_alpha = (full["upper"] - full["lower"]) / 3 / 2 * (1 / (1 - a) ** 2 + 1 / ((1 - a) * a * (2 - a)))
            elem = {"x": 4 * EPS * gp, "alpha": 3 * EPS * s_alpha}.get(k, 3 * EPS * (1 + gp)) * e
        elif kind == "qn":
            elem = (3 * EPS * 3 * e) if k == "alpha" else 6 * EPS * np.abs(ones[k]) * e
        else:
            elem = np.zeros_like(t)
        if k == "x":
            tol = elem
        else:
            tol = 2.02 * (m - 1) * EPS * _group_sum(t, shape, axes, pshape) + _group_sum(elem, shape, axes, pshape)
        assert np.all(np.abs(got[k] - want[k]) <= tol + 1e-300), (k, got[k], want[k])


def _group_sum(a, shape, axes, pshape):
    """Sum of an x-shaped (+ trailing) array over the elements each parameter value governs."""
    red = tuple(i for i in range(len(shape)) if i not in axes)
    out = a.sum(axis=red) if red else a
    for j, p in enumerate(pshape):
        out = out.reshape(out.shape[:j] + (p, -1) + out.shape[j + 1:]).sum(axis=j + 1)
    return out
