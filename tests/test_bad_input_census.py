"""The bad-input census (tests/bad_input_census.py) finds no silent and no unclear case, and the
reordered arithmetic gives the right finite answers where one exists."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from quanttheory import optim, problems
from quanttheory import quantizers as Q
from quanttheory.optim import schedules

sys.path.insert(0, str(Path(__file__).parent))
import bad_input_census as census  # noqa: E402

CASES = census.cases()


def test_census_is_large():
    assert len(CASES) >= 700


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.cls}:{c.label}")
def test_no_silent_or_unclear_case(case):
    outcome, detail = census.classify(case)
    assert outcome == "ok", f"{outcome}: {detail}"


def test_apot_normalize_near_float64_limit_matches_scaled_answer():
    w = np.array([1.5e308, -1.0e308, 2.0e307])
    expected = Q.apot_normalize(w / 1e300, eps=1e-305)  # same problem, scaled into range
    np.testing.assert_allclose(Q.apot_normalize(w), expected, rtol=1e-12)
    np.testing.assert_array_equal(Q.apot_normalize([1e308, 1e308]), [0.0, 0.0])


def test_qn_with_levels_near_float64_limit_is_scaled_qn():
    big = 1.797e308
    kw = dict(biases=[-0.05, 0.05], alpha=1.0, beta=1.0, temperature=3.0)
    x = np.array([-2.0, -0.01, 0.3, 4.0])
    np.testing.assert_allclose(Q.qn(x, levels=[-big, 0.0, big], **kw),
                               big * Q.qn(x, levels=[-1.0, 0.0, 1.0], **kw), rtol=1e-12)


@pytest.mark.parametrize("bad", ["False", "True", 0, 1, None])
def test_signed_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="signed must be a bool"):
        Q.uniform([0.5], alpha=1.0, bits=3, signed=bad)
    assert Q.uniform([-0.5], alpha=1.0, bits=3, signed=np.bool_(False))[0] == 0.0


def test_complex_levels_refused_without_warning():
    with pytest.raises(TypeError, match="levels must be real"):
        Q.qn_steps(np.array([-1, 0, 1], dtype=complex))


def test_problem_overflow_names_w():
    prob = problems.Quadratic([1.0, 2.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"Quadratic.loss\(w\) overflows float64 at w with max\|w\| = 1e\+308"):
        prob.loss(np.array([[1e308, 1e308]]))
    assert np.all(np.isfinite(prob.loss(np.array([[1e100, 1e100]]))))


def test_random_constructors_share_one_signature(rng):
    a = problems.LeastSquares.random(20, 3, np.random.default_rng(1), noise=0.5)
    b = problems.LogisticRegression.random(20, 3, np.random.default_rng(1), l2=0.1)
    assert a.A.shape == b.X.shape == (20, 3)
    with pytest.raises(ValueError, match="n=0"):
        problems.LeastSquares.random(0, 3, rng)


def test_schedule_reciprocal_and_steps():
    with pytest.raises(ValueError, match="mu=5e-324 is too small"):
        schedules.inverse_time(5e-324)
    with pytest.raises(ValueError, match="t=-1"):
        schedules.inv_sqrt(1.0)(-1)
    assert schedules.inverse_time(1e-308)(0) == pytest.approx(1e308)


@pytest.mark.parametrize("grads", [np.full((2, 3), np.nan), np.ones((2, 3)) * 1j, np.ones((3, 2)),
                                   [[1.0, 2.0, 3.0], [1.0]]])
def test_rule_update_validates_grads_like_run(grads):
    rule = optim.sgd(0.1)
    w = np.zeros((2, 3))
    with pytest.raises((ValueError, TypeError), match="grads"):
        rule.update(grads, rule.init(w), w)


def test_trajectory_records_a_loss_curve(rng):
    prob = problems.Quadratic([1.0, 2.0], [0.3, -0.2], noise_sigma=0.5)
    traj = optim.run(optim.sr(0.05, 0.1), prob, np.ones((3, 2)), steps=40, rng=rng, record_every=10)
    assert traj.loss_curve.shape == traj.deployed_loss_curve.shape == (4, 3)
    np.testing.assert_array_equal(traj.loss_curve[-1], prob.loss(traj.final))
    np.testing.assert_array_equal(traj.loss_curve[1], prob.loss(traj.iterates[1]))
    assert traj.loss_curve[-1].mean() < prob.loss(np.ones((3, 2))).mean()


def test_optimal_alpha_is_in_the_library_and_reexported():
    from quanttheory.experiments import apot_levels

    assert apot_levels.optimal_alpha is Q.optimal_alpha and apot_levels.quantize is Q.project_levels
    with pytest.raises(ValueError, match="n_grid"):
        Q.optimal_alpha([0.1, 0.2], [-1.0, 0.0, 1.0], n_grid=2)
    with pytest.raises(ValueError, match="levels"):
        Q.project_levels([0.1], 1.0, [1.0, 0.0])
