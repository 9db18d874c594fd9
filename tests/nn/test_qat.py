"""Quantization-aware training: backward passes vs finite differences, parameter validity, Adam."""

from __future__ import annotations

import numpy as np
import pytest

from quanttheory import quantizers as Q
from quanttheory.nn import data as nn_data
from quanttheory.nn import layers, qat

SMALL = qat.Setup(n_train=200, n_test=100, dim=5, n_classes=3, hidden=(6, 7),
                  float_epochs=2, qat_epochs=2, batch_size=50)


def _tiny(rng, method, bits=3):
    data = nn_data.teacher_student(50, 10, dim=5, n_classes=3, rng=rng)
    params = qat.init_mlp(rng, 5, (6, 7), 3)
    # non-zero biases: with b = 0 a sample whose layer-1 ReLUs are all off has z2 = 0 exactly,
    # on the ReLU kink, where a central difference is meaningless
    params = {k: v + 0.1 * rng.standard_normal(v.shape) if k.startswith("b") else v
              for k, v in params.items()}
    net, learn = qat.quantizer_init(method, bits, params, data.x_train)
    p = params | learn
    if method == "dsq":
        # α = 0.4 keeps the soft map's slope moderate; l < 0 keeps ReLU zeros off the clip kink
        p |= {k: np.asarray(0.4) for k in p if k.endswith("alpha")}
        p |= {"a1.lower": np.asarray(-0.05), "a2.lower": np.asarray(-0.05)}
    return data, net, p


@pytest.mark.parametrize("method", ["float", "dsq", "qn"])
def test_network_gradient_matches_finite_differences(method, rng):
    """Backward through the soft (training-gradient) map vs central differences of its loss."""
    data, net, p = _tiny(rng, method)
    t, h = 2.0, 1e-6
    loss, grads = qat.loss_and_grads(net, p, data.x_train, data.y_train, mode="soft", temperature=t)
    assert set(grads) == set(p)

    def loss_at(key, flat):
        q = dict(p)
        q[key] = flat.reshape(np.shape(p[key]))
        logits, _ = qat.forward(net, q, data.x_train, mode="soft", temperature=t)
        return qat.cross_entropy(logits, data.y_train)

    for key, value in p.items():
        flat = np.asarray(value, dtype=float).ravel()
        for j in rng.choice(flat.size, size=min(flat.size, 6), replace=False):
            e = np.zeros_like(flat)
            e[j] = h
            fd = (loss_at(key, flat + e) - loss_at(key, flat - e)) / (2 * h)
            np.testing.assert_allclose(np.ravel(grads[key])[j], fd, rtol=1e-5, atol=1e-8, err_msg=key)


def _ste_surrogate(method, bits, x0, p0, signed):
    """The map whose exact derivative the clipped STE is: α·clip(x/α) + α·r, r frozen at x0, α0.

    For APoT weights x is first normalised and the result multiplied by the fixed scale.
    """
    scale = p0.get("scale", 1.0) if method == "apot" and signed else 1.0
    def norm(w):
        return Q.apot_normalize(w, eps=layers.APOT_EPS) if method == "apot" and signed else w

    lo = -1.0 if signed else 0.0
    q0 = layers.quantize(method, bits, x0, p0, signed=signed)
    r0 = q0 / (scale * p0["alpha"]) - np.clip(norm(x0) / p0["alpha"], lo, 1.0)
    return lambda x, a: scale * a * (np.clip(norm(x) / a, lo, 1.0) + r0)


@pytest.mark.parametrize("method", ["uniform", "apot"])
@pytest.mark.parametrize("signed", [True, False])
def test_ste_site_vjp_is_the_surrogate_derivative(method, signed, rng):
    bits = 3
    x = rng.standard_normal((8, 5))
    x = x if signed else np.abs(x)  # activations come out of a ReLU
    learn, frozen = layers.init_site(method, bits, x, signed=signed, weight_scale=0.7)
    learn["alpha"] *= 0.8  # some inputs clip, so both branches of ∂α are exercised
    p = learn | frozen
    g = rng.standard_normal(x.shape)
    gx, gp = layers.site_vjp(method, bits, x, p, g, signed=signed)
    f = _ste_surrogate(method, bits, x, p, signed)
    h = 1e-7
    fd_x = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        fd_x[idx] = np.sum(g * (f(x + e, p["alpha"]) - f(x - e, p["alpha"]))) / (2 * h)
    fd_a = np.sum(g * (f(x, p["alpha"] + h) - f(x, p["alpha"] - h))) / (2 * h)
    np.testing.assert_allclose(gx, fd_x, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gp["alpha"], fd_a, rtol=1e-5, atol=1e-7)


def test_normalize_vjp_matches_finite_differences(rng):
    w, g, h = rng.standard_normal((4, 6)), rng.standard_normal((4, 6)), 1e-6
    fd = np.empty_like(w)
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = h
        fd[idx] = np.sum(g * (Q.apot_normalize(w + e) - Q.apot_normalize(w - e))) / (2 * h)
    np.testing.assert_allclose(layers.normalize_vjp(w, g), fd, rtol=1e-6, atol=1e-8)
    # a constant tensor normalises to zeros: finite gradient, no 0/0
    assert np.all(np.isfinite(layers.normalize_vjp(np.ones((3, 3)), g[:3, :3])))


def test_project_site_restores_valid_parameters():
    out = layers.project_site("dsq", {"lower": 1.0, "upper": 0.5, "alpha": 0.9})
    assert 0 < out["alpha"] <= layers.DSQ_ALPHA_MAX and out["lower"] < out["upper"]
    assert layers.project_site("dsq", {"lower": 0.0, "upper": 1.0, "alpha": -3.0})["alpha"] > 0
    out = layers.project_site("qn", {"alpha": -1.0, "beta": 0.0})
    assert out["alpha"] > 0 and out["beta"] > 0


@pytest.mark.parametrize("method", ["dsq", "qn", "uniform", "apot"])
def test_parameters_stay_valid_during_aggressive_training(method, rng):
    """A large learning rate pushes α, l, u, β hard; the projection keeps them valid."""
    setup = qat.Setup(**{**SMALL.__dict__, "learning_rate": 0.2})
    history, _ = qat.run(method, 2, 3, setup)
    for site in qat.SITES:
        if method == "dsq":
            a = history[f"{site}.alpha"]
            assert np.all((a > 0) & (a <= 0.5)), a
            assert np.all(history[f"{site}.lower"] < history[f"{site}.upper"])
        else:
            assert np.all(history[f"{site}.alpha"] > 0)
        if method == "qn":
            assert np.all(history[f"{site}.beta"] > 0)
    assert np.all(np.isfinite(history["train_loss"]))


def test_run_is_deterministic_and_paired():
    h1, f1 = qat.run("dsq", 3, 7, SMALL)
    h2, f2 = qat.run("dsq", 3, 7, SMALL)
    for k in h1:
        np.testing.assert_array_equal(h1[k], h2[k])
    _, f3 = qat.run("uniform", 3, 7, SMALL)  # same seed: same float pre-training
    np.testing.assert_array_equal(f1["test_error"], f3["test_error"])


def test_adam_first_step_is_learning_rate_times_sign():
    """With bias correction, Adam's first step is lr·g/(|g| + ε') ≈ lr·sign(g) [Kingma & Ba]."""
    p = {"w": np.array([1.0, -2.0, 3.0])}
    g = {"w": np.array([0.5, -4.0, 1e-3])}
    new, state = qat.adam_update(p, g, qat.adam_init(p), learning_rate=0.1)
    np.testing.assert_allclose(new["w"], p["w"] - 0.1 * np.sign(g["w"]), rtol=1e-4)
    assert state.step == 1
    scaled, _ = qat.adam_update(p, g, qat.adam_init(p), learning_rate=0.1, scales={"w": 0.5})
    np.testing.assert_allclose(scaled["w"], p["w"] - 0.05 * np.sign(g["w"]), rtol=1e-4)


def test_step_scales_are_relative_to_the_initial_size():
    assert layers.step_scales("qn", {"alpha": 20.0, "beta": 0.05}) == {"alpha": 20.0, "beta": 0.05}
    assert layers.step_scales("dsq", {"lower": -1.0, "upper": 3.0, "alpha": 0.2}) == {
        "lower": 4.0, "upper": 4.0, "alpha": 1.0}


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="method"):
        layers.check_method("pact", 2)
    with pytest.raises(ValueError, match="bits"):
        layers.check_method("dsq", 1)
    with pytest.raises(ValueError, match="mode"):
        layers.quantize("dsq", 2, np.ones(3), {}, signed=True, mode="hard")
    rng = np.random.default_rng(0)
    data = nn_data.teacher_student(20, 5, dim=3, n_classes=2, rng=rng)
    net, _ = qat.quantizer_init("float", 2, qat.init_mlp(rng, 3, (4, 4), 2), data.x_train)
    params = qat.init_mlp(rng, 3, (4, 4), 2)
    with pytest.raises(ValueError, match="epochs"):
        qat.fit(net, params, data, rng, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        qat.fit(net, params, data, rng, epochs=1, batch_size=21)
