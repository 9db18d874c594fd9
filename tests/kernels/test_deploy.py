"""End-to-end deployment (issue 10, item 5): small networks trained here run through the
integer kernels; integer accumulators equal the int64 numpy reference bit for bit, so logits,
predictions and accuracy are identical, and they match the trained model's own evaluation."""

import numpy as np
import pytest

from quanttheory import optim
from quanttheory.kernels import deploy, uniform_matmul
from quanttheory.kernels.deploy import QATMLP, BinaryMLP, int8_codes, uniform_codes
from quanttheory.nn import data as nn_data
from quanttheory.nn import mlp, qat, recipes
from quanttheory.quantizers.uniform import uniform


def _data(seed):
    return nn_data.teacher_student(1200, 600, dim=40, hidden=16, n_classes=4, binary_teacher=False,
                                   rng=np.random.default_rng(seed))


def _train_binary(data, rng, epochs=6, hidden=48):
    """BinaryConnect (bc_adam, deterministic sign) on the first layer, Adam on the float head,
    with quanttheory.nn.mlp's forward/gradients; returns the deployed ±1 weights and the head."""
    d = data.x_train.shape[1]
    rule, head_rule = optim.bc_adam(0.01, "binary", quantizer="deterministic"), optim.adam(0.01)
    w = rng.uniform(-1, 1, (d, hidden))
    params = [w, rng.standard_normal((hidden, data.n_classes)) / np.sqrt(hidden), np.zeros(data.n_classes)]
    states = [rule.init(w), head_rule.init(params[1]), head_rule.init(params[2])]
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(len(data.y_train)), 12):
            _, gw, gh, gb = mlp.cross_entropy_grads(data.x_train[idx], data.y_train[idx], rule.deploy(params[0]),
                                                    params[1], params[2])
            params[0], states[0] = rule.update(gw, states[0], params[0], rng)
            params[1], states[1] = head_rule.update(gh, states[1], params[1])
            params[2], states[2] = head_rule.update(gb, states[2], params[2])
    return rule.deploy(params[0]), params[1], params[2]


def test_binary_mlp_bit_exact():
    data, rng = _data(1), np.random.default_rng(2)
    b, head, bias = _train_binary(data, rng)
    model = deploy((b, head, bias))
    assert isinstance(model, BinaryMLP)
    acc_k, scale = model.accumulators(data.x_test)
    acc_n, _ = model.accumulators(data.x_test, backend="numpy")
    assert acc_k.dtype == np.int32 and np.array_equal(acc_k, acc_n)
    assert np.array_equal(model.logits(data.x_test), model.logits(data.x_test, backend="numpy"))
    pred = model.predict(data.x_test)
    assert np.array_equal(pred, model.predict(data.x_test, backend="numpy"))
    # the integer model is the trained model with int8 inputs: it still learned the task
    float_pred = np.argmax(mlp.logits(data.x_test, b, head, bias), axis=1)
    assert np.mean(pred == data.y_test) > 1.5 / data.n_classes
    assert np.mean(pred == float_pred) > 0.95
    codes, _ = int8_codes(data.x_test)
    assert np.abs(codes).max() == 127


@pytest.mark.parametrize("bits", [2, 4])
def test_qat_uniform_mlp_bit_exact(bits):
    data = _data(3)
    model = qat.MLP((data.x_train.shape[1], 32, 32, data.n_classes))
    params, state = model.init(np.random.default_rng(4)), model.init_state()
    order = np.random.default_rng(5)
    params, state, _ = qat.train(model, params, state, data, qat.FloatSites(), qat.Budget(5, 0.05), order)
    quant, learn = recipes.calibrate(recipes.get("uniform"), bits, model, params, state, data.x_train[:500])
    params, state, _ = qat.train(model, params | learn, state, data, quant, qat.Budget(4, 0.02), order)
    deployed = deploy((model, params, quant))
    assert isinstance(deployed, QATMLP)
    acc_k, acc_n = deployed.accumulators(data.x_test), deployed.accumulators(data.x_test, backend="numpy")
    assert np.array_equal(acc_k, acc_n)
    ca, _, cw, _ = deployed.layer2_codes(data.x_test)  # both integer paths, whatever "auto" picks
    m = 2 ** (bits - 1) - 1
    for method in ("bitserial", "int8"):
        got = uniform_matmul(ca, cw + m, bits_a=bits, bits_w=bits, zero_w=m, method=method)
        assert np.array_equal(got, acc_n), method
    pred = deployed.predict(data.x_test)
    assert np.array_equal(pred, deployed.predict(data.x_test, backend="numpy"))
    ref_logits = qat.logits_of(model, params, state, data.x_test, quant, mode="eval")
    np.testing.assert_allclose(deployed.logits(data.x_test), ref_logits, rtol=1e-9, atol=1e-9)
    assert np.array_equal(pred, np.argmax(ref_logits, axis=1))
    assert np.mean(pred != data.y_test) == qat.error_rate(model, params, state, data.x_test, data.y_test, quant)
    assert np.mean(pred != data.y_test) < 1 - 1.5 / data.n_classes  # it learned the task


def test_uniform_codes_round_trip():
    x = np.random.default_rng(0).standard_normal((5, 7))
    q = uniform(x, alpha=1.5, bits=3, signed=True)
    codes, delta = uniform_codes(q, alpha=1.5, bits=3, signed=True)
    assert codes.min() >= -3 and codes.max() <= 3 and np.allclose(codes * delta, q, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="not one of the levels"):
        uniform_codes(q + 0.1, alpha=1.5, bits=3, signed=True)


def test_deploy_rejects_other_models():
    with pytest.raises(TypeError, match="model must be"):
        deploy("mlp")
    with pytest.raises(ValueError, match="±1"):
        deploy((np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2)))
    with pytest.raises(ValueError, match="backend must be"):
        BinaryMLP(np.ones((3, 2)), np.zeros((2, 2)), np.zeros(2)).logits(np.ones((1, 3)), backend="gpu")
