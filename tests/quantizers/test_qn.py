import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanttheory import quantizers as Q

LEVEL_SETS = [[-1, 1], [-1, 0, 1], [-2, -1, 0, 1, 2], [-4, -2, -1, 0, 1, 2, 4], [0, 1, 2, 3]]


def test_steps_and_offset_golden():
    s, o = Q.qn_steps([-4, -3, -2, -1, 0, 1, 2, 3, 4][::1])
    s2, o2 = Q.qn_steps([-4, -2, -1, 0, 1, 2, 4])
    np.testing.assert_array_equal(s2, [2, 1, 1, 1, 1, 2])
    assert o2 == 4 and o == 4 and Q.qn_steps([0, 1, 2, 3])[1] == 0


def _params(levels, seed=0):
    x = np.random.default_rng(seed).normal(size=2000)
    return x, Q.qn_init(x, levels)


@pytest.mark.parametrize("levels", LEVEL_SETS)
def test_step_map_outputs_levels_and_init(levels):
    x, (b, a, beta) = _params(levels)
    assert np.isclose(beta, 5 * max(map(abs, levels)) / (4 * np.abs(x).max())) and a == 1 / beta
    assert b.shape == (len(levels) - 1,) and np.all(np.diff(b) > 0)
    y = Q.qn(x, levels=levels, biases=b, alpha=1.0, beta=beta, temperature=1.0, soft=False)
    assert np.all(np.isin(y, levels))
    assert np.all(np.diff(Q.qn(np.sort(x), levels=levels, biases=b, alpha=1.0, beta=beta,
                               temperature=1.0, soft=False)) >= 0)


def test_binary_and_ternary_biases():
    assert np.array_equal(Q.qn_init([0.3, -1.0], [-1, 1])[0], [0.0])
    assert np.array_equal(Q.qn_init([0.3, -1.0], [-1, 0, 1])[0], [-0.05, 0.05])


@pytest.mark.parametrize("levels", LEVEL_SETS)
def test_soft_to_step_limit_pointwise_away_from_biases(levels):
    x, (b, a, beta) = _params(levels, 1)
    keep = np.min(np.abs(beta * x[:, None] - b), axis=1) > 1e-3
    kw = dict(levels=levels, biases=b, alpha=a, beta=beta)
    soft = Q.qn(x[keep], temperature=1e6, **kw)
    hard = Q.qn(x[keep], temperature=1.0, soft=False, **kw)
    np.testing.assert_allclose(soft, hard, atol=1e-9)
    with np.errstate(all="raise"):  # no overflow warnings at huge temperatures
        Q.qn(x, temperature=1e12, **kw)


@given(st.sampled_from(LEVEL_SETS), st.floats(0.5, 30), st.floats(0.3, 3), st.floats(0.3, 3),
       st.integers(0, 1000))
def test_partials_match_finite_differences(levels, T, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=30)
    b = np.sort(rng.normal(size=len(levels) - 1))
    kw = dict(levels=levels, biases=b, alpha=alpha, beta=beta, temperature=T)
    p = Q.qn_partials(x, **kw)
    h = 1e-6 / T

    def fd(**d):
        up = {**kw, **{k: kw[k] + v for k, v in d.items() if k != "x"}}
        dn = {**kw, **{k: kw[k] - v for k, v in d.items() if k != "x"}}
        dx = d.get("x", 0.0)
        return (Q.qn(x + dx, **up) - Q.qn(x - dx, **dn)) / (2 * h)

    scale = alpha * (beta + 1) * T * sum(np.diff(levels)) + 1
    np.testing.assert_allclose(fd(x=h), p["x"], atol=1e-5 * scale)
    np.testing.assert_allclose(fd(alpha=h), p["alpha"], atol=1e-5 * scale)
    np.testing.assert_allclose(fd(beta=h), p["beta"], atol=1e-5 * scale * (1 + np.abs(x).max()))
    for i in range(b.size):
        e = np.zeros_like(b)
        e[i] = h
        np.testing.assert_allclose(fd(biases=e), p["biases"][:, i], atol=1e-5 * scale)
    assert p["biases"].shape == x.shape + (b.size,)


def test_integral_of_slope_is_alpha_times_total_step():
    levels, b = [-2, -1, 0, 1, 2], np.array([-1.5, -0.5, 0.5, 1.5])
    for T in (1.0, 5.0, 50.0):
        xs = np.linspace(-40, 40, 400001)
        d = Q.qn_partials(xs, levels=levels, biases=b, alpha=0.7, beta=1.0, temperature=T)["x"]
        integral = np.sum((d[1:] + d[:-1]) / 2 * np.diff(xs))
        assert abs(integral - 0.7 * 4) < 1e-4


def test_temperature_schedule_and_bad_inputs():
    assert Q.qn_temperature(3, rate=10) == 30
    with pytest.raises(ValueError, match="epoch"):
        Q.qn_temperature(0, rate=10)
    with pytest.raises(ValueError, match="strictly increasing"):
        Q.qn([0.0], levels=[1, 0], biases=[0.0], alpha=1, beta=1, temperature=1)
    with pytest.raises(ValueError, match="one bias per step"):
        Q.qn([0.0], levels=[-1, 0, 1], biases=[0.0], alpha=1, beta=1, temperature=1)
    with pytest.raises(ValueError, match="non-zero"):
        Q.qn_init(np.zeros(4), [-1, 0, 1])


@given(st.sampled_from(LEVEL_SETS), st.floats(0.1, 1e4), st.integers(0, 1000))
def test_soft_map_monotone_and_inside_the_level_range(levels, T, seed):
    x, (b, a, beta) = _params(levels, seed)
    xs = np.sort(x)
    y = Q.qn(xs, levels=levels, biases=b, alpha=a, beta=beta, temperature=T)
    assert np.all(np.diff(y) >= 0)
    assert np.all((y >= a * levels[0]) & (y <= a * levels[-1]))
