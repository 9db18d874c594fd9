"""Quantization Networks: the sigmoid training map sharpening into the step map as T grows.
For four of the paper's weight level sets ({−1, 1}, {−1, 0, 1}, {−2, …, 2} and
{−4, −2, −1, 0, 1, 2, 4}), the QN map y = α(Σ s_i σ(T(βx − b_i)) − o) of Yang et al. (CVPR 2019,
Eqs. 1–3) with the paper's initialisation (β = 5p/(4q), α = 1/β, k-means biases, §3.3) fitted to
N(0, 1) weights, drawn for temperatures T = 1 … 256 next to the inference step map. The last panel
shows the mean gap |soft − step| over those weights against T: at large T it falls like 1/T,
because the gap is concentrated within O(1/(βT)) of the biases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import plotting
from quanttheory import quantizers as Q
from quanttheory.cache import save_npz

NAME = "qn-softmap"
PAPER = "Quantization Networks (Yang et al. 2019), §3.1 soft vs step map"
CLAIMS: tuple[str, ...] = ()

LEVEL_SETS = ([-1, 1], [-1, 0, 1], [-2, -1, 0, 1, 2], [-4, -2, -1, 0, 1, 2, 4])
CURVE_TEMPERATURES = (1.0, 4.0, 16.0, 64.0, 256.0)


def grid(quick: bool) -> list[dict]:
    """One point per level set; the temperatures are swept inside a point (same biases)."""
    n, n_x, n_t = (5_000, 401, 9) if quick else (100_000, 2001, 25)
    return [{"levels": list(lv), "n_weights": n, "n_x": n_x, "n_temperatures": n_t} for lv in LEVEL_SETS]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Fit the initialisation to N(0, 1) weights; soft/step curves and the mean gap vs T."""
    levels = point["levels"]
    w = rng.standard_normal(point["n_weights"])
    biases, alpha, beta = Q.qn_init(w, levels)
    kw = {"levels": levels, "biases": biases, "alpha": alpha, "beta": beta}
    x = np.linspace(-3.0, 3.0, point["n_x"])
    soft = np.stack([Q.qn(x, temperature=t, **kw) for t in CURVE_TEMPERATURES])
    step = Q.qn(x, temperature=1.0, soft=False, **kw)
    temps = np.geomspace(1.0, 1024.0, point["n_temperatures"])
    step_w = Q.qn(w, temperature=1.0, soft=False, **kw)
    gap = np.array([np.mean(np.abs(Q.qn(w, temperature=t, **kw) - step_w)) for t in temps])
    return {"x": x, "soft": soft, "step": step, "temperatures": temps, "mean_gap": gap,
            "biases": biases, "alpha": alpha, "beta": beta}


def _label(levels: list) -> str:
    return "{" + ", ".join(str(v) for v in levels) + "}"


def _plot_map(ax, point: dict, res: dict) -> None:
    cmap = ["#c6dbef", "#6baed6", "#2171b5", "#08519c", "#08306b"]
    for t, y, c in zip(CURVE_TEMPERATURES, res["soft"], cmap, strict=True):
        ax.plot(res["x"], y, color=c, lw=1.4, label=f"T = {t:g}")
    ax.plot(res["x"], res["step"], "k--", lw=1.1, label="step map (T → ∞)")
    ax.set(xlabel="full-precision weight x (units of σ)", ylabel="QN output y (units of σ)",
           title=f"levels {_label(point['levels'])}")
    ax.grid(alpha=0.3)


def _plot_gap(ax, results: list[tuple[dict, dict]]) -> None:
    for k, (p, r) in enumerate(results):
        ax.loglog(r["temperatures"], r["mean_gap"], "o-", ms=3, color=f"C{k}", label=_label(p["levels"]))
    t = results[0][1]["temperatures"]
    ref = results[0][1]["mean_gap"][-1] * t[-1] / t
    ax.loglog(t, ref, "k:", lw=1, label="∝ 1/T")
    ax.set(xlabel="temperature T", ylabel="mean |soft − step| on the weights",
           title="gap to the step map vs temperature")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Four map panels and the gap panel; PNG + SVG + ``.npz``."""
    with plotting.style():
        fig = Figure(figsize=(13, 7.5), layout="constrained")
        axes = fig.subplot_mosaic([["m0", "m1", "g"], ["m2", "m3", "g"]])
        for k, (p, r) in enumerate(results):
            _plot_map(axes[f"m{k}"], p, r)
        axes["m0"].legend(fontsize=8, loc="upper left")
        _plot_gap(axes["g"], results)
        fig.suptitle("Quantization Networks (Yang et al., CVPR 2019), §3.1: "
                     "the sigmoid map approaches the step map as the temperature T grows")
    png, data = Path(outdir) / "qn_softmap.png", Path(outdir) / "qn_softmap.npz"
    paths = plotting.save_figure(fig, png, dpi=120)
    arrays = {}
    for k, (_, r) in enumerate(results):
        arrays |= {f"set{k}_{key}": np.asarray(v) for key, v in r.items()}
    arrays["curve_temperatures"] = np.asarray(CURVE_TEMPERATURES)
    return [*paths, save_npz(data, arrays)]
