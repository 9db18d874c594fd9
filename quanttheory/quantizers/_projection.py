"""Clip-then-project onto a normalised level set: the shared core of the uniform and APoT
quantizers (APoT's "reparameterised clipping function", RCF; Li, Dong, Wang, ICLR 2020, §2.2).

A level set is a sorted float64 array ``levels`` of magnitudes in [0, 1] with ``levels[0] == 0``
and ``levels[-1] == 1``. Signed quantizers project |x/α| and restore the sign; unsigned ones
clip x/α to [0, 1].
"""

from __future__ import annotations

import numpy as np


def project(x: np.ndarray, alpha: float, levels: np.ndarray, signed: bool) -> np.ndarray:
    r"""Nearest-level projection :math:`q = \alpha\,\Pi_{L}(\mathrm{clip}(x/\alpha))`.

    Ties (x/α exactly at a midpoint of two levels) go to the **larger magnitude**: the
    midpoints are searched with ``side="right"``. This is our documented rule; the official
    APoT code keeps an unsorted level list and breaks exact ties inconsistently.
    """
    with np.errstate(over="ignore"):  # x/α = ±inf for a subnormal α clips to ±1: correct
        d = x.astype(np.float64) / alpha
    lo = -1.0 if signed else 0.0
    d = np.clip(d, lo, 1.0)
    mag = np.abs(d)
    mids = (levels[1:] + levels[:-1]) / 2.0
    proj = levels[np.searchsorted(mids, mag, side="right")]
    # sign(0) = 0 keeps the zero level at 0 (no -0.0 games for unsigned sets either)
    q = alpha * np.sign(d) * proj
    return q.astype(x.dtype, copy=False)


def partials(x: np.ndarray, alpha: float, q: np.ndarray, signed: bool) -> dict[str, np.ndarray]:
    r"""Straight-through partials of the RCF (APoT §2.2 and Eq. 7).

    .. math::
        \frac{\partial q}{\partial x} = \mathbb{1}[x \in \text{clip range}],\qquad
        \frac{\partial q}{\partial \alpha} =
        \begin{cases} \operatorname{sign}(x) & |x| > \alpha \\ q/\alpha - x/\alpha & \text{inside}
        \end{cases}

    For unsigned (activation) sets: ∂α = 1 for x > α, q/α − x/α for 0 ≤ x ≤ α, 0 for x < 0.
    The range boundaries count as inside (∂x = 1), as in the official code's ``<=`` tests.
    """
    xf = x.astype(np.float64)
    qf = q.astype(np.float64)
    if signed:
        inside = np.abs(xf) <= alpha
        outside_grad = np.sign(xf)
    else:
        inside = (xf >= 0.0) & (xf <= alpha)
        outside_grad = (xf > alpha).astype(np.float64)
    # np.where evaluates both branches: outside the range x/α may overflow for a subnormal α,
    # but those entries are discarded (inside, |x/α| <= 1), so the warning is spurious
    with np.errstate(over="ignore"):
        d_alpha = np.where(inside, qf / alpha - xf / alpha, outside_grad)
    d_x = inside.astype(np.float64)
    return {"x": d_x, "alpha": d_alpha}
