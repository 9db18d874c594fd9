"""The binary-first-layer MLP: backprop against finite differences, R's frozen weights, learning."""

import numpy as np
import pytest

from quanttheory.nn import teacher_student
from quanttheory.nn.mlp import METHODS, cross_entropy_grads, train_binary


def test_backprop_matches_finite_differences(rng):
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    params = [rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)]
    _, *grads = cross_entropy_grads(x, y, *params)
    h = 1e-6
    for p, g in zip(params, grads, strict=True):
        fd = np.empty_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = cross_entropy_grads(x, y, *params)[0]
            p[i] = old - h
            down = cross_entropy_grads(x, y, *params)[0]
            p[i] = old
            fd[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


def test_cross_entropy_is_stable_for_huge_logits(rng):
    x = 1e4 * rng.standard_normal((4, 3))
    loss, *grads = cross_entropy_grads(x, np.array([0, 1, 2, 0]), np.ones((3, 2)), np.eye(2, 3) * 50, np.zeros(3))
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.fixture(scope="module")
def small_data():
    return teacher_student(1500, 500, dim=16, hidden=8, n_classes=3, rng=np.random.default_rng(0))


@pytest.mark.parametrize("method", METHODS)
def test_history_shapes_ranges_and_determinism(method, small_data):
    a = train_binary(method, small_data, epochs=3, batch_size=50, hidden=16, big_batch=2,
                     rng=np.random.default_rng(1))
    b = train_binary(method, small_data, epochs=3, batch_size=50, hidden=16, big_batch=2,
                     rng=np.random.default_rng(1))
    for f in ("test_error", "train_loss", "changed_from_init", "flipped"):
        arr = getattr(a, f)
        assert arr.shape == (3,) and np.all(np.isfinite(arr))
        np.testing.assert_array_equal(arr, getattr(b, f))
    assert np.all((0 <= a.changed_from_init) & (a.changed_from_init <= 1) & (a.flipped <= 1))


def test_r_adam_never_changes_a_binary_weight(small_data):
    # sign(±1 − s) = ±1 whenever the Adam step |s| < 1 (here ≤ lr·(1 + tiny) = 0.01)
    h = train_binary("r_adam", small_data, epochs=3, batch_size=50, hidden=16, rng=np.random.default_rng(2))
    assert np.all(h.changed_from_init == 0) and np.all(h.flipped == 0)


def test_sr_adam_explores(small_data):
    h = train_binary("sr_adam", small_data, epochs=2, batch_size=50, hidden=16, rng=np.random.default_rng(2))
    assert h.flipped[0] > 0.01 and h.changed_from_init[-1] > 0.01


@pytest.mark.parametrize("method", ["adam", "bc_adam"])
def test_float_and_bc_learn_well_above_chance(method, small_data):
    h = train_binary(method, small_data, epochs=6, batch_size=50, hidden=16, rng=np.random.default_rng(3))
    assert h.test_error[-1] < 0.3  # chance ≈ 2/3 (3 balanced classes); seeds 3–5 gave 0.16–0.20
    assert h.train_loss[-1] < h.train_loss[0]


def test_bad_arguments(small_data):
    with pytest.raises(ValueError, match="method='sgd'"):
        train_binary("sgd", small_data, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="epochs=0"):
        train_binary("adam", small_data, epochs=0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Dataset"):
        train_binary("adam", (1, 2), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        train_binary("adam", small_data, rng=0)
