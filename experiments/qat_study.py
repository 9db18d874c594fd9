"""QAT study on real data: DSQ, APoT and QN recipes against uniform and LSQ baselines, paired seeds.

Each replicate draws MNIST-1D (40k/10k/10k; primary) or MNIST-5k (3500/500/1000; secondary),
trains one float MLP to convergence (first and last layers stay float in QAT), and fine-tunes
that checkpoint with every recipe of :mod:`quanttheory.nn.recipes` at 2 and 4 bits (APoT and its
same-clip uniform ablation also at 3) under one budget: SGD with momentum, cosine decay, the same
minibatch order, each recipe's learning rate picked on the validation split (``qat-tune``).
Differences between recipes are paired within a replicate; the ledger rows give the mean paired
difference with a 95 % CI over replicates against margins declared below.

This study takes about an hour on two cores, so ``quanttheory figures`` does not run it
(``EXPLICIT_ONLY``): it redraws the figures and ledger rows from the committed
``figures/qat-study/results.json`` written by ``quanttheory run qat-study``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quanttheory import committed, plotting
from quanttheory.experiments import _qat_claims as C
from quanttheory.experiments import _qat_stage as S
from quanttheory.nn import recipes

NAME = "qat-study"
PAPER = "DSQ Table 4 / APoT Table 2 / QN Table 3 (real-data QAT study)"
CLAIMS: tuple[str, ...] = C.IDS
#: Not run by ``quanttheory figures`` (about an hour); its committed results are redrawn instead.
EXPLICIT_ONLY = True
RESULTS_FILE = committed.results_file(NAME)

RECIPES = ("uniform", "lsq", "dsq", "dsq-mq", "dsq-ste", "apot", "uniform-rcf", "qn", "qn-w", "qn-w-exact",
           "uniform-w")
#: APoT and its same-clip ablation also at 3 bits; QN W/A and the exact-slope ablation only at 2
#: (QN's sigmoid sums cost ~15 levels × activations per step at 4 bits; the paper has no W4A4 claim).
BITS = {k: (2, 3, 4) if k in ("apot", "uniform-rcf") else (2,) if k in ("qn", "qn-w-exact") else (2, 4)
        for k in RECIPES}
#: Recipes whose per-epoch quantizer parameters / soft-step gap are recorded (dsq-1, qn-1).
HISTORY = ("dsq", "qn-w", "qn")
#: Peak learning rate per recipe, picked on the validation split by ``qat-tune`` (see S.TUNED_LR).
TUNED_LR = S.TUNED_LR
#: Epochs at batch 256 (MNIST-1D: 78 steps per epoch on a 20k subset of the 40k training rows;
#: MNIST-5k: 13 on 3500) and replicates per (data set, size); n_train 0 = the whole split.
#: 10 paired MNIST-1D replicates (the effects are about a point) and 5 on MNIST-5k; 20k of the 40k
#: training rows and 3 QAT epochs to fit the 60-minute budget on 2 cores.
SIZES = {("mnist1d", "full"): {"float_epochs": 15, "qat_epochs": 3, "n_train": 20_000, "replicates": 10},
         ("mnist5k", "full"): {"float_epochs": 40, "qat_epochs": 12, "n_train": 0, "replicates": 5},
         ("mnist1d", "quick"): {"float_epochs": 15, "qat_epochs": 3, "n_train": 20_000, "replicates": 2}}
#: The quick grid is the full grid's MNIST-1D replicate with fewer seeds (it must measure the same
#: quantities: an earlier quick grid of 5k rows × 2 epochs gave qn-3 "holds" at --seed 1 where the
#: full run says "fails" — the step/soft cost grows with the training budget).


def grid(quick: bool) -> list[dict]:
    """One point per (data set, replicate); every recipe and bit-width runs inside it (pairing)."""
    size = "quick" if quick else "full"
    return [{"dataset": ds, "replicate": r, "size": size, **{k: v for k, v in cfg.items() if k != "replicates"}}
            for (ds, sz), cfg in SIZES.items() if sz == size for r in range(cfg["replicates"])]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Float checkpoint, float reference and every recipe × bits on one replicate (all from ``rng``)."""
    return S.replicate(point, rng, RECIPES, BITS, HISTORY)


def committed_results() -> list[tuple[dict, dict]]:
    """The ``(point, result)`` pairs of the committed full run (empty if there is none)."""
    return committed.read(RESULTS_FILE)


def _by_dataset(results):
    out: dict = {}
    for p, r in results:
        out.setdefault(p["dataset"], []).append((p, r))
    return out


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Error vs bits per recipe (mean ± 95 % CI), the claims' paired CIs, DSQ α and QN gap; data."""
    outdir = Path(outdir)
    by = _by_dataset(results)
    paths = []
    with plotting.style():
        paths += plotting.save_figure(C.table_figure(by, RECIPES, BITS), outdir / "qat_study.png")
        paths += plotting.save_figure(C.claims_figure(by.get("mnist1d", [])), outdir / "qat_study_claims.png")
        paths += plotting.save_figure(C.history_figure(by.get("mnist1d", [])), outdir / "qat_study_training.png")
    md = "\n\n".join(f"### {ds}\n\n" + C.markdown(rs, RECIPES, BITS) for ds, rs in by.items())
    paths.append(plotting.atomic_write_text(outdir / "qat_study.md", md + "\n"))
    paths.append(committed.write(outdir / "results.json", NAME, results,
                                 recipes={k: recipes.get(k).label for k in RECIPES}, tuned_lr=TUNED_LR))
    return paths


def claims(results: list[tuple[dict, dict]]):
    """The DSQ, APoT and QN training claims on MNIST-1D (MNIST-5k in each row's detail)."""
    by = _by_dataset(results)
    return C.claims(by.get("mnist1d", []), by.get("mnist5k", []))
