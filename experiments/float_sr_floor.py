"""SR's accuracy floor on floating-point grids scales with ulp(w*): ∝ 2^(−m) at a fixed exponent
and ∝ 2^k when the minimiser is scaled by 2^k (the float analogue of Li et al. 2017, §3 floor).

Setting (ours): f(w) = μ(w − w*)²/2 with μ = 1, stochastic gradient f'(w) + σξ, Gaussian ξ,
σ = 1, constant step α = ulp(w*)/(22σ) (below the local threshold α(|f'| + 9σ) ≤ ulp: the
noise-dominated lattice-walk regime of :mod:`quanttheory.theory.floatgrid`, Note 2). Formats
FloatFormat(8, m) (bf16's exponent range, m mantissa bits; m = 7 is bf16). Exact floors
E_π[f] − f* from the exact chain on the format's grid (:func:`floatgrid.sr_floor_exact`) at α and
α/10; simulated floors from ``optim.run(optim.sr(α, fmt))`` (numba), chains started at w* and run
for 4/α steps, f averaged over the last half of each chain (10 records), CI over chains.
Prediction [derived]: σ·ulp(w*)/(2√(2π)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import optim, plotting, problems, stats
from quanttheory.claims import Claim
from quanttheory.quantizers import FloatFormat
from quanttheory.quantizers.floatfmt import ulp
from quanttheory.theory import floatgrid as F

NAME = "float-sr-floor"
PAPER = "Li et al. 2017, §3 floor, on float grids (issue 11)"
CLAIMS = ("floatsr-floor-mantissa", "floatsr-floor-exact", "floatsr-floor-alpha", "floatsr-floor-magnitude")

MU, SIGMA, W_STAR, EXP_BITS, ALPHA_DIV = 1.0, 1.0, 0.75, 8, 22.0
MAGNITUDE_MAN_BITS = 7  # bf16
FIT_M_MIN = 6  # below this π reaches the binade edges at 0.5 and 1 (spread ≳ 0.08): no single ulp
FIT_K = (-3, 5)  # magnitudes where π stays in one binade and σ ≫ μ·ulp (see module docstring)
# Margins, declared before any run:
SLOPE_MARGIN = 0.15  # simulated log2-slope vs m within −1 ± 0.15 (3 points, ±5–10 % CIs per point)
EXACT_MARGIN = 0.03  # exact floor within ±3 % of σ·ulp/(2√2π) (corrections O(μ·ulp/σ) and tails)
ALPHA_MARGIN = 1e-3  # exact floor at α vs α/10: Gaussian tails beyond one cell are < 1e-18 per step
MAG_SLOPE_MARGIN = 0.05  # exact log2-slope vs k within 1 ± 0.05
SIM_MARGIN = 0.15  # simulated / exact floor within ±15 % (CI over chains)


def _alpha(fmt, w_star=W_STAR):
    return float(ulp(w_star, fmt)) / (ALPHA_DIV * SIGMA)


def grid(quick: bool) -> list[dict]:
    """Exact points over m and k; simulated points at a few m."""
    ms = (3, 5, 6, 8, 10) if quick else tuple(range(3, 13))
    ks = (-3, 0, 2, 5) if quick else tuple(range(-5, 8))
    sims = (4, 5, 6)  # cost ∝ 2^m (steps ∝ 1/α ∝ 1/ulp)
    chains = 300 if quick else 1000
    return ([{"part": "mantissa", "m": m} for m in ms] + [{"part": "magnitude", "k": k} for k in ks]
            + [{"part": "simulate", "m": m, "chains": chains} for m in sims])


def _simulate(fmt, chains, rng):
    alpha = _alpha(fmt)
    prob = problems.Quadratic([MU], [W_STAR], noise_sigma=SIGMA)
    steps = int(4 / (alpha * MU)) // 20 * 20
    traj = optim.run(optim.sr(alpha, fmt), prob, np.full((chains, 1), W_STAR), steps=steps, rng=rng,
                     record_every=steps // 20, backend="numba")
    f = MU * (traj.iterates[10:, :, 0] - W_STAR) ** 2 / 2.0  # (10 records, chains)
    return f.mean(axis=0), steps


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Exact floors (at α and α/10) and the prediction, or a simulation with per-chain floors."""
    if point["part"] == "magnitude":
        w_star, fmt = W_STAR * 2.0 ** point["k"], FloatFormat(EXP_BITS, MAGNITUDE_MAN_BITS)
    else:
        w_star, fmt = W_STAR, FloatFormat(EXP_BITS, point["m"])
    alpha = _alpha(fmt, w_star)
    exact, pi, x = F.sr_floor_exact(MU, w_star, fmt, alpha, SIGMA)
    out = {"exact": exact, "exact_small_alpha": F.sr_floor_exact(MU, w_star, fmt, alpha / 10, SIGMA)[0],
           "prediction": F.sr_floor_prediction(w_star, fmt, SIGMA), "ulp": float(ulp(w_star, fmt)),
           "alpha": alpha, "edge_mass": float(pi[0] + pi[-1])}
    if point["part"] == "simulate":
        per_chain, steps = _simulate(fmt, point["chains"], rng)
        out |= {"per_chain": per_chain, "steps": float(steps)}
    return out


def _slope(xs, ys, ses=None):
    """Least-squares slope of log2 y on x, and its standard error from per-point log SEs."""
    xs, ly = np.asarray(xs, float), np.log2(ys)
    c = (xs - xs.mean()) / np.sum((xs - xs.mean()) ** 2)
    slope = float(c @ ly)
    se = 0.0 if ses is None else float(np.sqrt(np.sum((c * np.asarray(ses) / (np.asarray(ys) * np.log(2))) ** 2)))
    return slope, se


def _parts(results):
    mant = [(p["m"], r) for p, r in results if p["part"] == "mantissa"]
    mag = [(p["k"], r) for p, r in results if p["part"] == "magnitude"]
    sims = [(p["m"], r) for p, r in results if p["part"] == "simulate"]
    return mant, mag, sims


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) floor vs mantissa bits, exact/predicted/simulated; (b) floor vs exponent of w*."""
    mant, mag, sims = _parts(results)
    with plotting.style():
        fig = Figure(figsize=(11, 4.4), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        m = np.array([v for v, _ in mant])
        ax1.semilogy(m, [r["exact"] for _, r in mant], "o-", label="exact chain, α = ulp/(22σ)")
        ax1.semilogy(m, [r["exact_small_alpha"] for _, r in mant], "x", ms=9, label="exact chain, α/10")
        ax1.semilogy(m, [r["prediction"] for _, r in mant], "k--", label="σ·ulp(w*)/(2√(2π)) [derived]")
        for mm, r in sims:
            ci = stats.mean_ci(r["per_chain"])
            ax1.errorbar(mm + 0.12, ci.estimate, yerr=[[ci.estimate - ci.low], [ci.high - ci.estimate]], fmt="s",
                         color="C3", capsize=3, label="simulated SR (95 % CI)" if mm == sims[0][0] else None)
        ax1.set(xlabel="mantissa bits m (format e8m, w* = 0.75)", ylabel="floor E[f] − f*",
                title="(a) SR floor ∝ 2^(−m)")
        ax1.legend(fontsize=8)
        k = np.array([v for v, _ in mag])
        ax2.semilogy(k, [r["exact"] for _, r in mag], "o-", label="exact chain, bf16 grid")
        ax2.semilogy(k, [r["prediction"] for _, r in mag], "k--", label="σ·ulp(w*)/(2√(2π))")
        fixed = F.sr_floor_prediction(W_STAR, FloatFormat(EXP_BITS, MAGNITUDE_MAN_BITS), SIGMA)
        ax2.axhline(fixed, color="C2", ls=":", label="fixed-point SR, Δ = ulp(0.75) (Li et al.)")
        ax2.axvspan(*FIT_K, color="0.9", zorder=0, label="fit range")
        ax2.set(xlabel="k (w* = 0.75·2^k)", ylabel="floor E[f] − f*", title="(b) floor ∝ ulp(w*) ∝ 2^k")
        ax2.legend(fontsize=8)
        fig.suptitle("Stochastic rounding onto float grids: f = (w − w*)²/2, σ = 1 (Li et al. 2017 §3, float)")
    png = Path(outdir) / "float_sr_floor.png"
    paths = plotting.save_figure(fig, png)
    rows = ["part,value,exact,exact_small_alpha,prediction,ulp,alpha"]
    rows += [f"{part},{v},{r['exact']:.6e},{r['exact_small_alpha']:.6e},{r['prediction']:.6e},{r['ulp']:.6e},"
             f"{r['alpha']:.6e}" for part, group in (("m", mant), ("k", mag)) for v, r in group]
    data = plotting.atomic_write_text(Path(outdir) / "float_sr_floor.csv", "\n".join(rows) + "\n")
    return [*paths, data]


def _mantissa_claim(sims):
    cis = [stats.mean_ci(r["per_chain"]) for _, r in sims]
    slope, se = _slope([m for m, _ in sims], [c.estimate for c in cis], [c.half_width / 1.96 for c in cis])
    ci = stats.normal_ci(slope, se, sum(c.n for c in cis))
    ratios = [stats.mean_ci(r["per_chain"] / r["exact"]) for _, r in sims]  # the exact floor is a constant
    v_ratio = stats.combine(stats.verdict_within(c, 1 - SIM_MARGIN, 1 + SIM_MARGIN) for c in ratios)
    verdict = stats.combine([stats.verdict_within(ci, -1 - SLOPE_MARGIN, -1 + SLOPE_MARGIN), v_ratio])
    return Claim.from_interval(
        "floatsr-floor-mantissa", PAPER,
        "SR's floor on a float grid halves per extra mantissa bit (log2-slope −1 in m) and simulations match the "
        "exact chain", ci, f"slope in [−1 ± {SLOPE_MARGIN}] and sim/exact in [1 ± {SIM_MARGIN}]", verdict,
        margin=f"±{SLOPE_MARGIN} on the slope (3 points with ±5 % CIs); ±{SIM_MARGIN} on sim/exact",
        detail="simulated m = " + ", ".join(f"{m}: {c}" for (m, _), c in zip(sims, cis, strict=True))
        + "; sim/exact = " + ", ".join(f"{c.estimate:.3f} [{c.low:.3f}, {c.high:.3f}]" for c in ratios))


def _every(ratios, margin):
    """A deterministic "every point within 1 ± margin" check: no sampling error, so two-valued."""
    return "holds" if bool(np.all(np.abs(np.asarray(ratios) - 1.0) <= margin)) else "fails"


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """Four rows: simulated slope in m, exact floor vs prediction, α-independence, slope in k."""
    mant, mag, sims = _parts(results)
    fit = [(m, r) for m, r in mant if m >= FIT_M_MIN] + [(k, r) for k, r in mag if FIT_K[0] <= k <= FIT_K[1]]
    ratios = np.array([r["exact"] / r["prediction"] for _, r in fit])
    worst = float(ratios[np.argmax(np.abs(ratios - 1))])
    ci_r = stats.Interval(worst, float(ratios.min()), float(ratios.max()), ratios.size)
    a_ratio = np.array([r["exact"] / r["exact_small_alpha"] for _, r in mant + mag])
    worst_a = float(a_ratio[np.argmax(np.abs(a_ratio - 1))])
    ci_a = stats.Interval(worst_a, float(a_ratio.min()), float(a_ratio.max()), a_ratio.size)
    mag_fit = [(k, r) for k, r in mag if FIT_K[0] <= k <= FIT_K[1]]
    k_slope = _slope([k for k, _ in mag_fit], [r["exact"] for _, r in mag_fit])[0]
    m_slope = _slope([m for m, r in mant if m >= FIT_M_MIN], [r["exact"] for m, r in mant if m >= FIT_M_MIN])[0]
    outside = max(r["exact"] / r["prediction"] for _, r in mant)
    ci_k = stats.Interval(k_slope, k_slope, k_slope, len(mag_fit))
    return [
        _mantissa_claim(sims),
        Claim.from_interval(
            "floatsr-floor-exact", PAPER, "The exact SR floor on a float grid equals σ·ulp(w*)/(2√(2π)) (derived)",
            ci_r, f"exact/predicted in [1 ± {EXACT_MARGIN}] at every point", _every(ratios, EXACT_MARGIN),
            kind="derived",
            margin=f"±{EXACT_MARGIN} (corrections O(μ·ulp/σ); ci = min/max over points, deterministic)",
            detail=f"{ratios.size} points (m ≥ {FIT_M_MIN}; k in {FIT_K}); exact log2-slope in m = {m_slope:.4f}; "
                   f"outside the fit range the ratio reaches {outside:.3f} (π crosses a binade edge)"),
        Claim.from_interval(
            "floatsr-floor-alpha", PAPER, "Below the local threshold SR's floor on a float grid is α-independent "
            "(derived)", ci_a, f"floor(α)/floor(α/10) in [1 ± {ALPHA_MARGIN}]",
            _every(a_ratio, ALPHA_MARGIN), kind="derived",
            margin=f"±{ALPHA_MARGIN} (Gaussian noise: multi-cell moves have probability < 1e-18)",
            detail=f"{a_ratio.size} exact chains at α = ulp/(22σ) and α/10"),
        Claim.from_interval(
            "floatsr-floor-magnitude", PAPER, "SR's floor grows with the magnitude of the minimiser: ∝ ulp(w*), "
            "log2-slope +1 in k for w* = 0.75·2^k (derived; fixed-point SR's floor is magnitude-free)", ci_k,
            f"slope in [1 ± {MAG_SLOPE_MARGIN}]", stats.verdict_within(ci_k, 1 - MAG_SLOPE_MARGIN,
                                                                      1 + MAG_SLOPE_MARGIN),
            kind="derived", margin=f"±{MAG_SLOPE_MARGIN} (exact chain, deterministic)",
            detail=f"bf16 grid, k in {FIT_K}, σ = {SIGMA}"),
    ]
