"""The exact 1-D k-means behind ``qn_init``: checked against an O(n³) dynamic programme that
computes every cluster cost directly, and against Lloyd's algorithm (which it must never lose to)."""

import numpy as np
import pytest

from quanttheory import quantizers as Q
from quanttheory.quantizers._kmeans import kmeans_1d


def _optimal_sse(values: np.ndarray, k: int) -> float:
    """Brute-force oracle: DP over contiguous clusters with two-pass costs (no prefix sums)."""
    v = np.sort(values)
    n = v.size
    cost = np.full((n + 1, n + 1), np.inf)
    for i in range(n):
        for j in range(i + 1, n + 1):
            cost[i, j] = np.sum((v[i:j] - v[i:j].mean()) ** 2)
    best = np.full((k + 1, n + 1), np.inf)
    best[0, 0] = 0.0
    for m in range(1, k + 1):
        for j in range(m, n + 1):
            best[m, j] = np.min(best[m - 1, :j] + cost[:j, j])
    return float(best[k, n])


def _lloyd_sse(values: np.ndarray, k: int) -> float:
    """Lloyd's algorithm seeded at the (j + ½)/k quantiles, run to a fixed point."""
    v = np.sort(values)
    c = np.quantile(v, (np.arange(k) + 0.5) / k)
    for _ in range(1000):
        labels = np.searchsorted((c[1:] + c[:-1]) / 2, v, side="right")
        new = np.array([v[labels == j].mean() if np.any(labels == j) else c[j] for j in range(k)])
        if np.array_equal(new, c):
            break
        c = new
    return float(np.sum(np.min((v[:, None] - c[None, :]) ** 2, axis=1)))


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    for _ in range(12):
        n = int(rng.integers(3, 40))
        k = int(rng.integers(1, min(n, 8) + 1))
        scale, offset = rng.choice([1e-3, 1.0, 1e3]), rng.choice([0.0, 1e4])
        v = np.round(rng.normal(size=n) * scale, int(rng.integers(0, 4))) + offset
        if np.unique(v).size < k:
            continue
        centres, sse = kmeans_1d(v, k)
        assert np.all(np.diff(centres) > 0)
        total = np.sum((v - v.mean()) ** 2)
        assert sse == pytest.approx(_optimal_sse(v, k), rel=0, abs=1e-12 * total + 1e-300)


def test_never_worse_than_lloyd_and_strictly_better_on_some_gaussian_samples():
    gaps = []
    for seed in range(5):
        v = np.random.default_rng(seed).normal(size=600)
        _, sse = kmeans_1d(v, 7)
        lloyd = _lloyd_sse(v, 7)
        assert sse <= lloyd * (1 + 1e-12)
        gaps.append(lloyd / sse - 1)
    assert max(gaps) > 0.05  # Lloyd's local optimum is measurably worse for some sample


def test_trivial_cases_and_determinism(rng):
    v = rng.normal(size=50)
    centres, sse = kmeans_1d(v, 1)
    assert centres[0] == pytest.approx(v.mean(), abs=1e-15)
    assert sse == pytest.approx(np.sum((v - v.mean()) ** 2))
    centres, sse = kmeans_1d(v, v.size)
    np.testing.assert_array_equal(centres, np.sort(v))
    assert sse == 0.0
    again, _ = kmeans_1d(rng.permutation(v), 7)
    np.testing.assert_array_equal(again, kmeans_1d(v, 7)[0])


def test_qn_init_biases_are_midpoints_of_the_optimal_centres(rng):
    x = rng.normal(size=300)
    levels = [-4, -2, -1, 0, 1, 2, 4]
    biases, alpha, beta = Q.qn_init(x, levels)
    centres, _ = kmeans_1d(beta * x, len(levels))
    np.testing.assert_array_equal(biases, (centres[1:] + centres[:-1]) / 2)
    assert beta == 5 * 4 / (4 * np.max(np.abs(x))) and alpha == 1 / beta
