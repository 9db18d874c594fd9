"""Bounds of quanttheory.theory.bounds: exact checks, and simulations that must stay below them."""

import numpy as np
import pytest

from quanttheory import optim, problems
from quanttheory import quantizers as Q
from quanttheory.theory import bounds as B


def test_lemma1_exact_variance_never_exceeds_bound(rng):
    # exact E‖Q_s(u) − u‖² = Δ² Σ p(1−p) for random grid w, gradients g, steps α, spacings Δ
    for _ in range(200):
        d = int(rng.integers(1, 20))
        delta, alpha = 2.0 ** rng.uniform(-6, 1), 10 ** rng.uniform(-4, 0)
        w = delta * rng.integers(-50, 50, d)
        g = rng.standard_normal(d) * 10 ** rng.uniform(-2, 2)
        frac = (w - alpha * g) / delta - np.floor((w - alpha * g) / delta)
        exact = delta**2 * np.sum(frac * (1 - frac))
        assert exact <= delta * alpha * np.abs(g).sum() * (1 + 1e-12)
        assert exact <= B.lemma1_bound(d, delta, alpha, np.linalg.norm(g)) * (1 + 1e-12)


def test_lemma1_monte_carlo_with_quantizer(rng):
    d, delta, alpha = 8, 0.25, 0.01
    w = delta * rng.integers(-10, 10, (20000, d))
    g = 3.0 * rng.standard_normal((20000, d))
    u = w - alpha * g
    err = np.sum((Q.stochastic_round(u, delta, rng) - u) ** 2, axis=1).mean()
    G = np.sqrt(np.mean(np.sum(g * g, axis=1)))
    assert err <= B.lemma1_bound(d, delta, alpha, G)


def test_formulas():
    assert B.sr_floor(4, 0.5, 2.0) == pytest.approx(1.0)
    assert B.sr_strongly_convex_bound(10, 4, 0.5, 2.0, 1.0) == pytest.approx((1 + np.log(10)) * 4 / 20 + 1.0)
    assert B.sr_convex_bound(4, 1, 1.0, 1.0, 2.0, 1.0) == pytest.approx(4 / 4 + 1 / 2 + 0.5)
    assert B.bc_floor(4, 0.5, 2.0, 3.0, "deterministic") == pytest.approx(B.bc_floor(4, 0.5, 2.0, 3.0) / 2)
    assert B.bc_strong_floor(4, 0.5, 3.0, L2=0.0) == 0.0


def _avg_before_updates(traj, w0, steps):
    # bounds are on the mean of w_0 … w_{T−1}; run() averages w_1 … w_T
    return traj.average + (w0 - traj.final) / steps


@pytest.mark.parametrize("delta", [0.5, 0.1])
def test_sr_strongly_convex_simulation_below_bound(rng, delta):
    prob = problems.Quadratic([0.5, 1.0, 2.0], [0.31, -0.17, 0.05], noise_sigma=2.0)
    T, chains = 2000, 200
    w0 = np.zeros((chains, 3))
    traj = optim.run(optim.sr(optim.schedules.inverse_time(prob.mu), delta), prob, w0, steps=T, rng=rng)
    gap = prob.loss(_avg_before_updates(traj, w0, T)).mean()
    G = B.estimate_G(traj.grad_sq_mean)
    assert gap <= B.sr_strongly_convex_bound(T, 3, delta, G, prob.mu)


def test_sr_constant_step_and_bc_convex_simulation_below_bound(rng):
    prob = problems.Quadratic([0.5, 2.0], [0.3, -0.2], noise_sigma=1.0)
    T, chains, delta = 3000, 200, 0.2
    w0 = np.zeros((chains, 2))
    traj = optim.run(optim.sr(0.02, delta), prob, w0, steps=T, rng=rng, record_every=10)
    gap = prob.loss(_avg_before_updates(traj, w0, T)).mean()
    D0 = float(np.linalg.norm(prob.minimizer))
    assert gap <= B.sr_constant_step_bound(T, 2, delta, B.estimate_G(traj.grad_sq_mean), 0.02, D0)
    sched = optim.schedules.inv_sqrt(0.5)
    for quant in ("stochastic", "deterministic"):
        tr = optim.run(optim.bc(sched, delta, quant), prob, w0, steps=T, rng=rng, record_every=10)
        D = max(B.estimate_D(tr.iterates, prob.minimizer), D0)
        gap = prob.loss(_avg_before_updates(tr, w0, T)).mean()
        assert gap <= B.bc_convex_bound(T, 2, delta, B.estimate_G(tr.grad_sq_mean), D, 0.5, prob.lipschitz, quant)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: B.lemma1_bound(0, 0.1, 0.1, 1.0), "d=0"),
        (lambda: B.sr_floor(2, -0.1, 1.0), "delta"),
        (lambda: B.sr_floor(2, 0.1, np.inf), "G"),
        (lambda: B.bc_floor(2, 0.1, 1.0, 1.0, "nearest"), "quantizer"),
        (lambda: B.bc_strong_floor(2, 0.1, 1.0), "L2"),
        (lambda: B.estimate_G([np.nan]), "finite"),
        (lambda: B.estimate_D(np.zeros((2, 3)), [0.0]), "shape"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_type_raises():
    with pytest.raises(TypeError, match="real number"):
        B.sr_floor(2, "0.1", 1.0)
