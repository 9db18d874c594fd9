"""quanttheory.jax as a package: the import guard, jit/grad, stochastic rounding, errors, float32."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from quanttheory import quantizers as Q

from ._helpers import jax, jnp, qj, same_bits, ulp32

# --------------------------------------------------------------------------- import guard


def test_missing_jax_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "quanttheory.jax" or m.startswith("quanttheory.jax.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "quanttheory\[jax\]"'):
        importlib.import_module("quanttheory.jax")


def test_import_quanttheory_does_not_import_jax():
    import subprocess

    code = "import sys, quanttheory, quanttheory.quantizers; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- jit and grad


def test_jit_and_grad_agree_with_eager():
    """Under jax.jit and jax.grad (and grad inside jit) the functions give the eager values: one per
    jitted core (uniform and LSQ share APoT's, round_nearest shares stochastic_round's STE; the
    "ste" backwards take the same code path; all partials are also checked eagerly above)."""
    x = np.linspace(-2.3, 2.9, 24).reshape(4, 6)
    key = jax.random.key(3)
    calls = {
        "dsq": lambda x, p: qj.dsq(x, lower=-p, upper=2 * p, bits=3, alpha=0.3),
        "apot": lambda x, p: qj.apot(x, alpha=p, bits=4, signed=True, axis=1),
        "qn": lambda x, p: qj.qn(x, levels=[0, 1, 2, 3], biases=[0.5, 1.5, 2.5], alpha=p, beta=1.0,
                                 temperature=8.0),
        "stochastic_round": lambda x, p: p * qj.stochastic_round(x, delta=0.25, key=key),
    }
    p0 = {"apot": jnp.full(6, 1.5)}
    for name, fn in calls.items():
        p = p0.get(name, jnp.asarray(1.5))

        def loss(x, p, fn=fn):
            return jnp.sum(jnp.sin(fn(x, p)))

        same_bits(jax.jit(fn)(x, p), fn(x, p))
        g_eager = jax.grad(loss, argnums=(0, 1))(x, p)
        g_jit = jax.jit(jax.grad(loss, argnums=(0, 1)))(x, p)
        for a, b in zip(g_eager, g_jit, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14, err_msg=name)
        assert np.any(np.asarray(g_eager[0]) != 0), name


def test_empty_and_scalar_inputs():
    for x in (np.zeros((0,)), np.zeros((3, 0)), np.asarray(0.7)):
        same_bits(qj.uniform(x, alpha=1.0, bits=3, signed=True), Q.uniform(x, alpha=1.0, bits=3, signed=True))
        kw = dict(lower=-1.0, upper=1.0, bits=2, alpha=0.2)
        same_bits(qj.dsq(x, **kw), Q.dsq(x, **kw))
        levels, b = [-1, 0, 1], np.array([-0.1, 0.1])
        same_bits(qj.qn(x, levels=levels, biases=b, alpha=1.0, beta=1.0, temperature=3.0, backward="ste"),
                  Q.qn(x, levels=levels, biases=b, alpha=1.0, beta=1.0, temperature=3.0, soft=False))


# --------------------------------------------------------------------------- stochastic rounding


def test_stochastic_round_same_key_same_result_and_formula():
    x = np.random.default_rng(0).normal(size=(5, 7)) * 3
    k1, k2 = jax.random.split(jax.random.key(42))
    q1 = np.asarray(qj.stochastic_round(x, delta=0.5, key=k1))
    same_bits(q1, np.asarray(qj.stochastic_round(x, delta=0.5, key=k1)))
    assert np.any(q1 != np.asarray(qj.stochastic_round(x, delta=0.5, key=k2)))
    # the reference formula with the same uniforms (the adapter draws U with jax.random.uniform)
    u = np.asarray(jax.random.uniform(k1, x.shape, dtype=jnp.float64))
    low = np.floor(x / 0.5)
    same_bits(q1, 0.5 * (low + (u < x / 0.5 - low)))
    assert np.all(np.abs(q1 - x) < 0.5) and np.all(np.isin(q1 / 0.5, np.round(q1 / 0.5)))


def test_stochastic_round_is_unbiased():
    """E[Q_s(w)] = w. N draws per value; the mean's std is Δ√(p(1−p)/N) ≤ Δ/(2√N), so a fixed key
    must land within 5 of those (P(|Z| > 5) = 6e-7 per value) — a real check, not a loose one."""
    n, delta = 20_000, 0.25
    w = np.array([-1.3, -0.26, 0.01, 0.124, 0.5, 0.83, 2.0])
    q = np.asarray(qj.stochastic_round(np.repeat(w[None, :], n, axis=0), delta=delta, key=jax.random.key(7)))
    frac = w / delta - np.floor(w / delta)
    sd = delta * np.sqrt(frac * (1 - frac) / n)
    assert np.all(np.abs(q.mean(axis=0) - w) <= 5 * sd + 1e-15)
    assert np.all(np.abs(q.mean(axis=0) - w) <= 5 * delta / (2 * np.sqrt(n)))


# --------------------------------------------------------------------------- errors


def test_static_errors_name_the_argument():
    x = jnp.ones((4, 6))
    with pytest.raises(ValueError, match="bits=9"):
        qj.apot(x, alpha=1.0, bits=9, signed=True)
    with pytest.raises(ValueError, match="bits=0"):
        qj.dsq(x, lower=0.0, upper=1.0, bits=0, alpha=0.2)
    with pytest.raises(ValueError, match="out of range for x.ndim=2"):
        qj.uniform(x, alpha=jnp.ones(4), bits=3, signed=True, axis=2)
    with pytest.raises(ValueError, match=r"alpha has shape \(5,\)"):
        qj.uniform(x, alpha=jnp.ones(5), bits=3, signed=True, axis=1)
    with pytest.raises(ValueError, match=r"step has shape \(4,\) but axis=None"):
        qj.lsq(x, step=jnp.ones(4), bits=3, signed=True)
    with pytest.raises(ValueError, match="biases"):
        qj.qn(x, levels=[-1, 0, 1], biases=jnp.ones(3), alpha=1.0, beta=1.0, temperature=1.0)
    with pytest.raises(ValueError, match="backward"):
        qj.dsq(x, lower=0.0, upper=1.0, bits=2, alpha=0.2, backward="hard")
    with pytest.raises(TypeError, match="signed"):
        qj.uniform(x, alpha=1.0, bits=3, signed="yes")
    # shapes are static: the same errors under jit
    with pytest.raises(ValueError, match=r"lower has shape \(3,\)"):
        jax.jit(lambda x, lo: qj.dsq(x, lower=lo, upper=1.0, bits=2, alpha=0.2, axis=0))(x, jnp.zeros(3))


def test_value_errors_on_eager_calls_and_nan_under_jit():
    x = np.array([0.1, np.nan])
    with pytest.raises(ValueError, match="non-finite"):
        qj.uniform(x, alpha=1.0, bits=3, signed=True)
    with pytest.raises(ValueError, match=r"alpha\[1\]=-1.0 is out of range"):
        qj.uniform(np.ones((2, 2)), alpha=np.array([1.0, -1.0]), bits=3, signed=True, axis=0)
    with pytest.raises(ValueError, match="alpha=2.5 is out of range"):
        qj.dsq(np.ones(3), lower=0.0, upper=1.0, bits=2, alpha=2.5)
    with pytest.raises(ValueError, match="lower < upper"):
        qj.dsq(np.ones(3), lower=1.0, upper=0.0, bits=2, alpha=0.2)
    with pytest.raises(ValueError, match="lower < upper"):  # per-group l (2 groups) vs per-channel u
        qj.dsq(np.ones((4, 3)), lower=np.array([0.0, 0.5]), upper=np.array([1.0, 1.0, 1.0, 0.2]), bits=2,
               alpha=0.2, axis=0)
    qj.dsq(np.ones((4, 3)), lower=np.array([0.0, 0.5]), upper=np.array([1.0, 1.0, 1.0, 0.7]), bits=2,
           alpha=0.2, axis=0)
    # documented: under jit nothing can be checked; NaN stays NaN (it is never mapped to a level)
    for fn in (lambda x: qj.uniform(x, alpha=1.0, bits=3, signed=True),
               lambda x: qj.dsq(x, lower=-1.0, upper=1.0, bits=2, alpha=0.2),
               lambda x: qj.qn(x, levels=[-1, 1], biases=[0.0], alpha=1.0, beta=1.0, temperature=2.0),
               lambda x: qj.round_nearest(x, delta=0.5)):
        out = np.asarray(jax.jit(fn)(x))
        assert np.isnan(out[1]) and np.isfinite(out[0])
        g = np.asarray(jax.jit(jax.grad(lambda x, fn=fn: jnp.sum(fn(x))))(x))
        assert np.isfinite(g[0])


# --------------------------------------------------------------------------- float32 without x64




def test_float32_without_x64():
    """Without jax_enable_x64 JAX has no float64, so the maps run in float32; the reference
    computes float32 input in float64 and rounds once. Measured on these 20 000 values (and on
    200 000 with other seeds while developing): uniform, round_nearest and the QN step map are
    exact; APoT and LSQ within 1 ulp (the level α·L is rounded twice); DSQ's level l + jΔ
    carries Δ's float32 error j times: |q − q_ref| ≤ ε₃₂(1.5(u − l) + max(|l|, |u|)) [derived:
    Δ has ≤ 2 roundings, jΔ and l + jΔ one each], measured up to 6 ulp; the QN sigmoid map
    within 1.05 ε₃₂·α(Σ|s_i| + |o|) (asserted 2). A level decided on a float32 x/α or t may
    differ from the reference's float64 decision within a few ulp of a midpoint (none occur in
    this sample; such an input would fail the bounds below, which are far below one step)."""
    eps32 = float(np.finfo(np.float32).eps)
    x = (np.random.default_rng(11).normal(size=20_000) * 2).astype(np.float32)
    a32 = np.float32(1.1)
    with jax.enable_x64(False):
        assert qj.uniform(x, alpha=a32, bits=4, signed=True).dtype == jnp.float32
        kw = dict(alpha=a32, bits=4, signed=True)
        assert ulp32(qj.uniform(x, **kw), Q.uniform(x, **kw)).max() == 0
        d32 = np.float32(0.3)
        assert ulp32(qj.round_nearest(x, delta=d32), Q.round_nearest(x, float(d32))).max() == 0
        for signed in (True, False):
            kw = dict(alpha=a32, bits=4, signed=signed)
            assert ulp32(qj.apot(x, **kw), Q.apot(x, **kw)).max() <= 1
            assert ulp32(qj.lsq(x, step=np.float32(0.3), bits=4, signed=signed),
                         Q.lsq(x, step=np.float32(0.3), bits=4, signed=signed)).max() <= 1
        lo, hi = np.float32(-1.3), np.float32(1.7)
        for bits in (2, 4, 8):
            got = np.asarray(qj.dsq(x, lower=lo, upper=hi, bits=bits, alpha=np.float32(0.2)), np.float64)
            want = Q.dsq(x, lower=lo, upper=hi, bits=bits, alpha=0.2).astype(np.float64)
            assert np.max(np.abs(got - want)) <= eps32 * (1.5 * (float(hi) - float(lo)) + max(abs(lo), abs(hi)))
        kw = dict(levels=[-1, 0, 1], biases=np.array([-0.3, 0.4], np.float32), alpha=np.float32(0.8),
                  beta=np.float32(1.2), temperature=np.float32(10.0))
        same_bits(np.asarray(qj.qn(x, **kw, backward="ste"), np.float64), Q.qn(x, **kw, soft=False))
        assert np.max(np.abs(np.asarray(qj.qn(x, **kw), np.float64) - Q.qn(x, **kw))) <= 2 * eps32 * 0.8 * 3
