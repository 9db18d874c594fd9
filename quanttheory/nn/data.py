r"""Classification data, all built offline: teacher–student, MNIST-1D, MNIST-5k and Digits.

Real data (:func:`mnist1d`, :func:`mnist5k`, :func:`digits`; optional extra ``data``) is
generated or read from files that PyPI packages ship, never downloaded at run time. Each loader
checks a SHA-256 of the raw arrays against a pinned value (a mismatch names the dataset and the
package versions), standardises inputs with the training split's mean and standard deviation
(scalars, so a shift of the signal or image changes nothing else) and returns an
:class:`ImageDataset` with channels-first inputs.

Teacher–student: a random two-layer teacher labels Gaussian inputs:

.. math::
    x \sim \mathcal N(0, I_d),\qquad
    z = \mathrm{relu}\bigl(x W_1/\sqrt d\bigr) W_2/\sqrt h,\qquad
    y = \arg\max_k\,(z_k - \bar z_k)

with :math:`W_1 \in \{-1, +1\}^{d\times h}` (``binary_teacher=True``, so a binary-weight student
can represent the teacher exactly) or Gaussian, :math:`W_2` Gaussian, and :math:`\bar z` the
per-class mean logit over the sample (centring keeps the classes roughly balanced). A fraction
``label_noise`` of labels is then replaced by a uniformly random class, which sets an error floor
of about ``label_noise·(1 − 1/k)`` for every method.

It stands in for the CIFAR/ImageNet experiments of Li et al. 2017, §5 / Table 1, whose data we
cannot ship.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._real_data import ImageDataset, digits, mnist1d, mnist5k

__all__ = ["Dataset", "ImageDataset", "digits", "mnist1d", "mnist5k", "teacher_student"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split. ``x_*``: float64 (n, d); ``y_*``: int64 (n,) in [0, n_classes)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def _count(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}={value!r} is invalid; valid: an integer >= {low}")
    return int(value)


def teacher_student(n_train=10_000, n_test=2_000, *, dim=64, hidden=32, n_classes=10, label_noise=0.0,
                    binary_teacher=True, rng) -> Dataset:
    """Draw a teacher and a labelled train/test split (see the module docstring).

    Parameters
    ----------
    n_train, n_test : int
        Split sizes (≥ 1).
    dim, hidden, n_classes : int
        Input dimension d, teacher width h, number of classes k ≥ 2.
    label_noise : float, default 0
        Probability in [0, 1] that a label is replaced by a uniformly random class.
    binary_teacher : bool, default True
        ±1 first-layer teacher weights (else N(0, 1)).
    rng : numpy.random.Generator
        Draw order: W_1, W_2, inputs (train then test), noise mask, noise labels.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import numpy as np
    >>> data = teacher_student(100, 50, dim=8, hidden=4, n_classes=3, rng=np.random.default_rng(0))
    >>> data.x_train.shape, data.y_test.shape
    ((100, 8), (50,))
    """
    n_train, n_test = _count(n_train, "n_train", 1), _count(n_test, "n_test", 1)
    dim, hidden, k = _count(dim, "dim", 1), _count(hidden, "hidden", 1), _count(n_classes, "n_classes", 2)
    real = isinstance(label_noise, numbers.Real) and not isinstance(label_noise, bool)
    if not (real and 0 <= float(label_noise) <= 1):
        raise ValueError(f"label_noise={label_noise!r} is out of range; valid: [0, 1]")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {rng!r}")
    w1 = rng.choice([-1.0, 1.0], size=(dim, hidden)) if binary_teacher else rng.standard_normal((dim, hidden))
    w2 = rng.standard_normal((hidden, k))
    x = rng.standard_normal((n_train + n_test, dim))
    z = np.maximum(x @ w1 / np.sqrt(dim), 0.0) @ w2 / np.sqrt(hidden)
    y = np.argmax(z - z.mean(axis=0), axis=1).astype(np.int64)
    noisy = rng.random(y.size) < label_noise
    y = np.where(noisy, rng.integers(0, k, y.size), y)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], k)
