"""Recipes: level sets per method, parameter groups, QN's released gradient, DSQ's clamp and observers."""

from __future__ import annotations

import numpy as np
import pytest

from quanttheory import quantizers as Q
from quanttheory.nn import data as nn_data
from quanttheory.nn import layers, qat, recipes


@pytest.fixture(scope="module")
def checkpoint():
    rng = np.random.default_rng(3)
    d = nn_data.teacher_student(400, 100, dim=12, n_classes=4, binary_teacher=False, rng=rng)
    model = qat.MLP((12, 24, 24, 24, 4))
    params = model.init(rng)
    return d, model, params


#: Distinct quantized weight values of a layer at 2 bits: ternary sets, except DSQ's 4-level grid.
LEVELS_2BIT = {"uniform": 3, "lsq": 3, "apot": 3, "uniform-rcf": 3, "qn": 3, "qn-w": 3,
               "dsq": 4, "dsq-mq": 4, "dsq-ste": 4}


@pytest.mark.parametrize("key", sorted(LEVELS_2BIT))
def test_two_bit_weight_level_counts(key, checkpoint):
    d, model, params = checkpoint
    quant, learn = recipes.calibrate(recipes.get(key), 2, model, params, {}, d.x_train)
    wq, _ = quant.hooks(params | learn, mode="eval")
    qw, _ = wq("fc1", params["fc1.w"])
    assert np.unique(qw).size == LEVELS_2BIT[key]


def test_every_recipe_trains_one_epoch_and_stays_finite(checkpoint):
    d, model, params = checkpoint
    for key in recipes.RECIPES:
        quant, learn = recipes.calibrate(recipes.get(key), 2, model, params, {}, d.x_train)
        p, _, _ = qat.train(model, params | learn, {}, d, quant, qat.Budget(1, 0.01, batch_size=50),
                            np.random.default_rng(0))
        assert all(np.all(np.isfinite(v)) for v in p.values()), key
        err = qat.error_rate(model, p, {}, d.x_test, d.y_test, quant)
        assert 0.0 <= err <= 1.0


def test_parameter_groups_follow_the_recipes():
    apot = recipes.Quantizers(recipes.get("apot"), 2, {})
    assert apot.groups("fc1.w.alpha") == (1.0, recipes.APOT_ALPHA_LR, recipes.APOT_ALPHA_WD)
    assert apot.groups("fc1.w") == (1.0, None, recipes.WEIGHT_DECAY)
    dsq = recipes.Quantizers(recipes.get("dsq"), 2, {})
    assert dsq.groups("fc2.a.lower")[2] == recipes.WEIGHT_DECAY
    assert dsq.groups("fc2.a.alpha")[2] == 0.0


def test_dsq_alpha_is_clamped_and_ranges_stay_ordered():
    out = layers.project_site("dsq", {"lower": 0.3, "upper": 0.3, "alpha": 0.9})
    assert out["alpha"] == layers.DSQ_ALPHA_MAX and out["upper"] > out["lower"]
    assert layers.project_site("dsq", {"alpha": -1.0})["alpha"] == layers.DSQ_ALPHA_MIN


def test_statistics_site_observes_min_max_and_ema():
    w = np.array([-2.0, 0.5, 3.0])
    observed = layers.observe("dsq_stat", w, {"lower": 0.0, "upper": 1.0}, signed=True)
    assert observed == {"lower": -2.0, "upper": 3.0}
    a = layers.observe("dsq_stat", np.array([0.0, 11.0]), {"lower": 0.0, "upper": 1.0}, signed=False)
    assert a["upper"] == pytest.approx(0.9 * 1.0 + 0.1 * 11.0)
    assert layers.observe("dsq", w, {"x": 1}, signed=True) == {"x": 1}


def test_qn_biases_come_from_kmeans_for_ternary_sets():
    x = np.random.default_rng(0).standard_normal(5000)
    levels = layers.qn_levels(2, True)
    _, frozen = layers.init_site("qn", 2, x, signed=True)
    b = frozen["biases"]
    assert b.shape == (2,) and b[0] < 0 < b[1]
    assert not np.allclose(np.abs(b), 0.05)  # the paper's fixed ±0.05 would be this
    _, _, beta = Q.qn_init(x, levels)
    assert np.allclose(b, layers.qn_kmeans_biases(x, levels, beta))


def test_qn_released_weight_gradient_is_t_times_the_unit_temperature_slope():
    x = np.linspace(-1, 1, 41)
    learn, frozen = layers.init_site("qn", 2, x, signed=True)
    p, t = learn | frozen, 50.0
    g = np.ones_like(x)
    released, _ = layers.site_vjp("qn", 2, x, p, g, signed=True, temperature=t, qn_grad="released")
    exact, _ = layers.site_vjp("qn", 2, x, p, g, signed=True, temperature=t, qn_grad="exact")
    kw = {"levels": layers.qn_levels(2, True), "biases": p["biases"], "alpha": p["alpha"], "beta": p["beta"]}
    np.testing.assert_allclose(released, t * Q.qn_partials(x, temperature=1.0, **kw)["x"])
    np.testing.assert_allclose(exact, Q.qn_partials(x, temperature=t, **kw)["x"])
    assert not np.allclose(released, exact)


def test_lsq_step_gradient_has_the_lsq_scale():
    x = np.random.default_rng(1).standard_normal((4, 25))
    learn, _ = layers.init_site("lsq", 3, x, signed=True)
    g = np.ones_like(x)
    _, grads = layers.site_vjp("lsq", 3, x, learn, g, signed=True, learn=("step",))
    q = Q.uniform(x, alpha=3 * learn["step"], bits=3, signed=True)
    raw = 3 * float(np.sum(Q.uniform_partials(x, alpha=3 * learn["step"], bits=3, signed=True)["alpha"]))
    assert grads["step"] == pytest.approx(raw / np.sqrt(x.size * 3))
    assert np.unique(q).size <= 7


def test_unknown_recipe_and_kind_name_the_valid_ones():
    with pytest.raises(ValueError, match="recipe must be one of"):
        recipes.get("nope")
    with pytest.raises(ValueError, match="kind must be one of"):
        layers.check_kind("nope", 2)
    with pytest.raises(ValueError, match="bits must be an integer in 2..8"):
        layers.check_kind("dsq", 1)


def test_qn_temperature_grows_linearly_per_epoch():
    r = recipes.get("qn")
    assert [r.temperature(e) for e in range(3)] == [recipes.QN_RATE * k for k in (1, 2, 3)]
    assert recipes.get("uniform").temperature(5) == 1.0
