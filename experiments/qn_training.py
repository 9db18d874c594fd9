"""Quantization Networks training with a growing temperature T = epoch × c, soft vs step network.

Yang et al. (CVPR 2019, §3–4) train with the sigmoid (soft) quantization map at temperature T,
raise T linearly per epoch (T = epoch × c, c ∈ {5, 10, 20, 40}), and deploy the step map.
As T grows the soft map tends to the step map pointwise (away from the biases), so the
trained soft network should tend to the deployed one. We fine-tune the small MLP of
:mod:`quanttheory.nn.qat` with QN at 2 bits (ternary weights {−1, 0, 1}, activations
{0, 1, 2, 3}; α, β learned, biases frozen from the paper's initialisation) for several rates c
and record per epoch: the training (soft-map) loss, the test error of the step (inference)
network and of the soft network, and the relative gap mean|soft − step logits| / mean|step logits|.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory.claims import Claim
from quanttheory.nn import qat

NAME = "qn-training"
PAPER = "Quantization Networks (Yang et al. 2019), §3.2 temperature schedule"
CLAIMS: tuple[str, ...] = ("qn-1", "qn-3")

BITS = 2
#: qn-1 holds if the soft/step logit gap at the last epoch is at most this fraction of the gap
#: after the first epoch, for every rate and seed.
GAP_RATIO_MAX = 0.2
#: qn-3 holds if the step network's final test error exceeds the soft network's by at most this.
ERROR_GAP_MAX = 0.01


def grid(quick: bool) -> list[dict]:
    """One run per temperature rate c (and seed)."""
    if quick:
        return [{"bits": BITS, "rate": 20.0, "seed": 0, "n_train": 600, "float_epochs": 4, "qat_epochs": 4}]
    return [{"bits": BITS, "rate": c, "seed": 0, "n_train": 2000, "float_epochs": 20, "qat_epochs": 30}
            for c in (5.0, 20.0, 80.0)]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Per-epoch loss, step/soft test errors, soft/step gap, T, α and β (``rng`` unused: seeded by point)."""
    del rng
    setup = qat.Setup(n_train=point["n_train"], float_epochs=point["float_epochs"],
                      qat_epochs=point["qat_epochs"], qn_rate=point["rate"])
    history, _ = qat.run("qn", point["bits"], point["seed"], setup)
    keep = ["train_loss", "temperature", "test_error", "soft_test_error", "soft_hard_gap"]
    return {k: history[k] for k in keep} | {k: history[k] for k in history if k.endswith(("alpha", "beta"))}


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Loss, errors and gap vs epoch (one colour per rate c); PNG + ``.npz``."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax_l, ax_e, ax_g = fig.subplots(1, 3)
    for k, (p, r) in enumerate(results):
        c, lab = f"C{k}", f"c = {p['rate']:g}"
        epochs = np.arange(1, r["train_loss"].size + 1)
        ax_l.plot(epochs, r["train_loss"], color=c, label=lab)
        e_all = np.arange(r["test_error"].size)
        ax_e.plot(e_all, 100 * r["test_error"], color=c, label=f"{lab}: step (deployed)")
        ax_e.plot(e_all, 100 * r["soft_test_error"], color=c, ls="--", label=f"{lab}: soft (training map)")
        # entry 0 is before QAT, evaluated at the first epoch's temperature; plot vs T of each epoch
        ax_g.plot(r["temperature"], r["soft_hard_gap"][1:], color=c, marker=".", label=lab)
    ax_l.set(xlabel="QAT epoch", ylabel="training loss (soft map, nats)", title="(a) training loss")
    ax_e.set(xlabel="QAT epoch", ylabel="test error (%)", title="(b) step vs soft network")
    ax_g.set(xscale="log", yscale="log", xlabel="temperature T = epoch × c",
             ylabel="mean |soft − step logits| / mean |step logits|", title="(c) soft/step gap vs T")
    for ax in (ax_l, ax_e, ax_g):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(f"Quantization Networks (Yang et al., CVPR 2019) §3.2: {BITS}-bit QAT of a small MLP "
                 "with a growing temperature")
    png, data = Path(outdir) / "qn_training.png", Path(outdir) / "qn_training.npz"
    fig.savefig(png, dpi=130)
    np.savez(data, **{f"rate{p['rate']:g}_seed{p['seed']}_{k}": v for p, r in results for k, v in r.items()})
    return [png, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """qn-1: the soft/step gap shrinks as T grows; qn-3: deploying the step map costs ≤ 1 point."""
    ratios = [r["soft_hard_gap"][-1] / r["soft_hard_gap"][1] for _, r in results]
    loss = [r["test_error"][-1] - r["soft_test_error"][-1] for _, r in results]
    runs = ", ".join(f"c={p['rate']:g}" for p, _ in results)
    return [
        Claim("qn-1", "Quantization Networks (Yang et al. 2019), §3.2",
              "As the temperature grows the soft (training) network approaches the step (deployed) network",
              float(max(ratios)), f"<= {GAP_RATIO_MAX} (last-epoch gap / first-epoch gap, worst run)",
              bool(max(ratios) <= GAP_RATIO_MAX),
              f"{BITS}-bit QN, runs {runs}; ratios " + ", ".join(f"{x:.3g}" for x in ratios)),
        Claim("qn-3", "Quantization Networks (Yang et al. 2019), §3.2",
              "After training with a growing temperature, replacing the sigmoids by steps costs no accuracy",
              float(max(loss)), f"<= {ERROR_GAP_MAX} (step minus soft final test error, worst run)",
              bool(max(loss) <= ERROR_GAP_MAX),
              f"{BITS}-bit QN, runs {runs}; step − soft error " + ", ".join(f"{x:+.4f}" for x in loss)),
    ]
