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
with the point's Generator).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import optim, problems
from quanttheory.claims import Claim
from quanttheory.theory import markov as M

NAME = "li2017-markov"
PAPER = "Li et al. 2017, Fig. 3 (SR as a Markov chain)"
CLAIMS = ("li2017-7",)

SIGMA, DELTA, LOWER, UPPER = 4.0, 0.25, -8.0, 8.0
EXACT_ALPHAS = (0.3, 0.1, 0.03, 0.015, 0.009, 0.003, 0.001, 0.0003)
SPREAD_TOL = 1e-9  # exact π_α must agree to this (TV) below the threshold (round-off is ~1e-13)
NULL_QUANTILE = 0.999


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
    sims = (0.009,) if quick else (0.009, 0.003, 0.001)
    chains = 2000 if quick else 4000
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
        return {"x": x, "alphas": np.array(EXACT_ALPHAS), "pi": np.array(pis), "gap": np.array(gaps),
                "gibbs": gibbs, "threshold": threshold_alpha()}
    alpha, chains = point["alpha"], point["chains"]
    _, pi, gap = _exact(alpha)
    steps = int(np.ceil(10.0 / gap))
    traj = optim.run(optim.sr(alpha, DELTA), problems.MultiWell1D(SIGMA), np.zeros((chains, 1)),
                     steps=steps, rng=rng, backend="numba")
    idx = np.rint((traj.final[:, 0] - LOWER) / DELTA).astype(np.int64)
    hist = np.bincount(np.clip(idx, 0, x.size - 1), minlength=x.size) / chains
    null = np.array([M.total_variation(rng.multinomial(chains, pi) / chains, pi) for _ in range(2000)])
    return {"x": x, "pi": pi, "hist": hist, "tv": M.total_variation(hist, pi), "steps": float(steps),
            "tv_null_q": float(np.quantile(null, NULL_QUANTILE)), "alpha": float(alpha)}


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) exact π_α for all α, simulations and the Gibbs prediction; (b) TV(π_α, π_α_min) vs α."""
    exact = next(r for p, r in results if p["part"] == "exact")
    sims = [r for p, r in results if p["part"] == "simulate"]
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    x = exact["x"]
    for a, pi in zip(exact["alphas"], exact["pi"], strict=True):
        ls = "-" if a <= exact["threshold"] else ":"
        ax1.plot(x, pi, ls, lw=1, label=f"exact π, α = {a:g}")
    for k, r in enumerate(sims):
        ax1.bar(x + (k - 0.5 * (len(sims) - 1)) * 0.05, r["hist"], width=0.05, alpha=0.6,
                label=f"simulated, α = {r['alpha']:g} ({r['steps']:.0f} steps)")
    ax1.plot(x, exact["gibbs"], "k--", lw=1.2, label="Gibbs, T = σΔ/√(2π)")
    ax1.set(xlabel="x (lattice Δ = 0.25)", ylabel="probability", xlim=(-5, 5),
            title="(a) SR stationary law: f = x²/8 + sin²(2x), σ = 4")
    ax1.legend(fontsize=7)
    tv = [M.total_variation(pi, exact["pi"][-1]) for pi in exact["pi"][:-1]]
    ax2.loglog(exact["alphas"][:-1], np.maximum(tv, 1e-17), "o-", label=f"TV(π_α, π_{exact['alphas'][-1]:g})")
    ax2.axvline(exact["threshold"], color="k", ls="--", lw=1, label="α(max|f'| + 6σ) = Δ")
    ax2.set(xlabel="step size α", ylabel="total variation distance",
            title="(b) π_α is α-independent below the threshold")
    ax2.legend(fontsize=8)
    fig.suptitle("Li et al. 2017, Fig. 3 analogue: exact SR Markov chain vs simulation")
    png, data = Path(outdir) / "li2017_markov.png", Path(outdir) / "li2017_markov.npz"
    fig.savefig(png, dpi=120)
    arrays = {f"exact_{k}": v for k, v in exact.items()}
    for r in sims:
        arrays |= {f"sim_{r['alpha']:g}_{k}": v for k, v in r.items()}
    np.savez(data, **arrays)
    return [png, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """li2017-7: exact π_α α-independent below threshold, and simulations within the TV null."""
    exact = next(r for p, r in results if p["part"] == "exact")
    sims = [r for p, r in results if p["part"] == "simulate"]
    below = exact["alphas"] <= exact["threshold"]
    ref = exact["pi"][below][-1]
    spread = max(M.total_variation(pi, ref) for pi in exact["pi"][below])
    excess = max(r["tv"] / r["tv_null_q"] for r in sims)
    holds = bool(spread <= SPREAD_TOL and excess <= 1.0)
    sims_txt = ", ".join(f"α={r['alpha']:g}: TV {r['tv']:.4f} (null q{NULL_QUANTILE:g} {r['tv_null_q']:.4f})"
                         for r in sims)
    return [Claim(
        "li2017-7", PAPER,
        "SR's stationary law is α-independent below the threshold α·max‖g‖ ≤ Δ, and long simulations match it",
        excess, f"TV(sim, exact)/null-q{NULL_QUANTILE:g} ≤ 1 and exact α-spread ≤ {SPREAD_TOL:g}", holds,
        f"exact α-spread (TV, α ≤ {exact['threshold']:.4g}) = {spread:.2e}; {sims_txt}; spectral gap/α = "
        f"{exact['gap'][-1] / exact['alphas'][-1]:.4f} (mixing ∝ 1/α); TV(π, Gibbs σΔ/√(2π)) = "
        f"{M.total_variation(ref, exact['gibbs']):.3f}")]
