"""The flat numba step kernels used by the benchmark equal the numpy rules bit for bit."""

import numpy as np
import pytest

from quanttheory import optim
from quanttheory.optim import _numba


def test_sr_step_equals_the_sr_rule(rng):
    w, g = rng.standard_normal(5000), rng.standard_normal(5000)
    rule = optim.sr(0.03, 0.1)
    ref = rule.update(g, rule.init(w), w, np.random.default_rng(4))[0]
    out = np.empty_like(w)
    _numba.sr_step(w, g, 0.03, 0.1, np.random.default_rng(4), out)
    np.testing.assert_array_equal(out, ref)


def test_bc_step_equals_the_bc_rule(rng):
    w, g = rng.uniform(-1, 1, 5000), 10 * rng.standard_normal(5000)
    rule = optim.bc(0.03, 0.1, "deterministic", clip=1.0)
    w_ref, state = rule.update(g, rule.init(w), w)
    out_w, out_q = np.empty_like(w), np.empty_like(w)
    _numba.bc_step(w, g, 0.03, 0.1, 1.0, out_w, out_q)
    np.testing.assert_array_equal(out_w, w_ref)
    np.testing.assert_array_equal(out_q, rule.query(w_ref, state))
    assert np.max(np.abs(out_w)) == 1.0  # the clip was exercised


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.Philox])
def test_sr_step_leaves_the_generator_where_numpy_would(bit_generator, rng):
    w, g = rng.standard_normal(1001), rng.standard_normal(1001)
    a, b = np.random.Generator(bit_generator(9)), np.random.Generator(bit_generator(9))
    a.integers(0, 10, 3)  # an odd number of 32-bit draws leaves numpy's uint32 buffer filled
    b.integers(0, 10, 3)
    rule = optim.sr(0.5, 0.25)
    ref = rule.update(g, rule.init(w), w, a)[0]
    out = np.empty_like(w)
    _numba.sr_step(w, g, 0.5, 0.25, b, out)
    np.testing.assert_array_equal(out, ref)
    assert str(a.bit_generator.state) == str(b.bit_generator.state)
    np.testing.assert_array_equal(a.random(5), b.random(5))


def test_inlined_pcg64_stream_equals_numpy():
    from quanttheory.optim import _pcg64

    rng = np.random.default_rng(123)
    hi, lo, ihi, ilo = _pcg64.get_state(rng)
    draws = []
    for _ in range(1000):
        u, hi, lo = _pcg64.next_double(hi, lo, ihi, ilo)
        hi, lo = np.uint64(hi), np.uint64(lo)  # numba returns Python ints; keep them unsigned
        draws.append(u)
    np.testing.assert_array_equal(draws, np.random.default_rng(123).random(1000))
