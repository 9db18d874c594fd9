"""DSQ soft quantization map for several α next to the hard map, and the clipping/rounding trade-off.
Left: the soft map Q_S of Gong et al. (ICCV 2019, Eqs. 3–6) on [l, u] = [−1, 1] with 2 bits for
α ∈ {0.5, 0.2, 0.01, 10⁻⁴}; as α → 0 it approaches the hard (deployed) map, but only
logarithmically fast: the slope at an interval centre is s·log(2/α − 1)/2 (DSQ Fig. 2 idea).
Right: on N(0, 1) weights, the mean squared error of the hard map split into clipping error
(|w| > u) and rounding error (|w| ≤ u) as the symmetric range u = −l moves, for 2/3/4 bits; the
total is minimised where the two balance.

The rounding part follows Δ²/12 · P(|w| ≤ u) with Δ = 2u/(2^b − 1); that approximation is saved
in the data file as ``clip_<b>bit_round_approx``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import plotting
from quanttheory import quantizers as Q
from quanttheory.cache import save_npz

NAME = "dsq-softmap"
PAPER = "DSQ (Gong et al. 2019), Fig. 2"
CLAIMS: tuple[str, ...] = ()

ALPHAS = (0.5, 0.2, 0.01, 1e-4)
SOFT_BITS = 2


def grid(quick: bool) -> list[dict]:
    """One soft-map point and one clipping point per bit width (2, 3, 4)."""
    n_w, n_c = (20_000, 12) if quick else (1_000_000, 60)
    soft = {"panel": "softmap", "bits": SOFT_BITS, "alphas": list(ALPHAS), "n_x": 401 if quick else 2001}
    return [soft] + [{"panel": "clipping", "bits": b, "n_weights": n_w, "n_bounds": n_c} for b in (2, 3, 4)]


def _softmap(point: dict) -> dict:
    x = np.linspace(-1.25, 1.25, point["n_x"])
    kw = {"lower": -1.0, "upper": 1.0, "bits": point["bits"]}
    soft = np.stack([Q.dsq(x, alpha=a, soft=True, **kw) for a in point["alphas"]])
    # The hard map does not depend on α; any valid value selects it.
    hard = Q.dsq(x, alpha=0.5, soft=False, **kw)
    return {"x": x, "soft": soft, "hard": hard, "alphas": np.asarray(point["alphas"], dtype=float)}


def _clipping(point: dict, rng: np.random.Generator) -> dict:
    w = rng.standard_normal(point["n_weights"])
    bounds = np.linspace(0.25, 4.5, point["n_bounds"])
    clip_mse, round_mse = np.empty_like(bounds), np.empty_like(bounds)
    for j, u in enumerate(bounds):
        err2 = (w - Q.dsq(w, lower=-u, upper=u, bits=point["bits"], alpha=0.5)) ** 2
        inside = np.abs(w) <= u
        clip_mse[j] = np.mean(np.where(inside, 0.0, err2))
        round_mse[j] = np.mean(np.where(inside, err2, 0.0))
    n_int = 2 ** point["bits"] - 1
    p_inside = np.array([np.mean(np.abs(w) <= u) for u in bounds])
    approx = (2 * bounds / n_int) ** 2 / 12 * p_inside
    return {"bounds": bounds, "clip_mse": clip_mse, "round_mse": round_mse, "round_approx": approx}


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Soft/hard maps on a grid of x (deterministic) or the error split on Gaussian weights."""
    if point["panel"] == "softmap":
        return _softmap(point)
    return _clipping(point, rng)


def _plot_soft(ax, res: dict) -> None:
    for a, y in zip(res["alphas"], res["soft"], strict=True):
        ax.plot(res["x"], y, lw=1.4, label=f"soft, α = {a:g}")
    ax.plot(res["x"], res["hard"], "k--", lw=1.2, label="hard (deployed)")
    ax.set(xlabel="input x (clipping range [l, u] = [−1, 1])", ylabel="output Q(x)",
           title=f"(a) DSQ soft map, {SOFT_BITS} bits")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)


def _plot_clip(ax, results: list[tuple[dict, dict]]) -> None:
    for k, (point, res) in enumerate(results):
        color = f"C{k}"
        total = res["clip_mse"] + res["round_mse"]
        ax.plot(res["bounds"], total, color=color, lw=1.8, label=f"{point['bits']} bits: total")
        ax.plot(res["bounds"], res["clip_mse"], color=color, ls="--", lw=1)
        ax.plot(res["bounds"], res["round_mse"], color=color, ls=":", lw=1.2)
        j = int(np.argmin(total))
        ax.plot(res["bounds"][j], total[j], "o", color=color, ms=5)
    ax.plot([], [], "k--", lw=1, label="clipping part (|w| > u)")
    ax.plot([], [], "k:", lw=1.2, label="rounding part (|w| ≤ u)")
    ax.plot([], [], "ko", ms=5, label="optimal u")
    # Below 1e-4 the clipping part only shows how few of the samples lie beyond u.
    ax.set_ylim(1e-4, 2.0)
    ax.set(yscale="log", xlabel="clipping bound u = −l (units of the weight std σ)",
           ylabel="mean squared error (units of σ²)", title="(b) hard-map error on N(0, 1) weights")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3, which="both")


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Two panels (soft maps; error vs clipping bound) as PNG + SVG, and the data as ``.npz``."""
    soft = next(r for p, r in results if p["panel"] == "softmap")
    clip = [(p, r) for p, r in results if p["panel"] == "clipping"]
    with plotting.style():
        fig = Figure(figsize=(11, 4.3), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        _plot_soft(ax1, soft)
        _plot_clip(ax2, clip)
        fig.suptitle("DSQ (Gong et al., ICCV 2019), Fig. 2 idea: soft map vs α, and clipping vs rounding error")
    png, data = Path(outdir) / "dsq_softmap.png", Path(outdir) / "dsq_softmap.npz"
    paths = plotting.save_figure(fig, png, dpi=130)
    arrays = {f"softmap_{k}": v for k, v in soft.items()}
    for p, r in clip:
        arrays |= {f"clip_{p['bits']}bit_{k}": v for k, v in r.items()}
    return [*paths, save_npz(data, arrays)]
