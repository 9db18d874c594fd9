"""The SR chain on float grids: exact against simulation, α-free below threshold, floor ∝ ulp, RN stall."""

import numpy as np
import pytest

from quanttheory import optim, problems
from quanttheory.quantizers import FloatFormat, stochastic_round_float
from quanttheory.quantizers.floatfmt import representable, ulp
from quanttheory.theory import floatgrid as F
from quanttheory.theory import markov as M


@pytest.mark.parametrize("fmt, lo, hi", [("e4m3", -448, 448), ("bf16", -1e-30, 1e-30), ("e2m1", 0.4, 3.1),
                                         ("fp16", -3.0, -0.001)])
def test_grid_points_are_the_format_values_in_the_interval(fmt, lo, hi):
    v = representable(fmt)
    np.testing.assert_array_equal(F.grid_points(fmt, lo, hi), v[(v >= lo) & (v <= hi)])


def test_grid_points_bad_interval():
    with pytest.raises(ValueError, match="lower < upper"):
        F.grid_points("e4m3", 1.0, 1.0)
    with pytest.raises(ValueError, match="max_value"):
        F.grid_points("e4m3", 0.0, 500.0)


def test_on_a_uniform_grid_the_chain_equals_the_fixed_point_chain():
    x = np.linspace(-2, 2, 33)
    for noise in ("gaussian", "rademacher"):
        a = F.transition_matrix(np.sin, x, 0.05, 1.5, noise).toarray()
        b = M.transition_matrix_1d(np.sin, x, 0.05, 1.5, noise).toarray()
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_exact_chain_on_a_float_grid_matches_monte_carlo_rounding(rng):
    """One step from every state, simulated with the real quantizer: rows agree within sampling error."""
    fmt = FloatFormat(8, 3)
    x = F.grid_points(fmt, 0.3, 3.0)  # crosses the binades at 0.5, 1, 2
    alpha, sigma = 0.02, 2.0
    P = F.transition_matrix(lambda v: v - 1.1, x, alpha, sigma).toarray()
    n = 20_000
    for i in (0, 5, 9, 17, x.size - 1):
        u = np.clip(x[i] - alpha * (x[i] - 1.1 + sigma * rng.standard_normal(n)), x[0], x[-1])
        q = stochastic_round_float(u, fmt, rng)
        freq = np.array([np.mean(q == v) for v in x])
        assert np.all(np.abs(freq - P[i]) < 5 * np.sqrt(P[i] * (1 - P[i]) / n) + 1e-3)


def test_stationary_law_is_alpha_free_below_the_local_threshold_with_bounded_noise():
    fmt = FloatFormat(8, 4)
    x = F.grid_points(fmt, 0.3, 3.0)
    grad = lambda v: v - 1.1  # noqa: E731
    thr = np.min(np.diff(x)) / (np.max(np.abs(grad(x))) + 1.0)
    pis = [M.stationary_distribution(F.transition_matrix(grad, x, a, 1.0, "rademacher")) for a in (thr, thr / 10)]
    assert M.total_variation(*pis) < 1e-9
    above = M.stationary_distribution(F.transition_matrix(grad, x, 20 * thr, 1.0, "rademacher"))
    assert M.total_variation(above, pis[0]) > 1e-3  # above the threshold α matters


@pytest.mark.parametrize("m", [6, 9, 12])
def test_sr_floor_is_sigma_ulp_over_2_sqrt_2pi(m):
    fmt = FloatFormat(8, m)
    h = float(ulp(0.75, fmt))
    floor, pi, x = F.sr_floor_exact(1.0, 0.75, fmt, h / 22, 1.0)
    assert floor == pytest.approx(h / (2 * np.sqrt(2 * np.pi)), rel=0.01)
    assert pi[0] < 1e-12 and pi[-1] < 1e-12


def test_exact_floor_agrees_with_simulated_sr_on_bf16(rng):
    fmt = FloatFormat(8, 5)
    h = float(ulp(0.75, fmt))
    alpha, sigma = h / 22, 1.0
    floor = F.sr_floor_exact(1.0, 0.75, fmt, alpha, sigma)[0]
    prob = problems.Quadratic([1.0], [0.75], noise_sigma=sigma)
    traj = optim.run(optim.sr(alpha, fmt), prob, np.full((400, 1), 0.75), steps=int(4 / alpha), rng=rng,
                     backend="numba")
    gaps = prob.loss(traj.final) - prob.minimum
    se = gaps.std() / np.sqrt(gaps.size)
    assert abs(gaps.mean() - floor) < 4 * se


def test_rn_stall_step_is_half_the_spacing_towards_the_move():
    np.testing.assert_array_equal(F.rn_stall_step([1.0, 1.0, 1.5, -1.0, -1.0], "bf16", [1, -1, -1, 1, -1]),
                                  [2**-8, 2**-9, 2**-8, 2**-9, 2**-8])
    assert F.rn_stall_distance(1.5, 0.7, 0.01, 1.0, "bf16") == pytest.approx(2**-8 / 0.01)
    with pytest.raises(ValueError, match="alpha"):
        F.rn_stall_distance(1.5, 0.7, 0.0, 1.0, "bf16")


def test_sr_floor_exact_refuses_zero_minimiser():
    with pytest.raises(ValueError, match="w_star=0"):
        F.sr_floor_exact(1.0, 0.0, "bf16", 1e-4, 1.0)
