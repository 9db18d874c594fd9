"""SR with a constant step is a Markov chain whose stationary law does not depend on α below the
one-cell threshold, computed exactly and simulated (Figure 3 analogue).

Setting (ours; the paper's Fig. 3 is a sketch): f(x) = x²/8 + sin²(2x) (1-D multi-well),
stochastic gradient f'(x) + σξ with Gaussian ξ, σ = 4, lattice Δ = 0.25 on [−8, 8] (65 states,
clipped ends carry < 1e-8 of π). The exact chain is :func:`quanttheory.theory.transition_matrix_1d`
(closed-form Gaussian rounding probabilities); the simulation is :func:`quanttheory.optim.run`
with ``optim.sr`` on ``problems.MultiWell1D``. Chains start at x = 0 and run 10/gap steps, gap
being the exact chain's spectral gap (so the start is forgotten up to e^{−10}); their final
states are independent exact draws of π_α if the theory is right, so the total variation to π_α
is compared with the 99.9 % quantile of its sampling distribution (multinomial null, drawn
with the point's Generator) and reported.

Claim 7's verdict does not rest on that TV test, which has little power (it cannot tell π from
the law computed with 10 % wrong noise). Instead, for every simulated α: (i) an equivalence
test on the moment E_π f — the CI of (mean f(x_sim) − E_π f)/E_π f must lie inside ±F_MARGIN;
(ii) a χ² goodness-of-fit test against π (bins pooled to expected counts ≥ 5) that fails the
claim if it rejects at CHI2_LEVEL; and (iii) a positive control in the same run: the same
moment test against the exact laws with σ × (1 ± NOISE_ERROR) must put its CI wholly outside
the band, and χ² must reject them, otherwise the row is "inconclusive" (no power).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import chisquare

from quanttheory import optim, plotting, problems
from quanttheory.claims import Claim
from quanttheory.stats import combine
from quanttheory.theory import evidence as E
from quanttheory.theory import markov as M

NAME = "li2017-markov"
PAPER = "Li et al. 2017, Fig. 3 (SR as a Markov chain)"
CLAIMS = ("li2017-7",)

SIGMA, DELTA, LOWER, UPPER = 4.0, 0.25, -8.0, 8.0
EXACT_ALPHAS = (0.3, 0.1, 0.03, 0.015, 0.009, 0.003, 0.001, 0.0003)
SPREAD_TOL = 1e-9  # exact π_α must agree to this (TV) below the threshold (round-off is ~1e-13)
NULL_QUANTILE = 0.999
# Margins, declared before any run:
NOISE_ERROR = 0.10  # the control: laws computed with σ off by ±10 % (they shift E_π f by about ∓8.5 %)
F_MARGIN = 0.04  # "matches π": E f within ±4 % — half the shift a 10 % noise error causes, so it is detectable
CHI2_LEVEL = 1e-3  # χ² goodness of fit rejects (and fails the claim) below this p-value


def _lattice():
    return np.linspace(LOWER, UPPER, int(round((UPPER - LOWER) / DELTA)) + 1)


def _grad(x):
    return x / 4.0 + 2.0 * np.sin(4.0 * x)


def _f(x):
    return x**2 / 8.0 + np.sin(2.0 * x) ** 2


def threshold_alpha():
    """α with α (max|f'| + 6σ) = Δ: one-cell moves except with probability < 2e-9 per step."""
    return DELTA / (float(np.max(np.abs(_grad(_lattice())))) + 6.0 * SIGMA)


def grid(quick: bool) -> list[dict]:
    """One exact-only point (all α), and simulated points below the threshold."""
    sims = (0.009,) if quick else (0.009, 0.003)
    chains = 8000 if quick else 12000
    return [{"part": "exact"}] + [{"part": "simulate", "alpha": a, "chains": chains} for a in sims]


def _exact(alpha):
    P = M.transition_matrix_1d(_grad, _lattice(), alpha, SIGMA)
    ev = np.sort(np.abs(np.linalg.eigvals(P.toarray())))[::-1]
    return P, M.stationary_distribution(P), 1.0 - float(ev[1])


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Exact π_α and spectral gaps for every α, or a simulation at one α with its TV null."""
    x = _lattice()
    if point["part"] == "exact":
        pis, gaps = zip(*[_exact(a)[1:] for a in EXACT_ALPHAS], strict=True)
        gibbs = M.gibbs(_f(x), M.sr_temperature(SIGMA, DELTA))
        # the control laws: same chain, noise σ off by ±NOISE_ERROR (at a step below both thresholds)
        wrong = [M.stationary_distribution(M.transition_matrix_1d(_grad, x, EXACT_ALPHAS[-1], SIGMA * (1 + e)))
                 for e in (-NOISE_ERROR, NOISE_ERROR)]
        return {"x": x, "alphas": np.array(EXACT_ALPHAS), "pi": np.array(pis), "gap": np.array(gaps),
                "gibbs": gibbs, "threshold": threshold_alpha(), "pi_wrong": np.array(wrong)}
    alpha, chains = point["alpha"], point["chains"]
    _, pi, gap = _exact(alpha)
    steps = int(np.ceil(10.0 / gap))
    traj = optim.run(optim.sr(alpha, DELTA), problems.MultiWell1D(SIGMA), np.zeros((chains, 1)),
                     steps=steps, rng=rng, backend="numba")
    idx = np.rint((traj.final[:, 0] - LOWER) / DELTA).astype(np.int64)
    hist = np.bincount(np.clip(idx, 0, x.size - 1), minlength=x.size) / chains
    null = np.array([M.total_variation(rng.multinomial(chains, pi) / chains, pi) for _ in range(2000)])
    return {"x": x, "pi": pi, "hist": hist, "tv": M.total_variation(hist, pi), "steps": float(steps),
            "tv_null_q": float(np.quantile(null, NULL_QUANTILE)), "alpha": float(alpha),
            "f_final": _f(traj.final[:, 0])}


def chi2_pvalue(counts, probs, min_expected=5.0):
    """χ² goodness-of-fit p-value of ``counts`` against ``probs``, adjacent bins pooled to expected ≥ 5."""
    counts, probs = np.asarray(counts, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    expected = probs / probs.sum() * counts.sum()
    groups, obs, exp, acc_o, acc_e = 0, [], [], 0.0, 0.0
    for o, e in zip(counts, expected, strict=True):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= min_expected:
            obs.append(acc_o)
            exp.append(acc_e)
            acc_o = acc_e = 0.0
            groups += 1
    if groups < 2:
        raise ValueError(f"too few draws for a χ² test: {counts.sum():.0f} (need >= 2 bins of {min_expected:g})")
    obs[-1] += acc_o  # the tail that did not reach min_expected joins the last bin
    exp[-1] += acc_e
    return float(chisquare(obs, exp).pvalue)


def _moment_tests(sim, exact):
    """(sim vs π, [sim vs π(σ(1−ε)), sim vs π(σ(1+ε))]) relative-difference CIs of E f, and χ² p-values."""
    f = _f(sim["x"])
    counts = np.rint(sim["hist"] * sim["f_final"].size)
    ci = E.rel_diff_ci(sim["f_final"], float(sim["pi"] @ f))
    controls = [E.rel_diff_ci(sim["f_final"], float(pw @ f)) for pw in exact["pi_wrong"]]
    p_true = chi2_pvalue(counts, sim["pi"])
    p_wrong = [chi2_pvalue(counts, pw) for pw in exact["pi_wrong"]]
    return ci, controls, p_true, p_wrong


def _panel_laws(ax, exact, sims):
    x = exact["x"]
    below = exact["alphas"] <= exact["threshold"]
    for k, (a, pi) in enumerate(zip(exact["alphas"][~below], exact["pi"][~below], strict=True)):
        ax.plot(x, pi, ":", color=f"C{k + 1}", lw=1.2, label=f"exact π, α = {a:g} (above threshold)")
    for j, pi in enumerate(exact["pi"][below]):
        ax.plot(x, pi, "-", color="C0", lw=1, label=f"exact π, {below.sum()} α ≤ {exact['threshold']:.3g} "
                "(curves coincide)" if j == 0 else None)
    for k, r in enumerate(sims):
        ax.plot(x + (k - 0.5 * (len(sims) - 1)) * 0.06, r["hist"], "o", ms=3.5, mfc="none", color=f"C{6 + k}",
                label=f"simulated, α = {r['alpha']:g} ({r['steps']:.0f} steps, {r['f_final'].size} chains)")
    ax.plot(x, exact["gibbs"], "k--", lw=1.2, label="Gibbs, T = σΔ/√(2π)")
    ax.set(xlabel="x (lattice Δ = 0.25, weight units)", ylabel="probability", xlim=(-5, 5),
           title="(a) SR stationary law: f = x²/8 + sin²(2x), σ = 4")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


def _panel_power(ax, exact, sims):
    labels = [f"σ × {1 - NOISE_ERROR:g}", "σ (true)", f"σ × {1 + NOISE_ERROR:g}"]
    for k, r in enumerate(sims):
        ci, controls, _, _ = _moment_tests(r, exact)
        cis = [controls[0], ci, controls[1]]
        pos = np.arange(3) + 0.15 * (k - 0.5 * (len(sims) - 1))
        ax.errorbar(pos, [100 * c.estimate for c in cis], fmt="o", color=f"C{6 + k}",
                    yerr=[[100 * (c.estimate - c.low) for c in cis], [100 * (c.high - c.estimate) for c in cis]],
                    label=f"simulation at α = {r['alpha']:g}")
    ax.axhspan(-100 * F_MARGIN, 100 * F_MARGIN, color="0.85", label=f"equivalence margin ±{100 * F_MARGIN:g} %")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(3), labels)
    ax.set(xlabel="noise of the exact law compared with", ylabel="(mean f(x_sim) − E_π f)/E_π f (%, 95 % CI)",
           title="(c) moment test: detects a 10 % noise error")
    ax.legend(fontsize=8)


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) exact π_α and simulations; (b) TV(π_α, π_α_min) vs α; (c) the moment test and its control."""
    exact = next(r for p, r in results if p["part"] == "exact")
    sims = [r for p, r in results if p["part"] == "simulate"]
    with plotting.style():
        fig = Figure(figsize=(15, 5.6), layout="constrained")
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=(1.4, 1, 1))
        _panel_laws(ax1, exact, sims)
        tv = [M.total_variation(pi, exact["pi"][-1]) for pi in exact["pi"][:-1]]
        ax2.loglog(exact["alphas"][:-1], np.maximum(tv, 1e-17), "o-", label=f"TV(π_α, π_{exact['alphas'][-1]:g})")
        ax2.axvline(exact["threshold"], color="k", ls="--", lw=1, label="α(max|f'| + 6σ) = Δ")
        ax2.set(xlabel="step size α", ylabel="total variation distance",
                title="(b) π_α is α-independent below the threshold")
        ax2.legend(fontsize=8)
        _panel_power(ax3, exact, sims)
        fig.suptitle("Li et al. 2017, Fig. 3 analogue: exact SR Markov chain vs simulation")
    png, data = Path(outdir) / "li2017_markov.png", Path(outdir) / "li2017_markov.npz"
    paths = plotting.save_figure(fig, png)
    arrays = {f"exact_{k}": v for k, v in exact.items()}
    for r in sims:
        arrays |= {f"sim_{r['alpha']:g}_{k}": v for k, v in r.items()}
    np.savez(data, **arrays)
    return [*paths, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """li2017-7: exact π_α α-free below threshold; each simulation matches it (moment TOST, χ²), with control."""
    exact = next(r for p, r in results if p["part"] == "exact")
    sims = [r for p, r in results if p["part"] == "simulate"]
    below = exact["alphas"] <= exact["threshold"]
    spread = max(M.total_variation(pi, exact["pi"][below][-1]) for pi in exact["pi"][below])
    verdicts, texts, cis = ["holds" if spread <= SPREAD_TOL else "fails"], [], []
    for r in sims:
        ci, controls, p_true, p_wrong = _moment_tests(r, exact)
        for c in controls:  # every control law must be resolved, else no power
            v, det = E.gated_equivalence(ci, -F_MARGIN, F_MARGIN, c)
            verdicts.append(v)
        verdicts.append("fails" if p_true < CHI2_LEVEL else "holds")
        verdicts.append("holds" if all(p < CHI2_LEVEL for p in p_wrong) else "inconclusive")
        cis.append(ci)
        texts.append(f"α = {r['alpha']:g}: E f rel. diff {ci}; χ² p = {p_true:.3g}; control σ×(1∓{NOISE_ERROR:g})"
                     f": {controls[0]} / {controls[1]}, χ² p = {p_wrong[0]:.2g} / {p_wrong[1]:.2g}; "
                     f"TV {r['tv']:.4f} (null q{NULL_QUANTILE:g} {r['tv_null_q']:.4f})")
    widest = max(cis, key=lambda c: max(abs(c.low), abs(c.high)))  # the simulation nearest to failing
    return [Claim.from_interval(
        "li2017-7", PAPER,
        "SR's stationary law is α-independent below the threshold α·max‖g‖ ≤ Δ, and long simulations match it",
        widest, f"E f of every simulation within ±{F_MARGIN:g} of E_π f (TOST); χ² p ≥ {CHI2_LEVEL:g}; "
        f"exact α-spread ≤ {SPREAD_TOL:g}", combine(verdicts),
        margin=f"±{100 * F_MARGIN:g} % of E_π f (declared: half the shift of a {100 * NOISE_ERROR:g} % "
               "noise error); control must be resolved",
        detail=f"exact α-spread (TV, α ≤ {exact['threshold']:.4g}) = {spread:.2e}; " + "; ".join(texts)
               + f"; spectral gap/α = {exact['gap'][-1] / exact['alphas'][-1]:.4f} (mixing ∝ 1/α)")]
