r"""Confidence intervals and gated equivalence verdicts for the Li et al. (2017) theory rows.

Thin wrappers over :mod:`quanttheory.stats` for the statistics the theory experiments share:
log–log slopes across chain groups, relative differences of a mean against an exact value, and
an equivalence verdict gated on a positive control that must lie *outside* the same band.

A "no difference" claim is decided by TOST (:func:`quanttheory.stats.verdict_within`): the CI
must lie inside a margin declared before the run. Fewer chains widen the CI, so a smaller run
becomes inconclusive instead of easier to pass. The positive control is the same measurement
on a case where the effect must exist; if its CI does not lie wholly outside the band, the
experiment could not have seen a difference of the margin's size and "holds" becomes
"inconclusive" (:func:`quanttheory.stats.with_control`).
"""

from __future__ import annotations

import numpy as np

from ..stats import Interval, mean_ci, normal_ci, paired_ci, verdict_within, with_control


def _groups(n, groups):
    if not 2 <= groups <= n:
        raise ValueError(f"groups={groups!r} is out of range; valid: 2 … {n} (the number of chains)")
    return np.array_split(np.arange(n), groups)


def group_slopes(x, samples, groups=8):
    r"""Log–log slope of the chain-mean of ``samples`` vs ``x``, once per disjoint chain group.

    Parameters
    ----------
    x : array_like, shape (k,)
        Positive abscissae (horizons T, spacings Δ, batch sizes).
    samples : array_like, shape (k, chains)
        Positive per-chain values at each x.
    groups : int
        Number of disjoint chain groups (independent replicates of the slope).

    Returns
    -------
    ndarray, shape (groups,)
    """
    x, s = np.asarray(x, dtype=np.float64), np.asarray(samples, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != x.size or x.size < 2 or np.any(x <= 0) or np.any(s <= 0):
        raise ValueError(f"need x > 0 of shape (k,) and samples > 0 of shape (k, chains); "
                         f"got {x.shape}, {s.shape}")
    return np.array([np.polyfit(np.log(x), np.log(s[:, idx].mean(axis=1)), 1)[0]
                     for idx in _groups(s.shape[1], groups)])


def slope_ci(x, samples, groups=8, level=0.95) -> Interval:
    """Student-t CI of the log–log slope from :func:`group_slopes` (``groups`` − 1 degrees of freedom)."""
    return mean_ci(group_slopes(x, samples, groups), level)


def slope_diff_ci(x, a, b, groups=8, level=0.95) -> Interval:
    """CI of slope(a) − slope(b); group k of ``a`` is paired with group k of ``b`` (independent runs)."""
    return paired_ci(group_slopes(x, a, groups), group_slopes(x, b, groups), level)


def rel_diff_ci(sample, reference, level=0.95) -> Interval:
    r"""CI of :math:`(\bar s - r)/r` for independent draws ``sample`` and an exact value ``r`` ≠ 0."""
    s = np.asarray(sample, dtype=np.float64).ravel()
    if s.size < 2 or not np.all(np.isfinite(s)) or not (np.isfinite(reference) and reference != 0):
        raise ValueError(f"need >= 2 finite draws and a finite non-zero reference; got {s.size}, {reference!r}")
    se = float(s.std(ddof=1) / np.sqrt(s.size))
    return normal_ci(float(s.mean() / reference - 1.0), se / abs(reference), s.size, level)


def gated_equivalence(ci: Interval, low: float, high: float, control: Interval) -> tuple[str, bool]:
    """TOST verdict of ``ci`` in ``[low, high]``, gated on ``control`` lying wholly outside the band.

    Returns ``(verdict, detected)``. The control is tested against the band edge nearer to its
    estimate, so "detected" means the measurement resolved an effect larger than the margin.
    """
    verdict = verdict_within(ci, low, high)
    outside = verdict_within(control, low, high) == "fails"  # the control's CI is wholly outside
    # with_control gates on "control excludes null"; an outside CI excludes the midpoint, an
    # inside or straddling one is reported against a null it cannot exclude (the CI's own estimate)
    return with_control(verdict, control, 0.5 * (low + high) if outside else control.estimate)
