"""The exact SR Markov chain (quanttheory.theory.markov) against hand computations and oracles."""

import numpy as np
import pytest
from scipy import integrate, stats

from quanttheory import optim, problems
from quanttheory.theory import markov as M

THREE = np.array([-1.0, 0.0, 1.0])


def multiwell_grad(x):
    return x / 4.0 + 2.0 * np.sin(4.0 * x)


def test_three_state_rademacher_matches_hand_computation():
    # f'(x) = x, α = 1/2, σ = 1, ξ = ±1, Δ = 1: from 0, u = ∓1/2 splits evenly (worked by hand)
    P = M.transition_matrix_1d(lambda x: x, THREE, 0.5, 1.0, "rademacher").toarray()
    expected = np.array([[0.5, 0.5, 0.0], [0.25, 0.5, 0.25], [0.0, 0.5, 0.5]])
    np.testing.assert_allclose(P, expected, rtol=0, atol=1e-15)
    pi = M.stationary_distribution(M.transition_matrix_1d(lambda x: x, THREE, 0.5, 1.0, "rademacher"))
    np.testing.assert_allclose(pi, [0.25, 0.5, 0.25], rtol=0, atol=1e-14)


def test_gaussian_probabilities_match_quadrature():
    # two states {0, 1}, f' = 0.3, α = 0.5, σ = 1: P(0 -> 1) = E[clip(u, 0, 1)], u ~ N(-0.15, 0.5²)
    P = M.transition_matrix_1d(lambda x: 0.3 + 0 * x, np.array([0.0, 1.0]), 0.5, 1.0).toarray()
    dens = stats.norm(-0.15, 0.5).pdf
    oracle = integrate.quad(lambda u: np.clip(u, 0, 1) * dens(u), -10, 10, points=[0, 1], epsabs=1e-14)[0]
    assert P[0, 1] == pytest.approx(oracle, abs=1e-12)
    assert P[0, 0] == pytest.approx(1 - oracle, abs=1e-12)


def test_gaussian_interior_row_matches_quadrature():
    x = np.linspace(-2, 2, 9)
    P = M.transition_matrix_1d(multiwell_grad, x, 0.2, 1.5).toarray()
    i, m, s = 4, x[4] - 0.2 * multiwell_grad(x[4]), 0.2 * 1.5
    dens = stats.norm(m, s).pdf
    for j in range(2, 7):
        hat = integrate.quad(lambda u, c=x[j]: max(0.0, 1 - abs(u - c) / 0.5) * dens(u), m - 12 * s, m + 12 * s,
                             points=[x[j] - 0.5, x[j], x[j] + 0.5], epsabs=1e-14)[0]
        assert P[i, j] == pytest.approx(hat, abs=1e-12)


@pytest.mark.parametrize("noise", ["gaussian", "rademacher", ([-2.0, 0.0, 2.0], [0.25, 0.5, 0.25])])
def test_rows_are_stochastic(noise):
    x = np.linspace(-4, 4, 33)
    for alpha in (0.001, 0.05, 1.0):
        P = M.transition_matrix_1d(multiwell_grad, x, alpha, 3.0, noise)
        np.testing.assert_allclose(np.asarray(P.sum(axis=1)).ravel(), 1.0, rtol=0, atol=1e-13)
        assert P.min() >= 0


def test_stationary_is_alpha_independent_below_threshold_exactly():
    x = np.linspace(-5, 5, 41)
    a_max = M.alpha_threshold(multiwell_grad, x, 4.0, "rademacher")
    pis = [M.stationary_distribution(M.transition_matrix_1d(multiwell_grad, x, a, 4.0, "rademacher"))
           for a in (a_max, a_max / 10, a_max / 1000)]
    for pi in pis[1:]:
        np.testing.assert_allclose(pi, pis[0], rtol=0, atol=1e-12)
    # above the threshold the chain jumps two cells and π changes
    pi_big = M.stationary_distribution(M.transition_matrix_1d(multiwell_grad, x, 4 * a_max, 4.0, "rademacher"))
    assert M.total_variation(pi_big, pis[0]) > 1e-3


def test_birth_death_solution_agrees_with_sparse_solve():
    x = np.linspace(-5, 5, 41)
    P = M.transition_matrix_1d(multiwell_grad, x, 0.01, 4.0, "rademacher")
    np.testing.assert_allclose(M.stationary_birth_death(P), M.stationary_distribution(P), rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="tridiagonal"):
        M.stationary_birth_death(M.transition_matrix_1d(multiwell_grad, x, 1.0, 4.0, "rademacher"))


def test_2d_separable_chain_is_the_product_of_1d_chains():
    x = np.linspace(-3, 3, 13)
    P2 = M.transition_matrix_2d(multiwell_grad, x, x, 0.02, 3.0)
    pi1 = M.stationary_distribution(M.transition_matrix_1d(multiwell_grad, x, 0.02, 3.0))
    np.testing.assert_allclose(M.stationary_distribution(P2), np.outer(pi1, pi1).ravel(), rtol=0, atol=1e-13)


def test_effective_temperature_constant():
    assert M.sr_temperature(2.0, 0.5) == pytest.approx(2.0 * 0.5 / np.sqrt(2 * np.pi), rel=1e-15)
    assert M.sr_temperature(2.0, 0.5, "rademacher") == pytest.approx(0.5, rel=1e-15)
    # large noise: the exact π approaches the Gibbs law at T_SR = σΔ/√(2π) (and the error shrinks with σ)
    x = np.linspace(-6, 6, 49)
    f = x**2 / 8 + np.sin(2 * x) ** 2
    tvs = []
    for sigma in (4.0, 16.0):
        pi = M.stationary_distribution(M.transition_matrix_1d(multiwell_grad, x, 0.001, sigma))
        tvs.append(M.total_variation(pi, M.gibbs(f, M.sr_temperature(sigma, 0.25))))
    assert tvs[1] < tvs[0] / 3


def test_simulated_sr_matches_exact_stationary(rng):
    # independent chains started from the exact π; after many steps each is again an exact draw
    x = np.linspace(-5, 5, 41)
    P = M.transition_matrix_1d(multiwell_grad, x, 0.015, 4.0)
    pi = M.stationary_distribution(P)
    chains = 4000
    w0 = rng.choice(x, size=(chains, 1), p=pi)
    traj = optim.run(optim.sr(0.015, 0.25), problems.MultiWell1D(4.0), w0, steps=400, rng=rng)
    hist = np.bincount(np.rint((traj.final[:, 0] + 5) / 0.25).astype(int), minlength=41) / chains
    null = [M.total_variation(rng.multinomial(chains, pi) / chains, pi) for _ in range(400)]
    assert M.total_variation(hist, pi) <= np.quantile(null, 0.999)


def test_total_variation_and_gibbs():
    assert M.total_variation([1, 0], [0, 1]) == 1.0
    g = M.gibbs([0.0, 1000.0, 2000.0], 1.0)  # no overflow: shifted by the minimum
    assert g[0] == 1.0 and g.sum() == 1.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: M.transition_matrix_1d(np.sin, THREE, -1.0, 1.0), "alpha"),
        (lambda: M.transition_matrix_1d(np.sin, THREE, 0.1, np.nan), "sigma"),
        (lambda: M.transition_matrix_1d(np.sin, np.array([0.0, 1.0, 3.0]), 0.1, 1.0), "evenly"),
        (lambda: M.transition_matrix_1d(np.sin, THREE, 0.1, 1.0, "cauchy"), "noise"),
        (lambda: M.transition_matrix_1d(lambda x: x * np.nan, THREE, 0.1, 1.0), "finite"),
        (lambda: M.alpha_threshold(np.sin, THREE, 1.0, "gaussian"), "unbounded"),
        (lambda: M.total_variation([1.0], [0.5, 0.5]), "shapes"),
        (lambda: M.gibbs([0.0], 0.0), "temperature"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
