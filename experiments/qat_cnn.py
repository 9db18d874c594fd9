"""The QAT study's training claims on a ConvNet: DSQ, APoT and QN against their baselines, paired seeds.

``qat-study`` decides the DSQ, APoT and QN training rows on an MLP (its budget does not fit a
ConvNet with every recipe at 2, 3 and 4 bits). The papers train ConvNets, and two of the MLP
rows' causes name the architecture (QN: "the MLP has no weight sharing"; APoT: the weights'
shape). This experiment re-decides the same claims on the ConvNet of issue 8 §2 — conv–BN–ReLU
× 3 (32 channels, kernel 5), global average pooling, dense head; the first conv and the head
float, the weights of conv1/conv2 and the activations feeding them quantized — under the same
protocol (:mod:`quanttheory.experiments._qat_stage`): one float checkpoint per replicate, every
recipe fine-tunes it with SGD-momentum and cosine decay in the same minibatch order.

What is left out to fit ≤ 30 minutes on two cores, and why (each a deviation from qat-study):

* MNIST-1D only (the 2-D MNIST-5k ConvNet costs about 4× per sample); 10 paired replicates of
  20k training rows; 10 float epochs, 2 QAT epochs (qat-study: 15 and 3), so QN's temperature
  grows 40 → 80 (qat-study: 40 → 120).
* 2 bits for every recipe, and 3 for APoT and its same-clip uniform ablation (the claims' bit
  widths); no 4-bit runs, so no qat-4bit row; no QN W/A (it does not train at any rate on the
  MLP stage, see qat-tune) and no DSQ MQBench variant.
* Learning rates: the validation-split picks of ``qat-tune`` on the MLP stage (``TUNED_LR``), not
  re-tuned for the ConvNet. A rate that suits the MLP can be off for the ConvNet; the rows'
  details report each recipe's validation error so a badly chosen rate shows.

The rows carry the ids of the MLP rows with ``-cnn`` appended and the same margins (declared in
:mod:`quanttheory.experiments._qat_claims`). ``quanttheory figures`` redraws them from the
committed ``figures/qat-cnn/results.json`` (``EXPLICIT_ONLY``); ``quanttheory run qat-cnn``
recomputes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quanttheory import committed, plotting
from quanttheory.experiments import _qat_claims as C
from quanttheory.experiments import _qat_stage as S
from quanttheory.nn import recipes

NAME = "qat-cnn"
PAPER = "DSQ Table 4 / APoT Table 2 / QN Table 3 (real-data QAT study, ConvNet stage)"
SUFFIX = "-cnn"
NET = "ConvNet"
CLAIMS: tuple[str, ...] = tuple(f"{c}{SUFFIX}" for c in C.IDS if c != "qat-4bit")
#: Not run by ``quanttheory figures`` (about 30 minutes); its committed results are redrawn instead.
EXPLICIT_ONLY = True
RESULTS_FILE = committed.results_file(NAME)

RECIPES = ("uniform", "lsq", "dsq", "dsq-ste", "apot", "uniform-rcf", "qn-w", "qn-w-exact", "uniform-w")
BITS = {k: (2, 3) if k in ("apot", "uniform-rcf") else (2,) for k in RECIPES}
HISTORY = ("dsq", "qn-w")
TUNED_LR = S.TUNED_LR
SIZES = {"full": {"float_epochs": 10, "qat_epochs": 2, "n_train": 20_000, "replicates": 10},
         "quick": {"float_epochs": 10, "qat_epochs": 2, "n_train": 20_000, "replicates": 2}}


def grid(quick: bool) -> list[dict]:
    """One point per MNIST-1D replicate; every recipe and bit-width runs inside it (pairing)."""
    size = "quick" if quick else "full"
    cfg = {k: v for k, v in SIZES[size].items() if k != "replicates"}
    return [{"dataset": "mnist1d", "model": "cnn", "replicate": r, "size": size, **cfg}
            for r in range(SIZES[size]["replicates"])]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Float checkpoint, float reference and every recipe × bits on one replicate (all from ``rng``)."""
    return S.replicate(point, rng, RECIPES, BITS, HISTORY)


def committed_results() -> list[tuple[dict, dict]]:
    """The ``(point, result)`` pairs of the committed full run (empty if there is none)."""
    return committed.read(RESULTS_FILE)


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Error vs bits per recipe (mean ± 95 % CI), the claims' paired CIs, DSQ α and QN gap; data."""
    outdir = Path(outdir)
    paths = []
    with plotting.style():
        paths += plotting.save_figure(C.table_figure({"mnist1d (ConvNet)": results}, RECIPES, BITS, net=NET),
                                      outdir / "qat_cnn.png")
        paths += plotting.save_figure(C.claims_figure(results, net=NET, suffix=SUFFIX),
                                      outdir / "qat_cnn_claims.png")
        paths += plotting.save_figure(C.history_figure(results), outdir / "qat_cnn_training.png")
    md = "### mnist1d, ConvNet\n\n" + C.markdown(results, RECIPES, BITS) + "\n\n" + _validation_table(results)
    paths.append(plotting.atomic_write_text(outdir / "qat_cnn.md", md + "\n"))
    paths.append(committed.write(outdir / "results.json", NAME, results,
                                 recipes={k: recipes.get(k).label for k in RECIPES}, tuned_lr=TUNED_LR))
    return paths


def _validation_table(results):
    """Validation error per recipe at its MLP-tuned rate (shows a rate that does not suit the ConvNet)."""
    rows = ["| method | lr | bits | validation error (%) |", "|---|---|---|---|"]
    for k in ("float", *RECIPES):
        for b in (S.FLOAT_BITS,) if k == "float" else BITS[k]:
            ci = S.mean_ci(results, k, b, "val_error")
            if ci.n:
                label = "float reference" if k == "float" else recipes.get(k).label
                rows.append(f"| {label} | {TUNED_LR[k]:g} | {b} | "
                            f"{100 * ci.estimate:.2f} ± {100 * ci.half_width:.2f} |")
    return "\n".join(rows)


def claims(results: list[tuple[dict, dict]]):
    """The DSQ, APoT and QN training claims on the MNIST-1D ConvNet (ids ``…-cnn``)."""
    return C.claims(results, [], net=NET, suffix=SUFFIX)
