"""The flat numba step kernels used by the benchmark equal the numpy rules bit for bit."""

import numpy as np

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
