"""ConvNet layers: every backward pass against central finite differences (float64), the conv
against a direct loop, numba against numpy (bit-equality), hooks, BN state and shapes."""

import numpy as np
import pytest
from hypothesis import assume, given, settings

from quanttheory.nn import _cnn_ops as ops
from quanttheory.nn import _conv, cnn
from tests.strategies import cnn_configs

EPS = 1e-6


def numeric_grad(f, x, rng, n_entries=None):
    """Central differences of scalar ``f`` at ``x`` (in place), at ``n_entries`` random entries or all."""
    flat = x.reshape(-1)
    idx = np.arange(flat.size) if n_entries is None else rng.choice(flat.size, min(n_entries, flat.size), False)
    out = {}
    for i in idx:
        old = flat[i]
        flat[i] = old + EPS
        up = f()
        flat[i] = old - EPS
        down = f()
        flat[i] = old
        out[int(i)] = (up - down) / (2 * EPS)
    return out


def assert_grad_matches(f, x, analytic, rng, n_entries=None):
    num = numeric_grad(f, x, rng, n_entries)
    got = np.array([analytic.reshape(-1)[i] for i in num])
    want = np.array(list(num.values()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def direct_conv(x, w, b, stride, pad):
    """Textbook loop (N, H, W, C) * (O, C, kh, kw): the oracle for the im2col GEMM."""
    xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1]), (0, 0)))
    o, _, kh, kw = w.shape
    ho, wo = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], ho, wo, o))
    for h in range(ho):
        for v in range(wo):
            win = xp[:, h * stride:h * stride + kh, v * stride:v * stride + kw, :]  # (N, kh, kw, C)
            y[:, h, v, :] = np.einsum("nijc,ocij->no", win, w)
    return y + (0 if b is None else b)


@pytest.mark.parametrize("backend", _conv.BACKENDS)
@pytest.mark.parametrize(("shape", "k", "stride", "pad"), [
    ((2, 1, 11, 3), (1, 5), 1, (0, 2)), ((2, 1, 11, 3), (1, 3), 2, (0, 1)),
    ((1, 6, 7, 2), (3, 3), 1, (1, 1)), ((2, 7, 6, 3), (3, 3), 2, (0, 0)), ((1, 5, 5, 1), (1, 1), 1, (0, 0)),
])
def test_conv_forward_matches_direct_loop_and_backward_matches_fd(backend, shape, k, stride, pad, rng):
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal((4, shape[3], *k)), rng.standard_normal(4)
    y, cache = _conv.conv_forward(x, w, b, stride, pad, backend)
    np.testing.assert_allclose(y, direct_conv(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    r = rng.standard_normal(y.shape)
    dx, dw, db = _conv.conv_backward(r, cache)

    def loss():
        return float(np.sum(_conv.conv_forward(x, w, b, stride, pad, backend)[0] * r))
    for arr, grad in ((x, dx), (w, dw), (b, db)):
        assert_grad_matches(loss, arr, grad, rng)


@pytest.mark.parametrize(("shape", "k", "stride"), [((3, 1, 44, 5), (1, 5), 1), ((2, 9, 8, 3), (3, 3), 2)])
def test_numba_im2col_col2im_are_bit_identical_to_numpy_and_adjoint(shape, k, stride, rng):
    xp = rng.standard_normal(shape)
    cols = _conv.im2col(xp, *k, stride, "numpy")
    np.testing.assert_array_equal(_conv.im2col(xp, *k, stride, "numba"), cols)
    dcols = rng.standard_normal(cols.shape)
    back = _conv.col2im(dcols, shape, *k, stride, "numpy")
    np.testing.assert_array_equal(_conv.col2im(dcols, shape, *k, stride, "numba"), back)
    # <im2col x, c> = <x, col2im c>: col2im is the exact adjoint (transpose) of im2col
    assert np.isclose(np.sum(cols * dcols), np.sum(xp * back), rtol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("shape", [(2, 1, 9, 3), (2, 5, 4, 2)])
def test_pool_backward_matches_fd(kind, shape, rng):
    x = rng.standard_normal(shape)
    size = (1, 2) if shape[1] == 1 else (2, 2)
    y, cache = _conv.pool_forward(x, size, kind)
    assert y.shape == (shape[0], shape[1] // size[0], shape[2] // size[1], shape[3])
    r = rng.standard_normal(y.shape)
    assert_grad_matches(lambda: float(np.sum(_conv.pool_forward(x, size, kind)[0] * r)), x,
                        _conv.pool_backward(r, cache), rng)


def test_max_pool_tie_sends_the_gradient_to_one_input():
    x = np.zeros((1, 1, 2, 1))
    _, cache = _conv.pool_forward(x, (1, 2), "max")
    np.testing.assert_array_equal(_conv.pool_backward(np.ones((1, 1, 1, 1)), cache).ravel(), [1.0, 0.0])


@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_backward_matches_fd(train, rng):
    x = rng.standard_normal((3, 1, 5, 4)) * 2 + 1
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    r = rng.standard_normal(x.shape)
    y, cache, _ = ops.bn_forward(x, gamma, beta, mean, var, train=train)
    dx, dgamma, dbeta = ops.bn_backward(r, cache)

    def loss():
        return float(np.sum(ops.bn_forward(x, gamma, beta, mean, var, train=train)[0] * r))
    for arr, grad in ((x, dx), (gamma, dgamma), (beta, dbeta)):
        assert_grad_matches(loss, arr, grad, rng)


def test_batch_norm_train_output_is_normalised_and_running_stats_move(rng):
    x = rng.standard_normal((50, 1, 3, 2)) * 3 + 5
    y, _, (m, v) = ops.bn_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), train=True)
    np.testing.assert_allclose(y.reshape(-1, 2).mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.reshape(-1, 2).std(0), 1, rtol=1e-5)
    flat = x.reshape(-1, 2)
    np.testing.assert_allclose(m, 0.1 * flat.mean(0))
    np.testing.assert_allclose(v, 0.9 + 0.1 * flat.var(0, ddof=1))


def test_gap_dense_and_cross_entropy_backward_match_fd(rng):
    x = rng.standard_normal((3, 1, 4, 5))
    w, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    y = np.array([0, 2, 1])

    def loss():
        return ops.softmax_cross_entropy(ops.dense_forward(ops.gap_forward(x)[0], w, b)[0], y)[0]
    feats, shape = ops.gap_forward(x)
    logits, cache = ops.dense_forward(feats, w, b)
    _, dlogits = ops.softmax_cross_entropy(logits, y)
    dfeat, dw, db = ops.dense_backward(dlogits, cache, w)
    for arr, grad in ((x, ops.gap_backward(dfeat, shape)), (w, dw), (b, db)):
        assert_grad_matches(loss, arr, grad, rng)


def test_cross_entropy_is_stable_for_huge_logits_and_rejects_bad_labels():
    loss, d = ops.softmax_cross_entropy(np.array([[1e4, 0.0], [0.0, 1e4]]), np.array([0, 0]))
    assert np.isfinite(loss) and np.isclose(loss, 5e3) and np.all(np.isfinite(d))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        ops.softmax_cross_entropy(np.zeros((2, 2)), np.array([0, 2]))


NETS = {
    "1d-bn-max-gap": dict(in_shape=(2, 12), channels=(3, 4, 3), kernel=3, n_classes=4, pool="max"),
    "1d-convbase": dict(in_shape=(1, 14), channels=(3, 3, 3), kernel=(5, 3, 3), n_classes=3, stride=2,
                        padding=1, batch_norm=False, head="flatten"),
    "2d-bn-avg-flatten": dict(in_shape=(1, 6, 6), channels=(2, 3), kernel=3, n_classes=3, pool="avg",
                              head="flatten"),
}


def _net_loss(net, params, state, x, y, train, wq=None, aq=None):
    logits, tape, _ = net.forward(params, state, x, train=train, wq=wq, aq=aq)
    loss, dlogits = cnn.softmax_cross_entropy(logits, y)
    return loss, tape, dlogits


@pytest.mark.parametrize("backend", _conv.BACKENDS)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", list(NETS))
def test_network_backward_matches_fd_for_every_parameter(name, train, backend, rng):
    net = cnn.CNN(**NETS[name], backend=backend)
    params = net.init(rng)
    state = {k: v + rng.random(v.shape) * 0.5 for k, v in net.init_state().items()}
    x = rng.standard_normal((5, *net.in_shape))
    y = rng.integers(0, net.n_classes, 5)
    _, tape, dlogits = _net_loss(net, params, state, x, y, train)
    grads = net.backward(tape, dlogits)
    assert sorted(grads) == sorted(params)
    for key, p in params.items():
        assert_grad_matches(lambda: _net_loss(net, params, state, x, y, train)[0], p, grads[key], rng, 6)


def _scale_hooks(scales):
    """Hooks multiplying the weights / activations by a learnable scalar ``{layer}.w.s`` / ``.a.s``."""
    def make(kind):
        def hook(layer, t):
            s = scales[f"{layer}.{kind}.s"][0]
            return s * t, lambda g: (s * g, {f"{layer}.{kind}.s": np.array([np.sum(g * t)])})
        return hook
    return make("w"), make("a")


def test_identity_hooks_change_nothing_and_see_only_hidden_convs(rng):
    net = cnn.CNN(**NETS["1d-bn-max-gap"])
    params, state = net.init(rng), net.init_state()
    x, y = rng.standard_normal((4, *net.in_shape)), rng.integers(0, 4, 4)
    seen = []

    def ident(layer, t):
        seen.append(layer)
        return t, lambda g: (g, {})
    loss0, tape0, d0 = _net_loss(net, params, state, x, y, True)
    loss1, tape1, d1 = _net_loss(net, params, state, x, y, True, wq=ident, aq=ident)
    assert loss0 == loss1 and seen == ["conv1", "conv1", "conv2", "conv2"]
    assert net.quantized_layers == ("conv1", "conv2")
    g0, g1 = net.backward(tape0, d0), net.backward(tape1, d1)
    assert sorted(g0) == sorted(g1)
    for k in g0:
        np.testing.assert_array_equal(g0[k], g1[k])


@pytest.mark.parametrize("name", ["1d-bn-max-gap", "1d-convbase"])
def test_scale_hooks_gradients_match_fd(name, rng):
    net = cnn.CNN(**NETS[name])
    params, state = net.init(rng), net.init_state()
    scales = {f"{layer}.{k}.s": np.array([0.5 + rng.random()]) for layer in net.quantized_layers for k in "wa"}
    wq, aq = _scale_hooks(scales)
    x, y = rng.standard_normal((4, *net.in_shape)), rng.integers(0, net.n_classes, 4)
    _, tape, dlogits = _net_loss(net, params, state, x, y, True, wq, aq)
    grads = net.backward(tape, dlogits)
    assert sorted(grads) == sorted(params | scales)
    for key, p in (params | scales).items():
        assert_grad_matches(lambda: _net_loss(net, params, state, x, y, True, wq, aq)[0], p, grads[key], rng, 4)


def test_numba_and_numpy_backends_agree_and_eval_mode_keeps_state(rng):
    nets = [cnn.CNN2d((1, 8, 8), (3, 4), 3, 5, pool="max", backend=b) for b in ("numpy", "numba")]
    params, state = nets[0].init(rng), nets[0].init_state()
    x, y = rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 5, 6)
    outs = [_net_loss(n, params, state, x, y, True) for n in nets]
    assert outs[0][0] == outs[1][0]
    g = [n.backward(o[1], o[2]) for n, o in zip(nets, outs, strict=True)]
    for k in g[0]:
        np.testing.assert_array_equal(g[0][k], g[1][k])
    _, _, new_state = nets[0].forward(params, state, x, train=True)
    assert not np.array_equal(new_state["bn0.mean"], state["bn0.mean"])
    _, _, same = nets[0].forward(params, new_state, x, train=False)
    assert all(np.array_equal(same[k], new_state[k]) for k in same)


@settings(max_examples=40)
@given(cnn_configs())
def test_shapes_of_logits_and_grads_for_any_valid_config(case):
    config, n = case
    try:
        net = cnn.CNN(**config)
    except ValueError:
        assume(False)
    rng = np.random.default_rng(0)
    params, state = net.init(rng), net.init_state()
    logits, tape, new_state = net.forward(params, state, rng.standard_normal((n, *net.in_shape)), train=n > 1)
    assert logits.shape == (n, net.n_classes) and np.all(np.isfinite(logits))
    grads = net.backward(tape, np.ones_like(logits))
    assert {k: g.shape for k, g in grads.items()} == {k: p.shape for k, p in params.items()}
    assert sorted(new_state) == sorted(state)


@pytest.mark.parametrize("bad", [dict(in_shape=(1,)), dict(channels=()), dict(pool="min"), dict(head="x"),
                                 dict(backend="torch"), dict(padding=-1), dict(kernel=(3, 3)),
                                 dict(in_shape=(1, 3), kernel=9, padding=0)])
def test_bad_configs_name_the_value(bad):
    kw = dict(in_shape=(1, 16), channels=(2, 2, 2), kernel=3, n_classes=3) | bad
    with pytest.raises(ValueError, match="valid|expect|must"):
        cnn.CNN(**kw)


def test_forward_rejects_wrong_input_shape(rng):
    net = cnn.CNN1d((1, 10), (2,), 3, 3)
    with pytest.raises(ValueError, match=r"expected \(N, \*\(1, 10\)\)"):
        net.forward(net.init(rng), net.init_state(), np.zeros((2, 1, 11)))


def test_fit_learns_a_separable_toy_problem(rng):
    from quanttheory.nn.data import Dataset
    x = rng.standard_normal((300, 1, 12))
    y = (x[:, 0, 3:6].sum(axis=1) > 0).astype(np.int64)  # a local feature: the conv can see it
    data = Dataset(x, y, x, y, 2)
    net = cnn.CNN1d((1, 12), (4, 4), 3, 2, head="flatten")  # flatten keeps the position
    params, state = net.init(rng), net.init_state()
    before = cnn.accuracy(net, params, state, x, y)
    params, state, hist = cnn.fit(net, params, state, data, rng, epochs=15, batch_size=50, learning_rate=1e-2,
                                  schedule="cosine", eval_x=x, eval_y=y)
    assert hist["loss"][-1] < hist["loss"][0] and len(hist["eval_accuracy"]) == 15
    assert cnn.accuracy(net, params, state, x, y) > max(0.9, before)
