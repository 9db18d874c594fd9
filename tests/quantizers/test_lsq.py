"""LSQ reference (Esser et al. 2020, Eqs. 1 and 3) and its agreement with the nn LSQ site."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanttheory import quantizers as Q
from quanttheory.nn import layers
from quanttheory.quantizers import fast as F
from tests.strategies import lsq_steps, moderate_arrays


@settings(max_examples=40, deadline=None)
@given(moderate_arrays(), lsq_steps, st.integers(2, 8), st.booleans())
def test_lsq_is_eq1_on_the_integer_grid(x, step, bits, signed):
    q = Q.lsq(x, step=step, bits=bits, signed=signed)
    qp = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    qn = qp if signed else 0
    v = np.clip(x / step, -qn, qp)
    # Eq. 1: q/s is the nearest integer in [-Q_N, Q_P] to clip(v/s); up to the rounding of the
    # evaluation (q = Q_P s · j/Q_P), |q/s - j| is a few ulps of Q_P, and ties are skipped
    j = np.rint(q / step)
    np.testing.assert_allclose(q / step, j, rtol=0, atol=8 * np.finfo(float).eps * qp)
    away = np.abs(np.abs(v - np.floor(v)) - 0.5) > 1e-9
    assert np.all((np.abs(v - j) <= 0.5 + 1e-9)[...])
    np.testing.assert_array_equal(j[away], np.floor(v[away] + 0.5))
    # bit for bit the uniform quantizer at clip Q_P·s, and its numba twin
    np.testing.assert_array_equal(q, Q.uniform(x, alpha=qp * step, bits=bits, signed=signed))
    np.testing.assert_array_equal(F.lsq(x, step=step, bits=bits, signed=signed), q)


@settings(max_examples=40, deadline=None)
@given(moderate_arrays(), lsq_steps, st.integers(2, 8), st.booleans())
def test_lsq_step_partial_is_eq3(x, step, bits, signed):
    p = Q.lsq_partials(x, step=step, bits=bits, signed=signed)
    qp = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    qn = qp if signed else 0
    v = x / step
    # v ∈ [−Q_N, Q_P] decided in x (v underflows to −0.0 for a subnormal negative x)
    inside = (x >= -qn * step) & (x <= qp * step)
    q = Q.lsq(x, step=step, bits=bits, signed=signed)
    eq3 = np.where(inside, np.rint(q / step) - v, np.where(v > qp, qp, -qn))
    # Q_P(q/α − x/α) vs round(v/s) − v/s: the same number up to rounding of |v| ≤ Q_P
    np.testing.assert_allclose(p["step"], eq3, rtol=0, atol=16 * np.finfo(float).eps * max(qp, 1))
    np.testing.assert_array_equal(p["x"], inside.astype(float))


def test_lsq_grad_scale_and_reduction():
    x = np.random.default_rng(0).standard_normal((5, 6))
    g = Q.lsq_grad_scale(x.size, 3, True)
    assert g == 1 / np.sqrt(30 * 3)
    elem = Q.lsq_partials(x, step=0.2, bits=3, signed=True)["step"]
    red = Q.lsq_partials(x, step=0.2, bits=3, signed=True, cotangent=np.ones_like(x), grad_scale=g)
    assert red["step"].shape == ()
    assert red["step"] == pytest.approx(g * elem.sum(), rel=1e-14)


@pytest.mark.parametrize("signed", [True, False])
def test_nn_lsq_site_uses_the_reference(signed):
    x = np.random.default_rng(1).standard_normal((4, 25))
    if not signed:
        x = np.abs(x)
    learn, _ = layers.init_site("lsq", 3, x, signed=signed)
    q = layers.quantize("lsq", 3, x, learn, signed=signed)
    np.testing.assert_array_equal(q, Q.lsq(x, step=learn["step"], bits=3, signed=signed))
    g = np.random.default_rng(2).standard_normal(x.shape)
    gx, grads = layers.site_vjp("lsq", 3, x, learn, g, signed=signed, learn=("step",), per_sample=4)
    ref = Q.lsq_partials(x, step=learn["step"], bits=3, signed=signed, cotangent=g,
                         grad_scale=Q.lsq_grad_scale(x.size / 4, 3, signed))
    np.testing.assert_array_equal(gx, ref["x"])
    assert grads["step"] == pytest.approx(float(ref["step"]), rel=1e-12)


@pytest.mark.parametrize(("kw", "err", "match"), [
    ({"step": 0.0}, ValueError, "step=0.0 is out of range"),
    ({"step": [0.1, 0.2]}, TypeError, "step must be a real number"),
    ({"step": 0.1, "bits": 1}, ValueError, "bits=1 is not supported"),
    ({"step": 0.1, "signed": "yes"}, TypeError, "signed must be a bool"),
])
def test_lsq_bad_input(kw, err, match):
    with pytest.raises(err, match=match):
        Q.lsq(np.ones(3), **({"bits": 3, "signed": True} | kw))
