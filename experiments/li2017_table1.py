"""Float Adam, BC-, Big SR-, SR- and R-Adam on a small binary-weight network: test error and
exploration (Table 1 and Figures 4–5 analogue).

Setting: teacher–student classification (``nn.teacher_student``: d = 64, 10 classes, binary
teacher, generated from a seed, no downloads); the student's first layer (64 × 64) is binary,
its float head is trained by Adam in every method. Library defaults otherwise (first-layer
Adam step 0.01, ×0.1 at 2/3 of the run, batch 100). "Big SR-ADAM" uses an 8× larger batch
for 8× more epochs, i.e. the **same number of steps** as SR-ADAM (at equal epochs it takes
8× fewer steps and is not comparable). Every method of a seed sees the same data set (drawn
from ``data_seed``), so differences are paired by seed.

Exploration (Figs. 4–5): per epoch, the fraction of binary weights whose deployed sign differs
from the initial one, and the fraction that flipped at least once during the epoch.
This module feeds both the table (claim 11) and the exploration curves (claim 9) from one
compute, as the spec allows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import nn
from quanttheory.claims import Claim

NAME = "li2017-table1"
PAPER = "Li et al. 2017, Table 1 and Figs. 4–5 (small binary-weight network)"
CLAIMS = ("li2017-9", "li2017-11")

ORDER = ("adam", "bc_adam", "big_sr_adam", "sr_adam", "r_adam")
LABELS = {"adam": "ADAM (float)", "bc_adam": "BC-ADAM", "big_sr_adam": "Big SR-ADAM", "sr_adam": "SR-ADAM",
          "r_adam": "R-ADAM"}
BIG_BATCH = 8
# Li et al. 2017, Table 1, top-1 test error (%), columns as in the spec
PAPER_COLUMNS = ("CIFAR-10 VGG-9", "CIFAR-10 VGG-BC", "CIFAR-10 WRN-56-2", "CIFAR-10 ResNet-56", "CIFAR-100",
                 "ImageNet ResNet-18")
PAPER_TABLE = {
    "adam": (7.97, 7.12, 8.10, 6.62, 33.98, 36.04),
    "bc_adam": (10.36, 8.21, 8.83, 7.17, 35.34, 52.11),
    "big_sr_adam": (16.95, 16.77, 19.84, 16.04, 50.79, 77.68),
    "sr_adam": (23.33, 20.56, 26.49, 21.58, 58.06, 88.86),
    "r_adam": (23.99, 21.88, 33.56, 27.90, 68.39, 91.07),
}


def grid(quick: bool) -> list[dict]:
    """Methods × seeds; quick: 2 seeds, 5 000 training points, 10 epochs; full: 4, 10 000, 15."""
    seeds, n_train, epochs = (2, 5000, 10) if quick else (4, 10000, 15)
    return [{"method": m, "data_seed": s, "n_train": n_train, "epochs": epochs}
            for s in range(seeds) for m in ORDER]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """One training run: per-epoch test error, train loss, % changed from init, % flipped."""
    # the data set is shared by all methods of a seed (paired comparison): its own Generator
    data_rng = np.random.default_rng([2017, point["data_seed"]])
    data = nn.teacher_student(point["n_train"], 2000, rng=data_rng)
    epochs = point["epochs"] * (BIG_BATCH if point["method"] == "big_sr_adam" else 1)
    h = nn.train_binary(point["method"], data, epochs=epochs, big_batch=BIG_BATCH, rng=rng)
    return {"test_error": h.test_error, "train_loss": h.train_loss, "changed": h.changed_from_init,
            "flipped": h.flipped}


def _by_method(results):
    out = {m: [] for m in ORDER}
    for p, r in sorted(results, key=lambda pr: pr[0]["data_seed"]):
        out[p["method"]].append(r)
    return out


def _final(runs, key):
    return np.array([r[key][-1] for r in runs])


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """(a) our test error next to the paper's Table 1; (b) % changed from init; (c) % flipped."""
    by = _by_method(results)
    fig = Figure(figsize=(15, 4.8), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    x = np.arange(len(ORDER))
    err = np.array([100 * _final(by[m], "test_error") for m in ORDER])
    ax1.bar(x, err.mean(axis=1), yerr=err.std(axis=1, ddof=1) / np.sqrt(err.shape[1]), color="0.6",
            label="ours: binary-first-layer MLP, teacher–student")
    for k, col in enumerate(PAPER_COLUMNS):
        ax1.plot(x, [PAPER_TABLE[m][k] for m in ORDER], "o-", ms=4, lw=0.8, label=f"paper: {col}")
    ax1.set(xticks=x, ylabel="top-1 test error (%)", title="(a) Table 1: ours vs the paper's rows")
    ax1.set_xticklabels([LABELS[m] for m in ORDER], rotation=20, fontsize=8)
    ax1.legend(fontsize=6)
    for m in ORDER:
        ch = np.array([r["changed"] for r in by[m]]) * 100
        fl = np.array([r["flipped"] for r in by[m]]) * 100
        ep = np.arange(1, ch.shape[1] + 1) / (BIG_BATCH if m == "big_sr_adam" else 1)
        ax2.plot(ep, ch.mean(axis=0), label=LABELS[m])
        ax3.plot(ep, fl.mean(axis=0), label=LABELS[m])
    ax2.set(xlabel="training progress (SR-ADAM epochs; equal steps)", ylabel="weights changed from init (%)",
            title="(b) Fig. 4 analogue: sign ≠ initial sign")
    ax3.set(xlabel="training progress (SR-ADAM epochs; equal steps)", ylabel="weights flipped in the epoch (%)",
            title="(c) Fig. 5: flips per epoch (Big SR: per 1/8)", yscale="symlog", ylim=(0, 100))
    ax2.legend(fontsize=8)
    fig.suptitle("Li et al. 2017, Table 1 and Figs. 4–5 analogue (mean over seeds)")
    png, data = Path(outdir) / "li2017_table1.png", Path(outdir) / "li2017_table1.csv"
    fig.savefig(png, dpi=120)
    head = "method,ours_test_error_pct,ours_se,ours_changed_pct,ours_final_flipped_pct,"
    rows = [head + ",".join(PAPER_COLUMNS)]
    for m, e in zip(ORDER, err, strict=True):
        ch, fl = 100 * _final(by[m], "changed").mean(), 100 * _final(by[m], "flipped").mean()
        se = e.std(ddof=1) / np.sqrt(e.size)
        rows.append(f"{LABELS[m]},{e.mean():.2f},{se:.2f},{ch:.1f},{fl:.2f},"
                    + ",".join(map(str, PAPER_TABLE[m])))
    data.write_text("\n".join(rows) + "\n")
    return [png, data]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """li2017-11 (Table-1 ordering, every seed) and li2017-9 (SR explores more than BC; R never)."""
    by = _by_method(results)
    err = {m: _final(by[m], "test_error") for m in ORDER}
    # strict pairs must hold in every seed (a sign test with few seeds); float ≤ BC on average
    diffs = [err[b] - err[a] for a, b in zip(ORDER[1:], ORDER[2:], strict=False)]
    d0 = err["bc_adam"] - err["adam"]
    d0_ok = d0.mean() >= -2 * d0.std(ddof=1) / np.sqrt(d0.size)
    worst = float(min(d.min() for d in diffs))
    means = ", ".join(f"{LABELS[m]} {100 * err[m].mean():.1f}" for m in ORDER)
    c11 = Claim("li2017-11", PAPER, "Test error ordering float ≤ BC < Big SR < SR < R (Table 1)", 100 * worst,
                "min per-seed gap (pct points) between consecutive methods > 0, and float ≤ BC within 2 SE",
                bool(worst > 0 and d0_ok),
                f"{err['adam'].size} seeds; mean test error (%): {means}; float−BC per seed (pct points) "
                f"{np.round(100 * -d0, 2).tolist()}")
    ch = {m: _final(by[m], "changed") for m in ORDER}
    gap = ch["sr_adam"] - ch["bc_adam"]
    c9 = Claim("li2017-9", "Li et al. 2017, Figs. 4–5",
               "SR changes more binary weights than BC (paper: many more); R changes none",
               float(100 * gap.mean()), "SR − BC changed-from-init > 0 in every seed and R == 0",
               bool(gap.min() > 0 and np.all(ch["r_adam"] == 0)),
               "changed from init at the end (%): "
               + ", ".join(f"{LABELS[m]} {100 * ch[m].mean():.1f}" for m in ORDER)
               + "; flipped in the last epoch (%): "
               + ", ".join(f"{LABELS[m]} {100 * _final(by[m], 'flipped').mean():.2f}" for m in ORDER))
    return [c11, c9]
