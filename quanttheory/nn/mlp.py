r"""Numpy MLPs with binary-weight layers: the Table-1 analogue of Li et al. 2017.

.. math::
    h_0 = x,\qquad z_l = h_{l-1} W_l\, s_l + b_l,\qquad h_l = \mathrm{relu}(z_l),\qquad
    \mathcal L = \text{softmax cross-entropy}(z_L)

A binary layer stores W_l ∈ [−1, 1] (BC's float buffer) or {−1, +1} (SR, R), has no bias and the
fixed scale s_l = 1/√fan_in, so a ±1 matrix keeps the activations' scale. A float layer has
s_l = 1, a bias, and Gaussian init N(0, 1/fan_in). Two layouts:

* ``binary_layers=None`` (the original analogue): a binary first layer d → H and a float head.
* ``binary_layers=L`` (Li et al.'s setting: first and last layer float): float d → H, L binary
  layers H → H, float head H → k.

Float layers are trained by float Adam in every method. The binary layers by (the rows of Table 1):

==============  ==========================================================================
``adam``        float weights (the full-precision baseline), same parametrisation
``bc_adam``     BinaryConnect: float buffer w_r ∈ [−1, 1], forward/backward with sign(w_r)
``big_sr_adam`` SR-Adam with a ``big_batch``-times larger minibatch (same epochs, fewer steps)
``sr_adam``     stored binary weights, w ← Q_s(w − Adam step) (hard-sigmoid binarisation)
``r_adam``      stored binary weights, w ← sign(w − Adam step)
==============  ==========================================================================

Exploration statistics of the binary layers, per epoch (Li et al. 2017, §6, Figs. 4–5): the
fraction of weights whose deployed sign differs from the initial one (``changed_from_init``),
from the one at the end of the previous epoch (``flips``, what checkpoints one epoch apart show),
and whose sign changed at least once during the epoch (``flipped``).

Pairing (see :func:`pair_streams`): initial weights, minibatch order and a method's own draws
come from three separate Generators, so two methods given the same ``init_rng`` / ``order_rng``
seeds start from the same weights and see the same minibatches.

References
----------
.. [1] Li et al. "Training Quantized Nets: A Deeper Understanding". NeurIPS 2017,
   arXiv:1706.02379, §6, Table 1, Figs. 4–5.
.. [2] Courbariaux, Bengio, David. "BinaryConnect". NeurIPS 2015.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import optim
from .data import Dataset

METHODS = ("adam", "bc_adam", "big_sr_adam", "sr_adam", "r_adam")
_STORED_BINARY = ("sr_adam", "big_sr_adam", "r_adam")


@dataclass(frozen=True)
class History:
    """Per-epoch record of :func:`train_binary` (arrays of shape (epochs,), fractions in [0, 1])."""

    method: str
    test_error: np.ndarray
    train_loss: np.ndarray  # mean minibatch loss over the epoch
    changed_from_init: np.ndarray  # sign(W_epoch_end) ≠ sign(W_0), binary layers
    flipped: np.ndarray  # sign changed at least once during the epoch
    flips: np.ndarray  # sign(W_epoch_end) ≠ sign(W_previous_epoch_end)
    lr: np.ndarray  # binary layers' Adam step size during the epoch


class Streams(NamedTuple):
    """SeedSequences of one paired replicate (see :func:`pair_streams`)."""

    data: np.random.SeedSequence
    init: np.random.SeedSequence
    order: np.random.SeedSequence
    methods: tuple[np.random.SeedSequence, ...]


def pair_streams(rng: np.random.Generator, n_methods: int) -> Streams:
    """Split ``rng`` into the streams of one replicate shared by ``n_methods`` paired methods.

    ``data``, ``init`` and ``order`` are shared (make a fresh ``default_rng`` from them per method:
    same data, same initial weights, same minibatch order); ``methods[i]`` is method i's own
    stream (e.g. SR's rounding draws). Deterministic in ``rng``'s state.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {rng!r}")
    root = np.random.SeedSequence(rng.integers(2**63, size=4).tolist())
    data, init, order, *methods = root.spawn(3 + int(n_methods))
    return Streams(data, init, order, tuple(methods))


def _rule(method, lr):
    if method == "adam":
        return optim.adam(lr)
    if method == "bc_adam":
        return optim.bc_adam(lr, "binary", quantizer="deterministic")  # clips w_r to [−1, 1]
    if method in ("sr_adam", "big_sr_adam"):
        return optim.sr_adam(lr, "binary")
    return optim.r_adam(lr, "binary")


def layout(d, k, hidden, binary_layers):
    """``[(fan_in, fan_out, binary), ...]`` of the two layouts of the module docstring."""
    if binary_layers is None:
        return [(d, hidden, True), (hidden, k, False)]
    return [(d, hidden, False)] + [(hidden, hidden, True)] * binary_layers + [(hidden, k, False)]


def forward_backward(x, y, weights, biases, spec):
    """Mean softmax cross-entropy, ``(logits, grads_w, grads_b)`` for weights as deployed.

    ``weights[l]``: (fan_in, fan_out); ``biases[l]``: (fan_out,) or None (binary layers);
    ``spec``: from :func:`layout`. Uses logits − max so that exp never overflows; ``y=None``
    returns only the logits.
    """
    hs, z = [x], x
    for i, (w, b, (fan_in, _, binary)) in enumerate(zip(weights, biases, spec, strict=True)):
        z = hs[-1] @ w * (1 / np.sqrt(fan_in) if binary else 1.0) + (0.0 if b is None else b)
        if i < len(spec) - 1:
            hs.append(np.maximum(z, 0.0))
    if y is None:
        return z
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -log_p[np.arange(n), y].mean()
    dz = np.exp(log_p)
    dz[np.arange(n), y] -= 1.0
    dz /= n
    gw, gb = [None] * len(spec), [None] * len(spec)
    for i in range(len(spec) - 1, -1, -1):
        scale = 1 / np.sqrt(spec[i][0]) if spec[i][2] else 1.0
        gw[i] = hs[i].T @ dz * scale
        gb[i] = None if biases[i] is None else dz.sum(axis=0)
        if i:
            dz = (dz @ weights[i].T) * scale * (hs[i] > 0)
    return loss, z, gw, gb


def logits(x, weights, head, bias):
    """The binary-first-layer network's logits for first-layer ``weights`` (d, H) as deployed."""
    return forward_backward(x, None, [weights, head], [None, bias], _first_layer_spec(x, weights, head))


def cross_entropy_grads(x, y, weights, head, bias):
    """The binary-first-layer network's loss and gradients w.r.t. (weights, head, bias)."""
    spec = _first_layer_spec(x, weights, head)
    loss, _, gw, gb = forward_backward(x, y, [weights, head], [None, bias], spec)
    return loss, gw[0], gw[1], gb[1]


def _first_layer_spec(x, weights, head):
    return layout(x.shape[1], head.shape[1], weights.shape[1], None)


def _check(method, data, ints, rngs):
    if method not in METHODS:
        raise ValueError(f"method={method!r} is invalid; valid: {list(METHODS)}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a quanttheory.nn.Dataset; got {type(data).__name__}")
    for name, v in ints.items():
        low = 0 if name == "binary_layers" else 1
        if v is not None or name != "binary_layers":
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"{name}={v!r} is invalid; valid: an integer >= {low}")
    for name, r in rngs.items():
        if not isinstance(r, np.random.Generator):
            raise TypeError(f"{name} must be a numpy.random.Generator; got {r!r}")


def _init(method, spec, init_rng):
    """Weights (binary layers uniform in [−1, 1], binarised for SR/R), biases, binary flags."""
    weights, biases = [], []
    for fan_in, fan_out, binary in spec:
        if binary:
            w = init_rng.uniform(-1.0, 1.0, (fan_in, fan_out))
            weights.append(np.where(w >= 0, 1.0, -1.0) if method in _STORED_BINARY else w)
            biases.append(None)
        else:
            weights.append(init_rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
            biases.append(np.zeros(fan_out))
    return weights, biases


def _signs(rule, method, weights, spec):
    return np.concatenate([np.sign(rule.deploy(w)).ravel() for w, s in zip(weights, spec, strict=True) if s[2]])


def train_binary(method, data, *, epochs=20, batch_size=100, lr=0.01, float_lr=None, decay_epochs=None,
                 decay=0.1, hidden=64, binary_layers=None, big_batch=8, rng, init_rng=None,
                 order_rng=None) -> History:
    """Train a binary-weight MLP (layouts of the module docstring) with one of :data:`METHODS`.

    Parameters
    ----------
    method : str
        One of ``"adam", "bc_adam", "big_sr_adam", "sr_adam", "r_adam"``.
    data : Dataset
    epochs, batch_size : int
        ``big_sr_adam`` uses ``batch_size * big_batch`` for the same epochs (fewer steps).
    lr, float_lr : float
        Adam step sizes of the binary layers and the float layers (default ``float_lr = lr``).
    decay_epochs : tuple of int, optional
        Epochs at whose start every step size is multiplied by ``decay``
        (default: one decay at 2/3 of the run).
    hidden, binary_layers : int
        Width H; number of binary H → H layers (None: binary first layer, the old layout).
    rng : numpy.random.Generator
        The method's own draws (SR's rounding); also init and order when those are not given.
    init_rng, order_rng : numpy.random.Generator, optional
        Initial weights; one permutation per epoch. Share their seeds to pair methods.

    Returns
    -------
    History
    """
    init_rng = rng if init_rng is None else init_rng
    order_rng = rng if order_rng is None else order_rng
    _check(method, data, {"epochs": epochs, "batch_size": batch_size, "hidden": hidden,
                          "big_batch": big_batch, "binary_layers": binary_layers},
           {"rng": rng, "init_rng": init_rng, "order_rng": order_rng})
    decay_epochs = ((2 * epochs) // 3,) if decay_epochs is None else tuple(decay_epochs)
    n = data.x_train.shape[0]
    batch = batch_size * big_batch if method == "big_sr_adam" else batch_size
    per_epoch = -(-n // batch)
    epoch_lr = np.array([decay ** sum(e >= d for d in decay_epochs) for e in range(epochs)])

    def schedule(base):
        return lambda t: base * epoch_lr[np.minimum(np.asarray(t) // per_epoch, epochs - 1)]

    spec = layout(data.x_train.shape[1], data.n_classes, hidden, binary_layers)
    rule, float_rule = _rule(method, schedule(lr)), optim.adam(schedule(lr if float_lr is None else float_lr))
    weights, biases = _init(method, spec, init_rng)
    rules = [rule if s[2] else float_rule for s in spec]
    w_states = [r.init(w) for r, w in zip(rules, weights, strict=True)]
    b_states = {i: float_rule.init(b) for i, b in enumerate(biases) if b is not None}
    sign0 = prev = _signs(rule, method, weights, spec)
    out = {k: np.empty(epochs) for k in ("err", "loss", "changed", "flipped", "flips")}
    for epoch in range(epochs):
        order, flipped, losses = order_rng.permutation(n), np.zeros(sign0.shape, bool), []
        for s in range(per_epoch):
            idx = order[s * batch:(s + 1) * batch]
            deployed = [r.deploy(w) for r, w in zip(rules, weights, strict=True)]
            loss, _, gw, gb = forward_backward(data.x_train[idx], data.y_train[idx], deployed, biases, spec)
            for i, r in enumerate(rules):
                weights[i], w_states[i] = r.update(gw[i], w_states[i], weights[i], rng)
                if i in b_states:
                    biases[i], b_states[i] = float_rule.update(gb[i], b_states[i], biases[i])
            flipped |= _signs(rule, method, weights, spec) != prev
            losses.append(loss)
        signs = _signs(rule, method, weights, spec)
        logits = forward_backward(data.x_test, None, [r.deploy(w) for r, w in zip(rules, weights, strict=True)],
                                  biases, spec)
        out["err"][epoch] = np.mean(np.argmax(logits, axis=1) != data.y_test)
        out["loss"][epoch], out["changed"][epoch] = np.mean(losses), np.mean(signs != sign0)
        out["flipped"][epoch], out["flips"][epoch] = np.mean(flipped), np.mean(signs != prev)
        prev = signs
    return History(method, out["err"], out["loss"], out["changed"], out["flipped"], out["flips"], lr * epoch_lr)
