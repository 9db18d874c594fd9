"""Uniform / LSQ / DSQ / APoT / QN quantization-aware training at 2 and 4 bits on MNIST-1D (reduced stage).

The reduced, `make figures`-sized version of ``qat-study``: each replicate draws MNIST-1D, keeps
5,000 training rows, trains one float MLP (first and last layers stay float in QAT) and fine-tunes
it with each paper's recipe (:mod:`quanttheory.nn.recipes`) under one budget (SGD with momentum,
cosine decay, the same minibatch order, the
study's validation-picked rate per recipe). Within a replicate the methods are paired. The ledger
rows of these papers come from the full study (``qat-study``); this figure shows the same
comparison at a fraction of the cost, so its intervals are wider.

The papers' ImageNet top-1 numbers (ResNet-18) are recorded beside our table for context only:
a different task and network, not comparable in absolute value.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from quanttheory import plotting
from quanttheory.experiments import _qat_claims as C
from quanttheory.experiments import _qat_stage as S

NAME = "cross-method"
PAPER = "DSQ Table 4 / APoT Table 2 / QN Table 3 (reduced real-data stage of qat-study)"
CLAIMS: tuple[str, ...] = ()

RECIPES = ("uniform", "lsq", "dsq", "dsq-ste", "apot", "uniform-rcf", "qn-w", "uniform-w")
BITS = dict.fromkeys(RECIPES, (2, 4))
SIZE = {"dataset": "mnist1d", "n_train": 5000, "float_epochs": 10, "qat_epochs": 3}

PUBLISHED = {
    "note": "ImageNet top-1 accuracy (%) of ResNet-18, from the papers as recorded in the spec "
            "(DSQ numbers [recalled, unverified]); a different task and network: context only.",
    "DSQ (Gong et al. 2019)": {"W4A4": 69.56, "W3A3": 68.66, "W2A2": 65.17},
    "APoT (Li et al. 2020, official README)": {"4-bit": 70.74, "3-bit": 69.79, "2-bit": 66.46},
    "QN (Yang et al. 2019), weights only": {"W1": 66.5, "W2": 69.1, "W3 (+-4)": 70.4},
}


def grid(quick: bool) -> list[dict]:
    """One point per replicate (every recipe and bit-width inside it: pairing)."""
    n = 2 if quick else 3
    size = SIZE | ({"n_train": 2000, "float_epochs": 4, "qat_epochs": 1} if quick else {})
    return [{"replicate": r, **size} for r in range(n)]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Float checkpoint, float reference and every recipe × bits of one replicate (all from ``rng``)."""
    with S.single_thread():
        stage = S.checkpoint(point, rng)
        out = S.run_recipe(stage, "float", S.FLOAT_BITS, S.TUNED_LR["float"], point["qat_epochs"])
        for k in RECIPES:
            for b in BITS[k]:
                out |= S.run_recipe(stage, k, b, S.TUNED_LR[k], point["qat_epochs"])
    return out


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Test error vs bits per recipe (mean ± 95 % CI over paired seeds); markdown table; JSON."""
    outdir = Path(outdir)
    with plotting.style():
        fig = C.table_figure({"MNIST-1D (5k train)": results}, RECIPES, BITS)
        paths = plotting.save_figure(fig, outdir / "cross_method.png")
    md = C.markdown(results, RECIPES, BITS)
    paths.append(plotting.atomic_write_text(outdir / "cross_method.md", md + "\n"))
    cells = [{"recipe": k, "bits": b, "test_error": S.values(results, k, b).tolist()}
             for k in ("float", *RECIPES) for b in (BITS.get(k) or (S.FLOAT_BITS,))]
    paths.append(plotting.atomic_write_text(outdir / "cross_method.json", json.dumps(
        {"ours": cells, "published_imagenet_top1": PUBLISHED}, indent=1) + "\n"))
    return paths
