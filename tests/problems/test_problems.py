"""Problems: gradients against finite differences, unbiased minibatch gradients, known minimisers,
and clear errors for bad input."""

import numpy as np
import pytest

from quanttheory import problems as P


def _all_problems(rng):
    return {
        "quadratic-diag": P.Quadratic([1.0, 2.0, 0.5], [0.3, -0.2, 1.0], noise_sigma=0.7),
        "quadratic-full": P.Quadratic([[2.0, 0.5], [0.5, 1.0]], [0.1, -0.4], noise_sigma=0.3),
        "least-squares": P.LeastSquares.random(40, 3, rng, noise=0.5),
        "logistic": P.LogisticRegression.random(40, 3, rng, l2=0.05),
        "multiwell": P.MultiWell(3, noise_sigma=0.5),
    }


@pytest.mark.parametrize("name", list(_all_problems(np.random.default_rng(0))))
def test_full_grad_matches_central_differences(name, rng):
    prob = _all_problems(np.random.default_rng(0))[name]
    w = rng.standard_normal((4, prob.dim))
    h = 1e-6
    fd = np.empty_like(w)
    for j in range(prob.dim):
        e = np.zeros(prob.dim)
        e[j] = h
        fd[:, j] = (prob.loss(w + e) - prob.loss(w - e)) / (2 * h)
    # central differences: O(h²) truncation + O(eps·|F|/h) cancellation ~ 1e-9 here
    np.testing.assert_allclose(prob.full_grad(w), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(_all_problems(np.random.default_rng(0))))
def test_minibatch_gradient_is_unbiased(name, rng):
    prob = _all_problems(np.random.default_rng(0))[name]
    w = np.tile(rng.standard_normal(prob.dim), (4000, 1))  # 4000 independent draws at one point
    g = prob.grad(w, rng, batch_size=2)
    mean, se = g.mean(axis=0), g.std(axis=0, ddof=1) / np.sqrt(g.shape[0])
    # 5 standard errors per coordinate: a false alarm has probability ~1e-6 per coordinate
    assert np.all(np.abs(mean - prob.full_grad(w[:1])[0]) <= 5 * se + 1e-12)
    assert np.all(se > 0)  # the gradient really is stochastic


@pytest.mark.parametrize("name", list(_all_problems(np.random.default_rng(0))))
def test_batch_none_is_the_exact_gradient_and_draws_nothing(name, rng):
    prob = _all_problems(np.random.default_rng(0))[name]
    w = rng.standard_normal((3, prob.dim))
    before = rng.bit_generator.state
    np.testing.assert_array_equal(prob.grad(w, rng, None), prob.full_grad(w))
    assert rng.bit_generator.state == before


def test_bigger_batches_shrink_the_noise(rng):
    prob = P.LeastSquares.random(100, 2, rng, noise=1.0)
    w = np.zeros((3000, 2))
    var1 = prob.grad(w, rng, 1).var(axis=0)
    var16 = prob.grad(w, rng, 16).var(axis=0)
    np.testing.assert_allclose(var16, var1 / 16, rtol=0.25)  # var ∝ 1/b for sampling with replacement


def test_least_squares_minimizer_is_the_normal_equations_solution(rng):
    prob = P.LeastSquares.random(60, 4, rng, noise=0.3)
    w_star = np.linalg.solve(prob.A.T @ prob.A, prob.A.T @ prob.b)
    np.testing.assert_allclose(prob.minimizer, w_star, rtol=1e-10, atol=1e-12)
    assert prob.minimum == pytest.approx(0.5 * np.mean((prob.A @ w_star - prob.b) ** 2), rel=1e-12)
    np.testing.assert_allclose(prob.mu, np.linalg.eigvalsh(prob.A.T @ prob.A / 60)[0], rtol=1e-12)


def test_logistic_minimizer_is_stationary_and_optimal(rng):
    prob = P.LogisticRegression.random(80, 3, rng, l2=0.1)
    assert np.max(np.abs(prob.full_grad(prob.minimizer))) < 1e-12
    others = prob.minimizer + 0.01 * rng.standard_normal((20, 3))
    assert np.all(prob.loss(others) > prob.minimum)
    assert P.LogisticRegression.random(30, 2, rng, l2=0.0).minimizer is None


def test_logistic_gradient_does_not_overflow(rng):
    prob = P.LogisticRegression.random(20, 2, rng)
    g = prob.full_grad(np.array([[1e4, -1e4]]))
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(prob.loss(np.array([[1e4, -1e4]]))))


def test_quadratic_and_multiwell_known_values():
    q = P.Quadratic([2.0, 4.0], [1.0, -1.0])
    assert q.loss(np.array([[2.0, 0.0]]))[0] == 0.5 * (2 * 1 + 4 * 1)
    assert (q.mu, q.lipschitz, q.minimum) == (2.0, 4.0, 0.0)
    mw = P.MultiWell2D()
    x = np.array([[0.5, -1.0]])
    expected = np.sum(x**2 / 8 + np.sin(2 * x) ** 2)
    assert mw.loss(x)[0] == pytest.approx(expected, rel=1e-15)
    assert mw.loss(np.zeros((1, 2)))[0] == 0.0 and P.MultiWell1D().dim == 1


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: P.Quadratic([1.0, -1.0], [0.0, 0.0]), "positive definite"),
        (lambda: P.Quadratic([[1.0, 0.2], [0.0, 1.0]], [0.0, 0.0]), "symmetric"),
        (lambda: P.Quadratic([1.0, 1.0], [0.0]), "does not match"),
        (lambda: P.Quadratic([1.0], [np.nan]), "non-finite"),
        (lambda: P.Quadratic([1.0], [0.0], noise_sigma=-1.0), "noise_sigma"),
        (lambda: P.LeastSquares(np.ones((3, 2)), np.ones(4)), "rows"),
        (lambda: P.LogisticRegression(np.ones((3, 2)), np.array([1.0, 0.0, 1.0])), "-1, \\+1"),
        (lambda: P.MultiWell(0), "dim=0"),
    ],
)
def test_bad_construction_raises(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("w, match", [
    (np.array([[np.nan, 0.0]]), "non-finite"),
    (np.zeros((2, 3)), "shape \\(chains, 2\\)"),
    (np.zeros((0, 2)), "chains >= 1"),
])
def test_bad_points_raise(w, match, rng):
    prob = P.Quadratic([1.0, 1.0], [0.0, 0.0], 1.0)
    with pytest.raises(ValueError, match=match):
        prob.grad(w, rng, 1)


def test_bad_batch_and_rng_raise(rng):
    prob = P.LeastSquares.random(10, 2, rng, noise=0.1)
    with pytest.raises(ValueError, match="batch_size=0"):
        prob.grad(np.zeros((1, 2)), rng, 0)
    with pytest.raises(TypeError, match="Generator"):
        prob.grad(np.zeros((1, 2)), 42, 1)
    with pytest.raises(TypeError, match="dtype"):
        prob.loss(np.array([["a", "b"]]))
