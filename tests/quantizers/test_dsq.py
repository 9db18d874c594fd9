import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from tests.strategies import dsq_alphas, dsq_ranges, moderate_arrays


@given(moderate_arrays(), dsq_ranges(), st.integers(1, 5), dsq_alphas)
def test_hard_map_is_nearest_grid_point_independent_of_alpha(x, lu, bits, alpha):
    lower, upper = lu
    q = Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=alpha)
    grid = np.linspace(lower, upper, 2**bits)
    d = np.clip(x, lower, upper)
    np.testing.assert_allclose(np.abs(q - d), np.abs(d[..., None] - grid).min(axis=-1),
                               atol=1e-9 * (upper - lower))
    np.testing.assert_array_equal(q, Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=0.3))
    assert np.all(np.diff(Q.dsq(np.sort(x.ravel()), lower=lower, upper=upper, bits=bits, alpha=alpha)) >= 0)


def test_hard_map_tie_at_centre_goes_up_and_binary_threshold():
    # l = 0, u = 3, b = 2: grid {0, 1, 2, 3}, centres 0.5, 1.5, 2.5
    np.testing.assert_array_equal(
        Q.dsq([0.5, 1.5, 2.5, 2.49], lower=0, upper=3, bits=2, alpha=0.2), [1, 2, 3, 2])
    np.testing.assert_array_equal(
        Q.dsq([-1, 0.49, 0.5, 9], lower=0, upper=1, bits=1, alpha=0.2), [0, 0, 1, 1])


@given(moderate_arrays(), dsq_ranges(), st.integers(1, 4), dsq_alphas)
def test_soft_map_range_monotone_and_symmetry(x, lu, bits, alpha):
    lower, upper = lu
    kw = dict(lower=lower, upper=upper, bits=bits, soft=True)
    q = Q.dsq(x, alpha=alpha, **kw)
    assert np.all((q >= lower - 1e-9) & (q <= upper + 1e-9))
    assert np.all(np.diff(Q.dsq(np.sort(x.ravel()), alpha=alpha, **kw)) >= -1e-12)
    np.testing.assert_allclose(q, Q.dsq(x, alpha=2 - alpha, **kw), atol=1e-9 * (upper - lower))


def test_soft_map_hits_grid_points_at_interval_edges():
    grid = np.linspace(-1, 2, 8)
    np.testing.assert_allclose(Q.dsq(grid, lower=-1, upper=2, bits=3, alpha=0.2, soft=True), grid,
                               atol=1e-12)


def test_alpha_one_is_identity_on_the_range():
    x = np.linspace(-1, 1, 101)
    np.testing.assert_allclose(Q.dsq(x, lower=-1, upper=1, bits=2, alpha=1.0, soft=True), x)


@pytest.mark.parametrize("alpha", [0.5, 0.2, 1e-2, 1e-4, 1e-8])
def test_soft_to_hard_limit_follows_the_logarithmic_bound(alpha):
    # at normalised distance δ from a centre the gap to the hard map is (Δ/2)(1 − s·tanh(K|δ|))
    lower, upper, bits = 0.0, 3.0, 2
    delta = 1.0
    dist = np.array([0.05, 0.1, 0.25, 0.4])
    x = 1.5 + dist  # interval i = 1, centre 1.5
    gap = np.abs(Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=alpha, soft=True)
                 - Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=alpha))
    K, s = np.log(2 / alpha - 1), 1 / (1 - alpha)
    np.testing.assert_allclose(gap, delta / 2 * (1 - s * np.tanh(K * dist)), atol=1e-12)


def test_mean_slope_over_each_interval_is_one():
    lower, upper, bits, alpha = -1.0, 1.0, 2, 0.1
    n, delta = 3, 2 / 3
    for i in range(n):
        xs = np.linspace(lower + i * delta, lower + (i + 1) * delta, 20001)
        slope = Q.dsq_partials(xs, lower=lower, upper=upper, bits=bits, alpha=alpha)["x"]
        integral = np.sum((slope[1:] + slope[:-1]) / 2 * np.diff(xs))
        assert abs(integral - delta) < 1e-6


def _fd(fun, h=1e-6):
    return (fun(h) - fun(-h)) / (2 * h)


@given(st.integers(1, 4), dsq_alphas.filter(lambda a: a < 0.95 or a > 1.05), st.integers(0, 2**32 - 1))
def test_partials_match_central_finite_differences(bits, alpha, seed):
    rng = np.random.default_rng(seed)
    lower, upper = -0.7, 1.3
    x = rng.uniform(lower - 0.5, upper + 0.5, 40)
    x = x[(np.abs(x - lower) > 1e-3) & (np.abs(x - upper) > 1e-3)]  # away from the two kinks
    p = Q.dsq_partials(x, lower=lower, upper=upper, bits=bits, alpha=alpha)

    def f(**kw):
        args = dict(lower=lower, upper=upper, bits=bits, alpha=alpha, soft=True)
        xx = x + kw.pop("dx", 0.0)
        args.update({k: args[k] + v for k, v in kw.items()})
        return Q.dsq(xx, **args)

    scale = max(1.0, float(np.max(np.abs(p["x"]))))
    # FD error ~ h² f''' with f''' up to ~K³s/Δ³: h is scaled with the steepest slope
    h = 1e-7 / scale
    tol = 1e-4 * scale
    np.testing.assert_allclose(_fd(lambda e: f(dx=e), h), p["x"], atol=tol)
    np.testing.assert_allclose(_fd(lambda e: f(lower=e), h), p["lower"], atol=tol)
    np.testing.assert_allclose(_fd(lambda e: f(upper=e), h), p["upper"], atol=tol)
    np.testing.assert_allclose(_fd(lambda e: f(alpha=e), h * 1e-1), p["alpha"], atol=tol * 10)


@given(moderate_arrays(), dsq_ranges(), st.integers(1, 4), dsq_alphas)
def test_partial_identities(x, lu, bits, alpha):
    lower, upper = lu
    if x.size == 0:
        return
    p = Q.dsq_partials(x, lower=lower, upper=upper, bits=bits, alpha=alpha)
    q = Q.dsq(x, lower=lower, upper=upper, bits=bits, alpha=alpha, soft=True)
    scale = 1 + np.abs(p["x"]) * (np.abs(x) + abs(lower) + abs(upper))
    np.testing.assert_allclose(p["x"] + p["lower"] + p["upper"], 1.0, atol=1e-9 * scale.max())
    np.testing.assert_allclose(x * p["x"] + lower * p["lower"] + upper * p["upper"], q,
                               atol=1e-8 * scale.max() * (1 + np.abs(x).max()))


@pytest.mark.parametrize("alpha", [0.0, -0.1, 2.0, 2.5, float("nan")])
def test_alpha_out_of_range_raises(alpha):
    with pytest.raises(ValueError, match="alpha"):
        Q.dsq([0.1], lower=0, upper=1, bits=2, alpha=alpha)


@pytest.mark.parametrize("lower,upper", [(1.0, 1.0), (2.0, 1.0)])
def test_lower_must_be_below_upper(lower, upper):
    with pytest.raises(ValueError, match="lower < upper"):
        Q.dsq_partials([0.1], lower=lower, upper=upper, bits=2, alpha=0.2)


@given(moderate_arrays(), st.floats(0.1, 10), st.integers(1, 4), dsq_alphas)
def test_symmetric_range_gives_odd_maps(x, u, bits, alpha):
    kw = dict(lower=-u, upper=u, bits=bits, alpha=alpha)
    np.testing.assert_allclose(Q.dsq(-x, soft=True, **kw), -Q.dsq(x, soft=True, **kw),
                               atol=1e-12 * u)
    # the hard map is odd except exactly at centres, where ties go up (not away from zero)
    n = 2**bits - 1
    t = (np.clip(x, -u, u) + u) / (2 * u / n)
    away = np.abs(t - np.floor(t) - 0.5) > 1e-9
    np.testing.assert_allclose(Q.dsq(-x, **kw)[away], -Q.dsq(x, **kw)[away], atol=1e-12 * u)
