"""Method-agnostic QAT loop: MLP backward vs finite differences (with soft quantizer hooks), SGD, cosine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from quanttheory.nn import data as nn_data
from quanttheory.nn import qat, recipes


def _tiny(rng, key=None, bits=3):
    d = nn_data.teacher_student(40, 10, dim=5, n_classes=3, binary_teacher=False, rng=rng)
    model = qat.MLP((5, 6, 7, 6, 3))
    params = {k: v + 0.1 * rng.standard_normal(v.shape) if k.endswith(".b") else v
              for k, v in model.init(rng).items()}
    if key is None:
        return d, model, params, qat.FloatSites()
    # without LSQ's gradient scale, so that the backward is the plain gradient of the soft loss
    recipe = dataclasses.replace(recipes.get(key), scaled=())
    quant, learn = recipes.calibrate(recipe, bits, model, params, {}, d.x_train)
    return d, model, params | learn, quant


def _loss(model, params, quant, x, y, t):
    wq, aq = quant.hooks(params, mode="soft", temperature=t)
    logits, tape, _ = model.forward(params, {}, x, wq=wq, aq=aq)
    return qat.softmax_cross_entropy(logits, y), tape


@pytest.mark.parametrize("key", [None, "dsq", "qn-w-exact"])
def test_backward_matches_finite_differences(key, rng):
    """Through the soft maps (DSQ, QN with the exact slope) the backward is the true gradient."""
    d, model, p, quant = _tiny(rng, key)
    if key == "dsq":  # α = 0.4: moderate soft slopes; keep activations' l below the ReLU zeros
        p |= {k: np.asarray(0.4) for k in p if k.endswith("alpha")}
        p |= {k: np.asarray(-0.05) for k in p if k.endswith(".a.lower")}
    t, h = 2.0, 1e-6
    (_, dlogits), tape = _loss(model, p, quant, d.x_train, d.y_train, t)
    grads = model.backward(tape, dlogits)
    assert set(grads) == set(p)
    for name, value in p.items():
        flat = np.asarray(value, dtype=float).ravel()
        for j in rng.choice(flat.size, size=min(flat.size, 4), replace=False):
            e = np.zeros_like(flat)
            e[j] = h
            up, dn = (_loss(model, p | {name: (flat + s * e).reshape(np.shape(value))}, quant, d.x_train,
                            d.y_train, t)[0][0] for s in (1, -1))
            np.testing.assert_allclose(np.ravel(grads[name])[j], (up - dn) / (2 * h), rtol=1e-5, atol=1e-8,
                                       err_msg=name)


def test_first_and_last_layers_stay_float():
    assert qat.MLP((4, 8, 8, 8, 2)).quantized_layers == ("fc1", "fc2")


def test_cosine_decays_to_zero():
    assert qat.cosine(0.1, 0, 10) == pytest.approx(0.1)
    assert qat.cosine(0.1, 5, 10) == pytest.approx(0.05)
    assert qat.cosine(0.1, 10, 10) == pytest.approx(0.0, abs=1e-15)


def test_sgd_step_applies_momentum_weight_decay_and_own_rates():
    quant = recipes.Quantizers(recipes.get("apot"), 2, {})
    params = {"fc1.w": np.array([1.0]), "fc1.w.alpha": np.array(2.0)}
    grads = {"fc1.w": np.array([0.5]), "fc1.w.alpha": np.array(1.0)}
    new, vel = qat._sgd_step(params, grads, {}, quant, decay=0.5, lr=0.1, momentum=0.9)
    g_w = 0.5 + recipes.WEIGHT_DECAY * 1.0
    assert new["fc1.w"][0] == pytest.approx(1.0 - 0.5 * 0.1 * g_w)
    g_a = 1.0 + recipes.APOT_ALPHA_WD * 2.0
    assert float(new["fc1.w.alpha"]) == pytest.approx(2.0 - 0.5 * recipes.APOT_ALPHA_LR * g_a)
    new2, _ = qat._sgd_step(new, grads, vel, quant, decay=1.0, lr=0.1, momentum=0.9)
    assert new2["fc1.w"][0] == pytest.approx(new["fc1.w"][0] - 0.1 * (0.9 * g_w + 0.5 + recipes.WEIGHT_DECAY
                                                                         * new["fc1.w"][0]))


def test_float_training_learns_and_is_deterministic():
    rng = np.random.default_rng(0)
    d = nn_data.teacher_student(600, 300, dim=8, n_classes=3, binary_teacher=False, rng=rng)
    model = qat.MLP((8, 32, 32, 3))
    p0 = model.init(rng)
    before = qat.error_rate(model, p0, {}, d.x_test, d.y_test, qat.FloatSites())
    runs = [qat.train(model, p0, {}, d, qat.FloatSites(), qat.Budget(15, 0.05, batch_size=50),
                      np.random.default_rng(1))[0] for _ in range(2)]
    after = qat.error_rate(model, runs[0], {}, d.x_test, d.y_test, qat.FloatSites())
    assert after < before - 0.15
    for k in p0:
        np.testing.assert_array_equal(runs[0][k], runs[1][k])


def test_record_gives_one_row_per_epoch_plus_start():
    rng = np.random.default_rng(2)
    d, model, p, quant = _tiny(rng, "dsq", bits=2)
    _, _, hist = qat.train(model, p, {}, d, quant, qat.Budget(3, 0.01, batch_size=10), np.random.default_rng(0),
                           record=lambda e, params, s: qat.site_params(params))
    assert hist["fc1.w.alpha"].shape == (4,) and hist["fc1.w.alpha"][0] == pytest.approx(0.2)


@pytest.mark.parametrize("bad", [0, 1.5, True])
def test_budget_rejects_bad_epochs(bad):
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        qat.Budget(bad, 0.1)


def test_budget_rejects_bad_learning_rate():
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0"):
        qat.Budget(1, 0.0)
