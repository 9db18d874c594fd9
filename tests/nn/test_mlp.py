"""Binary-weight MLPs: backprop against finite differences, R's frozen weights, pairing, learning."""

import numpy as np
import pytest

from quanttheory.nn import teacher_student
from quanttheory.nn.mlp import (
    METHODS,
    _init,
    cross_entropy_grads,
    forward_backward,
    layout,
    pair_streams,
    train_binary,
)


def _finite_differences(loss_of, params, h=1e-6):
    out = []
    for p in params:
        fd = np.empty_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = loss_of()
            p[i] = old - h
            down = loss_of()
            p[i] = old
            fd[i] = (up - down) / (2 * h)
        out.append(fd)
    return out


def test_backprop_matches_finite_differences(rng):
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    params = [rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)]
    _, *grads = cross_entropy_grads(x, y, *params)
    fds = _finite_differences(lambda: cross_entropy_grads(x, y, *params)[0], params)
    for g, fd in zip(grads, fds, strict=True):
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


def test_deep_layout_backprop_matches_finite_differences(rng):
    spec = layout(5, 3, 4, 2)  # float 5→4, binary 4→4 twice, float 4→3
    assert [s[2] for s in spec] == [False, True, True, False]
    x, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    weights = [rng.standard_normal((a, b)) for a, b, _ in spec]
    biases = [None if binary else rng.standard_normal(b) for _, b, binary in spec]
    _, _, gw, gb = forward_backward(x, y, weights, biases, spec)
    params = weights + [b for b in biases if b is not None]
    fds = _finite_differences(lambda: forward_backward(x, y, weights, biases, spec)[0], params)
    for g, fd in zip(gw + [g for g in gb if g is not None], fds, strict=True):
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


def test_cross_entropy_is_stable_for_huge_logits(rng):
    x = 1e4 * rng.standard_normal((4, 3))
    loss, *grads = cross_entropy_grads(x, np.array([0, 1, 2, 0]), np.ones((3, 2)), np.eye(2, 3) * 50, np.zeros(3))
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.fixture(scope="module")
def small_data():
    return teacher_student(1500, 500, dim=16, hidden=8, n_classes=3, rng=np.random.default_rng(0))


@pytest.mark.parametrize("binary_layers", [None, 1])
@pytest.mark.parametrize("method", METHODS)
def test_history_shapes_ranges_and_determinism(method, binary_layers, small_data):
    kw = dict(epochs=3, batch_size=50, hidden=16, big_batch=2, binary_layers=binary_layers)
    a = train_binary(method, small_data, rng=np.random.default_rng(1), **kw)
    b = train_binary(method, small_data, rng=np.random.default_rng(1), **kw)
    for f in ("test_error", "train_loss", "changed_from_init", "flipped", "flips"):
        arr = getattr(a, f)
        assert arr.shape == (3,) and np.all(np.isfinite(arr))
        np.testing.assert_array_equal(arr, getattr(b, f))
    assert np.all((0 <= a.changed_from_init) & (a.changed_from_init <= 1) & (a.flipped <= 1))
    assert np.all(a.flips <= a.flipped)  # an epoch-to-epoch change needs at least one flip in the epoch
    np.testing.assert_allclose(a.lr, [0.01, 0.01, 0.001])  # default: ×0.1 at 2/3 of the run


@pytest.mark.parametrize("binary_layers", [None, 2])
def test_r_adam_never_changes_a_binary_weight(binary_layers, small_data):
    # sign(±1 − s) = ±1 whenever the Adam step |s| < 1 (here ≤ lr·(1 + tiny) = 0.01)
    h = train_binary("r_adam", small_data, epochs=3, batch_size=50, hidden=16, binary_layers=binary_layers,
                     rng=np.random.default_rng(2))
    assert np.all(h.changed_from_init == 0) and np.all(h.flipped == 0) and np.all(h.flips == 0)


def test_sr_adam_explores(small_data):
    h = train_binary("sr_adam", small_data, epochs=2, batch_size=50, hidden=16, rng=np.random.default_rng(2))
    assert h.flipped[0] > 0.01 and h.changed_from_init[-1] > 0.01


def test_sr_flip_rate_follows_the_step_size(small_data):
    # SR's per-step flip probability is ∝ α (far from saturation): a ×0.1 decay cuts flips per epoch
    h = train_binary("sr_adam", small_data, epochs=6, batch_size=50, hidden=16, decay_epochs=(3,),
                     rng=np.random.default_rng(4))
    assert h.flips[3:].mean() < 0.3 * h.flips[:3].mean()


@pytest.mark.parametrize("method", ["adam", "bc_adam"])
def test_float_and_bc_learn_well_above_chance(method, small_data):
    h = train_binary(method, small_data, epochs=6, batch_size=50, hidden=16, rng=np.random.default_rng(3))
    assert h.test_error[-1] < 0.3  # chance ≈ 2/3 (3 balanced classes); seeds 3–5 gave 0.16–0.20
    assert h.train_loss[-1] < h.train_loss[0]


def test_pairing_shares_init_and_order_but_not_the_methods_draws(small_data):
    st = pair_streams(np.random.default_rng(5), 2)
    spec = layout(16, 3, 8, 1)
    bc, _ = _init("bc_adam", spec, np.random.default_rng(st.init))
    sr, _ = _init("sr_adam", spec, np.random.default_rng(st.init))
    np.testing.assert_array_equal(np.sign(bc[1]), sr[1])  # same deployed binary weights at init
    np.testing.assert_array_equal(bc[0], sr[0])  # same float layers

    def run(i):
        return train_binary("sr_adam", small_data, epochs=2, batch_size=50, hidden=16, binary_layers=1,
                            rng=np.random.default_rng(st.methods[i]), init_rng=np.random.default_rng(st.init),
                            order_rng=np.random.default_rng(st.order))

    assert not np.array_equal(run(0).flips, run(1).flips)  # own rounding draws
    np.testing.assert_array_equal(run(0).flips, run(0).flips)
    again = pair_streams(np.random.default_rng(5), 2)
    assert again.init.entropy == st.init.entropy and again.init.spawn_key == st.init.spawn_key


def test_bad_arguments(small_data):
    with pytest.raises(ValueError, match="method='sgd'"):
        train_binary("sgd", small_data, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="epochs=0"):
        train_binary("adam", small_data, epochs=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="binary_layers=-1"):
        train_binary("adam", small_data, binary_layers=-1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Dataset"):
        train_binary("adam", (1, 2), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        train_binary("adam", small_data, rng=0)
    with pytest.raises(TypeError, match="order_rng"):
        train_binary("adam", small_data, rng=np.random.default_rng(0), order_rng=3)
    with pytest.raises(TypeError, match="Generator"):
        pair_streams(0, 2)
