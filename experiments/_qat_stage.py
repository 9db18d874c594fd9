"""The real-data QAT stage shared by qat-study, cross-method, dsq-training and qn-training.

One *replicate* is one grid point: its Generator (from ``--seed``, the experiment's NAME and the
point) draws the data set, the initial weights, the float checkpoint's minibatch order and one
QAT order, and every recipe and bit-width of the replicate fine-tunes the same checkpoint in the
same order. Differences between recipes within a replicate are therefore paired, and ``--seed``
changes everything. Result keys are ``"<recipe>@<bits>:<quantity>"``; ``"float@32:…"`` is the
float reference fine-tuned with the same budget.
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from quanttheory import stats
from quanttheory.nn import cnn, qat, recipes
from quanttheory.nn import data as nn_data

#: Network ``point["model"] == "mlp"`` (the default): a fully connected net, first (fc0) and last
#: layer float, hidden layers quantized.
HIDDEN = (128, 128, 128)
#: Network ``point["model"] == "cnn"`` on MNIST-1D: conv–BN–ReLU × 3, 32 channels, kernel 5, global
#: average pooling and a dense head; conv0 and the head float, conv1 and conv2 (weights and the
#: activations feeding them) quantized — the "bn-cnn" net of mnist1d-float-cnn and ``bench nn``.
CNN_1D = {"channels": (32, 32, 32), "kernel": 5}
#: Float checkpoint: SGD-momentum, cosine decay, this peak learning rate (a-priori choice; a
#: smoke run reached 8.3 % MNIST-1D test error in 10 epochs with it).
FLOAT_LR = 0.1
FLOAT_BITS = 32
CALIBRATION = 512
BATCH = 256
#: Validation/test rows used for the per-epoch soft/step record of QN (the full sets score the end).
HISTORY_ROWS = 2000
#: Peak QAT learning rate per recipe: the validation-split pick of ``quanttheory run qat-tune``
#: (committed table: figures/qat-tune/qat_tune.md; 2 MNIST-1D replicates of 10k rows at 2 bits,
#: rates 0.0003 … 0.3 in half-decades; a test checks these values against the committed pick).
#: QN W/A's pick is the lowest rate of the grid: its validation error falls monotonically as the
#: rate goes to 0 (57.6 % at 0.0003, 89.9 % from 0.01 up) — it does not train at any rate here.
#: The same rates serve MNIST-5k (not tuned there) and the reduced stages (cross-method,
#: dsq-training, qn-training). Kept here, not in qat_study.py, because every experiments/_*.py
#: enters every experiment's cache key, so a change of rate recomputes all of them.
TUNED_LR = {"float": 0.1, "uniform": 0.1, "lsq": 0.1, "dsq": 0.1, "dsq-mq": 0.03, "dsq-ste": 0.1, "apot": 0.03,
            "uniform-rcf": 0.03, "qn": 0.0003, "qn-w": 0.001, "qn-w-exact": 0.01, "uniform-w": 0.1}


def single_thread():
    """One BLAS thread: these small matmuls run ~30x slower when BLAS threads fight for 2 cores."""
    return threadpool_limits(limits=1)


def key(recipe, bits, quantity):
    return f"{recipe}@{bits}:{quantity}"


def load(dataset, n_train, rng):
    """MNIST-1D (40k/10k/10k draw), MNIST-5k (3500/500/1000) or digits; training split cut to ``n_train``."""
    if dataset == "mnist1d":
        d = nn_data.mnist1d(split="large", rng=rng)
    elif dataset == "mnist5k":
        d = nn_data.mnist5k(rng=rng)
    elif dataset == "digits":  # 1797 8×8 images: the tests' cheap stand-in
        d = nn_data.digits(rng=rng)
    else:
        raise ValueError(f"dataset must be 'mnist1d', 'mnist5k' or 'digits'; got {dataset!r}")
    if n_train and n_train < d.y_train.size:  # a random subset, drawn from the data stream
        keep = rng.permutation(d.y_train.size)[:n_train]
        d = _replace(d, x_train=d.x_train[keep], y_train=d.y_train[keep])
    return d


def _replace(d, **kw):
    import dataclasses
    return dataclasses.replace(d, **kw)


def _streams(rng):
    root = np.random.SeedSequence(rng.integers(2**63, size=4).tolist())
    return root.spawn(5)  # data, init, float order, QAT order, calibration


def checkpoint(point, rng):
    """``(data, model, params, state, qat_order_seed, calibration batch, float test error)``."""
    data_ss, init_ss, float_ss, order_ss, calib_ss = _streams(rng)
    d = load(point["dataset"], point.get("n_train"), np.random.default_rng(data_ss))
    model = network(point.get("model", "mlp"), d.x_train.shape[1:], int(d.n_classes))
    params, state = model.init(np.random.default_rng(init_ss)), model.init_state()
    budget = qat.Budget(point["float_epochs"], FLOAT_LR, batch_size=BATCH)
    params, state, _ = qat.train(model, params, state, d, qat.FloatSites(), budget,
                                 np.random.default_rng(float_ss))
    n_calib = min(CALIBRATION, d.y_train.size)
    calib = d.x_train[np.random.default_rng(calib_ss).choice(d.y_train.size, n_calib, replace=False)]
    err = qat.error_rate(model, params, state, d.x_test, d.y_test, qat.FloatSites())
    return d, model, params, state, order_ss, calib, err


def network(model, in_shape, n_classes):
    """The stage's net: ``"mlp"`` (inputs flattened) or ``"cnn"`` (1-D inputs ``(C, L)`` only)."""
    if model == "mlp":
        return qat.MLP((int(np.prod(in_shape)), *HIDDEN, n_classes))
    if model == "cnn" and len(in_shape) == 2:
        return cnn.CNN1d(tuple(in_shape), CNN_1D["channels"], kernel=CNN_1D["kernel"], n_classes=n_classes)
    raise ValueError(f"model={model!r} with inputs of shape {tuple(in_shape)}: valid are 'mlp' (any shape) "
                     "and 'cnn' (1-D inputs (C, L), e.g. MNIST-1D)")


def _record(model, state, d, quant, recipe, val_curve=False):
    """Per-epoch record: quantizer parameters, for QN the soft/step errors and logit gap, and
    (``val_curve``) the deployed network's validation error."""
    xv, yv = d.x_val[:HISTORY_ROWS], d.y_val[:HISTORY_ROWS]

    def record(epoch, params, _state):
        row = qat.site_params(params)
        if val_curve:
            row["val_error"] = qat.error_rate(model, params, state, d.x_val, d.y_val, quant)
        if recipe is not None and recipe.qn_rate:
            t = recipe.temperature(max(epoch, 0))
            row["soft_error"], row["step_error"], row["gap"] = qat.soft_hard(model, params, state, xv, yv,
                                                                             quant, t)
            row["temperature"] = t
        return row
    return record


def run_recipe(stage, recipe_key, bits, lr, epochs, *, history=False, recipe=None, val_curve=False):
    """Fine-tune the stage's checkpoint with one recipe; a dict of ``key(recipe_key, bits, …)`` entries.

    ``recipe`` (optional) overrides the registered recipe of that key (e.g. another QN rate).
    """
    d, model, params, state, order_ss, calib, _ = stage
    budget = qat.Budget(epochs, lr, batch_size=BATCH)
    if recipe_key == "float":
        quant, learn = qat.FloatSites(), {}
    else:
        quant, learn = recipes.calibrate(recipe or recipes.get(recipe_key), bits, model, params, state, calib)
    rec = _record(model, state, d, quant, getattr(quant, "recipe", None), val_curve) if history else None
    p, st, hist = qat.train(model, params | learn, state, d, quant, budget, np.random.default_rng(order_ss),
                            record=rec)
    out = {key(recipe_key, bits, "test_error"): qat.error_rate(model, p, st, d.x_test, d.y_test, quant),
           key(recipe_key, bits, "val_error"): qat.error_rate(model, p, st, d.x_val, d.y_val, quant)}
    if recipe_key != "float" and quant.recipe.qn_rate:
        t = quant.recipe.temperature(epochs - 1)
        soft, _, gap = qat.soft_hard(model, p, st, d.x_test, d.y_test, quant, t)
        out |= {key(recipe_key, bits, "soft_test_error"): soft, key(recipe_key, bits, "test_gap"): gap}
    return out | {key(recipe_key, bits, f"h:{k}"): v for k, v in hist.items()}


def replicate(point, rng, recipe_keys, bits, history=()):
    """One replicate of a study: float checkpoint, float reference, then every recipe × bits at its
    ``TUNED_LR`` (per-epoch records for the ``history`` recipes at 2 bits); all from ``rng``."""
    with single_thread():
        stage = checkpoint(point, rng)
        epochs = point["qat_epochs"]
        out = {key("float", FLOAT_BITS, "checkpoint_test_error"): stage[-1]}
        out |= run_recipe(stage, "float", FLOAT_BITS, TUNED_LR["float"], epochs)
        for k in recipe_keys:
            for b in bits[k]:
                out |= run_recipe(stage, k, b, TUNED_LR[k], epochs, history=k in history and b == 2)
    return out


# -- statistics over replicates ----------------------------------------------------------------------

def values(results, recipe, bits, quantity="test_error"):
    """Per-replicate values of one quantity (grid order), skipping replicates that lack it."""
    k = key(recipe, bits, quantity)
    return np.array([r[k] for _, r in results if k in r], dtype=np.float64)


def paired(results, a, b, bits, quantity="test_error", bits_b=None):
    """95 % CI of the mean paired difference a − b over replicates (same checkpoint and order)."""
    va, vb = values(results, a, bits, quantity), values(results, b, bits_b or bits, quantity)
    if va.size == 0 or va.size != vb.size:
        return stats.Interval(math.nan, math.nan, math.nan, 0)
    return stats.paired_ci(va, vb)


def mean_ci(results, recipe, bits, quantity="test_error"):
    v = values(results, recipe, bits, quantity)
    return stats.mean_ci(v) if v.size else stats.Interval(math.nan, math.nan, math.nan, 0)


def fmt(ci, scale=100.0, unit=" pt"):
    """``+1.23 [0.45, 2.01] pt (n=5)`` — a CI in points (scale 100) by default."""
    return (f"{scale * ci.estimate:+.2f} [{scale * ci.low:.2f}, {scale * ci.high:.2f}]{unit} "
            f"(n={ci.n})")
