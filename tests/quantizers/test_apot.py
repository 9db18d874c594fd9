from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from tests.strategies import alphas_clip, moderate_arrays

GOLDEN = {  # magnitude sets L_B of the spec (official code convention), as exact fractions
    2: [0, F(1, 4), F(1, 2), 1],
    3: [0, F(1, 10), F(1, 5), F(3, 10), F(2, 5), F(3, 5), F(4, 5), 1],
    4: [0, F(1, 48), F(1, 24), F(1, 16), F(1, 12), F(1, 8), F(1, 6), F(3, 16), F(1, 4), F(1, 3),
        F(3, 8), F(1, 2), F(2, 3), F(11, 16), F(3, 4), 1],
}


@pytest.mark.parametrize("B", sorted(GOLDEN))
def test_official_magnitude_sets_are_the_spec_fractions(B):
    np.testing.assert_array_equal(Q.apot_levels(B, signed=False), [float(f) for f in GOLDEN[B]])


@pytest.mark.parametrize("B,n", [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 64)])
def test_level_set_sizes_no_duplicates(B, n):
    lv = Q.apot_levels(B, signed=False)
    assert lv.size == n and np.all(np.diff(lv) > 0) and lv[0] == 0 and lv[-1] == 1
    w = Q.apot_levels(B + 1, signed=True)
    assert w.size == 2 ** (B + 1) - 1
    np.testing.assert_array_equal(w, -w[::-1])


def test_two_bit_weights_are_ternary():
    np.testing.assert_array_equal(Q.apot_levels(2, signed=True), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_eq5_with_k1_is_uniform(n):
    np.testing.assert_allclose(Q.apot_levels_eq5(1, n), np.arange(2**n) / (2**n - 1), rtol=0,
                               atol=1e-15)


@pytest.mark.parametrize("B", [2, 4, 6])
def test_even_official_sets_equal_eq5_with_k2(B):
    np.testing.assert_allclose(Q.apot_levels(B, signed=False), Q.apot_levels_eq5(2, B // 2),
                               rtol=0, atol=1e-15)


def test_eq5_with_k_equal_B_is_powers_of_two():
    np.testing.assert_array_equal(Q.apot_levels_eq5(3, 1), [0] + [2.0**-j for j in range(6, -1, -1)])


@pytest.mark.parametrize("bits", [0, 1, 8, 9])
def test_unsupported_weight_bits_raise(bits):
    with pytest.raises(ValueError, match=f"bits={bits}"):
        Q.apot(np.zeros(3), alpha=1.0, bits=bits, signed=True)


@given(moderate_arrays(), alphas_clip, st.integers(2, 7), st.booleans())
def test_apot_invariants(x, alpha, bits, signed):
    if not signed:
        bits = min(bits, 6)
    q = Q.apot(x, alpha=alpha, bits=bits, signed=signed)
    levels = alpha * Q.apot_levels(bits, signed=signed)
    lo = -alpha if signed else 0.0
    d = np.clip(x, lo, alpha)
    # nearest-level projection (brute-force argmin over the level set)
    np.testing.assert_allclose(np.abs(d - q), np.abs(d[..., None] - levels).min(axis=-1),
                               atol=1e-9 * alpha)
    np.testing.assert_allclose(Q.apot(q, alpha=alpha, bits=bits, signed=signed), q, atol=1e-12)
    flat = np.sort(x.ravel())
    assert np.all(np.diff(Q.apot(flat, alpha=alpha, bits=bits, signed=signed)) >= 0)
    if signed:
        np.testing.assert_array_equal(Q.apot(-x, alpha=alpha, bits=bits, signed=True), -q)


@given(moderate_arrays(), st.sampled_from([0.5, 1.0, 2.0]), st.sampled_from([0.25, 2.0, 8.0]))
def test_outputs_exactly_on_levels_and_scale_equivariant_for_dyadic_scales(x, alpha, c):
    q = Q.apot(x, alpha=alpha, bits=4, signed=True)
    assert np.all(np.isin(q, alpha * Q.apot_levels(4, signed=True)))
    np.testing.assert_array_equal(Q.apot(c * x, alpha=c * alpha, bits=4, signed=True), c * q)


def test_ties_go_to_larger_magnitude():
    # midpoint of 1/4 and 1/2 is 3/8 (exact in binary)
    np.testing.assert_array_equal(Q.apot([0.375, -0.375], alpha=1.0, bits=3, signed=True),
                                  [0.5, -0.5])


def test_float32_in_float32_out():
    assert Q.apot(np.ones(3, np.float32), alpha=1.0, bits=3, signed=True).dtype == np.float32


def test_partials_match_spec_and_finite_differences(rng):
    x = np.array([-2.0, -0.3, 0.0, 0.3, 1.0, 2.0])
    p = Q.apot_partials(x, alpha=1.0, bits=4, signed=True)
    np.testing.assert_array_equal(p["x"], [0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(p["alpha"][[0, -1]], [-1.0, 1.0])
    pa = Q.apot_partials(np.array([-1.0, 0.5, 3.0]), alpha=1.0, bits=3, signed=False)
    np.testing.assert_array_equal(pa["x"], [0, 1, 0])
    np.testing.assert_array_equal(pa["alpha"][[0, 2]], [0.0, 1.0])
    # outside the clip range q = ±α exactly, so the FD of the forward map equals ∂α
    xo = rng.uniform(1.5, 3, 50) * rng.choice([-1, 1], 50)
    h = 1e-6
    fd = (Q.apot(xo, alpha=1 + h, bits=4, signed=True) - Q.apot(xo, alpha=1 - h, bits=4, signed=True)) / (2 * h)
    np.testing.assert_allclose(fd, Q.apot_partials(xo, alpha=1.0, bits=4, signed=True)["alpha"])


def test_weight_normalisation():
    w = np.random.default_rng(0).normal(3.0, 2.0, 1000)
    wt = Q.apot_normalize(w)
    assert abs(wt.mean()) < 1e-12 and abs(wt.std(ddof=1) - 1) < 1e-4
    np.testing.assert_array_equal(Q.apot_normalize(np.full(5, 2.0)), np.zeros(5))  # no NaN
    with pytest.raises(ValueError, match="at least 2"):
        Q.apot_normalize([1.0])
