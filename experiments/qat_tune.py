"""Learning-rate pick of the QAT study: validation error of every recipe at 2 bits at every rate.

Each grid point is one MNIST-1D replicate (10k training rows, the study's float and QAT epochs):
one float checkpoint, and every recipe fine-tunes it at every peak learning rate of ``LR_GRID`` in
the same minibatch order, so the comparison across rates is paired within a replicate. The
study's ``TUNED_LR`` is the rate with the lowest validation error averaged over replicates, per
recipe (ties: the smaller rate). The replicates are drawn from this experiment's own streams
(its NAME enters every point's seed), so the study's test rows never enter the pick.
Not run by ``quanttheory figures`` (``EXPLICIT_ONLY``); its table is committed beside the study's
figures.
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
#: Half-decade steps. The first pick over {0.003, 0.01, 0.03} chose an edge of the grid for 10 of 12
#: recipes (0.03 for most, 0.003 for QN W/A and QN-W), so the grid was widened on both sides; on
#: {0.001, …, 0.3} the QN W/A and QN-W picks were still the lowest rate, hence 0.0003.
LR_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)


#: Replicates (full, quick).
REPLICATES = (2, 1)


def grid(quick: bool) -> list[dict]:
    """One point per replicate; every learning rate and recipe runs inside it (paired)."""
    full = qat_study.SIZES[("mnist1d", "full")]
    size = {"float_epochs": 6, "qat_epochs": 2, "n_train": 4000} if quick else \
        {"float_epochs": full["float_epochs"], "qat_epochs": full["qat_epochs"], "n_train": 10_000}
    return [{"dataset": "mnist1d", "replicate": r, **size} for r in range(REPLICATES[quick])]


def _lr_key(recipe, bits, lr):
    return S.key(f"{recipe}~lr{lr:g}", bits, "val_error")


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Validation error of the float reference and every recipe at 2 bits, at every rate."""
    with S.single_thread():
        stage = S.checkpoint(point, rng)
        out = {}
        for lr in LR_GRID:
            for k in ("float", *qat_study.RECIPES):
                bits = S.FLOAT_BITS if k == "float" else 2
                r = S.run_recipe(stage, k, bits, lr, point["qat_epochs"])
                out[_lr_key(k, bits, lr)] = r[S.key(k, bits, "val_error")]
    return out


def scores(results: list[tuple[dict, dict]]) -> dict:
    """``{recipe: {lr: mean validation error over replicates}}``."""
    out: dict = {}
    for k in ("float", *qat_study.RECIPES):
        bits = S.FLOAT_BITS if k == "float" else 2
        out[k] = {lr: float(np.mean([r[_lr_key(k, bits, lr)] for _, r in results])) for lr in LR_GRID}
    return out


def pick(results: list[tuple[dict, dict]]) -> dict:
    """``{recipe: lr}`` with the lowest mean validation error (ties: the smaller lr)."""
    return {k: min((v, lr) for lr, v in s.items())[1] for k, s in scores(results).items()}


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    rows = ["| recipe | " + " | ".join(f"lr {lr:g}" for lr in LR_GRID) + " | pick |",
            "|---|" + "---|" * (len(LR_GRID) + 1)]
    chosen, table = pick(results), scores(results)
    for k, s in table.items():
        cells = [f"{100 * s[lr]:.2f}" for lr in LR_GRID]
        rows.append(f"| {k} | " + " | ".join(cells) + f" | {chosen[k]:g} |")
    md = "\n".join(rows) + (f"\n\nValidation error (%) at 2 bits (float: 32), mean over {len(results)} "
                            "MNIST-1D replicate(s) of 10k training rows; paired across rates.\n")
    outdir = Path(outdir)
    return [plotting.atomic_write_text(outdir / "qat_tune.md", md),
            plotting.atomic_write_text(outdir / "qat_tune.json",
                                       json.dumps({"pick": chosen, "results": [
                                           (p, {k: float(v) for k, v in r.items() if np.ndim(v) == 0})
                                           for p, r in results]}, indent=1) + "\n")]
