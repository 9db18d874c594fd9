"""Evolution of DSQ's characteristic variable α (and of l, u) during 2-bit QAT on MNIST-1D.

Gong et al. (ICCV 2019) learn α per layer, separately for weights and activations, with the
network (Fig. 1: hard quantized forward, soft-map backward), and state that DSQ "can
automatically evolve during training to gradually approximate the standard quantization"
(abstract), i.e. α shrinks. We fine-tune a float MLP on MNIST-1D (5,000 training rows) with the
DSQ recipe of :mod:`quanttheory.nn.recipes` (α from 0.2, clamped to (0, 0.5] as implementations
do; l, u learned with weight decay) and record α, l and u of each quantizer site per epoch, with
the deployed network's validation error. The ledger row (dsq-1) comes from ``qat-study``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import plotting
from quanttheory.experiments import _qat_stage as S
from quanttheory.nn import layers

NAME = "dsq-training"
PAPER = "DSQ (Gong et al. 2019), α-evolution figure (§4)"
CLAIMS: tuple[str, ...] = ()

BITS = 2
LR = S.TUNED_LR["dsq"]  # qat-tune's validation pick
SIZE = {"dataset": "mnist1d", "n_train": 5000, "float_epochs": 10, "qat_epochs": 6}


def grid(quick: bool) -> list[dict]:
    """One DSQ run per replicate (2 bits)."""
    if quick:
        return [{"replicate": 0, **SIZE, "n_train": 2000, "float_epochs": 4, "qat_epochs": 2}]
    return [{"replicate": r, **SIZE} for r in range(3)]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Per-epoch α, l, u of every site and the validation error (everything from ``rng``)."""
    with S.single_thread():
        stage = S.checkpoint(point, rng)
        out = S.run_recipe(stage, "dsq", BITS, LR, point["qat_epochs"], history=True, val_curve=True)
    prefix = S.key("dsq", BITS, "h:")
    return {k[len(prefix):]: v for k, v in out.items() if k.startswith(prefix)}


def _sites(r):
    return sorted({k.rsplit(".", 1)[0] for k in r if k.endswith(".alpha")})


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """α per site vs epoch (one line per seed, the clamp drawn), l/u per site, validation error."""
    with plotting.style():
        fig = Figure(figsize=(13, 4.4), layout="constrained")
        ax_a, ax_r, ax_e = fig.subplots(1, 3)
        for k, (_, r) in enumerate(results):
            for j, site in enumerate(_sites(r)):
                e = np.arange(r[f"{site}.alpha"].size)
                lab = site if k == 0 else None
                ax_a.plot(e, r[f"{site}.alpha"], color=f"C{j}", lw=1.2, label=lab)
                ax_r.plot(e, r[f"{site}.upper"], color=f"C{j}", lw=1.1, label=f"{site}: u" if k == 0 else None)
                ax_r.plot(e, r[f"{site}.lower"], color=f"C{j}", lw=1.1, ls="--")
            ax_e.plot(np.arange(r["val_error"].size), 100 * r["val_error"], color="C0", lw=1.2)
        ax_a.axhline(layers.DSQ_ALPHA_MAX, color="C3", ls=":", label="clamp α ≤ 0.5")
        ax_a.axhline(layers.DSQ_ALPHA_INIT, color="k", ls=":", lw=1, label="initial α = 0.2")
        ax_a.set(xlabel="QAT epoch (0 = calibration)", ylabel="α (dimensionless)",
                 title=f"(a) α per site, {BITS} bits")
        ax_r.set(xlabel="QAT epoch", ylabel="clipping bound (units of the quantized tensor)",
                 title="(b) range: u solid, l dashed")
        ax_e.set(xlabel="QAT epoch", ylabel="validation error of the deployed network (%)",
                 title=f"(c) validation error, one line per seed (n = {len(results)})")
        for ax in (ax_a, ax_r):
            ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.suptitle("DSQ (Gong et al., ICCV 2019) α-evolution: learned α, l, u in 2-bit QAT, MLP on MNIST-1D")
        paths = plotting.save_figure(fig, Path(outdir) / "dsq_training.png")
    data = Path(outdir) / "dsq_training.npz"
    np.savez(data, **{f"seed{p['replicate']}_{k}": v for p, r in results for k, v in r.items()})
    return [*paths, data]
