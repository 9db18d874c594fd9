"""R, SR, BC and Kahan on floating-point grids: the float analogue of "R freezes", Kahan's cure."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import optim
from quanttheory import problems as P
from quanttheory.optim import _numba
from quanttheory.quantizers import FloatFormat, round_float
from quanttheory.quantizers.floatfmt import ulp


@given(w=st.floats(0.01, 100.0), frac=st.floats(0.01, 0.99), fmt=st.sampled_from(["bf16", "e4m3", "fp16"]))
def test_r_freezes_exactly_when_the_step_is_below_half_an_ulp(w, frac, fmt):
    w = float(round_float(w, fmt))
    h = float(ulp(w, fmt))
    rule = optim.rounded(1.0, fmt)
    up = rule.update(np.array([[-frac * h / 2]]), rule.init(np.zeros((1, 1))), np.array([[w]]))[0]
    assert up[0, 0] == w  # an upward step below ulp(w)/2 is lost
    up = rule.update(np.array([[-(0.5 + frac / 2) * h]]), rule.init(np.zeros((1, 1))), np.array([[w]]))[0]
    assert up[0, 0] == w + h  # above half an ulp it moves one spacing


def test_kahan_accumulates_steps_that_round_to_nothing():
    rule = optim.kahan(1.0, "bf16")
    w = np.ones((1, 1))
    state = rule.init(w)
    step = 2**-7 / 10  # a tenth of ulp(1): R would never move
    for _ in range(10):
        w, state = rule.update(np.array([[-step]]), state, w)
    assert w[0, 0] == 1.0 + 2**-7
    assert abs(state.comp[0, 0]) < 2**-7 / 20  # what remains is round-off of the ten additions
    frozen = optim.rounded(1.0, "bf16")
    assert frozen.update(np.array([[-step]]), frozen.init(w), np.ones((1, 1)))[0][0, 0] == 1.0


def test_stall_point_matches_ulp_over_two_alpha_on_a_deterministic_quadratic():
    """Exact gradients: R stops at |w − w*| < ulp(w)/(2αμ) and not much earlier (derived, see floatgrid)."""
    alpha, w_star = 0.01, 0.7
    prob = P.Quadratic([1.0], [w_star], noise_sigma=0.0)
    traj = optim.run(optim.rounded(alpha, "bf16"), prob, np.array([[4.0], [-3.0]]), steps=5000,
                     rng=np.random.default_rng(0), batch_size=None)
    d = np.abs(traj.final[:, 0] - w_star)
    pred = ulp(traj.final[:, 0], "bf16") / (2 * alpha)
    assert np.all(d < pred) and np.all(d > (1 - alpha) * pred - ulp(traj.final[:, 0], "bf16"))
    kahan = optim.run(optim.kahan(alpha, "bf16"), prob, np.array([[4.0], [-3.0]]), steps=5000,
                      rng=np.random.default_rng(0), batch_size=None)
    assert np.all(np.abs(kahan.final[:, 0] - w_star) <= ulp(w_star, "bf16"))


def test_sr_and_bc_iterates_live_on_the_format(rng):
    prob = P.Quadratic([1.0, 3.0], [0.3, -1e-3], noise_sigma=1.0)
    for fmt in ("e4m3", "bf16", FloatFormat("e2m1", saturate=True)):
        traj = optim.run(optim.sr(0.05, fmt), prob, np.zeros((4, 2)), steps=200, rng=rng, record_every=10)
        np.testing.assert_array_equal(round_float(traj.iterates, fmt), traj.iterates)
        bc = optim.run(optim.bc(0.05, fmt), prob, np.zeros((4, 2)), steps=200, rng=rng, record_every=10)
        np.testing.assert_array_equal(round_float(bc.deployed, fmt), bc.deployed)
        assert not np.array_equal(round_float(bc.iterates, fmt), bc.iterates)  # the master is float


def test_sr_on_bf16_is_unbiased_where_r_stalls(rng):
    """Many chains, one tiny step: SR's mean moves by the step, R's does not move at all."""
    w = np.full((200_000, 1), 1.0)
    step = 2**-7 / 8
    sr = optim.sr(1.0, "bf16")
    out = sr.update(np.full_like(w, -step), sr.init(w), w, rng)[0]
    se = 2**-7 * np.sqrt(0.125 * 0.875 / w.size)
    assert abs(out.mean() - (1.0 + step)) < 5 * se


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_leaving_the_range_of_an_unsaturated_format_is_divergence(backend):
    prob = P.Quadratic([1.0], [0.0], noise_sigma=0.0)
    with pytest.raises(FloatingPointError, match="diverged"):
        optim.run(optim.sr(2.5, "e4m3"), prob, np.array([[300.0]]), steps=50, rng=np.random.default_rng(0),
                  batch_size=None, backend=backend)
    sat = FloatFormat("e4m3", saturate=True)
    traj = optim.run(optim.rounded(2.5, sat), prob, np.array([[300.0]]), steps=3, rng=np.random.default_rng(0),
                     batch_size=None, backend=backend)
    assert abs(traj.final[0, 0]) == 448.0


@pytest.mark.parametrize("make, match", [
    (lambda: optim.sr(0.1, "bf17"), "valid: a number > 0, 'binary', a FloatFormat"),
    (lambda: optim.kahan(0.1, "binary"), "no Kahan variant"),
    (lambda: optim.kahan(0.1, -1.0), "delta=-1.0 is out of range"),
])
def test_bad_float_rule_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("fmt", ["bf16", "e4m3", FloatFormat("e2m1", saturate=True)])
def test_sr_float_step_equals_the_sr_rule(fmt, rng):
    w, g = rng.uniform(-4, 4, 5001), rng.standard_normal(5001)
    rule = optim.sr(0.03, fmt)
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    ref = rule.update(g, rule.init(w), w, a)[0]
    out = np.empty_like(w)
    _numba.sr_float_step(w, g, 0.03, rule.fmt, b, out)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(a.random(3), b.random(3))
