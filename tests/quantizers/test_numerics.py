"""Floating-point edge cases, checked against exact or high-precision oracles (decimal, numba).

Each test here failed on a literal transcription of the paper formulas: floor(a + ½) rounds
0.49999999999999994 up; log(2/α − 1) cancels near α = 1; tiny Δ or α overflow to inf/NaN.
"""

from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from quanttheory import quantizers as Q
from tests.strategies import moderate_arrays

ADVERSARIAL = [0.49999999999999994, 0.5, 1.4999999999999998, 2.5, 2.0**52 + 1, 2.0**53 - 1,
               2.0**52 - 0.5, 4503599627370495.5, 0.0, 1e-300]


def _half_up(a: float) -> float:
    """Exact round-half-away-from-zero by decimal (ROUND_HALF_UP rounds ties away from 0)."""
    return float(Decimal(a).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("fun", [Q.round_nearest, Q.fast.round_nearest])
def test_round_nearest_is_exact_on_adversarial_values(fun):
    x = np.array(ADVERSARIAL + [-v for v in ADVERSARIAL])
    np.testing.assert_array_equal(fun(x, 1.0), [_half_up(v) for v in x])


@given(moderate_arrays(), st.integers(-8, 8))
def test_round_nearest_equals_decimal_oracle_for_dyadic_delta(x, k):
    delta = 2.0**k  # x/Δ is exact, so the oracle sees the same number
    expected = np.array([_half_up(v / delta) * delta for v in x.ravel()]).reshape(x.shape)
    np.testing.assert_array_equal(Q.round_nearest(x, delta), expected)


@given(moderate_arrays(), st.sampled_from([2.0**-k for k in range(6)]),
       st.sampled_from([0.25, 0.5, 2.0, 8.0]), st.integers(0, 2**32 - 1))
def test_stochastic_round_scale_equivariant_under_common_random_numbers(x, delta, c, seed):
    q = Q.stochastic_round(x, delta, np.random.default_rng(seed))
    qc = Q.stochastic_round(c * x, c * delta, np.random.default_rng(seed))
    np.testing.assert_array_equal(qc, c * q)


@pytest.mark.parametrize("call", [
    lambda x, d: Q.round_nearest(x, d), lambda x, d: Q.fast.round_nearest(x, d),
    lambda x, d: Q.stochastic_round(x, d, np.random.default_rng(0)),
    lambda x, d: Q.fast.stochastic_round(x, d, np.random.default_rng(0)),
])
def test_tiny_delta_that_would_overflow_is_rejected(call):
    with pytest.raises(ValueError, match="delta=1e-310"):
        call(np.array([1.0, 1e6]), 1e-310)


def test_numba_generator_draws_the_numpy_stream():
    # The premise of the fast path: rng.random() inside njit, one call per element, gives the
    # same doubles as numpy's vectorised rng.random(n), and advances the same Generator.
    @njit
    def draw(rng, n):
        out = np.empty(n)
        for i in range(n):
            out[i] = rng.random()
        return out

    r1, r2 = np.random.default_rng(123), np.random.default_rng(123)
    np.testing.assert_array_equal(draw(r1, 1001), r2.random(1001))
    assert r1.random() == r2.random()


# --------------------------------------------------------------------------- DSQ

def _dsq_soft_decimal(x, lower, upper, n, alpha):
    """The DSQ soft map of the spec, evaluated literally in decimal (caller sets the precision)."""
    x, lower, upper, alpha = (Decimal(v) for v in (x, lower, upper, alpha))
    delta = (upper - lower) / n
    t = (x - lower) / delta
    i = min(int(t), n - 1)
    K, s = (2 / alpha - 1).ln(), 1 / (1 - alpha)
    e = (2 * K * (t - i - Decimal("0.5"))).exp()
    return lower + delta * (i + (1 + s * (e - 1) / (e + 1)) / 2)


@pytest.mark.parametrize("alpha", [1e-8, 0.2, 0.9, 0.999, 1 - 2e-4, 1 - 1e-6, 1 - 1e-12,
                                   1 + 1e-12, 1 + 1e-5, 1.5, 1.95])
def test_dsq_soft_map_and_alpha_partial_against_decimal_oracle(alpha):
    x = [0.13, 0.49, 0.77, 0.91]
    kw = dict(lower=0.0, upper=1.0, bits=2, alpha=alpha)
    with localcontext() as ctx:
        ctx.prec = 60  # 60 digits: the central difference below is exact to ~1e-25
        ref = [float(_dsq_soft_decimal(v, 0, 1, 3, alpha)) for v in x]
        h = Decimal(alpha) * Decimal("1e-25")
        fd = [float((_dsq_soft_decimal(v, 0, 1, 3, Decimal(alpha) + h)
                     - _dsq_soft_decimal(v, 0, 1, 3, Decimal(alpha) - h)) / (2 * h)) for v in x]
    np.testing.assert_allclose(Q.dsq(x, soft=True, **kw), ref, rtol=0, atol=4e-16)
    # absolute error of the printed ∂α is ~1e-20/(1 − α)², so the series takes over below 1e-3
    np.testing.assert_allclose(Q.dsq_partials(x, **kw)["alpha"], fd, rtol=1e-9, atol=1e-15)


@given(st.floats(0.02, 0.98), st.integers(1, 4))
def test_dsq_alpha_above_one_matches_the_literal_formula(a, bits):
    # α > 1 is computed at 2 − α; the literal spec formula with K < 0, s < 0 must agree
    alpha = 2.0 - a
    x = np.linspace(-0.1, 1.1, 41)
    n = 2**bits - 1
    t = np.clip(x, 0, 1) * n
    i = np.clip(np.floor(t), 0, n - 1)
    literal = (i + (1 + np.tanh(np.log(2 / alpha - 1) * (t - i - 0.5)) / (1 - alpha)) / 2) / n
    np.testing.assert_allclose(Q.dsq(x, lower=0, upper=1, bits=bits, alpha=alpha, soft=True),
                               literal, atol=1e-12)


@pytest.mark.parametrize("alpha", [1e-310, 5e-324, 2 - 2.0**-52])
def test_dsq_extreme_alpha_never_gives_nan(alpha):
    x = np.linspace(-0.5, 1.5, 201)
    kw = dict(lower=0.0, upper=1.0, bits=2, alpha=alpha)
    with np.errstate(all="raise"):
        q = Q.dsq(x, soft=True, **kw)
    assert np.all(np.isfinite(q)) and np.all(np.diff(q) >= 0)
    assert q[0] == 0.0 and q[-1] == 1.0
    try:
        p = Q.dsq_partials(x, **kw)
    except ValueError as err:  # allowed: a clear error naming α, never a silent NaN
        assert "alpha=" in str(err)
    else:
        assert all(np.all(np.isfinite(v)) for v in p.values())


@given(moderate_arrays(), st.integers(-4, 4), st.integers(1, 5), st.sampled_from([0.5, 2.0, 4.0]))
def test_dsq_hard_map_exact_levels_idempotent_scale_equivariant(x, lo, bits, c):
    lower, upper = float(lo), float(lo) + 3.0
    kw = dict(bits=bits, alpha=0.2)
    q = Q.dsq(x, lower=lower, upper=upper, **kw)
    n = 2**bits - 1
    levels = np.append(lower + (upper - lower) / n * np.arange(n), upper)
    assert np.all(np.isin(q, levels))
    np.testing.assert_array_equal(Q.dsq(q, lower=lower, upper=upper, **kw), q)
    np.testing.assert_array_equal(Q.dsq(c * x, lower=c * lower, upper=c * upper, **kw), c * q)


def test_dsq_hard_map_exact_near_half_and_huge_inputs():
    # t just below ½ must go down (floor(t + ½) would give 1)
    x = np.array([0.49999999999999994, 0.5, -1e308, 1e308])
    kw = dict(lower=0.0, upper=1.0, bits=1, alpha=0.2)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(Q.dsq(x, **kw), [0.0, 1.0, 0.0, 1.0])
        np.testing.assert_array_equal(Q.fast.dsq(x, **kw), [0.0, 1.0, 0.0, 1.0])
        p = Q.dsq_partials(x, **kw)
    np.testing.assert_array_equal(p["lower"][2:], [1.0, 0.0])
    with pytest.raises(ValueError, match="overflows"):
        Q.dsq([0.0], lower=-1e308, upper=1e308, bits=2, alpha=0.2)


# --------------------------------------------------------------------------- uniform, QN


def test_uniform_ties_go_to_larger_magnitude_and_levels_exact():
    np.testing.assert_array_equal(Q.uniform([0.5, -0.5, 0.25], alpha=1.0, bits=2, signed=True),
                                  [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(Q.uniform([0.5, 0.49], alpha=1.0, bits=1, signed=False),
                                  [1.0, 0.0])
    np.testing.assert_array_equal(Q.uniform([1.5, 1.25], alpha=4.0, bits=4, signed=False),
                                  [1.6, 4.0 * (5 / 15)])


@given(moderate_arrays(), st.sampled_from([0.5, 1.0, 4.0]), st.sampled_from([0.25, 2.0]),
       st.integers(2, 8), st.booleans())
def test_uniform_exactly_on_levels_and_scale_equivariant(x, alpha, c, bits, signed):
    q = Q.uniform(x, alpha=alpha, bits=bits, signed=signed)
    assert np.all(np.isin(q, alpha * Q.uniform_levels(bits, signed=signed)))
    np.testing.assert_array_equal(Q.uniform(c * x, alpha=c * alpha, bits=bits, signed=signed),
                                  c * q)


def test_numba_bisection_matches_numpy_at_16_bits(rng):
    x = rng.uniform(-1.2, 1.2, 20_000)
    for signed in (True, False):
        kw = dict(alpha=1.0, bits=16, signed=signed)
        np.testing.assert_array_equal(Q.fast.uniform(x, **kw), Q.uniform(x, **kw))


def test_qn_step_map_counts_zero_as_up_and_ignores_temperature():
    kw = dict(levels=[-1, 0, 1], biases=[-0.5, 0.5], alpha=1.0, beta=1.0)
    x = [-0.5, 0.5, 0.4999, 1e-200]
    ref = Q.qn(x, temperature=1.0, soft=False, **kw)
    np.testing.assert_array_equal(ref, [0.0, 1.0, 0.0, 0.0])
    for T in (1e-300, 1e300):  # T·(βx − b) would under/overflow; the step map does not use it
        np.testing.assert_array_equal(Q.qn(x, temperature=T, soft=False, **kw), ref)


def test_qn_init_kmeans_recovers_well_separated_clusters(rng):
    centres = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    x = (centres[:, None] + 0.01 * rng.standard_normal((5, 400))).ravel()
    biases, alpha, beta = Q.qn_init(x, [-2, -1, 0, 1, 2])
    # biases live on the βx scale; the clusters' midpoints are ±0.5, ±1.5 before scaling
    np.testing.assert_allclose(biases / beta, [-1.5, -0.5, 0.5, 1.5], atol=0.01)
    np.testing.assert_array_equal(Q.qn_init(x[::-1], [-2, -1, 0, 1, 2])[0], biases)
    y = Q.qn(x, levels=[-2, -1, 0, 1, 2], biases=biases, alpha=1.0, beta=beta, temperature=1,
             soft=False)
    np.testing.assert_array_equal(y, np.repeat(centres, 400))


def test_extreme_scales_saturate_cleanly_without_warnings():
    qn = dict(levels=[-1, 0, 1], biases=[-0.05, 0.05], alpha=1.0, beta=1.0, temperature=1e300)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(Q.qn([10.0, -3.0, 0.0], **qn), [1.0, -1.0, 0.0])
        np.testing.assert_array_equal(Q.qn_partials([10.0, -3.0], **qn)["x"], [0.0, 0.0])
        np.testing.assert_array_equal(Q.uniform([1.0, -2.0], alpha=1e-320, bits=3, signed=True),
                                      [1e-320, -1e-320])
    with pytest.raises(ValueError, match="underflows"):
        Q.dsq([0.0], lower=0.0, upper=5e-324, bits=16, alpha=0.2)
