import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from tests.strategies import alphas_clip, moderate_arrays


@pytest.mark.parametrize("bits,signed,n", [(2, True, 3), (4, True, 15), (1, False, 2), (3, False, 8)])
def test_level_counts(bits, signed, n):
    lv = Q.uniform_levels(bits, signed=signed)
    assert lv.size == n and lv[-1] == 1.0 and np.all(np.diff(lv) > 0)


@given(moderate_arrays(), alphas_clip, st.integers(2, 8), st.booleans())
def test_uniform_invariants(x, alpha, bits, signed):
    q = Q.uniform(x, alpha=alpha, bits=bits, signed=signed)
    levels = alpha * Q.uniform_levels(bits, signed=signed)
    lo = -alpha if signed else 0.0
    assert np.all((q >= lo - 1e-12) & (q <= alpha + 1e-12))
    # on the level set, nearest after clipping (brute force)
    d = np.clip(x, lo, alpha)
    dist = np.abs(d[..., None] - levels)
    np.testing.assert_allclose(np.abs(d - q), dist.min(axis=-1), atol=1e-9 * alpha)
    np.testing.assert_allclose(Q.uniform(q, alpha=alpha, bits=bits, signed=signed), q, atol=1e-12)
    flat = np.sort(x.ravel())
    assert np.all(np.diff(Q.uniform(flat, alpha=alpha, bits=bits, signed=signed)) >= 0)
    if signed:
        np.testing.assert_array_equal(Q.uniform(-x, alpha=alpha, bits=bits, signed=True), -q)


def test_uniform_partials_ste():
    x = np.array([-3.0, -1.0, -0.4, 0.0, 0.4, 1.0, 3.0])
    p = Q.uniform_partials(x, alpha=1.0, bits=3, signed=True)
    np.testing.assert_array_equal(p["x"], [0, 1, 1, 1, 1, 1, 0])
    q = Q.uniform(x, alpha=1.0, bits=3, signed=True)
    np.testing.assert_allclose(p["alpha"][1:-1], (q - x)[1:-1])
    np.testing.assert_array_equal(p["alpha"][[0, -1]], [-1.0, 1.0])


def test_uniform_alpha_partial_matches_finite_difference_away_from_kinks(rng):
    # q = α·round(x/α·m)/m: inside the range and away from rounding thresholds, dq/dα = q/α.
    # The STE's (q − x)/α differs from it by the −x/α term (the STE treats round() as the
    # identity): the documented PACT/LSQ-style choice. We check the exact derivative of the
    # forward map here and the STE formula above.
    x = rng.uniform(-0.9, 0.9, 200)
    alpha, h, m = 1.0, 1e-7, 3
    scaled = x / alpha * m
    ok = np.abs(scaled - np.round(scaled)) > 0.05
    fd = (Q.uniform(x, alpha=alpha + h, bits=3, signed=True)
          - Q.uniform(x, alpha=alpha - h, bits=3, signed=True)) / (2 * h)
    q = Q.uniform(x, alpha=alpha, bits=3, signed=True)
    np.testing.assert_allclose(fd[ok], (q / alpha)[ok], atol=1e-6)
