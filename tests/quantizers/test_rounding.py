import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from tests.strategies import deltas, moderate_arrays


def test_round_nearest_golden_and_ties_away_from_zero():
    x = np.array([0.25, -0.25, 0.75, -0.75, 0.24, 1.0, 0.0])
    np.testing.assert_array_equal(
        Q.round_nearest(x, 0.5), [0.5, -0.5, 1.0, -1.0, 0.0, 1.0, 0.0]
    )


@given(moderate_arrays(), deltas)
def test_round_nearest_is_nearest_idempotent_odd(x, delta):
    q = Q.round_nearest(x, delta)
    assert q.shape == x.shape and q.dtype == np.float64
    # nearest grid point: error at most Δ/2 (up to the rounding of x/Δ)
    assert np.all(np.abs(q - x) <= delta / 2 * (1 + 1e-12) + 1e-12)
    np.testing.assert_array_equal(Q.round_nearest(q, delta), q)
    np.testing.assert_array_equal(Q.round_nearest(-x, delta), -q)


@given(moderate_arrays(), st.sampled_from([2.0**-k for k in range(0, 6)]),
       st.sampled_from([0.25, 0.5, 2.0, 4.0]))
def test_round_nearest_scale_equivariant_for_powers_of_two(x, delta, c):
    np.testing.assert_array_equal(Q.round_nearest(c * x, c * delta), c * Q.round_nearest(x, delta))


@given(moderate_arrays(), deltas, st.integers(0, 2**32 - 1))
def test_stochastic_round_moves_at_most_one_step_onto_grid(x, delta, seed):
    q = Q.stochastic_round(x, delta, np.random.default_rng(seed))
    k = q / delta
    np.testing.assert_allclose(k, np.round(k), atol=1e-6)
    assert np.all(np.abs(q - x) < delta * (1 + 1e-12))
    # the two candidates are floor and floor + 1
    lo = delta * np.floor(x / delta)
    assert np.all(np.isclose(q, lo) | np.isclose(q, lo + delta))


@pytest.mark.parametrize("x", [0.1, 0.37, -1.234, 2.5, 7.0])
def test_stochastic_round_unbiased_with_sample_size_tolerance(x):
    delta, n = 0.5, 200_000
    q = Q.stochastic_round(np.full(n, x), delta, np.random.default_rng(7))
    p = x / delta - np.floor(x / delta)
    sd = delta * np.sqrt(p * (1 - p) / n)  # exact std of the sample mean
    assert abs(q.mean() - x) <= 5 * sd + 1e-15
    # the variance is Δ² p (1 − p) as in Li et al. §2 (check to 5 standard errors of the variance)
    var = delta**2 * p * (1 - p)
    if var > 0:
        se_var = np.sqrt(max(np.mean((q - x) ** 4) - var**2, 0) / n)
        assert abs(q.var() - var) <= 5 * se_var + 1e-12


def test_stochastic_round_does_not_mutate_and_keeps_float32():
    x = np.array([0.3, 0.7], dtype=np.float32)
    before = x.copy()
    q = Q.stochastic_round(x, 0.5, np.random.default_rng(0))
    assert q.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_stochastic_round_needs_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        Q.stochastic_round([0.1], 0.5, 42)


def test_binarize_and_stochastic_binarize():
    np.testing.assert_array_equal(Q.binarize([-0.1, 0.0, 3.0]), [-1.0, 1.0, 1.0])
    n = 100_000
    for w in (-1.5, -0.4, 0.0, 0.6, 2.0):
        b = Q.stochastic_binarize(np.full(n, w), np.random.default_rng(3))
        assert set(np.unique(b)) <= {-1.0, 1.0}
        p = np.clip((w + 1) / 2, 0, 1)
        sd = 2 * np.sqrt(p * (1 - p) / n)
        assert abs(b.mean() - np.clip(w, -1, 1)) <= 5 * sd + 1e-15
