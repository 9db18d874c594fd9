"""SR's accuracy floor is linear in Δ and free of the learning rate, BC's deployed weights sit
lower, and bigger batches lower SR's floor (§3 theorems).

Setting (noise-dominated regime, chosen so): separable quadratic F = Σ λ_i (w_i − w*_i)²/2 with
d = 8, λ ∈ [0.5, 2], w* off the grid, additive gradient noise σ = 4 per coordinate (σ/√b with
batch b), constant step α = 0.05/(8σ) ≈ 1.6e-3 for every Δ ∈ {0.05, 0.1, 0.2, 0.4} (so α·σ ≤ Δ/8
and λ_max Δ √(2π) ≤ σ: the regime where SR behaves as a lattice walk at temperature
T_SR = σΔ/√(2π), see :mod:`quanttheory.theory.markov`). Runs last 10 relaxation times
1/(α λ_min), all from Q_d(w* + 1) (R then stays frozen there: α|g| < Δ/2);
the companion runs of li2017-2b start at Q_d(w*).

"Floor" here always means the **time-averaged loss of the deployed iterates at stationarity**:
the mean of F(w_t) − F* after a burn-in of BURN_IN relaxation times (what a deployed quantized model
achieves; SGD/BC deployed = float w / Q_d(w_r)). It is *not* the loss of the averaged iterate:
on a quadratic the SR chain's stationary mean is exactly w* (Q_s is unbiased and ∇F is linear),
so F(w̄_T) − F* of SR at a constant step keeps falling like 1/T — the companion row li2017-2b
measures that. The theorem bounds the time average from t = 0, which we compare with
:func:`quanttheory.theory.sr_constant_step_bound` (Ĝ from the run). Predictions drawn: the
exact per-coordinate SR Markov chain (separable problem ⇒ exact product chain) and the
equipartition value d·T_SR/2.

Claim 2 is an equivalence: the CI of floor(α)/floor(α/10) must lie within ±RATIO_MARGIN of 1,
and the same measurement on SGD (floor ∝ α, ratio ≈ 10) must lie outside that band.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import optim, plotting, problems
from quanttheory import quantizers as Q
from quanttheory.claims import Claim
from quanttheory.stats import combine, mean_ci, ratio_ci, verdict_greater, verdict_less
from quanttheory.theory import bounds as B
from quanttheory.theory import evidence as E
from quanttheory.theory import markov as M

NAME = "li2017-floor"
PAPER = "Li et al. 2017, §3 Theorems (accuracy floor vs Δ)"
CLAIMS = ("li2017-2", "li2017-2b", "li2017-3", "li2017-10")

D, SIGMA, GROUPS = 8, 4.0, 8
LAMBDAS = np.linspace(0.5, 2.0, D)
W_STAR = np.linspace(-0.9, 0.85, D) + 0.0123  # off every grid used
DELTAS = (0.05, 0.1, 0.2, 0.4)
ALPHA = 0.05 / (8 * SIGMA)
START_OFFSET = 1.0
# Margins, declared before any run:
RATIO_MARGIN = 0.05  # "α-free": floor(α)/floor(α/10) within 1 ± 5 %, i.e. ∝ α^0.02 at most; SGD's is ∝ α (×10)
SLOPE_BAND = (0.85, 1.15)  # "linear in Δ": log–log slope 1 ± 0.15 (the exact chain's corrections are O(λΔ/σ))
BATCH_RATIO = 1.1  # "bigger batch lowers the floor": each 4× batch lowers it by > 10 % (equipartition: 2×)
AVG_SLOPE = -0.5  # "F(w̄_T) converges": its gap falls at least like T^−1/2 (theory: T^−1)
AVG_HORIZONS = (0.25, 1.0, 4.0)  # companion row: horizons in units of the main run's length
RELAX, BURN_IN = 10, 3  # run length and burn-in in relaxation times 1/(α λ_min): start bias e^{−6} of F(w_0)
CONTROL_SHARE = 4  # SGD's α/10 control needs little precision (its ratio is ≈ 10): a quarter of the chains
METHODS = {"sr": "SR", "bc_s": "BC (Q_s)", "bc_d": "BC (Q_d)", "r": "R", "sgd": "SGD (float)"}


def grid(quick: bool) -> list[dict]:
    """Methods × Δ at batch 1 and α; SR and SGD at α/10 (claim 2 and its control); SR at batches 4, 16
    (claim 10); SR's averaged iterate at several horizons (li2017-2b)."""
    base = {"chains": 64 if quick else 256, "relax": RELAX}
    pts = [{"method": m, "delta": d, "alpha": ALPHA, "batch": 1, **base} for m in METHODS for d in DELTAS]
    pts.append({"method": "sr", "delta": 0.2, "alpha": ALPHA / 10, "batch": 1, **base})
    pts.append({"method": "sgd", "delta": 0.2, "alpha": ALPHA / 10, "batch": 1, **base,
                "chains": base["chains"] // CONTROL_SHARE})
    pts += [{"method": "sr", "delta": 0.2, "alpha": ALPHA, "batch": b, **base} for b in (4, 16)]
    pts.append({"method": "sr_avg", "delta": 0.2, "alpha": ALPHA, "batch": 1, **base})
    return pts


def _rule(method, alpha, delta):
    return {"sr": lambda: optim.sr(alpha, delta), "r": lambda: optim.rounded(alpha, delta),
            "sgd": lambda: optim.sgd(alpha), "bc_s": lambda: optim.bc(alpha, delta, "stochastic"),
            "bc_d": lambda: optim.bc(alpha, delta, "deterministic")}[method]()


def exact_sr_floor(delta, alpha, sigma):
    """E_π F − F* of the exact SR chain, coordinate by coordinate (the problem is separable)."""
    total = 0.0
    for lam, ws in zip(LAMBDAS, W_STAR, strict=True):
        reach = 8.0 * np.sqrt(M.sr_temperature(sigma, delta) / lam) + 4 * delta
        x = delta * np.arange(np.floor((ws - reach) / delta), np.ceil((ws + reach) / delta) + 1)
        P = M.transition_matrix_1d(lambda v, lam=lam, ws=ws: lam * (v - ws), x, alpha, sigma)
        total += M.stationary_distribution(P) @ (lam * (x - ws) ** 2 / 2)
    return float(total)


def _averaged(point, rng):
    """F(w̄_T) − F* per chain of SR at constant α, started at Q_d(w*), for several horizons T."""
    prob = problems.Quadratic(LAMBDAS, W_STAR, noise_sigma=SIGMA)
    base = point["relax"] / (point["alpha"] * LAMBDAS.min())
    T = np.array([int(f * base) for f in AVG_HORIZONS], dtype=float)
    w0 = np.broadcast_to(Q.round_nearest(W_STAR, point["delta"]), (point["chains"], D)).copy()
    gaps = [optim.run(_rule("sr", point["alpha"], point["delta"]), prob, w0, steps=int(t), rng=rng,
                      backend="numba").gap_of_average for t in T]
    return {"T": T, "avg_gap": np.array(gaps)}


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Per-chain floor (after the burn-in), whole-run average, G², plus the exact-chain prediction."""
    if point["method"] == "sr_avg":
        return _averaged(point, rng)
    prob = problems.Quadratic(LAMBDAS, W_STAR, noise_sigma=SIGMA)
    alpha, delta = point["alpha"], point["delta"]
    steps = int(point["relax"] / (alpha * LAMBDAS.min()))
    every = max(steps // 400, 1)
    # every method starts at the same grid point, one unit above w* in each coordinate
    w0 = np.broadcast_to(Q.round_nearest(W_STAR + START_OFFSET, delta), (point["chains"], D)).copy()
    tr = optim.run(_rule(point["method"], alpha, delta), prob, w0, steps=steps, rng=rng,
                   batch_size=point["batch"], record_every=every, backend="numba")
    R, C = tr.deployed.shape[:2]
    loss = prob.loss(tr.deployed.reshape(R * C, D)).reshape(R, C)
    burn = BURN_IN / (alpha * LAMBDAS.min())
    out = {"floor": loss[tr.steps > burn].mean(axis=0), "run_avg": loss.mean(axis=0), "grad_sq": tr.grad_sq_mean,
           "gap_of_average": tr.gap_of_average, "steps": float(steps),
           "D0": float(np.linalg.norm(w0[0] - W_STAR))}
    if point["method"] == "sr":
        out["exact"] = exact_sr_floor(delta, alpha, SIGMA / np.sqrt(point["batch"]))
    return out


def _run_bound(p, r):
    G = float(np.sqrt(r["grad_sq"].mean()))
    return B.sr_constant_step_bound(int(r["steps"]), D, p["delta"], G, p["alpha"], r["D0"])


def _mean_se(a):
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size))


def _select(results, method, alpha=ALPHA, batch=1):
    return [(p, r) for p, r in results if p["method"] == method and p["alpha"] == alpha and p["batch"] == batch]


def _at(results, method, alpha):
    return next(r for p, r in results if p["method"] == method and p["alpha"] == alpha and p["delta"] == 0.2
                and p["batch"] == 1)


def _batches(results):
    sel = [(p, r) for p, r in results if p["method"] == "sr" and p["delta"] == 0.2 and p["alpha"] == ALPHA]
    return sorted(sel, key=lambda pr: pr[0]["batch"])


def _panel_delta(ax, results):
    for k, m in enumerate(METHODS):
        sel = _select(results, m)
        d = np.array([p["delta"] for p, _ in sel])
        ms = np.array([_mean_se(r["floor"]) for _, r in sel])
        ax.errorbar(d, ms[:, 0], yerr=2 * ms[:, 1], fmt="o-", color=f"C{k}", label=METHODS[m])
    for k, m in ((0, "sr"), (4, "sgd")):  # the α/10 runs of claim 2 and its control, offset right
        mean, se = _mean_se(_at(results, m, ALPHA / 10)["floor"])
        ax.errorbar(0.2 * 1.08, mean, yerr=2 * se, fmt="*", ms=11, color=f"C{k}", mec="k",
                    label=f"{METHODS[m]} at α/10")
    sr = _select(results, "sr")
    d = np.array([p["delta"] for p, _ in sr])
    G = np.array([np.sqrt(r["grad_sq"].mean()) for _, r in sr])
    ax.plot(d, [B.sr_floor(D, x, g) for x, g in zip(d, G, strict=True)], "k--",
            label="bound √d Δ Ĝ/2 (paper prints the same)")
    ax.plot(d, [r["exact"] for _, r in sr], "C0:", lw=2, label="SR exact Markov chain")
    ax.plot(d, D * M.sr_temperature(SIGMA, 1.0) * d / 2, "C0-.", lw=1, label="d·T_SR/2 = dσΔ/(2√(2π))")
    ax.set(xscale="log", yscale="log", xlabel="grid spacing Δ (weight units)",
           ylabel=f"floor = mean F(deployed w_t) − F*, t > {BURN_IN} relax. times (loss units)",
           title=f"(a) floor vs Δ: d = {D}, σ = {SIGMA:g}, α = {ALPHA:.2g} (mean ± 2 SE)")
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.13))


def _panel_batch(ax, results):
    bat = _batches(results)
    b = np.array([p["batch"] for p, _ in bat])
    ms = np.array([_mean_se(r["floor"]) for _, r in bat])
    ax.errorbar(b, ms[:, 0], yerr=2 * ms[:, 1], fmt="o-", label="SR measured (Δ = 0.2)")
    ax.plot(b, [r["exact"] for _, r in bat], ":", lw=2, label="SR exact Markov chain")
    ax.set(xscale="log", yscale="log", xlabel="batch size b", ylabel="floor (loss units)",
           title="(b) bigger batch → lower SR floor")
    ax.legend(fontsize=8)


def _panel_average(ax, results):
    avg = next(r for p, r in results if p["method"] == "sr_avg")
    m = avg["avg_gap"].mean(axis=1)
    se = avg["avg_gap"].std(axis=1, ddof=1) / np.sqrt(avg["avg_gap"].shape[1])
    ax.errorbar(avg["T"], m, yerr=2 * se, fmt="o-", color="C0", label="SR: F(w̄_T) − F* (averaged iterate)")
    floor = _mean_se(_at(results, "sr", ALPHA)["floor"])[0]
    ax.axhline(floor, color="C0", ls="--", lw=1, label="SR floor (time-averaged loss), Δ = 0.2")
    ax.set(xscale="log", yscale="log", xlabel="iterations T (constant α)", ylabel="loss units",
           title="(c) SR's F(w̄_T) converges (≠ the floor)")
    ax.legend(fontsize=8)


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) floor vs Δ with α/10 runs, bound and predictions; (b) floor vs batch; (c) F(w̄_T) vs T."""
    with plotting.style():
        fig = Figure(figsize=(15, 6), layout="constrained")
        ax, ax2, ax3 = fig.subplots(1, 3, width_ratios=(2, 1, 1))
        _panel_delta(ax, results)
        _panel_batch(ax2, results)
        _panel_average(ax3, results)
        fig.suptitle("Li et al. 2017, §3: accuracy floors of SR, BC, R and SGD")
    rows = ["method,delta,alpha,batch,floor,se,run_avg,bound,exact_chain"]
    for p, r in results:
        if p["method"] == "sr_avg":
            continue
        mean, se = _mean_se(r["floor"])
        rows.append(f"{p['method']},{p['delta']},{p['alpha']:.4g},{p['batch']},{mean:.6g},{se:.3g},"
                    f"{r['run_avg'].mean():.6g},{_run_bound(p, r):.6g},{r.get('exact', np.nan):.6g}")
    png, data = Path(outdir) / "li2017_floor.png", Path(outdir) / "li2017_floor.csv"
    paths = plotting.save_figure(fig, png)
    plotting.atomic_write_text(data, "\n".join(rows) + "\n")
    return [*paths, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """li2017-2 (α-free, SGD control), li2017-2b (F(w̄_T) converges), li2017-3 (slope, bound), li2017-10."""
    return [_claim2(results), _claim2b(results), _claim3(results), _claim10(results)]


def _claim2(results):
    a, b = _at(results, "sr", ALPHA), _at(results, "sr", ALPHA / 10)
    ratio = ratio_ci(a["floor"], b["floor"])
    sgd10 = _at(results, "sgd", ALPHA / 10)["floor"]
    control = ratio_ci(_at(results, "sgd", ALPHA)["floor"][:sgd10.size], sgd10)
    verdict, detected = E.gated_equivalence(ratio, 1 - RATIO_MARGIN, 1 + RATIO_MARGIN, control)
    return Claim.from_interval(
        "li2017-2", PAPER,
        "SR's floor (time-averaged loss at stationarity) does not depend on the learning rate",
        ratio, f"floor(α)/floor(α/10) within 1 ± {RATIO_MARGIN:g} (TOST)", verdict,
        margin=f"±{100 * RATIO_MARGIN:g} % (declared: SGD's floor changes ×10 for the same α change)",
        detail=f"Δ = 0.2, α = {ALPHA:.3g} vs α/10, {a['floor'].size} chains each; floors "
               f"{_mean_se(a['floor'])[0]:.4f} / {_mean_se(b['floor'])[0]:.4f} (exact chain {a['exact']:.4f} / "
               f"{b['exact']:.4f}); positive control SGD floor(α)/floor(α/10) = {control} "
               f"({'detected' if detected else 'NOT detected'})")


def _claim2b(results):
    avg = next(r for p, r in results if p["method"] == "sr_avg")
    slope = E.slope_ci(avg["T"], avg["avg_gap"], GROUPS)
    floor = _mean_se(_at(results, "sr", ALPHA)["floor"])[0]
    return Claim.from_interval(
        "li2017-2b", "[derived] companion to §3 (what the floor is not)",
        "On a quadratic, F(w̄_T) − F* of SR at a constant step still converges (its stationary mean is w*)",
        slope, f"log–log slope of F(w̄_T) − F* vs T < {AVG_SLOPE:g}", verdict_less(slope, AVG_SLOPE),
        kind="derived", margin=f"slope {AVG_SLOPE:g} (declared: at least T^−1/2; theory T^−1)",
        detail=f"Δ = 0.2, α = {ALPHA:.3g}, start Q_d(w*), T = {[int(t) for t in avg['T']]}: mean gaps "
               f"{[float(f'{g:.3g}') for g in avg['avg_gap'].mean(axis=1)]} vs the time-averaged floor "
               f"{floor:.4f}")


def _claim3(results):
    sr = _select(results, "sr")
    d = np.array([p["delta"] for p, _ in sr])
    slope = E.slope_ci(d, np.array([r["floor"] for _, r in sr]), GROUPS)
    control = E.slope_ci(d, np.array([r["floor"] for _, r in _select(results, "sgd")]), GROUPS)
    linear, detected = E.gated_equivalence(slope, *SLOPE_BAND, control)
    # the bound: the upper CI end of the measured/bound ratio must stay below 1, for every Δ
    below = [mean_ci(r["floor"] / B.sr_floor(D, p["delta"], float(np.sqrt(r["grad_sq"].mean()))))
             for p, r in sr]
    run = [mean_ci(r["run_avg"] / _run_bound(p, r)) for p, r in sr]
    verdict = combine([linear] + [verdict_less(ci, 1.0) for ci in below + run])
    exact_slope = np.polyfit(np.log(d), np.log([r["exact"] for _, r in sr]), 1)[0]
    return Claim.from_interval(
        "li2017-3", PAPER, "SR's floor grows linearly in Δ (noise-dominated) and stays below √dΔG/2",
        slope, f"slope within {SLOPE_BAND} (TOST); floor/(√dΔĜ/2) < 1 and run/bound < 1 (upper CI ends)",
        verdict, margin=f"slope 1 ± {SLOPE_BAND[1] - 1:g} (declared: corrections O(λΔ/σ)); bound ratio 1",
        detail=f"Δ = {[float(x) for x in d]} (exact-chain slope {exact_slope:.3f}); positive control SGD "
               f"slope in Δ {control} ({'detected' if detected else 'NOT detected'}); max upper CI of "
               f"floor/(√dΔĜ/2) {max(c.high for c in below):.3f}, of run-average/constant-step bound "
               f"{max(c.high for c in run):.3f}")


def _claim10(results):
    bat = _batches(results)
    ratios = [ratio_ci(a["floor"], b["floor"]) for (_, a), (_, b) in zip(bat, bat[1:], strict=False)]
    b = [int(p["batch"]) for p, _ in bat]
    worst = min(ratios, key=lambda c: c.low)
    return Claim.from_interval(
        "li2017-10", PAPER, "Bigger batches lower SR's floor (temperature ∝ σ/√b)", worst,
        f"floor(b)/floor(4b) > {BATCH_RATIO:g} for each step (worst shown)",
        combine(verdict_greater(c, BATCH_RATIO) for c in ratios),
        margin=f"ratio {BATCH_RATIO:g} (declared: a 10 % drop; equipartition predicts 2 per 4× batch)",
        detail=f"Δ = 0.2, b = {b}: ratios {', '.join(str(c) for c in ratios)} (flatter as σ/√b nears λΔ)")
