"""quanttheory.jax against the numpy reference (quanttheory.quantizers), forward and backward.

Bit-exact in float64 (``jax_enable_x64``): every forward map, the partials of uniform, APoT,
LSQ, DSQ-STE and the QN step map, and the x-gradient of the rounding functions. Not bit-exact,
with the measured worst case stated (over 300 random DSQ and 200 random QN configurations plus
these hypothesis runs; ε = 2^-52, bounds asserted = measured rounded up to a whole ε plus one):

* DSQ soft partials, through XLA's tanh/exp/log1p (a few ulp each, vs glibc):
  ∂x ≤ 2.81 ε·|∂x| (asserted 4), ∂l, ∂u ≤ 1.31 ε·(1 + |∂x|) (asserted 3), ∂α ≤ 1.03 ε·S_α
  (asserted 3) with S_α = (Δ/2)(1/(1 − a)² + s/(a(2 − a))), the size of its two terms.
* QN sigmoid map: forward ≤ 1.77 ε·α(Σ|s_i| + |o|) (asserted 3); partials ∂x ≤ 3.96 ε, ∂b ≤ 3.18 ε,
  ∂β ≤ 4.18 ε relative (asserted 5-6), ∂α ≤ 1.78 ε(Σ|s_i| + |o|) (asserted 3); where the reference is
  below 1e-290 (σ(1 − σ) underflowing) the difference is below 1e-300 absolute. Causes: XLA's
  exp inside the sigmoid, and the reference's BLAS ``a @ s`` (see quanttheory/jax/_qn.py).

Gradients of a shared or per-channel parameter are sums over the elements it governs, formed
in a different order than numpy's: for m terms t_j any order is within γ_{m−1}·Σ|t_j| of the
exact sum (γ_k = k·u/(1 − k·u), u = ε/2; Higham, Accuracy and Stability, §4.2), so two orders
differ by at most 2γ_{m−1}Σ|t_j| ≈ (m − 1)·ε·Σ|t_j| (:func:`sum_tol`), plus the elementwise
bound times Σ|cotangent| where the elementwise partials are not exact.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from quanttheory.nn import layers

from .strategies import (
    alphas_clip,
    deltas,
    dsq_alphas,
    dsq_ranges,
    jax_channel_layouts,
    jax_inputs,
    jax_param_floats,
    normal_floats,
)

jax = pytest.importorskip("jax")  # the test extra installs jax: this skips only without it
jnp = pytest.importorskip("jax.numpy")
qj = pytest.importorskip("quanttheory.jax")

EPS = np.finfo(np.float64).eps
JAX_SETTINGS = settings(max_examples=40)


@pytest.fixture(autouse=True, scope="module")
def x64():
    with jax.enable_x64(True):
        yield


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


def sum_tol(terms, axes_summed):
    """2γ_{m−1}·Σ|t_j| for sums of m terms (see the module notes)."""
    a = np.abs(terms)
    m = max(1, int(np.prod([terms.shape[i] for i in axes_summed])))
    return 1.01 * (m - 1) * EPS * np.sum(a, axis=axes_summed)


# --------------------------------------------------------------------------- import guard


def test_missing_jax_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "quanttheory.jax" or m.startswith("quanttheory.jax.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "quanttheory\[jax\]"'):
        importlib.import_module("quanttheory.jax")


def test_import_quanttheory_does_not_import_jax():
    import subprocess

    code = "import sys, quanttheory, quanttheory.quantizers; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- forward maps, bit for bit


@JAX_SETTINGS
@given(x=jax_inputs(), lu=dsq_ranges(), bits=st.integers(1, 16), alpha=dsq_alphas, f32=st.booleans())
def test_dsq_forward_bit_exact(x, lu, bits, alpha, f32):
    x = as_f32(x) if f32 else x
    kw = dict(lower=lu[0], upper=lu[1], bits=bits, alpha=alpha)
    same_bits(qj.dsq(x, **kw), Q.dsq(x, **kw))


@JAX_SETTINGS
@given(x=jax_inputs(), alpha=alphas_clip, bits=st.integers(2, 7), signed=st.booleans(), f32=st.booleans())
def test_rcf_forward_bit_exact(x, alpha, bits, signed, f32):
    x = as_f32(x) if f32 else x
    ab = bits if signed else bits - 1
    kw = dict(alpha=alpha, bits=bits, signed=signed)
    same_bits(qj.uniform(x, **kw), Q.uniform(x, **kw))
    same_bits(qj.apot(x, alpha=alpha, bits=ab, signed=signed), Q.apot(x, alpha=alpha, bits=ab, signed=signed))
    step = alpha / 7
    same_bits(qj.lsq(x, step=step, bits=bits, signed=signed), Q.lsq(x, step=step, bits=bits, signed=signed))


@JAX_SETTINGS
@given(x=jax_inputs(), delta=deltas, f32=st.booleans())
def test_round_nearest_bit_exact(x, delta, f32):
    x = as_f32(x) if f32 else x
    same_bits(qj.round_nearest(x, delta=delta), Q.round_nearest(x, delta))


QN_LEVELS = [[-1, 1], [-1, 0, 1], [0, 1, 2, 3], [-4, -2, -1, 0, 1, 2, 4]]


@st.composite
def qn_configs(draw):
    levels = draw(st.sampled_from(QN_LEVELS))
    n = len(levels) - 1
    biases = np.sort(np.asarray(draw(st.lists(jax_param_floats, min_size=n, max_size=n))))
    return dict(levels=levels, biases=biases, alpha=draw(st.floats(0.1, 3)), beta=draw(st.floats(0.1, 3)),
                temperature=draw(st.floats(0.1, 1000)))


@JAX_SETTINGS
@given(x=jax_inputs(), kw=qn_configs())
def test_qn_forward(x, kw):
    same_bits(qj.qn(x, **kw, backward="ste"), Q.qn(x, **kw, soft=False))  # step map: exact sums
    s, o = Q.qn_steps(kw["levels"])
    err = np.abs(np.asarray(qj.qn(x, **kw)) - Q.qn(x, **kw))
    assert np.all(err <= 3 * EPS * kw["alpha"] * (np.sum(np.abs(s)) + abs(o)))


# --------------------------------------------------------------------------- elementwise partials


@JAX_SETTINGS
@given(x=jax_inputs(), alpha=alphas_clip, bits=st.integers(2, 7), signed=st.booleans())
def test_rcf_partials_bit_exact(x, alpha, bits, signed):
    ab = bits if signed else bits - 1
    for fn, ref, b in [(qj.uniform, Q.uniform_partials, bits), (qj.apot, Q.apot_partials, ab)]:
        got = elementwise(fn, x, {"alpha": alpha}, bits=b, signed=signed)
        want = ref(x, alpha=alpha, bits=b, signed=signed)
        for k in want:
            same_bits(got[k], want[k])
    got = elementwise(qj.lsq, x, {"step": alpha / 5}, bits=bits, signed=signed, grad_scale=0.25)
    want = Q.lsq_partials(x, step=alpha / 5, bits=bits, signed=signed, grad_scale=0.25)
    for k in want:
        same_bits(got[k], want[k])


@JAX_SETTINGS
@given(x=jax_inputs(), lu=dsq_ranges(), bits=st.integers(1, 8), alpha=dsq_alphas)
def test_dsq_ste_partials_bit_exact(x, lu, bits, alpha):
    p = {"lower": lu[0], "upper": lu[1]}
    got = elementwise(qj.dsq, x, p | {"alpha": alpha}, bits=bits, backward="ste")
    want = layers._dsq_ste_partials(x, p, bits, Q.dsq(x, **p, bits=bits, alpha=alpha))
    same_bits(got["alpha"], np.zeros(x.shape))
    for k in want:
        same_bits(got[k], want[k])


@JAX_SETTINGS
@given(x=jax_inputs(), lu=dsq_ranges(), bits=st.integers(1, 8), alpha=dsq_alphas | st.floats(0.999, 1.001))
def test_dsq_soft_partials_measured(x, lu, bits, alpha):
    kw = dict(lower=lu[0], upper=lu[1], alpha=alpha)
    got = elementwise(qj.dsq, x, kw, bits=bits)
    want = Q.dsq_partials(x, **kw, bits=bits)
    gp = np.abs(want["x"])
    a = min(alpha, 2 - alpha)
    half_delta = (lu[1] - lu[0]) / (2**bits - 1) / 2
    s_alpha = half_delta * (1 / (1 - a) ** 2 + 1 / ((1 - a) * a * (2 - a))) if a != 1 else 0
    assert np.all(np.abs(got["x"] - want["x"]) <= 4 * EPS * gp)
    for k in ("lower", "upper"):
        assert np.all(np.abs(got[k] - want[k]) <= 3 * EPS * (1 + gp)), k
    assert np.all(np.abs(got["alpha"] - want["alpha"]) <= 3 * EPS * s_alpha)


@JAX_SETTINGS
@given(x=jax_inputs(), kw=qn_configs())
def test_qn_partials_measured(x, kw):
    s, o = Q.qn_steps(kw["levels"])
    params = {k: kw[k] for k in ("biases", "alpha", "beta", "temperature")}
    static = {"levels": kw["levels"]}
    want = Q.qn_partials(x, **kw)
    for backward in ("soft", "ste"):  # the step map's backward is the same sigmoid partials
        got = elementwise(qj.qn, x, params, **static, backward=backward)
        for k, bound in (("x", 5), ("biases", 5), ("beta", 6)):
            big = np.abs(want[k]) > 1e-290
            err = np.abs(got[k] - want[k])
            assert np.all(err[big] <= bound * EPS * np.abs(want[k][big])), k
            assert np.all(err[~big] <= 1e-300), k
        assert np.all(np.abs(got["alpha"] - want["alpha"]) <= 3 * EPS * (np.sum(np.abs(s)) + abs(o)))


@JAX_SETTINGS
@given(x=jax_inputs(), delta=deltas)
def test_rounding_backward_is_straight_through(x, delta):
    for fn in (lambda v: qj.round_nearest(v, delta=delta),
               lambda v: qj.stochastic_round(v, delta=delta, key=jax.random.key(0))):
        _, vjp = jax.vjp(fn, jnp.asarray(x))
        g = np.arange(x.size, dtype=np.float64).reshape(x.shape)
        same_bits(vjp(jnp.asarray(g))[0], g)


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


# --------------------------------------------------------------------------- jit and grad


def test_jit_and_grad_agree_with_eager():
    """Under jax.jit and jax.grad (and grad inside jit) the functions give the eager values: one per
    jitted core (uniform and LSQ share APoT's, round_nearest shares stochastic_round's STE; the
    "ste" backwards take the same code path; all partials are also checked eagerly above)."""
    x = np.linspace(-2.3, 2.9, 24).reshape(4, 6)
    key = jax.random.key(3)
    calls = {
        "dsq": lambda x, p: qj.dsq(x, lower=-p, upper=2 * p, bits=3, alpha=0.3),
        "apot": lambda x, p: qj.apot(x, alpha=p, bits=4, signed=True, axis=1),
        "qn": lambda x, p: qj.qn(x, levels=[0, 1, 2, 3], biases=[0.5, 1.5, 2.5], alpha=p, beta=1.0,
                                 temperature=8.0),
        "stochastic_round": lambda x, p: p * qj.stochastic_round(x, delta=0.25, key=key),
    }
    p0 = {"apot": jnp.full(6, 1.5)}
    for name, fn in calls.items():
        p = p0.get(name, jnp.asarray(1.5))

        def loss(x, p, fn=fn):
            return jnp.sum(jnp.sin(fn(x, p)))

        same_bits(jax.jit(fn)(x, p), fn(x, p))
        g_eager = jax.grad(loss, argnums=(0, 1))(x, p)
        g_jit = jax.jit(jax.grad(loss, argnums=(0, 1)))(x, p)
        for a, b in zip(g_eager, g_jit, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14, err_msg=name)
        assert np.any(np.asarray(g_eager[0]) != 0), name


def test_empty_and_scalar_inputs():
    for x in (np.zeros((0,)), np.zeros((3, 0)), np.asarray(0.7)):
        same_bits(qj.uniform(x, alpha=1.0, bits=3, signed=True), Q.uniform(x, alpha=1.0, bits=3, signed=True))
        kw = dict(lower=-1.0, upper=1.0, bits=2, alpha=0.2)
        same_bits(qj.dsq(x, **kw), Q.dsq(x, **kw))
        levels, b = [-1, 0, 1], np.array([-0.1, 0.1])
        same_bits(qj.qn(x, levels=levels, biases=b, alpha=1.0, beta=1.0, temperature=3.0, backward="ste"),
                  Q.qn(x, levels=levels, biases=b, alpha=1.0, beta=1.0, temperature=3.0, soft=False))


# --------------------------------------------------------------------------- stochastic rounding


def test_stochastic_round_same_key_same_result_and_formula():
    x = np.random.default_rng(0).normal(size=(5, 7)) * 3
    k1, k2 = jax.random.split(jax.random.key(42))
    q1 = np.asarray(qj.stochastic_round(x, delta=0.5, key=k1))
    same_bits(q1, np.asarray(qj.stochastic_round(x, delta=0.5, key=k1)))
    assert np.any(q1 != np.asarray(qj.stochastic_round(x, delta=0.5, key=k2)))
    # the reference formula with the same uniforms (the adapter draws U with jax.random.uniform)
    u = np.asarray(jax.random.uniform(k1, x.shape, dtype=jnp.float64))
    low = np.floor(x / 0.5)
    same_bits(q1, 0.5 * (low + (u < x / 0.5 - low)))
    assert np.all(np.abs(q1 - x) < 0.5) and np.all(np.isin(q1 / 0.5, np.round(q1 / 0.5)))


def test_stochastic_round_is_unbiased():
    """E[Q_s(w)] = w. N draws per value; the mean's std is Δ√(p(1−p)/N) ≤ Δ/(2√N), so a fixed key
    must land within 5 of those (P(|Z| > 5) = 6e-7 per value) — a real check, not a loose one."""
    n, delta = 20_000, 0.25
    w = np.array([-1.3, -0.26, 0.01, 0.124, 0.5, 0.83, 2.0])
    q = np.asarray(qj.stochastic_round(np.repeat(w[None, :], n, axis=0), delta=delta, key=jax.random.key(7)))
    frac = w / delta - np.floor(w / delta)
    sd = delta * np.sqrt(frac * (1 - frac) / n)
    assert np.all(np.abs(q.mean(axis=0) - w) <= 5 * sd + 1e-15)
    assert np.all(np.abs(q.mean(axis=0) - w) <= 5 * delta / (2 * np.sqrt(n)))


# --------------------------------------------------------------------------- errors


def test_static_errors_name_the_argument():
    x = jnp.ones((4, 6))
    with pytest.raises(ValueError, match="bits=9"):
        qj.apot(x, alpha=1.0, bits=9, signed=True)
    with pytest.raises(ValueError, match="bits=0"):
        qj.dsq(x, lower=0.0, upper=1.0, bits=0, alpha=0.2)
    with pytest.raises(ValueError, match="out of range for x.ndim=2"):
        qj.uniform(x, alpha=jnp.ones(4), bits=3, signed=True, axis=2)
    with pytest.raises(ValueError, match=r"alpha has shape \(5,\)"):
        qj.uniform(x, alpha=jnp.ones(5), bits=3, signed=True, axis=1)
    with pytest.raises(ValueError, match=r"step has shape \(4,\) but axis=None"):
        qj.lsq(x, step=jnp.ones(4), bits=3, signed=True)
    with pytest.raises(ValueError, match="biases"):
        qj.qn(x, levels=[-1, 0, 1], biases=jnp.ones(3), alpha=1.0, beta=1.0, temperature=1.0)
    with pytest.raises(ValueError, match="backward"):
        qj.dsq(x, lower=0.0, upper=1.0, bits=2, alpha=0.2, backward="hard")
    with pytest.raises(TypeError, match="signed"):
        qj.uniform(x, alpha=1.0, bits=3, signed="yes")
    # shapes are static: the same errors under jit
    with pytest.raises(ValueError, match=r"lower has shape \(3,\)"):
        jax.jit(lambda x, lo: qj.dsq(x, lower=lo, upper=1.0, bits=2, alpha=0.2, axis=0))(x, jnp.zeros(3))


def test_value_errors_on_eager_calls_and_nan_under_jit():
    x = np.array([0.1, np.nan])
    with pytest.raises(ValueError, match="non-finite"):
        qj.uniform(x, alpha=1.0, bits=3, signed=True)
    with pytest.raises(ValueError, match=r"alpha\[1\]=-1.0 is out of range"):
        qj.uniform(np.ones((2, 2)), alpha=np.array([1.0, -1.0]), bits=3, signed=True, axis=0)
    with pytest.raises(ValueError, match="alpha=2.5 is out of range"):
        qj.dsq(np.ones(3), lower=0.0, upper=1.0, bits=2, alpha=2.5)
    with pytest.raises(ValueError, match="lower < upper"):
        qj.dsq(np.ones(3), lower=1.0, upper=0.0, bits=2, alpha=0.2)
    with pytest.raises(ValueError, match="lower < upper"):  # per-group l (2 groups) vs per-channel u
        qj.dsq(np.ones((4, 3)), lower=np.array([0.0, 0.5]), upper=np.array([1.0, 1.0, 1.0, 0.2]), bits=2,
               alpha=0.2, axis=0)
    qj.dsq(np.ones((4, 3)), lower=np.array([0.0, 0.5]), upper=np.array([1.0, 1.0, 1.0, 0.7]), bits=2,
           alpha=0.2, axis=0)
    # documented: under jit nothing can be checked; NaN stays NaN (it is never mapped to a level)
    for fn in (lambda x: qj.uniform(x, alpha=1.0, bits=3, signed=True),
               lambda x: qj.dsq(x, lower=-1.0, upper=1.0, bits=2, alpha=0.2),
               lambda x: qj.qn(x, levels=[-1, 1], biases=[0.0], alpha=1.0, beta=1.0, temperature=2.0),
               lambda x: qj.round_nearest(x, delta=0.5)):
        out = np.asarray(jax.jit(fn)(x))
        assert np.isnan(out[1]) and np.isfinite(out[0])
        g = np.asarray(jax.jit(jax.grad(lambda x, fn=fn: jnp.sum(fn(x))))(x))
        assert np.isfinite(g[0])


# --------------------------------------------------------------------------- float32 without x64


def ulp32(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32))


def test_float32_without_x64():
    """Without jax_enable_x64 JAX has no float64, so the maps run in float32; the reference
    computes float32 input in float64 and rounds once. Measured on these 20 000 values (and on
    200 000 with other seeds while developing): uniform, round_nearest and the QN step map are
    exact; APoT and LSQ within 1 ulp (the level α·L is rounded twice); DSQ's level l + jΔ
    carries Δ's float32 error j times: |q − q_ref| ≤ ε₃₂(1.5(u − l) + max(|l|, |u|)) [derived:
    Δ has ≤ 2 roundings, jΔ and l + jΔ one each], measured up to 6 ulp; the QN sigmoid map
    within 1.05 ε₃₂·α(Σ|s_i| + |o|) (asserted 2). A level decided on a float32 x/α or t may
    differ from the reference's float64 decision within a few ulp of a midpoint (none occur in
    this sample; such an input would fail the bounds below, which are far below one step)."""
    eps32 = float(np.finfo(np.float32).eps)
    x = (np.random.default_rng(11).normal(size=20_000) * 2).astype(np.float32)
    a32 = np.float32(1.1)
    with jax.enable_x64(False):
        assert qj.uniform(x, alpha=a32, bits=4, signed=True).dtype == jnp.float32
        kw = dict(alpha=a32, bits=4, signed=True)
        assert ulp32(qj.uniform(x, **kw), Q.uniform(x, **kw)).max() == 0
        d32 = np.float32(0.3)
        assert ulp32(qj.round_nearest(x, delta=d32), Q.round_nearest(x, float(d32))).max() == 0
        for signed in (True, False):
            kw = dict(alpha=a32, bits=4, signed=signed)
            assert ulp32(qj.apot(x, **kw), Q.apot(x, **kw)).max() <= 1
            assert ulp32(qj.lsq(x, step=np.float32(0.3), bits=4, signed=signed),
                         Q.lsq(x, step=np.float32(0.3), bits=4, signed=signed)).max() <= 1
        lo, hi = np.float32(-1.3), np.float32(1.7)
        for bits in (2, 4, 8):
            got = np.asarray(qj.dsq(x, lower=lo, upper=hi, bits=bits, alpha=np.float32(0.2)), np.float64)
            want = Q.dsq(x, lower=lo, upper=hi, bits=bits, alpha=0.2).astype(np.float64)
            assert np.max(np.abs(got - want)) <= eps32 * (1.5 * (float(hi) - float(lo)) + max(abs(lo), abs(hi)))
        kw = dict(levels=[-1, 0, 1], biases=np.array([-0.3, 0.4], np.float32), alpha=np.float32(0.8),
                  beta=np.float32(1.2), temperature=np.float32(10.0))
        same_bits(np.asarray(qj.qn(x, **kw, backward="ste"), np.float64), Q.qn(x, **kw, soft=False))
        assert np.max(np.abs(np.asarray(qj.qn(x, **kw), np.float64) - Q.qn(x, **kw))) <= 2 * eps32 * 0.8 * 3


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
