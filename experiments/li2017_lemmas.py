"""Lemma 1 (the SR rounding error bound) and the freezing of R, by Monte Carlo.

Lemma 1: for w on the grid, u = w − αg, E‖Q_s(u) − u‖² ≤ √d Δ α G (derivation in
:mod:`quanttheory.theory.bounds`). We draw random (d, Δ, α, w, g), including the tight regime
α|g_i| ≪ Δ with equal |g_i| (where Δ²p(1−p) ≈ Δα|g_i| and ‖g‖₁ = √d‖g‖₂), estimate the left side
with ``quantizers.stochastic_round`` and compare with the bound in Monte-Carlo standard errors.

R freezes: with round-to-nearest, Q_d(w − αg) = w whenever α|g_i| < Δ/2 for w on the grid.
We apply one ``optim.rounded`` update to random grid points with Gaussian stochastic gradients
and count coordinates where "moved" disagrees with "α|g_i| ≥ Δ/2"; we also run R and SR with
α_t = 1/(μ(t+1)) on a noisy quadratic and record when R stops moving.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import norm

from quanttheory import optim, problems
from quanttheory import quantizers as Q
from quanttheory.claims import Claim
from quanttheory.theory import bounds as B

NAME = "li2017-lemmas"
PAPER = "Li et al. 2017, Lemma 1 and §5 (R freezes)"
CLAIMS = ("li2017-1", "li2017-6")
FAMILY_ERROR = 1e-3  # family-wise false-alarm rate of the Lemma-1 test over all random cases


def grid(quick: bool) -> list[dict]:
    """One Lemma-1 point (random cases) and one freezing point."""
    return [{"part": "lemma1", "cases": 60 if quick else 400, "samples": 4000 if quick else 20000},
            {"part": "freeze", "points": 20000 if quick else 200000, "steps": 2000 if quick else 20000}]


def _lemma1_case(rng):
    d = int(rng.integers(1, 33))
    delta, alpha = 2.0 ** rng.uniform(-6, 1), 10 ** rng.uniform(-4, 0)
    w = delta * rng.integers(-20, 21, d).astype(np.float64)
    if rng.random() < 0.5:  # tight regime: equal |g_i|, α|g_i| ≤ Δ/100
        g = rng.choice([-1.0, 1.0], d) * delta * rng.uniform(1e-4, 1e-2) / alpha
    else:
        g = rng.standard_normal(d) * 10 ** rng.uniform(-2, 2)
    return d, delta, alpha, w, g


def _lemma1(point, rng):
    cols = {k: np.empty(point["cases"]) for k in ("mc", "se", "bound", "exact")}
    for k in range(point["cases"]):
        d, delta, alpha, w, g = _lemma1_case(rng)
        u = w - alpha * g
        err = np.sum((Q.stochastic_round(np.broadcast_to(u, (point["samples"], d)), delta, rng) - u) ** 2, axis=1)
        frac = u / delta - np.floor(u / delta)
        cols["mc"][k], cols["se"][k] = err.mean(), err.std(ddof=1) / np.sqrt(err.size)
        cols["exact"][k] = delta**2 * np.sum(frac * (1 - frac))
        cols["bound"][k] = B.lemma1_bound(d, delta, alpha, float(np.linalg.norm(g)))
    return cols


def _freeze(point, rng):
    delta, n = 0.25, point["points"]
    w = delta * rng.integers(-40, 41, (n, 1)).astype(np.float64)
    alpha = 10 ** rng.uniform(-3, 0, (n, 1))
    g = rng.standard_normal((n, 1)) * 10 ** rng.uniform(-1, 1.5, (n, 1))
    rule = optim.rounded(1.0, delta)  # the step α g is passed in through g (schedule α = 1)
    new, _ = rule.update(alpha * g, rule.init(w), w)
    moved, big = new != w, alpha * np.abs(g) >= delta / 2
    prob = problems.Quadratic([1.0, 2.0], [0.3, -0.2], noise_sigma=1.0)
    w0 = np.zeros((256, 2))
    sched = optim.schedules.inverse_time(prob.mu)
    out = {"mismatch": float(np.sum(moved != big)), "moved_when_big": float(moved[big].mean()),
           "n_small": float(np.sum(~big))}
    for name, rule in (("r", optim.rounded(sched, delta)), ("sr", optim.sr(sched, delta))):
        tr = optim.run(rule, prob, w0, steps=point["steps"], rng=rng, record_every=point["steps"] // 100,
                       backend="numba")
        out[f"{name}_moving"] = np.mean(np.any(np.diff(tr.iterates, axis=0) != 0, axis=2), axis=1)
        out[f"{name}_gap"] = tr.gap_of_average
    out["record_steps"] = tr.steps[1:].astype(np.float64)
    return out


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Lemma-1 Monte Carlo over random cases, or the R freezing checks."""
    return _lemma1(point, rng) if point["part"] == "lemma1" else _freeze(point, rng)


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) MC E‖Q_s(u)−u‖² vs the Lemma-1 bound; (b) fraction of chains still moving, R vs SR."""
    lem = next(r for p, r in results if p["part"] == "lemma1")
    frz = next(r for p, r in results if p["part"] == "freeze")
    fig = Figure(figsize=(11, 4.3), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.errorbar(lem["bound"], lem["mc"], yerr=3 * lem["se"], fmt="o", ms=3, label="Monte Carlo (±3 SE)")
    lim = [min(lem["bound"].min(), lem["mc"].min()) / 2, lem["bound"].max() * 2]
    ax1.loglog(lim, lim, "k--", lw=1, label="bound √d Δ α G")
    ax1.set(xlabel="Lemma-1 bound √d Δ α ‖g‖ (squared weight units)",
            ylabel="E‖Q_s(u) − u‖² (squared weight units)", title="(a) Lemma 1: SR rounding error")
    ax1.legend(fontsize=8)
    for name, label in (("r", "R (deterministic rounding)"), ("sr", "SR")):
        ax2.semilogx(frz["record_steps"], frz[f"{name}_moving"], label=label)
    ax2.set(xlabel="step t (α_t = 1/(μ(t+1)), Δ = 0.25)", ylabel="fraction of chains that moved since last record",
            title="(b) R freezes once α_t|g| < Δ/2; SR keeps moving")
    ax2.legend(fontsize=8)
    fig.suptitle("Li et al. 2017, Lemma 1 and the freezing of R")
    png, data = Path(outdir) / "li2017_lemmas.png", Path(outdir) / "li2017_lemmas.npz"
    fig.savefig(png, dpi=120)
    np.savez(data, **{f"lemma1_{k}": v for k, v in lem.items()}, **{f"freeze_{k}": v for k, v in frz.items()})
    return [png, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """li2017-1 (max z-score of MC excess over the bound) and li2017-6 (mismatch count)."""
    lem = next(r for p, r in results if p["part"] == "lemma1")
    frz = next(r for p, r in results if p["part"] == "freeze")
    # u on the grid gives a zero-variance estimate (SE = 0): then MC is exact and z is its sign
    excess = lem["mc"] - lem["bound"]
    z = float(np.max(np.where(lem["se"] > 0, excess / np.where(lem["se"] > 0, lem["se"], 1.0), np.sign(excess))))
    ratio = float(np.max(lem["exact"] / lem["bound"]))
    # one-sided Bonferroni: P(any z > z_max) ≤ FAMILY_ERROR when every case sits exactly at the bound
    z_max = float(norm.isf(FAMILY_ERROR / lem["mc"].size))
    c1 = Claim("li2017-1", "Li et al. 2017, Lemma 1", "E‖Q_s(u) − u‖² ≤ √d Δ α G for u = w − αg, w on the grid",
               z, f"max z = (MC − bound)/SE ≤ {z_max:.2f} (Bonferroni, family error {FAMILY_ERROR:g})",
               bool(z <= z_max and ratio <= 1 + 1e-12),
               f"{lem['mc'].size} random cases (d ≤ 32, Δ ∈ [1/64, 2], α ∈ [1e-4, 1]); max exact/bound = "
               f"{ratio:.4f} (must be ≤ 1)")
    c6 = Claim("li2017-6", "Li et al. 2017, §5 (R freezes)", "R never moves a weight when α·abs(g_i) < Δ/2",
               frz["mismatch"], "mismatches == 0", bool(frz["mismatch"] == 0),
               f"one R step at random grid points: {frz['n_small']:.0f} small-step coordinates; moved in "
               f"{100 * frz['moved_when_big']:.1f} % when α·abs(g) ≥ Δ/2. Quadratic, α_t = 1/(μ(t+1)): "
               f"R still moving in {100 * frz['r_moving'][-1]:.0f} % of chains at the end "
               f"(SR {100 * frz['sr_moving'][-1]:.0f} %); mean gap R {frz['r_gap'].mean():.3g} "
               f"vs SR {frz['sr_gap'].mean():.3g}")
    return [c1, c6]
