"""Slope CIs and gated equivalence verdicts of quanttheory.theory.evidence."""

import numpy as np
import pytest

from quanttheory.stats import Interval
from quanttheory.theory import evidence as E


def test_slope_ci_covers_a_known_slope(rng):
    T = np.array([1e3, 1e4, 1e5])
    gaps = (T[:, None] ** -0.5) * rng.uniform(0.9, 1.1, (3, 64))
    ci = E.slope_ci(T, gaps)
    assert ci.low < -0.5 < ci.high and ci.high - ci.low < 0.05


def test_slope_diff_ci_detects_a_slope_difference(rng):
    T = np.array([1e3, 1e4, 1e5])
    a = (T[:, None] ** -1.0) * rng.uniform(0.9, 1.1, (3, 64))
    b = (T[:, None] ** -0.5) * rng.uniform(0.9, 1.1, (3, 64))
    ci = E.slope_diff_ci(T, a, b)
    assert ci.high < -0.4 and ci.low > -0.6


def test_fewer_chains_widen_the_slope_ci(rng):
    T = np.array([1e3, 1e4])
    gaps = (T[:, None] ** -1.0) * rng.exponential(1.0, (2, 512))
    wide, narrow = E.slope_ci(T, gaps[:, :32]), E.slope_ci(T, gaps)
    assert wide.high - wide.low > 2 * (narrow.high - narrow.low)


def test_rel_diff_ci_centres_on_relative_error(rng):
    ci = E.rel_diff_ci(rng.normal(1.1, 0.1, 10_000), 1.0)
    assert ci.low < 0.1 < ci.high and ci.n == 10_000


@pytest.mark.parametrize("control, verdict, detected", [
    (Interval(10.0, 8.0, 12.0, 8), "holds", True),    # far outside the band: detected
    (Interval(1.10, 1.00, 1.20, 8), "inconclusive", False),  # straddles the edge
    (Interval(1.02, 1.01, 1.03, 8), "inconclusive", False),  # inside the band
    (Interval(0.5, 0.4, 0.6, 8), "holds", True),      # outside, below
])
def test_gated_equivalence(control, verdict, detected):
    assert E.gated_equivalence(Interval(1.0, 0.98, 1.02, 8), 0.95, 1.05, control) == (verdict, detected)


def test_gated_equivalence_keeps_a_failure():
    assert E.gated_equivalence(Interval(2.0, 1.9, 2.1, 8), 0.95, 1.05, Interval(1.0, 0.99, 1.01, 8))[0] == "fails"


def test_group_slopes_rejects_bad_input():
    with pytest.raises(ValueError, match="groups"):
        E.group_slopes([1.0, 2.0], np.ones((2, 4)), groups=5)
    with pytest.raises(ValueError, match="x > 0"):
        E.group_slopes([1.0, 2.0], -np.ones((2, 4)))
