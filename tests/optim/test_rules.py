"""The rules against known answers (Li et al. 2017 §1–§3) and hand-computed Adam steps."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import optim
from quanttheory import problems as P
from tests.strategies import grid_deltas, grid_points, hessian_diags


@given(h=hessian_diags, delta=grid_deltas, data=st.data())
def test_r_freezes_exactly_when_steps_are_below_half_a_cell(h, delta, data):
    # w on the grid, exact gradient g = h (w − w*), α·max|g| < Δ/2  ⇒  Q_d(w − αg) = w forever
    w0 = data.draw(grid_points(h.size, delta))
    w_star = data.draw(grid_points(h.size, delta, chains=1))[0] + 0.3 * delta
    prob = P.Quadratic(h, w_star)
    g_max = np.max(np.abs(prob.full_grad(w0)))
    alpha = 0.49 * delta / g_max if g_max > 0 else 1.0
    traj = optim.run(optim.rounded(alpha, delta), prob, w0, steps=50, rng=np.random.default_rng(0),
                     batch_size=None)
    np.testing.assert_array_equal(traj.final, w0)


def test_r_moves_when_a_step_exceeds_half_a_cell():
    prob = P.Quadratic([1.0], [1.0])
    # g = −1 at w = 0; α = 0.6 gives a step of 0.6 > Δ/2 = 0.5, so R moves to the next grid point
    traj = optim.run(optim.rounded(0.6, 1.0), prob, np.zeros((1, 1)), steps=1,
                     rng=np.random.default_rng(0), batch_size=None)
    assert traj.final[0, 0] == 1.0


def test_sr_tracks_sgd_as_delta_goes_to_zero():
    prob = P.Quadratic([1.0, 3.0], [0.3, -0.7])
    sched, steps, delta = optim.schedules.inverse_time(prob.mu), 1000, 1e-9
    w0 = np.full((5, 2), 2.0)
    sgd = optim.run(optim.sgd(sched), prob, w0, steps=steps, rng=np.random.default_rng(0), batch_size=None)
    sr = optim.run(optim.sr(sched, delta), prob, w0, steps=steps, rng=np.random.default_rng(0),
                   batch_size=None)
    # e_{t+1} = (I − α_t H) e_t + r_t with |r_t| ≤ Δ and ‖I − α_t H‖ ≤ 1 here, so |e_T| ≤ TΔ
    assert np.max(np.abs(sr.final - sgd.final)) <= steps * delta
    assert np.max(np.abs(sr.final - sgd.final)) > 0  # SR really did round


def test_bc_stochastic_converges_to_the_minimiser_in_1d():
    # F = (w − 0.3)²/2 on the grid {…, 0, 1, …}; E[Q_s(w_r)] = w_r so BC-Q_s is unbiased SGD
    prob = P.Quadratic([1.0], [0.3])
    rule = optim.bc(optim.schedules.inverse_time(1.0), 1.0, "stochastic")
    traj = optim.run(rule, prob, np.zeros((50, 1)), steps=20000, rng=np.random.default_rng(1),
                     batch_size=None, backend="numba")
    # rounding noise has variance ≤ 1/4, so w̄_T has sd ≲ 0.5·sqrt(log T / T) ≈ 0.011
    assert abs(traj.average.mean() - 0.3) < 0.01
    assert np.max(np.abs(traj.final - 0.3)) < 0.05


def test_bc_deterministic_stalls_at_the_cell_boundary_in_1d():
    # the spec's counterexample: with Q_d the buffer oscillates around the midpoint 0.5, not 0.3
    prob = P.Quadratic([1.0], [0.3])
    rule = optim.bc(optim.schedules.inverse_time(1.0), 1.0, "deterministic")
    traj = optim.run(rule, prob, np.zeros((3, 1)), steps=20000, rng=np.random.default_rng(1),
                     batch_size=None)
    assert np.max(np.abs(traj.final - 0.5)) < 1e-3
    assert np.min(traj.gap_of_average) > 0.019  # F(0.5) − F* = 0.02


def test_gd_on_least_squares_reaches_the_closed_form_minimiser(rng):
    prob = P.LeastSquares.random(50, 4, rng, noise=0.5)
    steps, w0 = 400, np.zeros((2, 4))
    traj = optim.run(optim.sgd(1.0 / prob.lipschitz), prob, w0, steps=steps, rng=rng, batch_size=None)
    bound = (1 - prob.mu / prob.lipschitz) ** steps * np.linalg.norm(prob.minimizer)  # GD contraction
    assert np.max(np.linalg.norm(traj.final - prob.minimizer, axis=1)) <= bound + 1e-12


def test_sgd_averaged_iterate_approaches_the_minimiser(rng):
    prob = P.LeastSquares.random(200, 5, rng, noise=0.5)
    traj = optim.run(optim.sgd(optim.schedules.inverse_time(prob.mu)), prob, np.zeros((8, 5)),
                     steps=20000, rng=rng, batch_size=10, backend="numba")
    assert np.median(traj.gap_of_average) < 1e-3 * prob.minimum + 1e-4


def test_adam_first_two_steps_by_hand():
    rule = optim.adam(0.1, b1=0.9, b2=0.999, eps=1e-8)
    w = np.array([[1.0]])
    state = rule.init(w)
    w1, state = rule.update(np.array([[0.5]]), state, w)
    # m1 = 0.05, v1 = 0.00025, m̂ = 0.5, v̂ = 0.25 → step = 0.1·0.5/(0.5 + 1e-8)
    assert w1[0, 0] == pytest.approx(1.0 - 0.05 / (0.5 + 1e-8), rel=1e-15)
    w2, state = rule.update(np.array([[-1.0]]), state, w1)
    # m2 = −0.055, v2 = 0.00124975, m̂ = −0.055/0.19, v̂ = 0.00124975/0.001999
    step2 = 0.1 * (-0.055 / 0.19) / (math.sqrt(0.00124975 / 0.001999) + 1e-8)
    assert w2[0, 0] == pytest.approx(w1[0, 0] - step2, rel=1e-14)
    assert state.count == 2 and w[0, 0] == 1.0  # inputs untouched


def test_sr_iterates_live_on_the_grid_and_binary_sets(rng):
    prob = P.MultiWell2D(noise_sigma=1.0)
    w0 = rng.standard_normal((6, 2))
    sr = optim.run(optim.sr(0.05, 0.25), prob, w0, steps=30, rng=rng, record_every=10)
    np.testing.assert_array_equal(sr.iterates / 0.25, np.round(sr.iterates / 0.25))
    srb = optim.run(optim.sr(0.05, "binary"), prob, w0, steps=30, rng=rng, record_every=10)
    assert set(np.unique(srb.iterates)) <= {-1.0, 1.0}
    bcb = optim.run(optim.bc(0.5, "binary"), prob, w0, steps=30, rng=rng, record_every=10)
    assert np.all(np.abs(bcb.iterates) <= 1.0) and set(np.unique(bcb.deployed)) <= {-1.0, 1.0}


@pytest.mark.parametrize("make, exc, match", [
    (lambda: optim.sr(0.1, 0.0), ValueError, "delta=0.0"),
    (lambda: optim.rounded(0.1, -1.0), ValueError, "delta=-1.0"),
    (lambda: optim.bc(0.1, np.nan), ValueError, "delta=nan"),
    (lambda: optim.sr(0.1, "ternary"), ValueError, "binary"),
    (lambda: optim.bc(0.1, 0.5, quantizer="median"), ValueError, "quantizer"),
    (lambda: optim.bc(0.1, 0.5, clip=-1.0), ValueError, "clip"),
    (lambda: optim.adam(0.1, b1=1.0), ValueError, "b1"),
    (lambda: optim.sgd(-0.1), ValueError, "a=-0.1"),
])
def test_bad_rule_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_stochastic_rules_need_an_rng():
    rule = optim.sr(0.1, 0.5)
    w = np.zeros((1, 2))
    with pytest.raises(TypeError, match="rng"):
        rule.update(np.ones((1, 2)), rule.init(w), w)
    with pytest.raises(ValueError, match="shape"):
        rule.update(np.ones((1, 3)), rule.init(w), w, np.random.default_rng(0))
