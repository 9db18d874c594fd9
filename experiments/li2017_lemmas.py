"""Lemma 1 (the SR rounding error bound) and the freezing of R, by Monte Carlo.

Lemma 1: for w on the grid, u = w − αg, E‖Q_s(u) − u‖² ≤ √d Δ α G (derivation in
:mod:`quanttheory.theory.bounds`). We draw random (d, Δ, α, w, g), including the tight regime
α|g_i| ≪ Δ with equal |g_i| (where Δ²p(1−p) ≈ Δα|g_i| and ‖g‖₁ = √d‖g‖₂), estimate the left side
with ``quantizers.stochastic_round`` and compare with the bound in Monte-Carlo standard errors.

R freezes: with round-to-nearest, Q_d(w − αg) = w whenever α|g_i| < Δ/2 for w on the grid.
We apply one ``optim.rounded`` update to random grid points with Gaussian stochastic gradients
and count coordinates where "moved" disagrees with "α|g_i| ≥ Δ/2" — a regression check of
round-to-nearest (kind "sanity": it follows from the definition). We also run R and SR with
α_t = 1/(μ(t+1)) on a noisy quadratic, recording every step, and plot the fraction of chains
that move within each window [2^k, 2^{k+1}): R's falls to 0 once α_t|g| < Δ/2 (its freezing
transition); SR's stays up, since its move probability ∝ α_t sums to ~log 2 per window.

Row kinds: Lemma 1 is a bound we re-derived (kind "derived"); the exact-variance ratio decides
it and the Monte-Carlo part checks that ``stochastic_round`` has that variance (a simultaneous
Bonferroni test that fails the row if any case exceeds the bound).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import norm

from quanttheory import optim, plotting, problems
from quanttheory import quantizers as Q
from quanttheory.claims import Claim
from quanttheory.theory import bounds as B

NAME = "li2017-lemmas"
PAPER = "Li et al. 2017, Lemma 1 and §5 (R freezes)"
CLAIMS = ("li2017-1", "li2017-6")
FAMILY_ERROR = 1e-3  # family-wise false-alarm rate of the Lemma-1 test over all random cases
ROUNDOFF = 1e-12  # exact/bound may exceed 1 by this much (float round-off), no more
FREEZE_STEPS = 2**12  # per-step records of R and SR: the freezing transition happens near t ≈ 25


def grid(quick: bool) -> list[dict]:
    """One Lemma-1 point (random cases) and one freezing point."""
    return [{"part": "lemma1", "cases": 60 if quick else 400, "samples": 4000 if quick else 20000},
            {"part": "freeze", "points": 20000 if quick else 200000, "steps": FREEZE_STEPS}]


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
    edges = 2 ** np.arange(int(np.log2(point["steps"])) + 1)  # windows [2^k, 2^{k+1}) of update numbers
    for name, rule in (("r", optim.rounded(sched, delta)), ("sr", optim.sr(sched, delta))):
        tr = optim.run(rule, prob, w0, steps=point["steps"], rng=rng, record_every=1, backend="numba")
        moved = np.any(np.diff(np.concatenate([w0[None], tr.iterates]), axis=0) != 0, axis=2)  # (T, C)
        out[f"{name}_moving"] = np.array([moved[a - 1:b - 1].any(axis=0).mean() for a, b in zip(edges, edges[1:],
                                                                                                strict=False)])
        out[f"{name}_gap"] = tr.gap_of_average
    out["window_start"] = edges[:-1].astype(np.float64)
    return out


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Lemma-1 Monte Carlo over random cases, or the R freezing checks."""
    return _lemma1(point, rng) if point["part"] == "lemma1" else _freeze(point, rng)


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) MC E‖Q_s(u)−u‖² / bound per case; (b) fraction of chains moving per window, R vs SR."""
    lem = next(r for p, r in results if p["part"] == "lemma1")
    frz = next(r for p, r in results if p["part"] == "freeze")
    with plotting.style():
        fig = Figure(figsize=(11, 4.5), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        ax1.errorbar(lem["bound"], lem["mc"] / lem["bound"], yerr=2 * lem["se"] / lem["bound"], fmt="o", ms=3,
                     elinewidth=0.6, alpha=0.6, label="Monte Carlo / bound (± 2 SE)")
        ax1.plot(lem["bound"], lem["exact"] / lem["bound"], "k.", ms=3, label="exact Δ²Σp(1−p) / bound")
        ax1.axhline(1.0, color="C3", ls="--", lw=1, label="bound √d Δ α G (paper prints the same)")
        ax1.set(xscale="log", ylim=(0, 1.5), xlabel="Lemma-1 bound √d Δ α ‖g‖ (squared weight units)",
                ylabel="E‖Q_s(u) − u‖² / bound", title="(a) Lemma 1: SR rounding error ≤ bound")
        ax1.legend(fontsize=8, loc="lower left")
        t = frz["window_start"]
        for name, label in (("r", "R (deterministic rounding)"), ("sr", "SR")):
            ax2.semilogx(t, frz[f"{name}_moving"], "o-", label=label)
        ax2.axvline(2 * 3.0 / 0.25, color="k", ls=":", lw=1, label="α_t·3σ = Δ/2 (t + 1 = 24)")
        ax2.set(xlabel="window start t (α_t = 1/(μ(t+1)), Δ = 0.25, σ = 1)", ylim=(-0.03, 1.03),
                ylabel="fraction of chains that moved in [t, 2t)",
                title="(b) R freezes once α_t|g| < Δ/2; SR keeps moving")
        ax2.legend(fontsize=8)
        fig.suptitle("Li et al. 2017, Lemma 1 and the freezing of R")
    png, data = Path(outdir) / "li2017_lemmas.png", Path(outdir) / "li2017_lemmas.npz"
    paths = plotting.save_figure(fig, png)
    np.savez(data, **{f"lemma1_{k}": v for k, v in lem.items()}, **{f"freeze_{k}": v for k, v in frz.items()})
    return [*paths, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """li2017-1 (derived: exact ratio ≤ 1, MC never above the bound) and li2017-6 (sanity: no mismatch)."""
    lem = next(r for p, r in results if p["part"] == "lemma1")
    frz = next(r for p, r in results if p["part"] == "freeze")
    n = lem["mc"].size
    # one-sided Bonferroni: P(any case's lower end > 1) ≤ FAMILY_ERROR when every case sits at the bound
    z_max = float(norm.isf(FAMILY_ERROR / n))
    ratio = lem["mc"] / lem["bound"]
    low, high = ratio - z_max * lem["se"] / lem["bound"], ratio + z_max * lem["se"] / lem["bound"]
    exact = float(np.max(lem["exact"] / lem["bound"]))
    verdict = "fails" if exact > 1 + ROUNDOFF or np.any(low > 1) else "holds"
    k = int(np.argmax(low))  # the case nearest to a detected violation
    c1 = Claim("li2017-1", "Li et al. 2017, Lemma 1", "E‖Q_s(u) − u‖² ≤ √d Δ α G for u = w − αg, w on the grid",
               exact, f"max exact ratio ≤ 1 + {ROUNDOFF:g}; no MC ratio's lower end "
               f"(−{z_max:.2f} SE, Bonferroni) above 1", verdict=verdict, kind="derived",
               ci=(float(low[k]), float(high[k])),
               margin=f"ratio 1 (the bound itself); family error {FAMILY_ERROR:g} over {n} cases",
               detail=f"{n} random cases (d ≤ 32, Δ ∈ [1/64, 2], α ∈ [1e-4, 1], half tight); measured = max "
                      f"exact/bound; CI = simultaneous CI of MC/bound for the case with the highest lower end "
                      f"(MC/bound {ratio[k]:.4f}, exact {lem['exact'][k] / lem['bound'][k]:.4f})")
    n_small = int(frz["n_small"])
    c6 = Claim("li2017-6", "Li et al. 2017, §5 (R freezes)", "R never moves a weight when α·abs(g_i) < Δ/2",
               frz["mismatch"], "mismatches == 0", verdict="holds" if frz["mismatch"] == 0 else "fails",
               kind="sanity", ci=(0.0, 3.0 / max(n_small, 1)),
               margin="0 (round-to-nearest keeps w when the step is below Δ/2); CI: 95 % upper rate 3/n",
               detail=f"one R step at random grid points: {n_small} small-step coordinates; moved in "
                      f"{100 * frz['moved_when_big']:.1f} % when α·abs(g) ≥ Δ/2. Quadratic, α_t = 1/(μ(t+1)): "
                      f"chains moving in [{frz['window_start'][-1]:.0f}, {2 * frz['window_start'][-1]:.0f}): "
                      f"R {100 * frz['r_moving'][-1]:.0f} %, SR {100 * frz['sr_moving'][-1]:.0f} %; mean gap R "
                      f"{frz['r_gap'].mean():.3g} vs SR {frz['sr_gap'].mean():.3g}")
    return [c1, c6]
