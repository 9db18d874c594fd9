"""The quantizer-only figures (DSQ soft map, APoT level sets, QN soft map): numbers and files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from quanttheory import quantizers as Q
from quanttheory.experiments import apot_levels, dsq_softmap, qn_softmap
from quanttheory.sweep import check_protocol, point_seed

MODULES = [dsq_softmap, apot_levels, qn_softmap]


def _run(module, quick=True, seed=0):
    return [(p, module.compute(p, np.random.default_rng(point_seed(module.NAME, p, seed))))
            for p in module.grid(quick)]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_protocol_grid_and_plot(module, tmp_path):
    check_protocol(module)
    assert module.__doc__ and module.PAPER
    quick, full = module.grid(True), module.grid(False)
    assert 0 < len(quick) <= len(full)
    json.dumps(full)  # grid points are plain JSON
    results = _run(module)
    again = _run(module)
    for (_, a), (_, b) in zip(results, again, strict=True):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    paths = module.plot(results, tmp_path)
    assert {p.suffix for p in paths} == {".png", ".svg", ".npz"}
    for p in paths:
        assert p.exists() and p.stat().st_size > 1000
    if hasattr(module, "claims"):
        ids = [c.id for c in module.claims(results)]
        assert ids == list(module.CLAIMS)


# ----------------------------------------------------------------------------- APoT


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6])
def test_level_sets(bits):
    for scheme in apot_levels.SCHEMES:
        lv = apot_levels.levels(scheme, bits)
        assert lv.size == 2**bits - 1 and lv[-1] == 1.0 and np.all(np.diff(lv) > 0)
        np.testing.assert_array_equal(lv, -lv[::-1])
    pot = apot_levels.levels("pot", bits)
    nonzero = np.abs(pot[pot != 0])
    np.testing.assert_array_equal(np.log2(nonzero), np.round(np.log2(nonzero)))
    with pytest.raises(ValueError, match="scheme"):
        apot_levels.levels("log", bits)


@pytest.mark.parametrize("bits", [3, 4, 5])
def test_projection_matches_library_quantizers(bits, rng):
    w = 2.0 * rng.standard_normal(5000)
    for scheme, ref in [("uniform", Q.uniform), ("apot", Q.apot)]:
        got = apot_levels.quantize(w, 1.3, apot_levels.levels(scheme, bits))
        np.testing.assert_allclose(got, ref(w, alpha=1.3, bits=bits, signed=True), rtol=0, atol=1e-12)


def _ternary_mse(alpha):
    """Exact MSE of {−α, 0, α} (thresholds ±α/2) on N(0, 1)."""
    inner = integrate.quad(lambda w: w**2 * stats.norm.pdf(w), -alpha / 2, alpha / 2)[0]
    outer = integrate.quad(lambda w: (w - alpha) ** 2 * stats.norm.pdf(w), alpha / 2, np.inf)[0]
    return inner + 2 * outer


def test_optimal_ternary_clip_matches_exact_integral(rng):
    exact = optimize.minimize_scalar(_ternary_mse, bounds=(0.5, 3), method="bounded")
    w = rng.standard_normal(100_000)
    alpha, mse = apot_levels.optimal_alpha(w, apot_levels.levels("uniform", 2), 80)
    err2 = (w - apot_levels.quantize(w, exact.x, apot_levels.levels("uniform", 2))) ** 2
    se = err2.std() / np.sqrt(w.size)
    # The sample minimum lies below the sample MSE at the exact α*, which is within 5 standard
    # errors of the exact minimum; the flat valley allows |α − α*| of a few per cent.
    assert abs(mse - exact.fun) < 5 * se
    assert abs(alpha - exact.x) < 0.05


def test_bad_distribution(rng):
    with pytest.raises(ValueError, match="dist"):
        apot_levels.compute({"panel": "mse", "dist": "cauchy", "bits": 3, "n_weights": 10, "n_grid": 5}, rng)


# ----------------------------------------------------------------------------- DSQ


def test_dsq_error_split():
    point = {"panel": "clipping", "bits": 4, "n_weights": 50_000, "n_bounds": 8}
    res = dsq_softmap.compute(point, np.random.default_rng(7))
    w = np.random.default_rng(7).standard_normal(50_000)  # the same draw compute makes
    for j, u in enumerate(res["bounds"]):
        total = np.mean((w - Q.dsq(w, lower=-u, upper=u, bits=4, alpha=0.5)) ** 2)
        np.testing.assert_allclose(res["clip_mse"][j] + res["round_mse"][j], total, rtol=1e-12)
    # Rounding error ≈ Δ²/12 per weight inside the range (the density is nearly flat on a
    # 16-level cell); 3 % is ~5 Monte Carlo standard errors at 50k samples.
    np.testing.assert_allclose(res["round_mse"], res["round_approx"], rtol=0.03)
    assert np.all(np.diff(res["clip_mse"]) <= 0)  # a wider range clips less


def test_dsq_soft_approaches_hard_only_slowly():
    res = dsq_softmap.compute({"panel": "softmap", "bits": 2, "alphas": [0.5, 0.01, 1e-4], "n_x": 2001},
                              np.random.default_rng(0))
    gap = np.abs(res["soft"] - res["hard"]).mean(axis=1)
    assert np.all(np.diff(gap) < 0)
    # Logarithmic: 100× smaller α (0.01 → 1e-4) still leaves over a third of the gap.
    assert gap[2] > gap[1] / 3


# ----------------------------------------------------------------------------- QN


def test_qn_gap_shrinks_with_temperature(rng):
    point = {"levels": [-1, 0, 1], "n_weights": 20_000, "n_x": 101, "n_temperatures": 11}
    res = qn_softmap.compute(point, rng)
    assert np.all(np.diff(res["mean_gap"]) < 0)
    # At large T the gap is ~ c/T: T·gap over the last factor-4 span of T changes by < 2×.
    tg = res["temperatures"] * res["mean_gap"]
    assert 0.5 < tg[-1] / tg[-3] < 2.0
    assert res["soft"].shape == (len(qn_softmap.CURVE_TEMPERATURES), 101)


def test_apot_figure_marks_a_failed_claim(tmp_path):
    results = _run(apot_levels)
    for p, r in results:  # make APoT worse than uniform at 4 bits on Gaussian weights
        if p["panel"] == "mse" and p["dist"] == "gaussian" and p["bits"] == 4:
            r["apot_mse"] = 2.0 * r["uniform_mse"]
    verdicts = {c.id: c.verdict for c in apot_levels.claims(results)}
    assert verdicts["apot-vs-uniform-gaussian"] == "fails"
    png, svg, _ = apot_levels.plot(results, tmp_path)
    text = svg.read_text()
    assert "claim fails" in text and "apot-vs-uniform-gaussian" in text
    assert "density" in text and "density\n(scaled)" not in text
