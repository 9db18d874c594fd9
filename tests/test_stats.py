"""Three-valued verdicts: coverage of the CI, and the monotonicity a ledger relies on."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanttheory import stats
from quanttheory.claims import Claim, counts, to_markdown


def test_mean_ci_matches_scipy():
    x = np.array([0.3, -0.1, 0.8, 0.45, 0.2, 0.05])
    ci = stats.mean_ci(x, 0.95)
    import scipy.stats as st_

    lo, hi = st_.t.interval(0.95, x.size - 1, loc=x.mean(), scale=st_.sem(x))
    assert ci.low == pytest.approx(lo, rel=1e-12) and ci.high == pytest.approx(hi, rel=1e-12)


def test_single_replicate_is_never_decided():
    ci = stats.mean_ci([3.0])
    assert math.isinf(ci.low) and math.isinf(ci.high)
    assert stats.verdict_greater(ci, 0.0) == "inconclusive"
    assert stats.verdict_within(ci, -1, 1) == "inconclusive"


def test_coverage_is_near_nominal():
    rng = np.random.default_rng(0)
    hits = sum(not stats.mean_ci(rng.normal(1.0, 2.0, 6)).excludes(1.0) for _ in range(4000))
    assert 0.94 <= hits / 4000 <= 0.96


@pytest.mark.parametrize(("lo", "hi", "greater", "less", "within"), [
    (0.6, 0.9, "holds", "fails", "holds"),
    (0.1, 0.9, "inconclusive", "inconclusive", "holds"),
    (0.8, 1.2, "holds", "fails", "inconclusive"),
    (-0.5, -0.2, "fails", "holds", "holds"),
    (1.5, 2.0, "holds", "fails", "fails"),
])
def test_verdict_rules(lo, hi, greater, less, within):
    ci = stats.Interval(0.5 * (lo + hi), lo, hi, 5)
    assert stats.verdict_greater(ci, 0.5) == greater
    assert stats.verdict_less(ci, 0.5) == less
    assert stats.verdict_within(ci, -1.0, 1.0) == within


@settings(max_examples=200, deadline=None)
@given(st.floats(-3, 3), st.floats(0.01, 2), st.floats(1.0, 5.0), st.floats(-3, 3))
def test_wider_interval_never_flips(centre, half, widen, margin):
    """Widening the CI about the same centre moves a verdict only towards 'inconclusive'."""
    narrow = stats.Interval(centre, centre - half, centre + half, 10)
    wide = stats.Interval(centre, centre - widen * half, centre + widen * half, 3)
    for rule in (lambda c: stats.verdict_greater(c, margin), lambda c: stats.verdict_less(c, margin),
                 lambda c: stats.verdict_within(c, margin - 0.5, margin + 0.5)):
        a, b = rule(narrow), rule(wide)
        assert b in (a, "inconclusive")


def test_positive_control_gates_equivalence():
    eq = stats.Interval(0.0, -0.01, 0.01, 8)
    assert stats.with_control("holds", stats.Interval(0.5, 0.4, 0.6, 8), 0.0) == ("holds", True)
    assert stats.with_control(stats.verdict_within(eq, -0.05, 0.05), stats.Interval(0.1, -0.1, 0.3, 8), 0.0) \
        == ("inconclusive", False)


def test_ratio_ci_contains_true_ratio():
    rng = np.random.default_rng(1)
    num = 2.0 + 0.1 * rng.normal(size=40)
    ci = stats.ratio_ci(num, np.ones(40) + 0.05 * rng.normal(size=40))
    assert ci.low < 2.0 < ci.high


def test_bad_input_named():
    with pytest.raises(ValueError, match="non-finite"):
        stats.mean_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="level"):
        stats.mean_ci([1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="equal length"):
        stats.paired_ci([1, 2], [1, 2, 3])


def test_claim_schema_and_counts():
    ci = stats.mean_ci([0.9, 1.1, 1.0, 1.2])
    c = Claim.from_interval("x-1", "P", "s", ci, "> 0.5", stats.verdict_greater(ci, 0.5),
                            margin="0.5 (declared)")
    legacy = Claim("x-2", "P", "s", 1.0, "<= 2", True, kind="sanity")
    assert c.holds and c.verdict == "holds" and legacy.verdict == "holds"
    assert counts([c, legacy])["sanity"]["holds"] == 1
    assert "inconclusive" in to_markdown([Claim("x-3", "P", "s", 0.0, "t", verdict="inconclusive")])
    with pytest.raises(ValueError, match="contradicts"):
        Claim("x-4", "P", "s", 0.0, "t", True, verdict="fails")
    with pytest.raises(ValueError, match="kind"):
        Claim("x-5", "P", "s", 0.0, "t", True, kind="vibes")
