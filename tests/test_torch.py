"""quanttheory.torch against the numpy reference (forward, backward, per channel) and its errors.

Tolerances (u = 2^-53, float64 unit roundoff), derived here and used below:

* Forward maps of dsq, apot, uniform, lsq, round_nearest and QN's step map: bit for bit, float64
  and float32 (the adapter evaluates the reference's operations in float64 and casts back).
* Elementwise partials of uniform, apot, lsq and DSQ-STE: bit for bit (only +, −, ×, ÷, compare).
* DSQ soft partials use tanh/log1p, where torch and numpy differ by ≤ 1 ulp (measured over 2e6
  points: tanh 21 %, log1p 1.8 % of the points). That 1-ulp (≤ 2u relative) difference in K and
  in tanh(z), z = K·c, |z| ≤ K/2, moves exp(−2|z|) and tanh by ≤ 2|z|·2u relative, so we allow
  |Δ| ≤ (16 + 4K)·u·scale, with scale the sum of the magnitudes of the terms of each formula
  (:func:`_dsq_scales`); measured max |Δ|/(u·scale): 8.8 (∂x), 3.2 (∂l), 3.8 (∂u), 11 (∂α) over
  600 random cases, α down to 1e-6.
* QN: torch.sigmoid is within 2 ulp of scipy's expit (measured, 2e6 points), and Σ s_i σ_i is a
  matmul whose order differs from numpy's BLAS (which fuses multiply-adds). Each of the n + 2
  operations after σ rounds once (≤ u relative to the running magnitude), so both results lie
  within (n + 6)·u·α(Σ s_i + o) of the exact value (σ within 2u·σ per implementation): we allow
  twice that. ∂x, ∂β, ∂b (sums of non-negative terms): (2n + 12)·u relative to their own size.
* Parameter gradients are sums of m terms in a different order: any order's error is at most
  γ_{m−1}·Σ|terms| (Higham, Accuracy and Stability, §4.2), so two orders differ by at most
  2γ_{m}·Σ|terms|, plus Σ|ct|·(elementwise tolerance) where the partials differ.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quanttheory import quantizers as Q
from quanttheory.quantizers.lsq import lsq as np_lsq
from quanttheory.quantizers.lsq import lsq_partials as np_lsq_partials
from tests.strategies import (
    alphas_clip,
    deltas,
    dsq_alphas,
    dsq_ranges,
    lsq_steps,
    moderate_arrays,
    moderate_floats,
    qn_level_sets,
    torch_channel_layouts,
)

torch = pytest.importorskip("torch", reason='the torch extra: pip install "quanttheory[torch]"')
qt = importlib.import_module("quanttheory.torch")

U = 2.0**-53
F64 = torch.float64
DTYPES = [np.float64, np.float32]


def T(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


def run(fn, x, params, ct, **kw):
    """Forward and backward of an adapter function: (q, dx, {name: dparam}) as numpy arrays."""
    xt = T(x, grad=True)
    pt = {k: T(v, grad=True) for k, v in params.items()}
    q = fn(xt, **{**kw, **pt})
    q.backward(T(ct).to(q.dtype))
    return q.detach().numpy(), xt.grad.numpy(), {k: v.grad.numpy() for k, v in pt.items()}


def gamma(m):
    return m * U / (1 - m * U)


def assert_sum_close(got, terms, elem_err=0.0):
    """got vs np.sum(terms): 2γ_m Σ|terms| (two summation orders) + the elementwise error."""
    terms = np.asarray(terms, dtype=np.float64)
    bound = 2 * gamma(terms.size + 1) * np.sum(np.abs(terms)) + np.sum(elem_err)
    assert abs(float(got) - float(np.sum(terms))) <= bound, (got, np.sum(terms), bound)


# --------------------------------------------------------------------------- packaging
def test_import_quanttheory_does_not_import_torch():
    code = "import sys, quanttheory, quanttheory.quantizers, quanttheory.nn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    for mod in ("quanttheory.torch", "quanttheory._torch_core", "quanttheory._torch_maps"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    with pytest.raises(ImportError, match=r'pip install "quanttheory\[torch\]"'):
        importlib.import_module("quanttheory.torch")


# --------------------------------------------------------------------------- per tensor: RCF family
RCF = [
    ("uniform", Q.uniform, Q.uniform_partials, st.sampled_from([(b, True) for b in (2, 3, 4, 8)]
                                                               + [(b, False) for b in (1, 2, 4, 8)])),
    ("apot", Q.apot, Q.apot_partials, st.sampled_from([(b, True) for b in range(2, 8)]
                                                        + [(b, False) for b in range(1, 7)])),
]


@pytest.mark.parametrize("name,ref,ref_partials,bits_signed", RCF, ids=[r[0] for r in RCF])
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_rcf_forward_backward_bit_exact(name, ref, ref_partials, bits_signed, dtype, data):
    x = data.draw(moderate_arrays()).astype(dtype)
    alpha = data.draw(alphas_clip)
    bits, signed = data.draw(bits_signed)
    ct = data.draw(hnp.arrays(np.float64, x.shape, elements=moderate_floats))
    q, dx, dp = run(getattr(qt, name), x, {"alpha": alpha}, ct, bits=bits, signed=signed)
    assert q.dtype == dtype and np.array_equal(q, ref(x, alpha=alpha, bits=bits, signed=signed))
    p = ref_partials(x, alpha=alpha, bits=bits, signed=signed)
    assert np.array_equal(dx, (ct.astype(dtype).astype(np.float64) * p["x"]).astype(dtype))
    assert_sum_close(dp["alpha"], ct.astype(dtype).astype(np.float64) * p["alpha"])


@pytest.mark.parametrize("dtype", DTYPES)
@given(x=moderate_arrays(), step=lsq_steps, bits_signed=st.sampled_from([(2, True), (4, True), (3, False)]),
       grad_scale=st.sampled_from([1.0, 0.125, 0.3]), data=st.data())
def test_lsq_forward_backward_bit_exact(dtype, x, step, bits_signed, grad_scale, data):
    x = x.astype(dtype)
    bits, signed = bits_signed
    ct = data.draw(hnp.arrays(np.float64, x.shape, elements=moderate_floats)).astype(dtype)
    q, dx, dp = run(qt.lsq, x, {"step": step}, ct, bits=bits, signed=signed, grad_scale=grad_scale)
    assert np.array_equal(q, np_lsq(x, step=step, bits=bits, signed=signed))
    p = np_lsq_partials(x, step=step, bits=bits, signed=signed, grad_scale=grad_scale)
    assert np.array_equal(dx, (ct.astype(np.float64) * p["x"]).astype(dtype))
    assert_sum_close(dp["step"], ct.astype(np.float64) * p["step"])


# --------------------------------------------------------------------------- per tensor: DSQ
def _dsq_scales(x, lower, upper, bits, alpha):
    """Sum of the magnitudes of the terms of each DSQ partial (the scale of its rounding error)
    and K; see the module docstring."""
    n = 2**bits - 1
    d = (upper - lower) / n
    t = (np.clip(x, lower, upper) - lower) / d
    i = np.clip(np.floor(t), 0, n - 1)
    c = t - i - 0.5
    a = min(alpha, 2 - alpha)
    K, s = np.log1p(2 * (1 - a) / a), 1 / (1 - a)
    th = np.tanh(K * c)
    sech2 = 1 - th**2
    gp, G = s * K / 2 * sech2, i + (1 + s * np.abs(th)) / 2
    if 1 - a >= 1e-3:
        sa = d / 2 * (np.abs(th) / (1 - a) ** 2 + s * sech2 * np.abs(c) * 2 / (a * (2 - a)))
    else:  # the Taylor branch: |∂α| ≲ Δ|c|(1 − a)(1 + ...) and its few roundings
        sa = 2 * d * np.abs(c) * (1 - a)
    scales = {"x": gp, "lower": 1 + G / n + gp * (t / n + 1), "upper": (G + t * gp) / n, "alpha": sa}
    return scales, K


@pytest.mark.parametrize("dtype", DTYPES)
@given(x=moderate_arrays(), lu=dsq_ranges(), bits=st.integers(1, 8), alpha=dsq_alphas,
       backward=st.sampled_from(["soft", "ste"]), data=st.data())
def test_dsq_forward_bit_exact_backward_within_tolerance(dtype, x, lu, bits, alpha, backward, data):
    x = x.astype(dtype)
    lower, upper = lu
    ct = data.draw(hnp.arrays(np.float64, x.shape, elements=moderate_floats)).astype(dtype)
    params = {"lower": lower, "upper": upper, "alpha": alpha}
    q, dx, dp = run(qt.dsq, x, params, ct, bits=bits, backward=backward)
    assert np.array_equal(q, Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=alpha))
    c64, xf = ct.astype(np.float64), x.astype(np.float64)
    if backward == "ste":  # the reference: nn.layers' dsq_ste site (j from the float64 hard map)
        from quanttheory.nn.layers import _dsq_ste_partials

        q64 = Q.dsq(xf, lower=lower, upper=upper, bits=bits, alpha=alpha)
        p = _dsq_ste_partials(xf, {"lower": lower, "upper": upper}, bits, q64)
        p["alpha"], tol = np.zeros_like(xf), {k: np.zeros_like(xf) for k in ("x", "lower", "upper", "alpha")}
    else:
        p = Q.dsq_partials(x, lower=lower, upper=upper, bits=bits, alpha=alpha)
        scales, K = _dsq_scales(xf, lower, upper, bits, alpha)
        tol = {k: (16 + 4 * K) * U * v for k, v in scales.items()}
    inside = (xf >= lower) & (xf <= upper)
    exact_dx = (c64 * p["x"]).astype(dtype)
    f32 = np.spacing(np.abs(exact_dx)) if dtype == np.float32 else 0  # the final cast: ≤ 1 ulp
    dx_tol = np.where(inside, np.abs(c64) * tol["x"], 0.0) * (1 + 4 * U) + f32
    assert np.all(np.abs(dx.astype(np.float64) - exact_dx.astype(np.float64)) <= dx_tol)
    for k in ("lower", "upper", "alpha"):
        assert_sum_close(dp[k], c64 * p[k], np.where(inside, np.abs(c64) * tol[k], 0.0))


@given(bits=st.integers(1, 6), k=st.integers(-3, 3), lower=st.integers(-8, 8), dtype=st.sampled_from(DTYPES))
def test_dsq_ties_go_up_as_the_reference(bits, k, lower, dtype):
    """Exact midpoints l + (j + ½)Δ (dyadic l and Δ = 2^k): q = l + (j + 1)Δ, as the reference."""
    n, delta = 2**bits - 1, 2.0**k
    lo, up = lower / 4, lower / 4 + n * delta
    x = (lo + (np.arange(n) + 0.5) * delta).astype(dtype)
    q = qt.dsq(T(x), lower=lo, upper=up, bits=bits, alpha=0.2).numpy()
    assert np.array_equal(q, Q.dsq(x, lower=lo, upper=up, bits=bits, alpha=0.2))
    assert np.array_equal(q, (lo + (np.arange(n) + 1.0) * delta).astype(dtype))


@pytest.mark.parametrize("name,bits,signed", [("apot", 3, True), ("apot", 2, False), ("uniform", 2, True),
                                              ("uniform", 1, False)])
@given(k=st.integers(-4, 4))
def test_rcf_ties_go_to_the_larger_magnitude(name, bits, signed, k):
    """x/α exactly at a midpoint of two (dyadic) levels, α = 2^k: the larger magnitude, as the reference."""
    levels = (Q.apot_levels if name == "apot" else Q.uniform_levels)(bits, signed=signed)
    mids = (levels[1:] + levels[:-1]) / 2
    alpha = 2.0**k
    x = mids * alpha
    q = getattr(qt, name)(T(x), alpha=alpha, bits=bits, signed=signed).numpy()
    assert np.array_equal(q, getattr(Q, name)(x, alpha=alpha, bits=bits, signed=signed))
    upper_level = np.where(np.abs(levels[1:]) >= np.abs(levels[:-1]), levels[1:], levels[:-1])
    assert np.array_equal(q, alpha * upper_level)


def test_dsq_soft_backward_is_the_soft_maps_derivative():
    """Backward vs central differences of the reference soft map (away from interval edges)."""
    x = np.linspace(-1.3, 1.7, 41) + 0.013
    lower, upper, bits, alpha = -1.0, 1.5, 2, 0.3
    _, dx, dp = run(qt.dsq, x, {"lower": lower, "upper": upper, "alpha": alpha}, np.ones_like(x), bits=bits)
    h = 1e-6

    def soft(x=x, **kw):
        return Q.dsq(x, bits=bits, soft=True, **{"lower": lower, "upper": upper, "alpha": alpha, **kw})

    np.testing.assert_allclose(dx, (soft(x + h) - soft(x - h)) / (2 * h), atol=1e-6)
    for k, v in (("lower", lower), ("upper", upper), ("alpha", alpha)):
        fd = np.sum(soft(**{k: v + h}) - soft(**{k: v - h})) / (2 * h)
        np.testing.assert_allclose(dp[k], fd, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- per tensor: QN
def _qn_case(data):
    levels = data.draw(qn_level_sets)
    n = len(levels) - 1
    biases = np.sort(data.draw(hnp.arrays(np.float64, n, elements=st.floats(-3, 3))))
    scal = st.floats(0.05, 5.0)
    return levels, biases, data.draw(scal), data.draw(scal), data.draw(st.floats(0.5, 60.0))


@pytest.mark.parametrize("dtype", DTYPES)
@given(x=moderate_arrays(), backward=st.sampled_from(["soft", "ste"]), data=st.data())
def test_qn_against_reference(dtype, x, backward, data):
    x = x.astype(dtype)
    levels, biases, alpha, beta, temp = _qn_case(data)
    ct = data.draw(hnp.arrays(np.float64, x.shape, elements=moderate_floats)).astype(dtype)
    kw = {"levels": levels, "temperature": temp}
    params = {"biases": biases, "alpha": alpha, "beta": beta}
    q, dx, dp = run(qt.qn, x, params, ct, backward=backward, **kw)
    ref = Q.qn(x, **kw, **params, soft=backward == "soft")
    s, o = Q.qn_steps(levels)
    n, y_scale = s.size, alpha * (np.sum(s) + o)
    if backward == "ste":
        assert np.array_equal(q, ref.astype(dtype))
    else:
        f32 = np.spacing(np.abs(ref).astype(dtype)) if dtype == np.float32 else 0  # ≤ 1 ulp after the cast
        tol = 2 * (n + 6) * U * y_scale + f32
        assert np.all(np.abs(q - ref) <= tol)
    p = Q.qn_partials(x, **kw, **params)
    c64 = ct.astype(np.float64)
    rel = (2 * n + 12) * U
    f32 = np.spacing(np.abs(c64 * p["x"]).astype(dtype)) if dtype == np.float32 else 0
    assert np.all(np.abs(dx - c64 * p["x"]) <= rel * np.abs(c64 * p["x"]) + f32)
    assert_sum_close(dp["alpha"], c64 * p["alpha"], np.abs(c64) * 2 * (n + 6) * U * (np.sum(s) + o))
    assert_sum_close(dp["beta"], c64 * p["beta"], rel * np.abs(c64 * p["beta"]))
    for i in range(n):
        assert_sum_close(dp["biases"][i], c64 * p["biases"][..., i], rel * np.abs(c64 * p["biases"][..., i]))


def test_qn_gradcheck_float64():
    """The soft forward is smooth and its backward is its exact derivative: torch's own check,
    per tensor and per channel (biases P + (n,))."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, dtype=F64, generator=g, requires_grad=True)

    def per_tensor(x, a, b, bi):
        return qt.qn(x, levels=[-1, 0, 1], biases=bi, alpha=a, beta=b, temperature=3.0)

    args = (x, T(0.7, True), T(1.3, True), T([-0.4, 0.5], True))
    assert torch.autograd.gradcheck(per_tensor, args)

    def per_channel(x, a, b, bi):
        return qt.qn(x, levels=[0, 1, 2, 3], biases=bi, alpha=a, beta=b, temperature=2.0, axis=-1)

    bi = T(np.sort(np.random.default_rng(0).normal(size=(2, 3)), axis=-1), True)
    assert torch.autograd.gradcheck(per_channel, (x, T([0.5, 0.9], True), T([1.1, 0.8], True), bi))


# --------------------------------------------------------------------------- per channel
def _slices(x_shape, axes, P):
    """(index j into P, slice of x governed by j) for every j."""
    for j in np.ndindex(*P):
        sl = [slice(None)] * len(x_shape)
        for i, a in enumerate(axes):
            r = x_shape[a] // P[i]
            sl[a] = slice(j[i] * r, (j[i] + 1) * r)
        yield j, tuple(sl)


def _norm_axes(axis, ndim):
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


CHANNEL_CASES = ["uniform", "apot", "lsq", "dsq-soft", "dsq-ste", "qn-soft", "qn-ste"]


def _channel_case(name, P, rng):
    """(adapter fn, static kwargs, params of shape P, per-tensor reference fn(x, **params_j) ->
    (q, partials), elementwise tolerance fn(x, params_j) -> dict)."""
    pos = lambda lo, hi: rng.uniform(lo, hi, size=P)  # noqa: E731
    zero = lambda xs, pj: {}  # noqa: E731
    if name in ("uniform", "apot"):
        ref, refp = (Q.uniform, Q.uniform_partials) if name == "uniform" else (Q.apot, Q.apot_partials)
        kw = {"bits": 3, "signed": True}
        return (getattr(qt, name), kw, {"alpha": pos(0.3, 3)},
                lambda x, **p: (ref(x, **kw, **p), refp(x, **kw, **p)), zero)
    if name == "lsq":
        kw = {"bits": 3, "signed": False}
        return (qt.lsq, kw, {"step": pos(0.1, 1)},
                lambda x, **p: (np_lsq(x, **kw, **p), np_lsq_partials(x, **kw, **p)), zero)
    if name.startswith("dsq"):
        lo = rng.uniform(-3, 0, size=P)
        params = {"lower": lo, "upper": lo + pos(0.5, 4), "alpha": pos(0.05, 0.9)}
        kw = {"bits": 2, "backward": name[4:]}

        def ref(x, **p):
            q = Q.dsq(x, bits=2, **p)
            if name == "dsq-soft":
                return q, Q.dsq_partials(x, bits=2, **p)
            from quanttheory.nn.layers import _dsq_ste_partials
            return q, {**_dsq_ste_partials(x, p, 2, q), "alpha": np.zeros_like(x)}

        def tol(x, p):
            if name == "dsq-ste":
                return {}
            sc, K = _dsq_scales(x, p["lower"], p["upper"], 2, p["alpha"])
            return {k: (16 + 4 * K) * U * v for k, v in sc.items()}

        return qt.dsq, kw, params, ref, tol
    levels = (-1.0, 0.0, 1.0)
    params = {"alpha": pos(0.2, 2), "beta": pos(0.2, 2), "biases": np.sort(rng.normal(size=P + (2,)), axis=-1)}
    kw = {"levels": levels, "temperature": 4.0, "backward": name[3:]}

    def qref(x, **p):
        return Q.qn(x, levels=levels, temperature=4.0, soft=name == "qn-soft", **p), \
            Q.qn_partials(x, levels=levels, temperature=4.0, **p)

    def qtol(x, p):  # the per-tensor QN tolerances of the module docstring, n = 2, Σs + o = 3
        parts = qref(x, **p)[1]
        rel = (2 * 2 + 12) * U
        return {"q": 2 * (2 + 6) * U * p["alpha"] * 3, "x": rel * np.abs(parts["x"]),
                "alpha": np.full_like(x, 2 * (2 + 6) * U * 3), "beta": rel * np.abs(parts["beta"]),
                "biases": rel * np.abs(parts["biases"])}

    return qt.qn, kw, params, qref, qtol


@pytest.mark.parametrize("name", CHANNEL_CASES)
@given(layout=torch_channel_layouts(), seed=st.integers(0, 2**32 - 1))
def test_per_channel_equals_loop_of_per_tensor_calls(name, layout, seed):
    """Forward and ∂x: bit for bit against a Python loop of per-tensor reference calls on each
    channel/group slice (tolerance only where the per-tensor comparison above has one); each
    parameter gradient against the same slice's sum, within the summation-order bound."""
    x_shape, axis, P = layout
    rng = np.random.default_rng(seed)
    x = rng.normal(size=x_shape) * 2
    ct = rng.normal(size=x_shape)
    fn, kw, params, ref, tol = _channel_case(name, P, rng)
    q, dx, dp = run(fn, x, params, ct, axis=axis, **kw)
    axes = _norm_axes(axis, len(x_shape))
    for j, sl in _slices(x_shape, axes, P):
        pj = {k: (v[j] if k != "biases" else v[j]) for k, v in params.items()}
        pj = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in pj.items()}
        qj, parts = ref(x[sl], **pj)
        tj = tol(x[sl], pj)
        if "q" in tj and kw.get("backward") == "soft":
            assert np.all(np.abs(q[sl] - qj) <= tj["q"])
        else:
            assert np.array_equal(q[sl], qj)
        ex = ct[sl] * parts["x"]
        assert np.all(np.abs(dx[sl] - ex) <= np.abs(ct[sl]) * tj.get("x", 0.0))
        for k in params:
            if k == "biases":
                for i in range(params[k].shape[-1]):
                    assert_sum_close(dp[k][j + (i,)], ct[sl] * parts[k][..., i],
                                     np.abs(ct[sl]) * tj.get(k, np.zeros(parts[k].shape))[..., i])
            else:
                assert_sum_close(dp[k][j], ct[sl] * parts[k], np.abs(ct[sl]) * tj.get(k, 0.0))


@given(layout=torch_channel_layouts(), seed=st.integers(0, 2**32 - 1))
def test_lsq_per_channel_matches_numpy_per_channel(layout, seed):
    """Against the numpy reference's own per-channel lsq (axis=, cotangent=): bit for bit
    forward and ∂x, steps within the summation-order bound."""
    x_shape, axis, P = layout
    rng = np.random.default_rng(seed)
    x, ct, step = rng.normal(size=x_shape), rng.normal(size=x_shape), rng.uniform(0.05, 1, size=P)
    q, dx, dp = run(qt.lsq, x, {"step": step}, ct, bits=4, signed=True, axis=axis)
    assert np.array_equal(q, np_lsq(x, step=step, bits=4, signed=True, axis=axis))
    p = np_lsq_partials(x, step=step, bits=4, signed=True, axis=axis, cotangent=ct)
    assert np.array_equal(dx, p["x"])
    # each term is |ct·Q_P·∂α| ≤ |ct|·Q_P (|∂α| ≤ 1), Q_P = 7 at 4 signed bits
    assert np.all(np.abs(dp["step"] - p["step"]) <= 2 * gamma(x.size + 1) * np.sum(np.abs(ct)) * 7)


def test_shared_and_per_channel_parameters_mix():
    """With ``axis`` a parameter may stay a scalar (shared): the same forward as the parameter
    repeated per channel, and its gradient the sum of the repeated one's; float32 parameters
    get float32 gradients."""
    rng = np.random.default_rng(5)
    x, ct = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    upper, alpha = rng.uniform(0.5, 2, size=6), rng.uniform(0.1, 0.5, size=3)  # per channel, per group
    shared = run(qt.dsq, x, {"lower": -1.0, "upper": upper, "alpha": alpha}, ct, bits=2, axis=1)
    full = run(qt.dsq, x, {"lower": np.full(6, -1.0), "upper": upper, "alpha": np.repeat(alpha, 2)}, ct,
               bits=2, axis=1)
    assert np.array_equal(shared[0], full[0]) and np.array_equal(shared[1], full[1])
    assert shared[2]["lower"].shape == () and np.array_equal(shared[2]["upper"], full[2]["upper"])
    assert_sum_close(shared[2]["lower"], full[2]["lower"])
    for j in range(3):  # a group's α-gradient: the sum over its two channels' elements
        terms, elem = [], []
        for c in (2 * j, 2 * j + 1):
            p = Q.dsq_partials(x[:, c], lower=-1.0, upper=upper[c], bits=2, alpha=alpha[j])
            sc, K = _dsq_scales(x[:, c], -1.0, upper[c], 2, alpha[j])
            terms.append(ct[:, c] * p["alpha"])
            elem.append(np.abs(ct[:, c]) * (16 + 4 * K) * U * sc["alpha"])
        assert_sum_close(shared[2]["alpha"][j], np.concatenate(terms), np.concatenate(elem))
    a32 = torch.tensor([0.5, 1.0], dtype=torch.float32, requires_grad=True)
    qt.uniform(T(x), alpha=a32, bits=3, signed=True, axis=0).sum().backward()
    assert a32.grad.dtype == torch.float32 and a32.grad.shape == (2,)


# --------------------------------------------------------------------------- rounding
@pytest.mark.parametrize("dtype", DTYPES)
@given(x=moderate_arrays(), delta=deltas, ties=st.booleans())
def test_round_nearest_bit_exact_and_ste(dtype, x, delta, ties):
    if ties:  # exact midpoints k·Δ + Δ/2 for dyadic Δ: the ties-away-from-zero rule is exercised
        x = (np.round(x) + 0.5) * delta
    x = x.astype(dtype)
    ct = np.arange(x.size, dtype=dtype).reshape(x.shape)
    q, dx, _ = run(qt.round_nearest, x, {}, ct, delta=delta)
    assert np.array_equal(q, Q.round_nearest(x, delta)) and np.array_equal(dx, ct)


def test_stochastic_round_generator_grid_and_ste():
    x = torch.linspace(-3, 3, 1001, dtype=F64, requires_grad=True)
    draw = lambda seed: qt.stochastic_round(x, delta=0.25, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    a, b, c = draw(7), draw(7), draw(8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    k = a.detach() / 0.25
    assert torch.equal(k, torch.round(k)) and bool(((a - x).abs() < 0.25).all())
    ct = torch.randn(1001, dtype=F64, generator=torch.Generator().manual_seed(1))
    a.backward(ct)
    assert torch.equal(x.grad, ct)


def test_stochastic_round_unbiased():
    """E[Q_s(x)] = x: each of m points, N draws; Hoeffding P(|mean − p| ≥ t) ≤ 2exp(−2Nt²) with
    t = √(log(2m/δ)/(2N)), δ = 1e-9 over all points (union bound), in units of Δ."""
    delta, N = 0.5, 4000
    x = torch.tensor([-1.3, -0.26, 0.01, 0.125, 0.49, 0.75, 2.9], dtype=F64)
    g = torch.Generator().manual_seed(2017)
    draws = torch.stack([qt.stochastic_round(x, delta=delta, generator=g) for _ in range(N)])
    t = np.sqrt(np.log(2 * x.numel() / 1e-9) / (2 * N))
    err = ((draws.mean(0) - x) / delta).abs()
    assert bool((err <= t).all()), (err, t)
    # the bound is not vacuous: a biased rounding (always down) fails it
    assert bool(((torch.floor(x / delta) * delta - x) / delta).abs().max() > t)


# --------------------------------------------------------------------------- errors
X = torch.zeros(2, 3, dtype=F64)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: qt.uniform(X, alpha=1.0, bits=3, signed=True, axis=2), ValueError, "axis"),
    (lambda: qt.uniform(X, alpha=T([1.0, 2.0]), bits=3, signed=True, axis=1), ValueError, "alpha has shape"),
    (lambda: qt.uniform(X, alpha=T([1.0, 2.0]), bits=3, signed=True), ValueError, "alpha has shape"),
    (lambda: qt.uniform(X, alpha=1.0, bits=1, signed=True), ValueError, "bits"),
    (lambda: qt.uniform(X, alpha=-1.0, bits=3, signed=True), ValueError, "alpha"),
    (lambda: qt.apot(X, alpha=T([1.0, -2.0]), bits=3, signed=True, axis=0), ValueError, r"alpha\[1\]"),
    (lambda: qt.apot(X, alpha=1.0, bits=9, signed=True), ValueError, "bits"),
    (lambda: qt.lsq(X, step=T([[1.0]]), bits=3, signed=True, axis=0), ValueError, "step has shape"),
    (lambda: qt.dsq(X, lower=1.0, upper=0.0, bits=2, alpha=0.2), ValueError, "lower < upper"),
    (lambda: qt.dsq(X, lower=T([0.0, 2.0]), upper=1.0, bits=2, alpha=0.2, axis=0), ValueError, "lower < upper"),
    (lambda: qt.dsq(X, lower=0.0, upper=1.0, bits=2, alpha=2.5), ValueError, "alpha"),
    (lambda: qt.dsq(X, lower=0.0, upper=1.0, bits=0, alpha=0.2), ValueError, "bits"),
    (lambda: qt.dsq(X, lower=0.0, upper=1.0, bits=2, alpha=0.2, backward="exact"), ValueError, "backward"),
    (lambda: qt.qn(X, levels=[-1, 0, 1], biases=[0.0], alpha=1.0, beta=1.0, temperature=1.0),
     ValueError, "one bias per step"),
    (lambda: qt.qn(X, levels=[-1, 0, 1], biases=[0.0, 1.0], alpha=1.0, beta=1.0, temperature=0.0),
     ValueError, "temperature"),
    (lambda: qt.qn(X, levels=[-1, 0, 1], biases=np.zeros((2, 2)), alpha=1.0, beta=1.0, temperature=1.0, axis=1),
     ValueError, "biases has shape"),
    (lambda: qt.round_nearest(X, delta=0.0), ValueError, "delta"),
    (lambda: qt.stochastic_round(X, delta=1.0, generator=np.random.default_rng(0)), TypeError, "generator"),
    (lambda: qt.uniform(np.zeros(3), alpha=1.0, bits=3, signed=True), TypeError, "x must be a torch.Tensor"),
    (lambda: qt.uniform(torch.zeros(3, dtype=torch.int64), alpha=1.0, bits=3, signed=True),
     TypeError, "x must be"),
    (lambda: qt.uniform(torch.tensor([0.0, float("nan")]), alpha=1.0, bits=3, signed=True),
     ValueError, "non-finite"),
    (lambda: qt.uniform(X, alpha=1.0, bits=3, signed=True, axis=(1, 0)), ValueError, "increasing"),
])
def test_bad_input_names_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- the README example
def test_readme_qat_step():
    """One QAT step of a per-channel DSQ linear layer with torch.optim.SGD (README snippet):
    the loss goes down and every parameter, α included, receives a finite non-zero gradient."""
    g = torch.Generator().manual_seed(0)
    X_, y_ = torch.randn(64, 8, generator=g), torch.randn(64, 4, generator=g)
    w = torch.nn.Parameter(0.5 * torch.randn(4, 8, generator=g))
    lower = torch.nn.Parameter(torch.full((4,), -1.0))
    upper = torch.nn.Parameter(torch.full((4,), 1.0))
    alpha = torch.nn.Parameter(torch.full((4,), 0.2))
    opt = torch.optim.SGD([w, lower, upper, alpha], lr=0.05)

    def loss_fn():
        wq = qt.dsq(w, lower=lower, upper=upper, bits=2, alpha=alpha, axis=0)  # per output channel
        return torch.nn.functional.mse_loss(X_ @ wq.T, y_)

    opt.zero_grad()
    before = loss_fn()
    before.backward()
    for p in (w, lower, upper, alpha):
        assert p.grad is not None and bool(torch.isfinite(p.grad).all()) and float(p.grad.abs().sum()) > 0
    opt.step()
    assert float(loss_fn().detach()) < float(before.detach())



def test_readme_snippet_runs_as_printed():
    """The PyTorch example of README.md, executed verbatim: the loss it prints in its last comment
    is the loss before and after the step."""
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("### PyTorch", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    ns: dict = {}
    exec(compile(block, "README.md (PyTorch example)", "exec"), ns)  # noqa: S102 - our own README
    before, after = float(ns["loss"].detach()), float(ns["loss_fn"]().detach())
    assert after < before
    assert f"loss {before:.4f} -> {after:.4f}" in block
