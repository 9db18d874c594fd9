r"""Float64 torch twins of the reference maps and partials used by :mod:`quanttheory.torch`.

Each function repeats the numpy reference's operations in the same order (so the basic IEEE
operations round identically); parameters arrive expanded to broadcast against x. The
equations, tie rules and numerical guards are documented in the reference modules cited.
"""

from __future__ import annotations

import numpy as np
import torch

F64 = torch.float64


# --------------------------------------------------------------------------- uniform / APoT / LSQ
def project(x, alpha, levels, signed):
    """``_projection.project`` (APoT §2.2 RCF): clip x/α, nearest level, ties to the larger
    magnitude (``searchsorted(right=True)``), times α."""
    lv = torch.tensor(np.array(levels, dtype=np.float64), device=x.device)  # a writable copy
    mids = torch.tensor((levels[1:] + levels[:-1]) / 2.0, device=x.device)
    d = torch.clamp(x / alpha, -1.0 if signed else 0.0, 1.0)
    proj = lv[torch.searchsorted(mids, d.abs().contiguous(), right=True)]
    return alpha * torch.sign(d) * proj


def rcf_partials(x, q, alpha, signed):
    """``_projection.partials`` (APoT Eq. 7): (∂q/∂x, ∂q/∂α), boundaries inside."""
    if signed:
        inside = x.abs() <= alpha
        outside = torch.sign(x)
    else:
        inside = (x >= 0.0) & (x <= alpha)
        outside = (x > alpha).to(F64)
    return inside.to(F64), torch.where(inside, q / alpha - x / alpha, outside)


# --------------------------------------------------------------------------- DSQ (Gong et al. 2019)
def dsq_coords(x, lower, upper, bits):
    """``dsq._coords``: N, Δ, t = (clip(x, l, u) − l)/Δ and the interval i."""
    n = 2**bits - 1
    delta = (upper - lower) / n
    t = (torch.minimum(torch.maximum(x, lower), upper) - lower) / delta
    i = torch.clamp(torch.floor(t), 0, n - 1)
    return n, delta, t, i


def dsq_hard(x, lower, upper, bits):
    """The hard map (DSQ Fig. 1, ``dsq(soft=False)``): nearest grid point, ties up, decided on
    the exact fraction t − ⌊t⌋. Returns (q, grid index g)."""
    n, delta, t, _ = dsq_coords(x, lower, upper, bits)
    r = torch.floor(t)
    g = torch.clamp(r + (t - r >= 0.5).to(F64), 0, n)
    q = torch.where(g >= n, upper, lower + delta * g)
    return torch.where(x <= lower, lower, torch.where(x >= upper, upper, q)), g


def _sharpness(alpha):
    """``dsq._sharpness`` per element: a = min(α, 2 − α), K = log(2/a − 1) (log1p form; the
    log difference for a ≤ 1e-300), s = 1/(1 − a) (inf at a = 1, masked by the caller)."""
    a = torch.minimum(alpha, 2.0 - alpha)
    k_big = torch.log1p(2.0 * (1.0 - a) / a)
    k_tiny = torch.log(2.0 - a) - torch.log(a)
    return a, torch.where(a > 1e-300, k_big, k_tiny), 1.0 / (1.0 - a)


def _d_alpha(c, th, sech2, a, s, delta):
    """``dsq._d_alpha``: the printed ∂Q_S/∂a, or its Taylor series in ε = 1 − a for ε < 1e-3."""
    eps = 1.0 - a
    c2 = c * c
    f1 = 2.0 * c * (1.0 - 4.0 * c2) / 3.0
    f3 = 2.0 * c * (1.0 / 5.0 - 4.0 * c2 / 3.0 + 32.0 * c2 * c2 / 15.0)
    series = -delta * (f1 * eps + 2.0 * f3 * eps**3)
    printed = delta / 2.0 * (th / eps**2 - s * (sech2 * c) * (2.0 / (2.0 - a)) / a)
    return torch.where(eps < 1e-3, series, printed)


def dsq_soft_partials(x, lower, upper, alpha, bits):
    """``dsq_partials`` (DSQ Eqs. 3–6, derived partials of Q_S): (∂x, ∂l, ∂u, ∂α)."""
    n, delta, t, i = dsq_coords(x, lower, upper, bits)
    a, K, s = _sharpness(alpha)
    c = t - i - 0.5
    th = torch.tanh(K * c)
    e = torch.exp(-2.0 * torch.abs(K * c))  # sech² z without overflow or 1 − tanh² cancellation
    sech2 = 4.0 * e / (1.0 + e) ** 2
    ident = a == 1.0  # α = 1: the identity on [l, u]
    g = torch.where(ident, t, i + (1.0 + s * th) / 2.0)
    gp = torch.where(ident, 1.0, s * K / 2.0 * sech2)
    d_alpha = _d_alpha(c, th, sech2, a, s, delta) * torch.where(alpha <= 1.0, 1.0, -1.0)
    d_alpha = torch.where(ident, 0.0, d_alpha)
    below, above = x < lower, x > upper
    inside = ~(below | above)
    if not bool(torch.isfinite(torch.where(inside, d_alpha, 0.0)).all()):
        raise ValueError("alpha is so close to 0 or 2 that dQ/dalpha overflows float64; valid: "
                         "alpha in (0, 2), in practice alpha > 1e-300")
    return (torch.where(inside, gp, 0.0),
            torch.where(inside, 1.0 - g / n + gp * (t / n - 1.0), below.to(F64)),
            torch.where(inside, (g - t * gp) / n, above.to(F64)),
            torch.where(inside, d_alpha, 0.0))


def dsq_ste_partials(x, lower, upper, bits):
    """STE on DSQ's grid (``nn.layers._dsq_ste_partials``): ∂x = 1 on [l, u], and l, u through
    the frozen grid index j of q = l + jΔ: ∂l = 1 − j/N, ∂u = j/N (outside: 1 for the clip
    hit); α does not enter the hard map, ∂α = 0."""
    q, _ = dsq_hard(x, lower, upper, bits)
    n = 2**bits - 1
    j = torch.round((q - lower) / ((upper - lower) / n))  # rint, as the reference
    inside = (x >= lower) & (x <= upper)
    return (inside.to(F64),
            torch.where(inside, 1.0 - j / n, (x < lower).to(F64)),
            torch.where(inside, j / n, (x > upper).to(F64)),
            torch.zeros_like(x))


# --------------------------------------------------------------------------- QN (Yang et al. 2019)
def _weighted_sum(a, s, o, scale):
    """``qn._weighted_sum``: Σ s_i a_i − o, in units of max|Y| if the plain sum overflows."""
    out = a @ s - o
    if bool(torch.isfinite(out).all()):
        return out
    return scale * (a @ (s / scale) - o / scale)


def qn_map(x, alpha, beta, biases, steps, o, scale, temperature, soft):
    """QN Eq. 3 (soft: σ(T(βx − b_i))) or Eq. 1 (step A(βx − b_i), A(0) = 1)."""
    u = beta[..., None] * x[..., None] - biases
    a = torch.sigmoid(temperature * u) if soft else (u >= 0).to(F64)
    return alpha * _weighted_sum(a, steps, o, scale)


def qn_partials(x, alpha, beta, biases, steps, o, scale, temperature):
    """``qn_partials`` (QN Eqs. 5–8, re-derived): (∂x, ∂α, ∂β, ∂b_i), σ(1 − σ) as σ(z)σ(−z)."""
    u = beta[..., None] * x[..., None] - biases
    z = temperature * u
    dsig = torch.sigmoid(z) * torch.sigmoid(-z)
    weighted = dsig @ steps
    return (alpha * beta * (temperature * weighted),
            _weighted_sum(torch.sigmoid(z), steps, o, scale),
            alpha * (temperature * weighted) * x,
            -alpha[..., None] * steps * (temperature * dsig))
