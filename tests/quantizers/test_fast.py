"""The numba fast path against the numpy reference: bit-for-bit, under the same Generator."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from tests.strategies import alphas_clip, deltas, moderate_arrays


@given(moderate_arrays(), deltas, st.integers(0, 2**32 - 1))
def test_rounding_bit_identical(x, delta, seed):
    np.testing.assert_array_equal(Q.fast.round_nearest(x, delta), Q.round_nearest(x, delta))
    a = Q.fast.stochastic_round(x, delta, np.random.default_rng(seed))
    b = Q.stochastic_round(x, delta, np.random.default_rng(seed))
    assert a.dtype == b.dtype and np.array_equal(a, b)


def test_generators_are_left_in_the_same_state():
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    Q.fast.stochastic_round(np.ones((7, 3)) * 0.3, 0.25, r1)
    Q.stochastic_round(np.ones((7, 3)) * 0.3, 0.25, r2)
    assert r1.random() == r2.random()


@given(moderate_arrays(), alphas_clip, st.integers(2, 6), st.booleans())
def test_projection_maps_bit_identical(x, alpha, bits, signed):
    kw = dict(alpha=alpha, bits=bits, signed=signed)
    np.testing.assert_array_equal(Q.fast.uniform(x, **kw), Q.uniform(x, **kw))
    np.testing.assert_array_equal(Q.fast.apot(x, **kw), Q.apot(x, **kw))


@given(moderate_arrays(), st.floats(-5, 5), st.floats(0.1, 10), st.integers(1, 6))
def test_dsq_hard_bit_identical(x, lower, width, bits):
    kw = dict(lower=lower, upper=lower + width, bits=bits, alpha=0.2)
    np.testing.assert_array_equal(Q.fast.dsq(x, **kw), Q.dsq(x, **kw))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_shape_preserved(dtype):
    x = np.linspace(-2, 2, 12, dtype=dtype).reshape(3, 4)
    y = Q.fast.apot(x, alpha=1.0, bits=4, signed=True)
    assert y.dtype == dtype and y.shape == (3, 4)


@pytest.mark.parametrize("x", [1e19, -3.5e300, 2.0**63, -(2.0**62) - 2048.0])
def test_huge_values_beyond_int64_are_bit_identical(x):
    # math.floor in numba returns an int64 and silently wraps past 2**63; np.floor stays float
    arr = np.array([x, 0.3])
    np.testing.assert_array_equal(Q.fast.round_nearest(arr, 1.0), Q.round_nearest(arr, 1.0))
    np.testing.assert_array_equal(Q.fast.stochastic_round(arr, 1.0, np.random.default_rng(0)),
                                  Q.stochastic_round(arr, 1.0, np.random.default_rng(0)))
