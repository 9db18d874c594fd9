"""Teacher–student data: shapes, determinism, balance, label noise, bad arguments."""

import numpy as np
import pytest

from quanttheory.nn import teacher_student


def test_shapes_types_and_determinism():
    a = teacher_student(300, 100, dim=12, hidden=6, n_classes=4, rng=np.random.default_rng(0))
    b = teacher_student(300, 100, dim=12, hidden=6, n_classes=4, rng=np.random.default_rng(0))
    assert a.x_train.shape == (300, 12) and a.x_test.shape == (100, 12) and a.n_classes == 4
    assert a.y_train.dtype == np.int64 and set(np.unique(a.y_train)) <= set(range(4))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


def test_classes_are_roughly_balanced():
    d = teacher_student(20_000, 10, n_classes=5, rng=np.random.default_rng(1))
    freq = np.bincount(d.y_train, minlength=5) / d.y_train.size
    assert freq.min() > 0.05  # no class vanishes (uniform would be 0.2)


def test_label_noise_flips_the_expected_fraction():
    kw = dict(dim=10, hidden=5, n_classes=4)
    clean = teacher_student(20_000, 10, rng=np.random.default_rng(2), **kw)
    noisy = teacher_student(20_000, 10, label_noise=0.4, rng=np.random.default_rng(2), **kw)
    np.testing.assert_array_equal(clean.x_train, noisy.x_train)
    changed = np.mean(clean.y_train != noisy.y_train)
    # a replaced label differs with probability 1 − 1/k: expect 0.4·0.75 = 0.30 (sd ≈ 0.003)
    assert abs(changed - 0.30) < 0.015


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_train=0), "n_train=0"), (dict(n_classes=1), "n_classes=1"),
    (dict(label_noise=1.5), "label_noise=1.5"), (dict(dim=-3), "dim=-3"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        teacher_student(rng=np.random.default_rng(0), **kwargs)
    with pytest.raises(TypeError, match="Generator"):
        teacher_student(rng=None)
