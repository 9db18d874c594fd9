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
differ by at most 2γ_{m−1}Σ|t_j| ≈ (m − 1)·ε·Σ|t_j| plus the elementwise
bound times Σ|cotangent| where the elementwise partials are not exact.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from quanttheory.nn import layers

from ..strategies import alphas_clip, deltas, dsq_alphas, jax_dsq_ranges, jax_inputs, jax_param_floats
from ._helpers import EPS, JAX_SETTINGS, as_f32, elementwise, jax, jnp, qj, same_bits

# --------------------------------------------------------------------------- forward maps, bit for bit


@JAX_SETTINGS
@given(x=jax_inputs(), lu=jax_dsq_ranges(), bits=st.integers(1, 16), alpha=dsq_alphas, f32=st.booleans())
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
@given(x=jax_inputs(), lu=jax_dsq_ranges(), bits=st.integers(1, 8), alpha=dsq_alphas)
def test_dsq_ste_partials_bit_exact(x, lu, bits, alpha):
    p = {"lower": lu[0], "upper": lu[1]}
    got = elementwise(qj.dsq, x, p | {"alpha": alpha}, bits=bits, backward="ste")
    want = layers._dsq_ste_partials(x, p, bits, Q.dsq(x, **p, bits=bits, alpha=alpha))
    same_bits(got["alpha"], np.zeros(x.shape))
    for k in want:
        same_bits(got[k], want[k])


@JAX_SETTINGS
@given(x=jax_inputs(), lu=jax_dsq_ranges(), bits=st.integers(1, 8), alpha=dsq_alphas | st.floats(0.999, 1.001))
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
