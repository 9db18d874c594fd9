"""Evolution of DSQ's characteristic variable α (and of l, u) during 2-bit quantization-aware training.

Gong et al. (ICCV 2019) learn α per layer, separately for weights and activations, with the
network (Fig. 1: hard quantized forward, soft-map backward), and state that DSQ "can
automatically evolve during training to gradually approximate the standard quantization"
(abstract), i.e. α — the soft map's distance from rounding — shrinks. We train the small MLP of
:mod:`quanttheory.nn.qat` with DSQ at 2 bits (α initialised at 0.2 and clamped to (0, 0.5] as
in implementations) and record α, l and u of each of the four quantizer sites per epoch
(the DSQ paper's α-evolution figure idea), with the test error of the deployed network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory.claims import Claim
from quanttheory.nn import layers, qat

NAME = "dsq-training"
PAPER = "DSQ (Gong et al. 2019), α-evolution figure (§4)"
CLAIMS: tuple[str, ...] = ("dsq-1",)

BITS = 2
SITE_LABELS = {"w1": "layer 1 weights", "a1": "layer 1 activations",
               "w2": "layer 2 weights", "a2": "layer 2 activations"}


def grid(quick: bool) -> list[dict]:
    """One DSQ run per seed (2 bits)."""
    if quick:
        return [{"bits": BITS, "seed": 0, "n_train": 600, "float_epochs": 4, "qat_epochs": 4}]
    return [{"bits": BITS, "seed": s, "n_train": 2000, "float_epochs": 20, "qat_epochs": 30} for s in (0, 1, 2)]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Per-epoch α, l, u of every site, test error and train loss (``rng`` unused: seeded by point)."""
    del rng
    setup = qat.Setup(n_train=point["n_train"], float_epochs=point["float_epochs"],
                      qat_epochs=point["qat_epochs"])
    history, _ = qat.run("dsq", point["bits"], point["seed"], setup)
    keep = [f"{s}.{n}" for s in qat.SITES for n in ("alpha", "lower", "upper")]
    return {k: history[k] for k in keep} | {"test_error": history["test_error"],
                                             "train_loss": history["train_loss"]}


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """α per site vs epoch (one line per seed), l/u per site, and the test error; PNG + ``.npz``."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax_a, ax_r, ax_e = fig.subplots(1, 3)
    for j, (site, label) in enumerate(SITE_LABELS.items()):
        for k, (_, r) in enumerate(results):
            epochs = np.arange(r[f"{site}.alpha"].size)
            ax_a.plot(epochs, r[f"{site}.alpha"], color=f"C{j}", lw=1.4, label=label if k == 0 else None)
            ax_r.plot(epochs, r[f"{site}.upper"], color=f"C{j}", lw=1.2, label=f"{label}: u" if k == 0 else None)
            ax_r.plot(epochs, r[f"{site}.lower"], color=f"C{j}", lw=1.2, ls="--",
                      label=f"{label}: l" if k == 0 else None)
    ax_a.axhline(layers.DSQ_ALPHA_INIT, color="k", ls=":", lw=1, label="initial α = 0.2")
    ax_a.set(xlabel="QAT epoch", ylabel="α (dimensionless)", title=f"(a) α per site, {BITS} bits")
    ax_r.set(xlabel="QAT epoch", ylabel="clipping bound (units of the quantized tensor)",
             title="(b) clipping range l (dashed), u (solid)")
    for _, r in results:
        ax_e.plot(np.arange(r["test_error"].size), 100 * r["test_error"], color="C0", lw=1.2)
    ax_e.set(xlabel="QAT epoch", ylabel="test error of the deployed (hard) network (%)",
             title="(c) test error (one line per seed)")
    for ax in (ax_a, ax_r):
        ax.legend(fontsize=7)
    for ax in (ax_a, ax_r, ax_e):
        ax.grid(alpha=0.3)
    fig.suptitle("DSQ (Gong et al., ICCV 2019) α-evolution idea: learned α, l, u during 2-bit QAT of a small MLP")
    png, data = Path(outdir) / "dsq_training.png", Path(outdir) / "dsq_training.npz"
    fig.savefig(png, dpi=130)
    np.savez(data, **{f"seed{p['seed']}_{k}": v for p, r in results for k, v in r.items()})
    return [png, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """dsq-1: every learned α (4 sites × seeds) ends below its initial value 0.2."""
    ratios = [r[f"{s}.alpha"][-1] / r[f"{s}.alpha"][0] for _, r in results for s in qat.SITES]
    worst = float(max(ratios))
    return [Claim(
        "dsq-1", "DSQ (Gong et al. 2019), abstract and α-evolution figure",
        "Learned α shrinks during training: DSQ evolves towards standard (hard) quantization",
        worst, "< 1 (largest final α / initial α over sites and seeds)", bool(worst < 1.0),
        f"{BITS}-bit DSQ QAT of a small MLP, {len(results)} seed(s), 4 sites each; final/initial α: "
        + ", ".join(f"{x:.3g}" for x in ratios))]
