"""Quantization Networks training with a growing temperature T = c·(epoch + 1), soft vs step network.

Yang et al. (CVPR 2019, §3–4) train with the sigmoid (soft) quantization map at temperature T,
raise T linearly per epoch and deploy the step map; as T grows the soft map tends to the step map
pointwise, so the trained soft network should approach the deployed one. We fine-tune a float
MLP on MNIST-1D (5,000 training rows) with the QN recipe of :mod:`quanttheory.nn.recipes` in the
paper's Table 3 setting (2-bit ternary weights, float activations; α, β learned, k-means biases,
the released weight gradient) for several rates c and seeds, with the float reference fine-tuned
under the same budget, and record per epoch the soft and step validation errors and the relative
soft/step logit gap. The ledger rows (qn-1, qn-3) come from ``qat-study``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import plotting
from quanttheory.experiments import _qat_stage as S
from quanttheory.nn import recipes

NAME = "qn-training"
PAPER = "Quantization Networks (Yang et al. 2019), §3.2 temperature schedule"
CLAIMS: tuple[str, ...] = ()

BITS = 2
LR = S.TUNED_LR["qn-w"]  # qat-tune's validation pick (at c = the recipe's rate)
RATES = (10.0, 40.0, 160.0)
SIZE = {"dataset": "mnist1d", "n_train": 5000, "float_epochs": 10, "qat_epochs": 5}


def grid(quick: bool) -> list[dict]:
    """One point per seed; every rate c (and the float reference) runs inside it (paired)."""
    if quick:
        return [{"replicate": 0, **SIZE, "n_train": 2000, "float_epochs": 4, "qat_epochs": 2}]
    return [{"replicate": r, **SIZE} for r in range(3)]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Per-epoch soft/step validation error and gap for each rate c; the float reference's curve."""
    with S.single_thread():
        stage = S.checkpoint(point, rng)
        epochs = point["qat_epochs"]
        out: dict = {}
        for c in RATES:
            rec = dataclasses.replace(recipes.get("qn-w"), qn_rate=c)
            res = S.run_recipe(stage, "qn-w", BITS, LR, epochs, history=True, recipe=rec, val_curve=True)
            out |= {k.replace("qn-w@", f"c{c:g}@"): v for k, v in res.items()}
        out |= S.run_recipe(stage, "float", S.FLOAT_BITS, S.TUNED_LR["float"], epochs, history=True,
                            val_curve=True)
    return out


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Step vs soft validation error per epoch (one colour per c, float dashed grey) and gap vs T."""
    with plotting.style():
        fig = Figure(figsize=(12, 4.4), layout="constrained")
        ax_e, ax_g = fig.subplots(1, 2)
        for k, (_, r) in enumerate(results):
            first = k == 0
            fv = r[S.key("float", S.FLOAT_BITS, "h:val_error")]
            ax_e.plot(np.arange(fv.size), 100 * fv, color="0.4", ls="--", lw=1,
                      label="float reference" if first else None)
            for j, c in enumerate(RATES):
                step = r[S.key(f"c{c:g}", BITS, "h:step_error")]
                soft = r[S.key(f"c{c:g}", BITS, "h:soft_error")]
                e = np.arange(step.size)
                lab = f"c = {c:g}" if first else None
                ax_e.plot(e, 100 * step, color=f"C{j}", lw=1.2, label=lab and f"{lab}: step (deployed)")
                ax_e.plot(e, 100 * soft, color=f"C{j}", lw=1.0, ls=":", label=lab and f"{lab}: soft")
                ax_g.plot(r[S.key(f"c{c:g}", BITS, "h:temperature")], r[S.key(f"c{c:g}", BITS, "h:gap")],
                          color=f"C{j}", marker=".", lw=1, label=f"c = {c:g}" if first else None)
        ax_e.set(xlabel="QAT epoch (0 = calibration)", ylabel="validation error (%)",
                 title=f"(a) step vs soft network, one line per seed (n = {len(results)})")
        ax_g.set(xscale="log", yscale="log", xlabel="temperature T = c·(epoch + 1)",
                 ylabel="mean |soft − step logits| / mean |step logits|", title="(b) soft/step gap vs T")
        for ax in (ax_e, ax_g):
            ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.suptitle("Quantization Networks (Yang et al., CVPR 2019) §3.2: 2-bit weights, growing T, "
                     "MLP on MNIST-1D")
        paths = plotting.save_figure(fig, Path(outdir) / "qn_training.png")
    data = Path(outdir) / "qn_training.npz"
    np.savez(data, **{f"seed{p['replicate']}_{k.replace(':', '_')}": v for p, r in results for k, v in r.items()})
    return [*paths, data]
