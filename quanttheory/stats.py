"""Paired-seed confidence intervals and three-valued verdicts for the claims ledger.

Every empirical claim is decided the same way: a statistic with a confidence interval, compared
with a margin that the experiment declares in its source *before* the run.

* ``holds`` — the whole interval lies on the claim's side of the margin;
* ``fails`` — the whole interval lies on the other side;
* ``inconclusive`` — the interval straddles the margin.

A smaller run widens the interval, so it can turn a decided verdict into ``inconclusive`` but
(up to the interval's own coverage error) not into the opposite verdict. Equivalence ("no
difference") claims use the two one-sided tests (TOST) form: the interval must lie inside
``[low, high]``; it fails when it lies wholly outside that band.

References
----------
.. [1] Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
   approach for assessing the equivalence of average bioavailability. *J. Pharmacokinet.
   Biopharm.* 15(6), 657-680.

Examples
--------
>>> import numpy as np
>>> from quanttheory import stats
>>> ci = stats.paired_ci([10.1, 11.0, 10.4, 10.8, 10.9], [9.0, 9.9, 9.6, 9.5, 9.8])
>>> stats.verdict_greater(ci, margin=0.5)
'holds'
>>> stats.verdict_less(ci, margin=0.5)
'fails'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as _st

Verdict = Literal["holds", "fails", "inconclusive"]
VERDICTS: tuple[str, ...] = ("holds", "fails", "inconclusive")
KINDS: tuple[str, ...] = ("empirical", "sanity", "derived")


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate : float
        The point estimate (e.g. the mean paired difference).
    low, high : float
        The interval's ends (``-inf``/``inf`` when it cannot be computed, e.g. n = 1).
    n : int
        Number of independent replicates (paired seeds, chains) behind it.
    level : float
        Confidence level, e.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return 0.5 * (self.high - self.low)

    def excludes(self, value: float) -> bool:
        """True if ``value`` lies outside the interval (a detected effect vs ``value``)."""
        return bool(value < self.low or value > self.high)

    def as_tuple(self) -> tuple[float, float]:
        return (float(self.low), float(self.high))

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}] ({100 * self.level:.0f} % CI, n={self.n})"


def _check_level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level={level!r} is out of range; valid: (0, 1)")
    return float(level)


def mean_ci(x, level: float = 0.95) -> Interval:
    r"""Student-t confidence interval for the mean of independent replicates.

    .. math:: \bar x \pm t_{n-1,\,(1+\text{level})/2}\; s/\sqrt{n}

    Parameters
    ----------
    x : array_like, shape (n,)
        Replicates (for a paired comparison, the per-seed differences). Must be finite.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    Interval
        With n = 1 the interval is ``(-inf, inf)``: one replicate decides nothing.
    """
    level = _check_level(level)
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError("x is empty; a confidence interval needs at least one replicate")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"x contains non-finite values: {a[~np.isfinite(a)][:5].tolist()}")
    m = float(a.mean())
    if a.size == 1:
        return Interval(m, -math.inf, math.inf, 1, level)
    se = float(a.std(ddof=1)) / math.sqrt(a.size)
    t = float(_st.t.ppf(0.5 + level / 2, a.size - 1))
    return Interval(m, m - t * se, m + t * se, int(a.size), level)


def paired_ci(a, b, level: float = 0.95) -> Interval:
    """CI of the mean paired difference ``a - b`` (same seed, same data order on both sides)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have equal length; got {a.size} and {b.size}")
    return mean_ci(a - b, level)


def normal_ci(estimate: float, se: float, n: int, level: float = 0.95) -> Interval:
    """Normal-approximation CI ``estimate ± z·se`` (many chains, a known standard error)."""
    level = _check_level(level)
    if not (math.isfinite(estimate) and math.isfinite(se) and se >= 0):
        raise ValueError(f"estimate={estimate!r}, se={se!r}: both must be finite and se >= 0")
    z = float(_st.norm.ppf(0.5 + level / 2))
    return Interval(float(estimate), estimate - z * se, estimate + z * se, int(n), level)


def ratio_ci(num, den, level: float = 0.95) -> Interval:
    """CI of E[num]/E[den] for paired replicates by the delta method on the log ratio.

    Both samples must be positive. Used for "A is k times B" claims (e.g. floor(α)/floor(α/10)).
    """
    num = np.asarray(num, dtype=np.float64).ravel()
    den = np.asarray(den, dtype=np.float64).ravel()
    if num.shape != den.shape or num.size < 2:
        raise ValueError(f"need >= 2 paired replicates of equal length; got {num.size} and {den.size}")
    if np.any(num <= 0) or np.any(den <= 0):
        raise ValueError("ratio_ci needs positive samples")
    mn, md = num.mean(), den.mean()
    cov = np.cov(np.vstack([num, den]), ddof=1) / num.size
    var_log = cov[0, 0] / mn**2 + cov[1, 1] / md**2 - 2 * cov[0, 1] / (mn * md)
    t = float(_st.t.ppf(0.5 + _check_level(level) / 2, num.size - 1))
    r, h = float(mn / md), t * math.sqrt(max(var_log, 0.0))
    return Interval(r, r * math.exp(-h), r * math.exp(h), int(num.size), level)


def verdict_greater(ci: Interval, margin: float) -> Verdict:
    """Claim "the quantity exceeds ``margin``": holds if ``low > margin``, fails if ``high < margin``."""
    if ci.low > margin:
        return "holds"
    if ci.high < margin:
        return "fails"
    return "inconclusive"


def verdict_less(ci: Interval, margin: float) -> Verdict:
    """Claim "the quantity is below ``margin``": holds if ``high < margin``, fails if ``low > margin``."""
    if ci.high < margin:
        return "holds"
    if ci.low > margin:
        return "fails"
    return "inconclusive"


def verdict_within(ci: Interval, low: float, high: float) -> Verdict:
    """Equivalence claim "the quantity lies in ``[low, high]``" (TOST form, [1]_).

    holds if the whole interval lies inside the band; fails if it lies wholly outside it
    (entirely below ``low`` or entirely above ``high``); inconclusive otherwise.
    """
    if not low < high:
        raise ValueError(f"equivalence band [{low}, {high}] is empty")
    if ci.low >= low and ci.high <= high:
        return "holds"
    if ci.high < low or ci.low > high:
        return "fails"
    return "inconclusive"


def with_control(verdict: Verdict, control: Interval, null: float) -> tuple[Verdict, bool]:
    """Gate an equivalence verdict on a positive control measured in the same run.

    A "no difference" verdict means something only if the same measurement detects a difference
    where one must exist. Returns ``(verdict, detected)``: when the control's interval does not
    exclude ``null`` the experiment had no power, and a "holds" becomes "inconclusive".
    """
    detected = control.excludes(null)
    if verdict == "holds" and not detected:
        return "inconclusive", False
    return verdict, detected


def combine(verdicts) -> Verdict:
    """A claim made of several parts: fails if any part fails, holds if all hold."""
    vs = list(verdicts)
    if any(v == "fails" for v in vs):
        return "fails"
    if vs and all(v == "holds" for v in vs):
        return "holds"
    return "inconclusive"
