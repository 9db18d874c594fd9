r"""A two-layer numpy network with a binary first layer: the Table-1 analogue of Li et al. 2017.

.. math::
    h = \mathrm{relu}\bigl(x B / \sqrt d\bigr),\qquad \mathrm{logits} = h V + c,\qquad
    \mathcal L = \text{softmax cross-entropy}

The first-layer weights B ∈ {−1, +1}^{d×H} are trained by one of the rules of
:mod:`quanttheory.optim` (every rule is elementwise, so it works on the (d, H) matrix as is); the
float head (V, c) is trained by float Adam in every method. Methods (the rows of Table 1):

==============  ==========================================================================
``adam``        float first layer (the full-precision baseline)
``bc_adam``     BinaryConnect: float buffer w_r ∈ [−1, 1], forward/backward with sign(w_r)
``big_sr_adam`` SR-Adam with a ``big_batch``-times larger minibatch (same epochs, fewer steps)
``sr_adam``     stored binary weights, w ← Q_s(w − Adam step) (hard-sigmoid binarisation)
``r_adam``      stored binary weights, w ← sign(w − Adam step)
==============  ==========================================================================

Exploration statistics per epoch (Li et al. 2017, §5, Figs. 4–5): the fraction of first-layer
weights whose deployed sign differs from the initial one, and the fraction whose deployed sign
changed at least once during the epoch.

References
----------
.. [1] Li et al. "Training Quantized Nets: A Deeper Understanding". NeurIPS 2017,
   arXiv:1706.02379, §5, Table 1, Figs. 4–5.
.. [2] Courbariaux, Bengio, David. "BinaryConnect". NeurIPS 2015.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .. import optim
from .data import Dataset

METHODS = ("adam", "bc_adam", "big_sr_adam", "sr_adam", "r_adam")


@dataclass(frozen=True)
class History:
    """Per-epoch record of :func:`train_binary` (arrays of shape (epochs,), fractions in [0, 1])."""

    method: str
    test_error: np.ndarray
    train_loss: np.ndarray  # mean minibatch loss over the epoch
    changed_from_init: np.ndarray  # sign(B_epoch_end) ≠ sign(B_0)
    flipped: np.ndarray  # sign changed at least once during the epoch


def _first_layer_rule(method, step_lr):
    if method == "adam":
        return optim.adam(step_lr)
    if method == "bc_adam":
        return optim.bc_adam(step_lr, "binary", quantizer="deterministic")  # clip to [−1, 1]
    if method in ("sr_adam", "big_sr_adam"):
        return optim.sr_adam(step_lr, "binary")
    return optim.r_adam(step_lr, "binary")


def forward(x, weights, head, bias):
    """Logits and the hidden pre-activations for first-layer ``weights`` (d, H)."""
    pre = x @ weights / np.sqrt(x.shape[1])
    return np.maximum(pre, 0.0) @ head + bias, pre


def cross_entropy_grads(x, y, weights, head, bias):
    """Mean softmax cross-entropy and its gradients w.r.t. (weights, head, bias).

    Uses the log-sum-exp shift (logits − max) so that exp never overflows.
    """
    logits, pre = forward(x, weights, head, bias)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -log_p[np.arange(n), y].mean()
    d_logits = np.exp(log_p)
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    hidden = np.maximum(pre, 0.0)
    d_pre = (d_logits @ head.T) * (pre > 0)
    return loss, x.T @ d_pre / np.sqrt(x.shape[1]), hidden.T @ d_logits, d_logits.sum(axis=0)


def _check(method, data, epochs, batch_size, hidden, big_batch, rng):
    if method not in METHODS:
        raise ValueError(f"method={method!r} is invalid; valid: {list(METHODS)}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a quanttheory.nn.Dataset; got {type(data).__name__}")
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("hidden", hidden), ("big_batch", big_batch)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}={v!r} is invalid; valid: an integer >= 1")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {rng!r}")


def train_binary(method, data, *, epochs=20, batch_size=100, lr_schedule=None, head_lr=1e-2,
                 hidden=64, big_batch=8, rng) -> History:
    """Train the binary-first-layer network with one of :data:`METHODS`.

    Parameters
    ----------
    method : str
        One of ``"adam", "bc_adam", "big_sr_adam", "sr_adam", "r_adam"``.
    data : Dataset
        From :func:`quanttheory.nn.teacher_student`.
    epochs, batch_size : int
        ``big_sr_adam`` uses ``batch_size * big_batch``, so at equal ``epochs`` it takes
        ``big_batch`` times fewer steps; pass ``epochs * big_batch`` to compare at equal steps.
    lr_schedule : callable, optional
        Epoch index → first-layer Adam step size (an :mod:`quanttheory.optim.schedules` object
        works; it is evaluated at the epoch, not the step). Default: 0.01, ×0.1 at 2/3 of the run.
    head_lr : float
        Adam step size of the float head (same epoch decay as ``lr_schedule``'s default).
    hidden : int
        Width H of the binary layer.
    rng : numpy.random.Generator
        Draw order: initial weights, then per epoch the shuffle, then per step the rules' draws.

    Returns
    -------
    History
    """
    _check(method, data, epochs, batch_size, hidden, big_batch, rng)
    if lr_schedule is None:
        lr_schedule = optim.schedules.step_decay(0.01, every=max(1, (2 * epochs) // 3), factor=0.1)
    n, d = data.x_train.shape
    batch = batch_size * big_batch if method == "big_sr_adam" else batch_size
    per_epoch = -(-n // batch)
    decay = optim.schedules.step_decay(head_lr, every=max(1, (2 * epochs) // 3), factor=0.1)
    rule = _first_layer_rule(method, lambda t: lr_schedule(np.asarray(t) // per_epoch))
    head_rule = optim.adam(lambda t: decay(np.asarray(t) // per_epoch))
    w = rng.uniform(-1.0, 1.0, (d, hidden))
    if method in ("sr_adam", "big_sr_adam", "r_adam"):
        w = np.where(w >= 0, 1.0, -1.0)  # these rules store binary weights
    head = rng.standard_normal((hidden, data.n_classes)) / np.sqrt(hidden)
    params = [w, head, np.zeros(data.n_classes)]
    states = [rule.init(w), head_rule.init(head), head_rule.init(params[2])]
    sign0 = np.sign(rule.deploy(w) if method != "adam" else w)
    out = {k: np.empty(epochs) for k in ("err", "loss", "changed", "flipped")}
    for epoch in range(epochs):
        order = rng.permutation(n)
        start_sign, flipped, losses = np.sign(_deployed(rule, method, params[0])), np.zeros(w.shape, bool), []
        for s in range(per_epoch):
            idx = order[s * batch:(s + 1) * batch]
            loss, gw, gh, gb = cross_entropy_grads(data.x_train[idx], data.y_train[idx],
                                                   _deployed(rule, method, params[0]), params[1], params[2])
            params[0], states[0] = rule.update(gw, states[0], params[0], rng)
            params[1], states[1] = head_rule.update(gh, states[1], params[1])
            params[2], states[2] = head_rule.update(gb, states[2], params[2])
            flipped |= np.sign(_deployed(rule, method, params[0])) != start_sign
            losses.append(loss)
        deployed = _deployed(rule, method, params[0])
        logits, _ = forward(data.x_test, deployed, params[1], params[2])
        out["err"][epoch] = np.mean(np.argmax(logits, axis=1) != data.y_test)
        out["loss"][epoch] = np.mean(losses)
        out["changed"][epoch] = np.mean(np.sign(deployed) != sign0)
        out["flipped"][epoch] = np.mean(flipped)
    return History(method, out["err"], out["loss"], out["changed"], out["flipped"])


def _deployed(rule, method, w):
    """Weights the forward pass uses: float for Adam, sign(w_r) for BC, the stored ±1 otherwise."""
    return w if method == "adam" else rule.deploy(w)
