"""numba fast path of :func:`quanttheory.optim.run`: the whole loop in one compiled function.

It mirrors the numpy reference (``rules.py``, ``run.py``, the problems' ``grad``) operation by
operation: the same arithmetic in the same order (sums left to right, as the reference's
``seq_sum``; no ``fastmath``, so no reassociation or FMA contraction), and the same draws from
the same Generator in the same order (element by element in C order, which numba's Generator
methods produce identically to numpy's array draws). Hence bit-identical results, which the
tests check for every rule on several problems. The one exception is ``np.exp`` (SIMD in numpy,
libm here, ≤ 1 ulp apart), used only by LogisticRegression.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..problems.convex import LEAST_SQUARES, LOGISTIC, MULTIWELL, QUADRATIC
from ..quantizers._kernels import (
    round_float_scalar,
    round_nearest_scalar,
    stochastic_round_float_scalar,
    stochastic_round_scalar,
)
from ._pcg64 import get_state, next_double, set_state
from .rules import MAX_GRID_INDEX

KINDS = {"sgd": 0, "r": 1, "sr": 2, "bc": 3, "kahan": 4}
NO_FORMAT = np.zeros(5)  # fmt array of a fixed-point rule: [used, man_bits, emin, max_value, saturate]


def format_array(rule):
    """The rule's FloatFormat as the float64 array the loop takes (NO_FORMAT for a ΔZ grid)."""
    if rule.fmt is None:
        return NO_FORMAT
    man_bits, emin, max_value, saturate = rule.fmt.kernel_args()
    return np.array([1.0, man_bits, emin, max_value, float(saturate)])


@njit(cache=True)
def _quantize(x, delta, binary, stochastic, rng, fmt):
    if fmt[0] != 0.0:
        m, e, top, sat = int(fmt[1]), int(fmt[2]), fmt[3], fmt[4] != 0.0
        if stochastic:
            return stochastic_round_float_scalar(x, m, e, top, sat, rng.random())
        return round_float_scalar(x, m, e, top, sat)
    if binary:
        if stochastic:
            p = min(max((x + 1.0) / 2.0, 0.0), 1.0)  # hard sigmoid, as np.clip
            return 1.0 if rng.random() < p else -1.0
        return 1.0 if x >= 0 else -1.0
    if stochastic:
        return stochastic_round_scalar(x, delta, rng.random())
    return round_nearest_scalar(x, delta)


@njit(cache=True)
def _finite_sum_grad(kind, M, v, l2, w, idx, g):
    """LeastSquares (kind 1) / LogisticRegression (kind 2) minibatch gradient over rows idx."""
    chains, d = w.shape
    nb = idx.shape[1]
    r = np.empty(nb)
    for c in range(chains):
        for k in range(nb):
            i = idx[c, k]
            acc = M[i, 0] * w[c, 0]
            for j in range(1, d):
                acc += M[i, j] * w[c, j]
            if kind == LEAST_SQUARES:
                r[k] = acc - v[i]
            else:
                z = acc * v[i]
                e = math.exp(-abs(z))
                s = e / (1.0 + e) if z >= 0 else 1.0 / (1.0 + e)
                r[k] = (-v[i]) * s
        for j in range(d):
            acc = M[idx[c, 0], j] * r[0]
            for k in range(1, nb):
                acc += M[idx[c, k], j] * r[k]
            g[c, j] = acc / nb
            if kind == LOGISTIC:
                g[c, j] = g[c, j] + l2 * w[c, j]


@njit(cache=True)
def _grad(kind, M, v, s, w, rng, batch, g):
    """Fill g with the stochastic gradient at w, drawing exactly what the numpy problem draws."""
    chains, d = w.shape
    if kind == QUADRATIC or kind == MULTIWELL:
        for c in range(chains):
            for i in range(d):
                if kind == QUADRATIC:
                    acc = M[i, 0] * (w[c, 0] - v[0])
                    for j in range(1, d):
                        acc += M[i, j] * (w[c, j] - v[j])
                    g[c, i] = acc
                else:
                    g[c, i] = (2.0 * s[1]) * w[c, i] + s[2] * math.sin((2.0 * s[2]) * w[c, i])
        if batch > 0:
            scale = s[0] / math.sqrt(batch)
            for c in range(chains):
                for i in range(d):
                    g[c, i] = g[c, i] + scale * rng.standard_normal()
        return
    n = M.shape[0]
    if batch > 0:
        idx = np.empty((chains, batch), dtype=np.int64)
        for c in range(chains):
            for k in range(batch):
                idx[c, k] = rng.integers(0, n)
    else:
        idx = np.empty((chains, n), dtype=np.int64)
        for c in range(chains):
            for k in range(n):
                idx[c, k] = k
    _finite_sum_grad(kind, M, v, s[0], w, idx, g)


@njit(cache=True)
def _diverged(u, rule, delta, fmt):
    """The divergence tests of Rule._quantize (ΔZ: |u|/Δ ≥ 2^62; float format: |u| > max, unsaturated)."""
    if not math.isfinite(u):
        return True
    if fmt[0] != 0.0:
        return rule != 0 and rule != 3 and fmt[4] == 0.0 and abs(u) > fmt[3]
    return rule != 0 and not abs(u / delta) < MAX_GRID_INDEX


@njit(cache=True)
def _kahan_one(w, step, c, delta, fmt, rng):
    """Rule._kahan for one coordinate: (new w or NaN if diverged, new compensation)."""
    y = -step - c
    if _diverged(y, 4, delta, fmt) or _diverged(w + y, 4, delta, fmt):
        return math.nan, c
    y = _quantize(y, delta, False, False, rng, fmt)
    s = _quantize(w + y, delta, False, False, rng, fmt)
    t = (s - w) - y
    if _diverged(t, 4, delta, fmt):
        return math.nan, c
    return s, _quantize(t, delta, False, False, rng, fmt)


@njit(cache=True)
def _update_one(w, g, m, n, c, alpha, c1, c2, rule, delta, binary, clip, adam, b1, b2, eps, rng, fmt):
    """One coordinate of Rule.update: (new w or NaN if diverged, new Adam moments, compensation)."""
    if adam:
        m = b1 * m + (1.0 - b1) * g
        n = b2 * n + (1.0 - b2) * (g * g)
        step = alpha * (m / c1) / (math.sqrt(n / c2) + eps)
    else:
        step = alpha * g
    if rule == 4:
        u, c = _kahan_one(w, step, c, delta, fmt, rng)  # rng unused: Kahan is deterministic
        return u, m, n, c
    u = w - step
    if _diverged(u, rule, delta, fmt):
        return math.nan, m, n, c
    if rule == 1 or rule == 2:
        u = _quantize(u, delta, binary, rule == 2, rng, fmt)
    elif rule == 3 and clip > 0:
        u = min(max(u, -clip), clip)
    return u, m, n, c


@njit(cache=True)
def _loop(kind, M, v, s, rule, delta, binary, sq, clip, adam, b1, b2, eps, alphas, w, batch, every, rng, fmt):
    chains, d = w.shape
    steps = alphas.size
    q, g = np.empty_like(w), np.empty_like(w)
    mu, nu, comp = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    w_sum, d_sum, g_sq = np.zeros_like(w), np.zeros_like(w), np.zeros(chains)
    rec_w = np.empty((steps // every, chains, d))
    rec_d = np.empty((steps // every, chains, d))
    for t in range(steps):
        for c in range(chains):  # 1. query
            for j in range(d):
                if rule == 3 and _diverged(w[c, j], 1, delta, fmt):  # BC's query leaves the range
                    w_sum[0, 0] = math.nan
                    return w, w_sum, d_sum, g_sq, rec_w, rec_d
                q[c, j] = _quantize(w[c, j], delta, binary, sq, rng, fmt) if rule == 3 else w[c, j]
        _grad(kind, M, v, s, q, rng, batch, g)  # 2. gradient
        c1, c2 = 1.0 - b1 ** float(t + 1), 1.0 - b2 ** float(t + 1)
        for c in range(chains):
            acc = g[c, 0] * g[c, 0]
            for j in range(1, d):
                acc += g[c, j] * g[c, j]
            g_sq[c] += acc
            for j in range(d):  # 3. update
                u, mu[c, j], nu[c, j], comp[c, j] = _update_one(
                    w[c, j], g[c, j], mu[c, j], nu[c, j], comp[c, j], alphas[t], c1, c2, rule, delta, binary,
                    clip, adam, b1, b2, eps, rng, fmt)
                if math.isnan(u):  # diverged: poison the sum, run() raises
                    w_sum[0, 0] = math.nan
                    return w, w_sum, d_sum, g_sq, rec_w, rec_d
                w[c, j] = u
        for c in range(chains):
            for j in range(d):
                dep = _quantize(w[c, j], delta, binary, False, rng, fmt) if rule == 3 else w[c, j]
                w_sum[c, j] += w[c, j]
                d_sum[c, j] += dep
                if (t + 1) % every == 0:
                    rec_w[(t + 1) // every - 1, c, j] = w[c, j]
                    rec_d[(t + 1) // every - 1, c, j] = dep
    return w, w_sum, d_sum, g_sq, rec_w, rec_d


def _alphas(schedule, steps):
    """α_0 … α_{T−1}: vectorised when the schedule supports it and agrees with its scalar calls
    (what the numpy reference uses), else one scalar call per step."""
    probe = sorted({0, 1, steps // 2, steps - 1} & set(range(steps)))
    scalar = [float(schedule(t)) for t in probe]
    try:
        alphas = np.ascontiguousarray(np.broadcast_to(schedule(np.arange(steps)), (steps,)), dtype=np.float64)
        if [float(alphas[t]) for t in probe] == scalar:
            return alphas
    except (TypeError, ValueError):  # a schedule written for Python scalars only
        pass
    return np.array([float(schedule(t)) for t in range(steps)])


def run_numba(rule, problem, w, steps, rng, batch, record_every):
    """Same inputs and outputs as ``run._run_numpy`` (``w`` is overwritten in place)."""
    kind, M, v, s = problem._numba_spec()
    alphas = _alphas(rule.schedule, steps)
    b1, b2, eps = rule.adam if rule.adam is not None else (0.0, 0.0, 1.0)
    out = _loop(kind, np.ascontiguousarray(M), np.ascontiguousarray(v), np.ascontiguousarray(s, dtype=np.float64),
                KINDS[rule.kind], float(rule.delta or 1.0), rule.binary, rule.stochastic_query,
                float(rule.clip or 0.0), rule.adam is not None, b1, b2, eps, alphas,
                np.ascontiguousarray(w), -1 if batch is None else batch, record_every, rng, format_array(rule))
    return (*out, rule)


@njit(cache=True)
def _sr_step_pcg(w, g, alpha, delta, hi, lo, inc_hi, inc_lo, out):
    for i in range(w.size):
        u, hi, lo = next_double(hi, lo, inc_hi, inc_lo)
        out[i] = stochastic_round_scalar(w[i] - alpha * g[i], delta, u)
    return hi, lo


@njit(cache=True)
def _sr_step_generator(w, g, alpha, delta, rng, out):
    for i in range(w.size):
        out[i] = stochastic_round_scalar(w[i] - alpha * g[i], delta, rng.random())


def sr_step(w, g, alpha, delta, rng, out):
    """One SR update on flat float64 arrays: out = Q_s(w − α g), one uniform per element in order.

    Bit-identical to ``optim.sr(alpha, delta).update(g, state, w, rng)`` (the numpy reference)
    under the same Generator state, and leaves ``rng`` where numpy would. With the default
    PCG64 bit generator the uniforms come from the inlined stream of :mod:`._pcg64`; any other
    bit generator goes through ``Generator.random()``.
    """
    state = get_state(rng)
    if state is None:
        _sr_step_generator(w, g, alpha, delta, rng, out)
        return
    hi, lo = _sr_step_pcg(w, g, alpha, delta, *state, out)
    set_state(rng, hi, lo)


@njit(cache=True)
def bc_step(w_r, g, alpha, delta, clip, out_w, out_q):
    """One BC update on flat arrays: w_r ← clip(w_r − α g), and the next query Q_d(w_r)."""
    for i in range(w_r.size):
        u = min(max(w_r[i] - alpha * g[i], -clip), clip)
        out_w[i] = u
        out_q[i] = round_nearest_scalar(u, delta)


@njit(cache=True)
def _sr_float_step_pcg(w, g, alpha, man_bits, emin, max_value, saturate, hi, lo, inc_hi, inc_lo, out):
    for i in range(w.size):
        u, hi, lo = next_double(hi, lo, inc_hi, inc_lo)
        out[i] = stochastic_round_float_scalar(w[i] - alpha * g[i], man_bits, emin, max_value, saturate, u)
    return hi, lo


@njit(cache=True)
def _sr_float_step_generator(w, g, alpha, man_bits, emin, max_value, saturate, rng, out):
    for i in range(w.size):
        out[i] = stochastic_round_float_scalar(w[i] - alpha * g[i], man_bits, emin, max_value, saturate,
                                               rng.random())


def sr_float_step(w, g, alpha, fmt, rng, out):
    """One SR update onto a floating-point format: out = Q_SR(w − α g), as :func:`sr_step`.

    Bit-identical to ``optim.sr(alpha, fmt).update`` for in-range iterates (no range check here:
    an unsaturated format overflows to ±inf).
    """
    args = fmt.kernel_args()
    state = get_state(rng)
    if state is None:
        _sr_float_step_generator(w, g, alpha, *args, rng, out)
        return
    hi, lo = _sr_float_step_pcg(w, g, alpha, *args, *state, out)
    set_state(rng, hi, lo)
