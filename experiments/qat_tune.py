"""Learning-rate pick of the QAT study: validation error of every recipe at 2 bits on one replicate.

One MNIST-1D replicate (10k training rows, the study's float and QAT epochs) per peak learning
rate of the grid; every recipe fine-tunes the same checkpoint in the same order. The study's
``TUNED_LR`` is the grid value with the lowest validation error per recipe (ties: the smaller
rate). Not run by ``quanttheory figures`` (``EXPLICIT_ONLY``); its table is committed beside the
study's figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from quanttheory import plotting
from quanttheory.experiments import _qat_stage as S
from quanttheory.experiments import qat_study

NAME = "qat-tune"
PAPER = "QAT study protocol: learning rate per recipe on the validation split"
CLAIMS: tuple[str, ...] = ()
EXPLICIT_ONLY = True
LR_GRID = (0.003, 0.01, 0.03)


def grid(quick: bool) -> list[dict]:
    """One point per learning rate (the same replicate: the point's rng depends on the lr, so
    only recipes *within* a point are paired; the pick compares recipes' own curves over lr)."""
    full = qat_study.SIZES[("mnist1d", "full")]
    size = {"float_epochs": 6, "qat_epochs": 2, "n_train": 4000} if quick else \
        {"float_epochs": full["float_epochs"], "qat_epochs": full["qat_epochs"], "n_train": 10_000}
    return [{"dataset": "mnist1d", "lr": lr, **size} for lr in LR_GRID]


def compute(point: dict, rng: np.random.Generator) -> dict:
    with S.single_thread():
        stage = S.checkpoint(point, rng)
        out = S.run_recipe(stage, "float", S.FLOAT_BITS, point["lr"], point["qat_epochs"])
        for k in qat_study.RECIPES:
            out |= S.run_recipe(stage, k, 2, point["lr"], point["qat_epochs"])
    return out


def pick(results: list[tuple[dict, dict]]) -> dict:
    """``{recipe: lr}`` with the lowest validation error (ties: the smaller lr)."""
    out = {}
    for k in ("float", *qat_study.RECIPES):
        bits = S.FLOAT_BITS if k == "float" else 2
        scores = [(r[S.key(k, bits, "val_error")], p["lr"]) for p, r in results]
        out[k] = min(scores)[1]
    return out


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    rows = ["| recipe | " + " | ".join(f"lr {p['lr']:g}" for p, _ in results) + " | pick |",
            "|---|" + "---|" * (len(results) + 1)]
    chosen = pick(results)
    for k in ("float", *qat_study.RECIPES):
        bits = S.FLOAT_BITS if k == "float" else 2
        cells = [f"{100 * r[S.key(k, bits, 'val_error')]:.2f}" for _, r in results]
        rows.append(f"| {k} | " + " | ".join(cells) + f" | {chosen[k]:g} |")
    md = "\n".join(rows) + "\n\nValidation error (%) at 2 bits on one MNIST-1D replicate (10k train).\n"
    outdir = Path(outdir)
    return [plotting.atomic_write_text(outdir / "qat_tune.md", md),
            plotting.atomic_write_text(outdir / "qat_tune.json",
                                       json.dumps({"pick": chosen, "results": [
                                           (p, {k: float(v) for k, v in r.items() if np.ndim(v) == 0})
                                           for p, r in results]}, indent=1) + "\n")]
