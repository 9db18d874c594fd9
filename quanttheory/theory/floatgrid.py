r"""Stochastic and nearest rounding onto floating-point grids: the exact SR chain, floors, stalls.

Li et al. (2017) [1]_ analyse SR on the fixed-point grid :math:`\Delta\mathbb Z`. Weights kept in
a float format (bf16 without fp32 masters, fp8 states) live on a grid whose spacing depends on
the magnitude, :math:`h(w) = \operatorname{ulp}(w) = 2^{\lfloor\log_2|w|\rfloor - m}` (normal
range; see :mod:`quanttheory.quantizers.floatfmt`). This module carries the fixed-point results
over. All three statements below are **[derived]** (our derivation; checked numerically by the
tests and by ``experiments/float_sr_floor.py`` and ``float_sr_stagnation.py``).

Notes
-----
**1. The exact SR chain on a non-uniform grid.** For grid points :math:`x_0 < \dots < x_{n-1}`
with spacings :math:`h_j = x_{j+1} - x_j`, SR sends a pre-rounding value u to :math:`x_j` with
probability given by the (asymmetric) hat function, which is a combination of ramps:

.. math::
    \Lambda_j(u) = \frac{(u - x_{j-1})_+}{h_{j-1}} - (u - x_j)_+\Bigl(\frac1{h_{j-1}} + \frac1{h_j}\Bigr)
    + \frac{(u - x_{j+1})_+}{h_j},

so with :math:`G(b) = \mathbb E(u - b)_+` (closed form for Gaussian u, as in
:mod:`quanttheory.theory.markov`), :math:`P(x_i \to x_j) = G(x_{j-1})/h_{j-1} -
G(x_j)(1/h_{j-1} + 1/h_j) + G(x_{j+1})/h_j`. With bounded noise and
:math:`\alpha\max|g| \le \min_j h_j` (the *local* threshold: the smallest spacing in the region
the chain visits) every move is to a neighbour and has probability :math:`(\alpha/h)\,\mathbb
E(\mp g)_+`, so :math:`T_\alpha = I + \alpha A` and π does not depend on α, exactly as on
:math:`\Delta\mathbb Z`.

**2. SR's floor scales with ulp(w*).** If π concentrates inside one binade around the minimiser
w* (spread ≪ distance to the next power of two), the grid there is :math:`h\mathbb Z` shifted,
h = ulp(w*), and the fixed-point temperature of :func:`quanttheory.theory.markov.sr_temperature`
applies with Δ → h: :math:`T = \sigma h\,\mathbb E|\xi|/2`. For
:math:`f(w) = \mu (w - w^*)^2/2` the Gibbs law gives the floor

.. math::
    \mathbb E_\pi[f] - f^* \approx \frac T2 = \frac{\sigma\,\operatorname{ulp}(w^*)}{2\sqrt{2\pi}}
    \quad (\text{Gaussian } \xi) \;\propto\; 2^{\lfloor\log_2|w^*|\rfloor}\;2^{-m},

independent of α below the local threshold and of μ: slope −1 in :math:`\log_2` against the
mantissa bits m at a fixed exponent, slope +1 against the exponent of w* at fixed m
(:func:`sr_floor_prediction`).

**3. Round-to-nearest stalls; Kahan summation does not.** RN maps :math:`w - \alpha g` back to w
whenever the step is shorter than half the spacing to the neighbour in the direction of the
move: :math:`\alpha|g| < h_\pm(w)/2`, with :math:`h_+ = \operatorname{ulp}(w)` upwards and
:math:`h_- = \operatorname{ulp}(w)/2` downwards from a power of two (:func:`rn_stall_step`).
With exact gradients on :math:`f = \mu(w - w^*)^2/2` the iterate therefore freezes at the first
point with

.. math:: |w - w^*| < \frac{h_\pm(w)}{2\alpha\mu} \approx \frac{\operatorname{ulp}(w)}{2\alpha\mu},

and since each step before that shrinks the distance by a factor :math:`(1 - \alpha\mu)` up to
half a spacing, the frozen distance d obeys
:math:`(1 - \alpha\mu)\,d_{\rm pred} - h/2 \le d < d_{\rm pred}` (:func:`rn_stall_distance`).
This is the float analogue of "R freezes when α|g| < Δ/2" [1]_, with the difference that the
stall distance grows with |w|. Kahan-compensated RN [2]_ carries the lost part of each step in
a compensation c, so steps of any size eventually move w: it reaches the grid point nearest to
w* (within one ulp(w*)) on the deterministic problem. This needs c to resolve the step: if c is
itself stored in the format, the update y = Q(−αg − c) returns −c once α|g| < ulp(c)/2 with
|c| < ulp(w)/2, and the compensated iteration freezes too — harmless in bf16 (ulp(c) ≤
2^(−m−2)·ulp(w)), but with a 3-bit e4m3 compensation it only shrinks RN's stall distance
(measured in ``experiments/float_sr_stagnation.py``).

References
----------
.. [1] Li, De, Xu, Studer, Samet, Goldstein. "Training Quantized Nets: A Deeper Understanding".
   NeurIPS 2017, arXiv:1706.02379, §2–4.
.. [2] Zamirai, Zhang, Aberger, De Sa. "Revisiting BFloat16 Training". arXiv:2010.06192, 2020.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ..quantizers.floatfmt import as_format, round_float, ulp
from . import markov as M


def _decode(k, fmt):
    """Non-negative value of code k (codes of non-negative values are ordered like the values)."""
    m = int(fmt.man_bits)
    field, mant = k >> m, k & ((1 << m) - 1)
    sub = np.ldexp(mant.astype(np.float64), fmt.emin - m)
    normal = np.ldexp(1.0 + mant / 2.0**m, fmt.emin + np.maximum(field, 1) - 1)
    return np.where(field == 0, sub, normal)


def _encode(a, fmt):
    """Code of a representable magnitude a ≥ 0 (inverse of :func:`_decode`)."""
    m = int(fmt.man_bits)
    h = ulp(a, fmt)
    e = np.round(np.log2(h)).astype(np.int64) + m  # exponent of the binade (emin for subnormals)
    normal = a >= fmt.min_normal
    k_norm = (e - fmt.emin + 1) * 2**m + np.round((a / np.ldexp(1.0, e) - 1.0) * 2**m).astype(np.int64)
    k_sub = np.round(np.where(normal, 0.0, a) / fmt.min_subnormal).astype(np.int64)
    return np.where(normal, k_norm, k_sub)


def grid_points(fmt, lower, upper):
    r"""All values of ``fmt`` in :math:`[\mathrm{lower}, \mathrm{upper}]`, increasing (0 once).

    Parameters
    ----------
    fmt : FloatFormat or str
    lower, upper : float
        Interval ends (lower < upper, both within ±max_value).

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> grid_points("e4m3", 0.9, 1.4)
    array([0.9375, 1.    , 1.125 , 1.25  , 1.375 ])
    """
    fmt = as_format(fmt)
    lo, hi = (float(v) for v in (lower, upper))
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi and max(-lo, hi) <= fmt.max_value):
        raise ValueError(f"need -max_value <= lower < upper <= max_value for {fmt}; got [{lower}, {upper}]")
    sat = fmt.with_saturation()

    def codes(a, b):  # codes of the magnitudes in [a, b], 0 <= a <= b
        ka, kb = _encode(round_float(a, sat), fmt), _encode(round_float(b, sat), fmt)
        ks = np.arange(int(ka), int(kb) + 1)
        v = _decode(ks, fmt)
        return v[(v >= a) & (v <= b)]

    pos = codes(max(lo, 0.0), hi) if hi >= 0 else np.zeros(0)
    neg = -codes(max(-hi, 0.0), -lo)[::-1] if lo < 0 else np.zeros(0)
    return np.unique(np.concatenate([neg, pos]))


def _check_points(points):
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or not np.all(np.diff(x) > 0):
        raise ValueError("points must be a finite, strictly increasing 1-D array of >= 2 values; "
                         f"got shape {x.shape}")
    return x


def _gaussian_weights(m, s, x):
    """(n, n) rounding probabilities of u ~ N(m_i, s²), clipped to [x_0, x_{n−1}], onto x (Note 1)."""
    h = np.diff(x)
    G = M._ramp_mean(m[:, None], s, x[None, :])
    inv_l = np.concatenate([[0.0], 1.0 / h])  # 1/h_{j−1} (no left neighbour at j = 0)
    inv_r = np.concatenate([1.0 / h, [0.0]])  # 1/h_j
    G_l = np.concatenate([np.zeros((m.size, 1)), G[:, :-1]], axis=1)
    G_r = np.concatenate([G[:, 1:], np.zeros((m.size, 1))], axis=1)
    P = G_l * inv_l - G * (inv_l + inv_r) + G_r * inv_r
    P[:, 0] = 1.0 - (G[:, 0] - G[:, 1]) / h[0]  # clipping: the ends absorb the tails
    P[:, -1] = (G[:, -2] - G[:, -1]) / h[-1]
    return np.maximum(P, 0.0)


def _discrete_weights(m, s, x, values, probs):
    """(n, n) rounding probabilities for u = m − sξ with ξ discrete: the hat evaluated exactly."""
    P = np.zeros((m.size, x.size))
    rows = np.arange(m.size)
    for v, p in zip(values, probs, strict=True):
        u = np.clip(m - s * v, x[0], x[-1])
        j = np.clip(np.searchsorted(x, u, side="right") - 1, 0, x.size - 2)
        frac = (u - x[j]) / (x[j + 1] - x[j])
        np.add.at(P, (rows, j), p * (1.0 - frac))
        np.add.at(P, (rows, j + 1), p * frac)
    return P


def transition_matrix(grad, points, alpha, sigma, noise="gaussian"):
    r"""Exact transition matrix of 1-D SR with constant step on a non-uniform grid (Note 1).

    .. math:: P_{ij} = \Pr\bigl[Q_s(\mathrm{clip}(x_i - \alpha(f'(x_i) + \sigma\xi))) = x_j\bigr]

    Parameters
    ----------
    grad : callable
        f', vectorised over an array of shape (n,).
    points : array_like, shape (n,)
        Strictly increasing grid, e.g. :func:`grid_points` of a float format.
    alpha, sigma : float
        Step α > 0 and noise scale σ ≥ 0.
    noise : {"gaussian", "rademacher"} or (values, probs)
        Law of ξ (as :func:`quanttheory.theory.markov.transition_matrix_1d`).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n)
        Row-stochastic. Dense work O(n²): meant for n up to a few thousand.
    """
    x = _check_points(points)
    alpha = M._check_positive(alpha, "alpha")
    sigma = M._nonneg(sigma, "sigma")
    spec = M._check_noise(noise)
    m = x - alpha * M._grad_values(grad, x[:, None])[:, 0]
    s = alpha * sigma
    P = _gaussian_weights(m, s, x) if spec is None else _discrete_weights(m, s, x, *spec)
    P = sp.csr_matrix(np.where(P > 1e-300, P, 0.0))
    return sp.diags(1.0 / np.asarray(P.sum(axis=1)).ravel()) @ P  # rows to 1 (round-off ~1e-15)


def sr_floor_exact(mu, w_star, fmt, alpha, sigma, *, width=12.0, noise="gaussian"):
    r"""Exact stationary floor :math:`\mathbb E_\pi[f] - f^*` of SR onto ``fmt`` for :math:`f = \mu(w - w^*)^2/2`.

    The chain runs on the format's values within ``width`` predicted standard deviations
    :math:`\sqrt{T/\mu}` of w* (T from Note 2, at least 8 spacings), so the clipped ends carry a
    negligible mass, and never closer to 0 than |w*|/8: near 0 the float grid becomes so fine that
    the Gaussian second differences of Note 1 lose all accuracy (spacings ≪ ασ). If π has mass
    near either end, raise ``width`` or the mantissa bits. w* ≠ 0 need not be representable.

    Returns
    -------
    floor : float
    pi, points : ndarray, shape (n,)
        Stationary law and its grid.
    """
    fmt = as_format(fmt)
    mu = M._check_positive(mu, "mu")
    h = float(ulp(w_star, fmt))
    if w_star == 0:
        raise ValueError("w_star=0 is invalid here: the float grid has no fixed spacing at 0")
    spread = max(width * np.sqrt(sr_floor_prediction(w_star, fmt, sigma, noise) * 2.0 / mu), 8 * h)
    lo, hi = max(w_star - spread, -fmt.max_value), min(w_star + spread, fmt.max_value)
    lo, hi = (max(lo, w_star / 8), hi) if w_star > 0 else (lo, min(hi, w_star / 8))
    x = grid_points(fmt, lo, hi)
    P = transition_matrix(lambda v: mu * (v - w_star), x, alpha, sigma, noise)
    pi = M.stationary_distribution(P)
    return float(pi @ (mu * (x - w_star) ** 2 / 2.0)), pi, x


def sr_floor_prediction(w_star, fmt, sigma, noise="gaussian"):
    r"""Predicted SR floor :math:`T/2 = \sigma\operatorname{ulp}(w^*)\,\mathbb E|\xi|/4` (Note 2, derived).

    Gaussian ξ: :math:`\sigma\operatorname{ulp}(w^*)/(2\sqrt{2\pi})`. Valid when π stays inside
    the binade of w* and the noise dominates (σ ≫ μ·ulp).
    """
    h = float(ulp(w_star, as_format(fmt)))
    return M.sr_temperature(sigma, h, noise) / 2.0


def rn_stall_step(w, fmt, direction):
    r"""Largest step that round-to-nearest loses at w: half the spacing towards ``direction``.

    .. math:: s(w) = h_\pm(w)/2, \quad h_+ = \operatorname{ulp}(w),\;
        h_- = \operatorname{ulp}(w)/c, \quad c = 2 \text{ if } |w| = 2^k \ge 2^{e_{\min}},\ 1 \text{ else}

    (for w > 0; mirrored for w < 0). A step strictly shorter than s(w) leaves w unchanged (a
    step of exactly s(w) is a tie, decided by the even mantissa).

    Parameters
    ----------
    w : array_like
        Values of the format.
    direction : array_like
        Sign of the move (+1 up, −1 down), broadcast against ``w``.
    """
    fmt = as_format(fmt)
    w = np.asarray(w, dtype=np.float64)
    toward_zero = np.sign(direction) * np.sign(w) < 0
    a = np.abs(w)
    power = (a >= fmt.min_normal) & (np.frexp(a)[0] == 0.5)
    h = ulp(w, fmt)
    return np.where(toward_zero & power, h / 2, h) / 2.0


def rn_stall_distance(w, w_star, alpha, mu, fmt):
    r"""Predicted stall distance :math:`d_{\rm pred} = s(w)/(\alpha\mu)` of RN at w (Note 3, derived).

    RN with exact gradients on :math:`f = \mu(w - w^*)^2/2` stays at w iff
    :math:`\alpha\mu|w - w^*| < s(w)` (:func:`rn_stall_step`).
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or alpha <= 0:
        raise ValueError(f"alpha={alpha!r} is out of range; valid: a number > 0")
    w = np.asarray(w, dtype=np.float64)
    return rn_stall_step(w, fmt, np.sign(w_star - w)) / (alpha * mu)
