"""run(): the numba loop equals the numpy reference bit for bit; shapes, determinism, bad input."""

import numpy as np
import pytest

from quanttheory import optim
from quanttheory import problems as P

FIELDS = ("iterates", "deployed", "average", "deployed_average", "final", "final_deployed", "grad_sq_mean",
          "loss_of_average")


_fp4 = optim.rules.Q.FloatFormat("e2m1", saturate=True)
_fp6 = optim.rules.Q.FloatFormat("e3m2", saturate=True)


def _rules():
    s = optim.schedules.inv_sqrt(0.3)
    return {
        "sgd": optim.sgd(s), "r": optim.rounded(s, 0.1), "sr": optim.sr(s, 0.1),
        "bc-s": optim.bc(s, 0.1), "bc-d-clip": optim.bc(s, 0.1, "deterministic", clip=0.5),
        "r-binary": optim.rounded(s, "binary"), "sr-binary": optim.sr(s, "binary"),
        "bc-binary": optim.bc(s, "binary", "deterministic"), "adam": optim.adam(0.05),
        "r_adam": optim.r_adam(0.05, 0.1), "sr_adam": optim.sr_adam(0.05, 0.1),
        "bc_adam": optim.bc_adam(0.05, "binary"),
        "sr-decay": optim.sr(optim.schedules.step_decay(0.2, 7, 0.5), 0.05),
        "r-bf16": optim.rounded(s, "bf16"), "sr-e4m3": optim.sr(s, "e4m3"), "sr-e2m1": optim.sr(s, _fp4),
        "kahan-bf16": optim.kahan(s, "bf16"), "kahan-fixed": optim.kahan(s, 0.01),
        "bc-bf16": optim.bc(s, "bf16"), "bc-e5m2-d": optim.bc(s, "e5m2", "deterministic"),
        "sr_adam-fp16": optim.sr_adam(0.05, "fp16"), "r_adam-e3m2": optim.r_adam(0.05, _fp6),
    }


def _problems():
    rng = np.random.default_rng(3)
    return {"quadratic": P.Quadratic([[1.0, 0.3, 0.0], [0.3, 2.0, 0.1], [0.0, 0.1, 0.5]], [0.3, -0.2, 0.1], 1.0),
            "least-squares": P.LeastSquares.random(30, 3, rng, noise=0.5), "multiwell": P.MultiWell(3, 1.0)}


@pytest.mark.parametrize("batch", [2, None])
@pytest.mark.parametrize("problem", list(_problems()))
@pytest.mark.parametrize("rule", list(_rules()))
def test_numba_equals_numpy_bit_for_bit(rule, problem, batch):
    r, p = _rules()[rule], _problems()[problem]
    w0 = 0.5 * np.random.default_rng(5).standard_normal((3, p.dim))
    kw = dict(steps=60, batch_size=batch, record_every=20)
    a = optim.run(r, p, w0, rng=np.random.default_rng(1), **kw)
    b = optim.run(r, p, w0, rng=np.random.default_rng(1), backend="numba", **kw)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.mark.parametrize("rule", ["sgd", "adam", "bc-s"])
def test_numba_matches_numpy_to_rounding_on_logistic(rule):
    # np.exp (SIMD) and libm exp differ by ≤ 1 ulp: equal to rounding, not bitwise (documented)
    p = P.LogisticRegression.random(40, 3, np.random.default_rng(0))
    w0 = np.zeros((3, 3))
    a = optim.run(_rules()[rule], p, w0, steps=60, rng=np.random.default_rng(1), batch_size=4)
    b = optim.run(_rules()[rule], p, w0, steps=60, rng=np.random.default_rng(1), batch_size=4, backend="numba")
    np.testing.assert_allclose(a.average, b.average, rtol=1e-12, atol=1e-14)


def test_same_seed_same_result_and_shapes():
    p = P.MultiWell2D(0.5)
    w0 = np.zeros((4, 2))
    a = optim.run(optim.sr(0.1, 0.2), p, w0, steps=50, rng=np.random.default_rng(7), record_every=10)
    b = optim.run(optim.sr(0.1, 0.2), p, w0, steps=50, rng=np.random.default_rng(7), record_every=10)
    c = optim.run(optim.sr(0.1, 0.2), p, w0, steps=50, rng=np.random.default_rng(8), record_every=10)
    np.testing.assert_array_equal(a.iterates, b.iterates)
    assert not np.array_equal(a.iterates, c.iterates)
    assert a.iterates.shape == a.deployed.shape == (5, 4, 2)
    np.testing.assert_array_equal(a.steps, [10, 20, 30, 40, 50])
    assert a.average.shape == (4, 2) and a.grad_sq_mean.shape == (4,) and a.gap_of_average.shape == (4,)
    assert np.all(w0 == 0)  # input untouched


def test_average_is_the_mean_of_all_iterates():
    p = P.Quadratic([1.0], [0.3], 1.0)
    t = optim.run(optim.sgd(0.1), p, np.zeros((2, 1)), steps=40, rng=np.random.default_rng(0), record_every=1)
    window = np.concatenate([np.zeros((1, 2, 1)), t.iterates[:-1]])  # w_0 … w_{T−1}, as the bounds
    np.testing.assert_allclose(t.average, window.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(t.final, t.iterates[-1])


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(w0=np.array([[np.nan, 0.0]])), ValueError, "non-finite"),
    (dict(w0=np.zeros((2, 3))), ValueError, "shape"),
    (dict(steps=0), ValueError, "steps=0"),
    (dict(record_every=-1), ValueError, "record_every"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(backend="cuda"), ValueError, "backend='cuda'"),
    (dict(rng=0), TypeError, "Generator"),
])
def test_bad_run_arguments(kwargs, exc, match):
    args = dict(w0=np.zeros((2, 2)), steps=5, rng=np.random.default_rng(0))
    args.update(kwargs)
    w0 = args.pop("w0")
    with pytest.raises(exc, match=match):
        optim.run(optim.sgd(0.1), P.Quadratic([1.0, 1.0], [0.0, 0.0], 1.0), w0, **args)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_divergence_is_an_error_not_a_nan(backend):
    p = P.Quadratic([1.0], [0.0])
    with pytest.raises(FloatingPointError, match="diverged"):
        optim.run(optim.sgd(3.0), p, np.ones((1, 1)), steps=2000, rng=np.random.default_rng(0),
                  batch_size=None, backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sr_divergence_is_an_error_too(backend):
    p = P.Quadratic([1.0], [0.0])
    with pytest.raises(FloatingPointError, match="diverged"):
        optim.run(optim.sr(3.0, 0.1), p, np.ones((1, 1)), steps=2000, rng=np.random.default_rng(0),
                  batch_size=None, backend=backend)


def test_scalar_only_schedules_work_on_both_backends():
    def piecewise(t):  # a plain Python schedule (not vectorisable: `if` on an array raises)
        return 0.2 if t < 10 else 0.02

    p = P.Quadratic([1.0], [0.3], 1.0)
    a = optim.run(optim.sr(piecewise, 0.1), p, np.zeros((2, 1)), steps=30, rng=np.random.default_rng(0))
    b = optim.run(optim.sr(piecewise, 0.1), p, np.zeros((2, 1)), steps=30, rng=np.random.default_rng(0),
                  backend="numba")
    np.testing.assert_array_equal(a.average, b.average)
