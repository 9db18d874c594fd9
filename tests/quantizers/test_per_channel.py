"""Per-channel / per-group parameters (issue 13): a per-channel call is, by definition, the loop
of per-tensor calls over the channels; these tests check that bit for bit, the VJP partials
against the same reduction of the looped elementwise partials, and the smooth maps' partials
against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from quanttheory.quantizers import fast as F
from quanttheory.quantizers._validate import expand_param, reduce_to_param
from tests.strategies import (
    alphas_clip,
    channel_inputs,
    channel_layouts,
    channel_params,
    dsq_channel_alphas,
    lsq_steps,
    qn_level_sets,
)

FAST = settings(max_examples=30, deadline=None)
EPS = np.finfo(np.float64).eps


def _pick(v, chans, x_shape, axes, trailing=0):
    """The value a channel uses: v itself if shared, else v[c_1 // r_1, ..., c_k // r_k]."""
    if np.ndim(v) == trailing:
        return v
    return v[tuple(c // (x_shape[a] // v.shape[i]) for i, (a, c) in enumerate(zip(axes, chans, strict=True)))]


def _loop(fn, x, axes, params, trailing=None, **static):
    """Per-tensor calls channel by channel, stitched together (arrays or dicts of arrays)."""
    trailing = trailing or {}
    out: dict = {}
    for chans in np.ndindex(*(x.shape[a] for a in axes)):
        index: list = [slice(None)] * x.ndim
        for a, c in zip(axes, chans, strict=True):
            index[a] = c
        kw = {k: _pick(v, chans, x.shape, axes, trailing.get(k, 0)) for k, v in params.items()}
        res = fn(x[tuple(index)], **kw, **static)
        for k, r in (res.items() if isinstance(res, dict) else [(None, res)]):
            r = np.asarray(r)
            if k not in out:
                out[k] = np.empty(x.shape + r.shape[r.ndim - trailing.get(k, 0) if k == "biases" else r.ndim:],
                                  dtype=r.dtype)
            out[k][tuple(index)] = r
    return out[None] if None in out else out


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), f"max |diff| {np.max(np.abs(a.astype(float) - b.astype(float)))}"


def _group_sums(d, pshape, x_shape, axes):
    """Independent of reduce_to_param: sum d over the x elements whose channels map to each index."""
    if pshape == ():
        return np.sum(d)
    idx = np.indices(x_shape)
    out = np.zeros(pshape)
    for j in np.ndindex(*pshape):
        mask = np.ones(x_shape, dtype=bool)
        for i, a in enumerate(axes):
            mask &= idx[a] // (x_shape[a] // pshape[i]) == j[i]
        out[j] = np.sum(d[mask])
    return out


def _check_vjp(fn, x, axis, axes, params, ct, trailing=None, **static):
    """VJP partials == cotangent · looped elementwise partials, reduced per parameter."""
    got = fn(x, axis=axis, cotangent=ct, **params, **static)
    loop = _loop(fn, x, axes, params, trailing, **static)
    ones = np.ones(x.shape) if ct is None else ct
    _same_bits(got["x"], ones * loop["x"])
    for k, v in params.items():
        pshape = np.shape(v)[: np.ndim(v) - (trailing or {}).get(k, 0)]
        d = loop[k]
        if d.ndim > x.ndim:  # QN biases: one reduction per step
            steps = range(d.shape[-1])
            want = np.stack([reduce_to_param(ones * d[..., m], pshape, x.shape, axes) for m in steps], -1)
            indep = np.stack([_group_sums(ones * d[..., m], pshape, x.shape, axes) for m in steps], -1)
        else:
            want = reduce_to_param(ones * d, pshape, x.shape, axes)
            indep = _group_sums(ones * d, pshape, x.shape, axes)
        assert got[k].shape == np.shape(v)
        _same_bits(got[k], want)
        scale = np.sum(np.abs(ones.reshape(ones.shape + (1,) * (d.ndim - x.ndim)) * d))
        np.testing.assert_allclose(got[k], indep, rtol=1e-12, atol=1e-12 * scale)


# --------------------------------------------------------------------------- uniform, APoT, LSQ


@st.composite
def _clip_cases(draw, kind):
    shape, axis, axes = draw(channel_layouts())
    x = draw(channel_inputs(shape))
    name, elements = ("step", lsq_steps) if kind == "lsq" else ("alpha", alphas_clip)
    p = {name: draw(channel_params(shape, axes, elements))}
    signed = draw(st.booleans())
    bits = draw(st.integers(2, 6) if signed else st.integers(1, 6))
    if kind == "apot" and signed:
        bits = min(bits + 1, 7)
    ct = draw(st.none() | channel_inputs(shape).map(lambda c: c.astype(np.float64)))
    return x, axis, axes, p, {"bits": bits, "signed": signed}, ct


CLIP = {"uniform": (Q.uniform, Q.uniform_partials, F.uniform), "apot": (Q.apot, Q.apot_partials, F.apot),
        "lsq": (Q.lsq, Q.lsq_partials, F.lsq)}


@pytest.mark.parametrize("kind", sorted(CLIP))
@FAST
@given(data=st.data())
def test_clip_quantizers_per_channel_equal_the_loop(kind, data):
    fwd, partials, fast = CLIP[kind]
    x, axis, axes, p, static, ct = data.draw(_clip_cases(kind))
    q = fwd(x, axis=axis, **p, **static)
    _same_bits(q, _loop(fwd, x, axes, p, **static))
    _same_bits(fast(x, axis=axis, **p, **static), q)  # the numba twin too
    _check_vjp(partials, x, axis, axes, p, ct, **static)


# --------------------------------------------------------------------------- DSQ


@st.composite
def _dsq_cases(draw):
    shape, axis, axes = draw(channel_layouts())
    x = draw(channel_inputs(shape, -6.0, 10.0))
    p = {"lower": draw(channel_params(shape, axes, st.floats(-4.0, 2.0))),
         "upper": draw(channel_params(shape, axes, st.floats(2.05, 8.0))),
         "alpha": draw(channel_params(shape, axes, dsq_channel_alphas))}
    ct = draw(st.none() | channel_inputs(shape).map(lambda c: c.astype(np.float64)))
    return x, axis, axes, p, draw(st.integers(1, 5)), ct


@FAST
@given(_dsq_cases(), st.booleans())
def test_dsq_per_channel_equals_the_loop(case, soft):
    x, axis, axes, p, bits, ct = case
    q = Q.dsq(x, axis=axis, bits=bits, soft=soft, **p)
    _same_bits(q, _loop(Q.dsq, x, axes, p, bits=bits, soft=soft))
    if not soft:
        _same_bits(F.dsq(x, axis=axis, bits=bits, **p), q)
    _check_vjp(Q.dsq_partials, x, axis, axes, p, ct, bits=bits)


def _fd_tolerance(f, theta, h, n, magnitude):
    """Central difference at h and its error bound, both derived from the step h.

    Truncation: FD_h − f' ≈ (FD_h − FD_2h)/3 (Richardson; f smooth within 2h), bounded here by
    |FD_h − FD_2h|. Rounding: F = Σ cotangent·Q has n terms, each Q computed with an absolute
    error of a few ulps of the largest intermediate (``magnitude`` bounds Σ|cotangent|·that:
    DSQ's l + Δg is ≲ |l| + |u|, QN's α(Σ s_i σ_i − o) is ≲ α(Σ s_i + |o|), and cancels for
    y ≈ 0); so each F is off by ≲ 4·n·ε·magnitude, and the difference quotient by that / h.
    """
    fh = (f(theta + h) - f(theta - h)) / (2 * h)
    f2h = (f(theta + 2 * h) - f(theta - 2 * h)) / (4 * h)
    return fh, abs(fh - f2h) + 4 * n * EPS * magnitude / h


def _perturbed(params, name, j, value):
    v = np.array(params[name], dtype=np.float64)
    v[j] = value
    return params | {name: v if v.ndim else float(v)}


@settings(max_examples=25, deadline=None)
@given(_dsq_cases(), st.data())
def test_dsq_reduced_partials_match_central_differences(case, data):
    x, axis, axes, p, bits, ct = case
    x = x.astype(np.float64)
    ct = np.ones(x.shape) if ct is None else ct
    lo = np.broadcast_to(expand_param(np.asarray(p["lower"], float), x.shape, axes, "lower"), x.shape)
    hi = np.broadcast_to(expand_param(np.asarray(p["upper"], float), x.shape, axes, "upper"), x.shape)
    delta = (hi - lo) / (2**bits - 1)
    # Q_S has a kink in x at l and u (slope (sK/2)α(2−α) inside, 0 outside): stay 1e-3·Δ away
    assume(np.all((np.abs(x - lo) > 1e-3 * delta) & (np.abs(x - hi) > 1e-3 * delta)))
    got = Q.dsq_partials(x, axis=axis, bits=bits, cotangent=ct, **p)
    name = data.draw(st.sampled_from(["lower", "upper", "alpha"]))
    j = data.draw(st.sampled_from(list(np.ndindex(*np.shape(p[name])))))
    h = 1e-6 if name == "alpha" else 1e-4 * float(np.min(delta))
    # α within 2h of 1 would straddle the α ↔ 2 − α fold: fine (Q_S is smooth there), but keep
    # α − 2h > 0 trivially true for α ≥ 0.01

    def f(theta):
        return float(np.sum(ct * Q.dsq(x, axis=axis, bits=bits, soft=True, **_perturbed(p, name, j, theta))))

    magnitude = float(np.sum(np.abs(ct) * (np.abs(lo) + np.abs(hi))))
    fd, tol = _fd_tolerance(f, float(np.asarray(p[name])[j]), h, x.size, magnitude)
    assert abs(got[name][j] - fd) <= tol, (name, j, got[name][j], fd, tol)


# --------------------------------------------------------------------------- QN


@st.composite
def _qn_cases(draw):
    shape, axis, axes = draw(channel_layouts(max_side=4))
    x = draw(channel_inputs(shape, -3.0, 3.0))
    levels = draw(qn_level_sets)
    p = {"alpha": draw(channel_params(shape, axes, st.floats(0.2, 3.0))),
         "beta": draw(channel_params(shape, axes, st.floats(0.2, 3.0))),
         "biases": draw(channel_params(shape, axes, st.floats(-3.0, 3.0), trailing=(len(levels) - 1,)))}
    ct = draw(st.none() | channel_inputs(shape).map(lambda c: c.astype(np.float64)))
    return x, axis, axes, p, {"levels": levels, "temperature": draw(st.floats(0.5, 10.0))}, ct


@settings(max_examples=25, deadline=None)
@given(_qn_cases(), st.booleans())
def test_qn_per_channel_equals_the_loop(case, soft):
    x, axis, axes, p, static, ct = case
    y = Q.qn(x, axis=axis, soft=soft, **p, **static)
    _same_bits(y, _loop(Q.qn, x, axes, p, {"biases": 1}, soft=soft, **static))
    _check_vjp(Q.qn_partials, x, axis, axes, p, ct, {"biases": 1}, **static)


@settings(max_examples=20, deadline=None)
@given(_qn_cases(), st.data())
def test_qn_reduced_partials_match_central_differences(case, data):
    x, axis, axes, p, static, ct = case
    x = x.astype(np.float64)
    ct = np.ones(x.shape) if ct is None else ct
    got = Q.qn_partials(x, axis=axis, cotangent=ct, **p, **static)
    name = data.draw(st.sampled_from(["alpha", "beta", "biases"]))
    j = data.draw(st.sampled_from(list(np.ndindex(*np.shape(p[name])))))
    theta = float(np.asarray(p[name])[j])
    h = 1e-6 * max(1.0, abs(theta))

    def f(t):
        return float(np.sum(ct * Q.qn(x, axis=axis, soft=True, **_perturbed(p, name, j, t), **static)))

    levels = np.asarray(static["levels"])
    bound = 1.01 * float(np.max(p["alpha"])) * (levels[-1] - levels[0] + abs(levels[0]))  # α(Σ s_i + |o|), α ± 2h
    fd, tol = _fd_tolerance(f, theta, h, x.size, float(np.sum(np.abs(ct))) * bound)
    assert abs(got[name][j] - fd) <= tol, (name, j, got[name][j], fd, tol)


# --------------------------------------------------------------------------- shapes and errors


def test_scalar_parameters_with_axis_equal_the_per_tensor_call():
    x = np.random.default_rng(0).standard_normal((3, 4))
    _same_bits(Q.uniform(x, alpha=0.7, bits=3, signed=True, axis=1), Q.uniform(x, alpha=0.7, bits=3, signed=True))
    parts = Q.dsq_partials(x, lower=-1.0, upper=1.0, bits=2, alpha=0.3, axis=0)
    assert {k: v.shape for k, v in parts.items()} == {"x": (3, 4), "lower": (), "upper": (), "alpha": ()}


def test_cotangent_without_axis_reduces_to_scalars():
    x = np.random.default_rng(1).standard_normal((5, 2))
    ct = np.random.default_rng(2).standard_normal((5, 2))
    elem = Q.apot_partials(x, alpha=1.0, bits=3, signed=True)
    red = Q.apot_partials(x, alpha=1.0, bits=3, signed=True, cotangent=ct)
    _same_bits(red["x"], ct * elem["x"])
    assert red["alpha"].shape == () and red["alpha"] == pytest.approx(np.sum(ct * elem["alpha"]), rel=1e-14)
    qn = Q.qn_partials(x, levels=[-1, 0, 1], biases=[-0.5, 0.5], alpha=1.0, beta=1.0, temperature=2.0,
                       cotangent=ct)
    assert qn["biases"].shape == (2,) and qn["alpha"].shape == ()


DSQ_KW = {"lower": -1.0, "upper": 1.0, "alpha": 0.2}
CALLS = {
    "uniform": lambda x, **kw: Q.uniform(x, bits=3, signed=True, **({"alpha": 1.0} | kw)),
    "uniform_partials": lambda x, **kw: Q.uniform_partials(x, bits=3, signed=True, **({"alpha": 1.0} | kw)),
    "apot": lambda x, **kw: Q.apot(x, bits=3, signed=True, **({"alpha": 1.0} | kw)),
    "apot_partials": lambda x, **kw: Q.apot_partials(x, bits=3, signed=True, **({"alpha": 1.0} | kw)),
    "lsq": lambda x, **kw: Q.lsq(x, bits=3, signed=True, **({"step": 0.1} | kw)),
    "lsq_partials": lambda x, **kw: Q.lsq_partials(x, bits=3, signed=True, **({"step": 0.1} | kw)),
    "dsq": lambda x, **kw: Q.dsq(x, bits=2, **(DSQ_KW | kw)),
    "dsq_partials": lambda x, **kw: Q.dsq_partials(x, bits=2, **(DSQ_KW | kw)),
    "qn": lambda x, **kw: Q.qn(x, levels=[-1, 0, 1], temperature=2.0,
                               **({"biases": [-0.5, 0.5], "alpha": 1.0, "beta": 1.0} | kw)),
    "qn_partials": lambda x, **kw: Q.qn_partials(x, levels=[-1, 0, 1], temperature=2.0,
                                                 **({"biases": [-0.5, 0.5], "alpha": 1.0, "beta": 1.0} | kw)),
    "fast.uniform": lambda x, **kw: F.uniform(x, bits=3, signed=True, **({"alpha": 1.0} | kw)),
    "fast.apot": lambda x, **kw: F.apot(x, bits=3, signed=True, **({"alpha": 1.0} | kw)),
    "fast.lsq": lambda x, **kw: F.lsq(x, bits=3, signed=True, **({"step": 0.1} | kw)),
    "fast.dsq": lambda x, **kw: F.dsq(x, bits=2, **(DSQ_KW | kw)),
}
PARAM = {"uniform": "alpha", "apot": "alpha", "lsq": "step", "dsq": "upper", "qn": "beta"}


def _param(name):
    return PARAM[name.split(".")[-1].removesuffix("_partials")]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_bad_parameter_shape_names_the_parameter(name):
    x = np.zeros((4, 6))
    p = _param(name)
    value = np.full((4,), 2.0)  # 4 does not divide the 6 channels of axis 1
    with pytest.raises(ValueError, match=rf"{p} has shape \(4,\).*x\.shape=\(4, 6\).*valid shapes"):
        CALLS[name](x, axis=1, **{p: value})
    with pytest.raises(TypeError, match=rf"{p} must be a real number when axis=None.*pass axis="):
        CALLS[name](x, **{p: np.full((6,), 2.0)})


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("axis", [2, -3, (0, 2)])
def test_axis_out_of_range_names_axis_and_ndim(name, axis):
    with pytest.raises(ValueError, match=r"axis=.*out of range for x\.ndim=2"):
        CALLS[name](np.zeros((4, 6)), axis=axis)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_bad_channel_value_names_the_element(name):
    p = _param(name)
    bad = np.array([1.0, 2.0, -1.0]) if p != "upper" else np.array([2.0, 2.0, -3.0])
    with pytest.raises(ValueError, match=rf"{p}\[2\]|lower < upper"):
        CALLS[name](np.zeros((2, 3)), axis=1, **{p: bad})


def test_qn_biases_shape_and_cotangent_shape():
    x = np.zeros((4, 6))
    with pytest.raises(ValueError, match=r"biases must have shape P \+ \(2,\)"):
        CALLS["qn"](x, axis=1, biases=np.zeros((6, 3)))
    with pytest.raises(ValueError, match=r"biases \(less its per-step dim\) has shape \(5,\)"):
        CALLS["qn"](x, axis=1, biases=np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"cotangent has shape \(6,\).*x\.shape=\(4, 6\)"):
        CALLS["uniform_partials"](x, axis=1, cotangent=np.ones(6))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_per_channel_equal_the_loop(dtype):
    """Long contiguous runs (numpy's SIMD loops vs their scalar tails) and 12-bit uniform levels
    (the numba kernel's bisection branch); channels along the last axis, groups of 3 on axis 0."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((9, 257)) * 2).astype(dtype)
    alpha = rng.uniform(0.5, 3.0, 257)
    for fwd in (Q.uniform, F.uniform, Q.apot, F.apot):
        bits = 12 if fwd in (Q.uniform, F.uniform) else 5
        _same_bits(fwd(x, alpha=alpha, bits=bits, signed=True, axis=-1),
                   _loop(Q.uniform if fwd in (Q.uniform, F.uniform) else Q.apot, x, (1,), {"alpha": alpha},
                         bits=bits, signed=True))
    p = {"lower": rng.uniform(-3, -1, (3, 1)), "upper": rng.uniform(1, 3, (3, 257)),
         "alpha": rng.choice([0.05, 0.3, 1.0, 1.0 - 1e-4, 1.7], (3, 257))}
    for soft in (False, True):
        _same_bits(Q.dsq(x, bits=3, soft=soft, axis=(0, 1), **p), _loop(Q.dsq, x, (0, 1), p, bits=3, soft=soft))
    _same_bits(F.dsq(x, bits=3, axis=(0, 1), **p), Q.dsq(x, bits=3, axis=(0, 1), **p))
    _check_vjp(Q.dsq_partials, x, (0, 1), (0, 1), p, None, bits=3)
    xr = np.ascontiguousarray(x.T)  # (257, 9): per-row α over 257 rows of 9
    _check_vjp(Q.dsq_partials, xr, 0, (0,), {"lower": -2.0, "upper": 2.5, "alpha": rng.uniform(0.01, 1.99, 257)},
               None, bits=4)
