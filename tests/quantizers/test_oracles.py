"""Independent oracles: QN partials against 60-digit decimal arithmetic, and extreme parameters
that must not produce warnings or NaN (every warning is an error in these tests)."""

import warnings
from decimal import Decimal, getcontext

import numpy as np
import pytest

from quanttheory import quantizers as Q

QN_SETS = [[-1, 1], [-1, 0, 1], [-2, -1, 0, 1, 2], [-4, -2, -1, 0, 1, 2, 4], [0, 1], [0, 1, 2, 3]]


def _sigmoid(z: Decimal) -> Decimal:
    if abs(z) > 200:  # σ is 0 or 1 to far beyond 60 digits; avoids a huge exp()
        return Decimal(int(z > 0))
    return 1 / (1 + (-z).exp())


def _qn_decimal(x, levels, biases, alpha, beta, temperature):
    """QN soft map y = α(Σ s_i σ(T(βx − b_i)) − o) in decimal arithmetic [Yang et al. 2019, Eq. 3]."""
    steps = [Decimal(b - a) for a, b in zip(levels[:-1], levels[1:], strict=True)]
    total = sum(s * _sigmoid(temperature * (beta * x - b)) for s, b in zip(steps, biases, strict=True))
    return alpha * (total + Decimal(levels[0]))


@pytest.mark.parametrize("levels", QN_SETS)
def test_qn_partials_against_decimal_central_differences(levels):
    getcontext().prec = 60
    rng = np.random.default_rng(len(levels))
    h = Decimal(10) ** -25  # truncation error ~h² is far below float64 resolution
    for _ in range(15):
        biases = np.sort(rng.uniform(-2, 2, len(levels) - 1))
        x, alpha, beta = rng.uniform(-3, 3), rng.uniform(0.1, 3), rng.uniform(0.1, 3)
        temperature = 10 ** rng.uniform(-1, 2)
        got = Q.qn_partials([x], levels=levels, biases=biases, alpha=alpha, beta=beta,
                            temperature=temperature)
        point = {"x": Decimal(x), "alpha": Decimal(alpha), "beta": Decimal(beta),
                 "temperature": Decimal(temperature), "biases": [Decimal(b) for b in biases]}

        def central(name, i=None, point=point):
            def at(sign):
                p = {**point, "biases": list(point["biases"])}
                if i is None:
                    p[name] += sign * h
                else:
                    p["biases"][i] += sign * h
                return _qn_decimal(p["x"], levels, p["biases"], p["alpha"], p["beta"],
                                   p["temperature"])
            return float((at(1) - at(-1)) / (2 * h))

        for name in ("x", "alpha", "beta"):
            assert got[name][0] == pytest.approx(central(name), rel=1e-12, abs=1e-12), name
        for i in range(len(biases)):
            assert got["biases"][0, i] == pytest.approx(central("biases", i), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("fun", [Q.uniform_partials, Q.apot_partials])
@pytest.mark.parametrize("signed", [True, False])
def test_clip_partials_at_subnormal_alpha_warn_nothing(fun, signed):
    x = np.array([-3.0, 0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = fun(x, alpha=1e-320, bits=3, signed=signed)
    # only x = 0 is inside [−α, α]; there q = 0, so ∂α = q/α − x/α = 0
    expected = [-1.0, 0.0, 1.0] if signed else [0.0, 0.0, 1.0]
    np.testing.assert_array_equal(p["alpha"], expected)
    np.testing.assert_array_equal(p["x"], [0.0, 1.0, 0.0])


def test_qn_partials_with_overflowing_scale_products_give_no_nan():
    # αβT = 1e310 overflows float64, but every σ(1 − σ) here is exactly 0: the partials are 0
    x = np.array([-3e-10, -1e-11, 1e-11, 3e-10])  # βx = ±3, ±0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = Q.qn_partials(x, levels=[-1, 0, 1], biases=[-0.5, 0.5], alpha=1.0, beta=1e10,
                          temperature=1e300)
    for name in ("x", "beta", "biases"):
        np.testing.assert_array_equal(p[name], np.zeros_like(p[name]))
    np.testing.assert_array_equal(p["alpha"], [-1.0, 0.0, 0.0, 1.0])
