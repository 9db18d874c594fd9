r"""Method-agnostic quantization-aware training (QAT): one loop for every recipe and model.

The protocol (the same for every recipe of :mod:`quanttheory.nn.recipes`):

1. one converged float checkpoint per seed (:func:`pretrain`);
2. every recipe starts from that checkpoint, calibrates its quantizers on one batch
   (:func:`quanttheory.nn.recipes.calibrate`) and gets the same budget (:class:`Budget`):
   SGD with momentum, cosine decay to 0, the same minibatch order (an order Generator
   re-created from the same seed for every recipe), weight decay on the network's weights;
3. the deployed (hard) network is scored on the test split after the last step; the
   validation split picks each recipe's learning rate.

Models follow the interface of :mod:`quanttheory.nn.cnn`: ``init(rng)``, ``init_state()``,
``forward(params, state, x, train, wq, aq) -> (logits, tape, state)``, ``backward(tape, dlogits)``,
``quantized_layers``. :class:`MLP` is the fully connected member (first and last layer float).

References
----------
.. [1] Loshchilov, Hutter. "SGDR: Stochastic Gradient Descent with Warm Restarts". ICLR 2017
   (cosine decay, Eq. 5 without restarts).
.. [2] Kingma, Ba. "Adam: A Method for Stochastic Optimization". ICLR 2015, Algorithm 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import log_softmax, softmax

from . import layers


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy and its gradient with respect to the logits."""
    n = y.size
    loss = float(-np.mean(log_softmax(logits, axis=1)[np.arange(n), y]))
    g = softmax(logits, axis=1)
    g[np.arange(n), y] -= 1.0
    return loss, g / n


@dataclass(frozen=True)
class MLP:
    """``x → fc0 → ReLU → [aq, wq] fc1 → ReLU → … → fc{L−1}`` with fc0 and the head in float.

    Attributes
    ----------
    sizes : tuple of int
        (input features, hidden widths…, classes). Inputs of any shape are flattened.
    """

    sizes: tuple

    @property
    def quantized_layers(self):
        return tuple(f"fc{k}" for k in range(1, len(self.sizes) - 2))

    def init(self, rng):
        """He-initialised weights ``fc{k}.w`` (fan_in, fan_out) and zero biases ``fc{k}.b``."""
        out = {}
        for k, (m, n) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            out[f"fc{k}.w"] = rng.standard_normal((m, n)) * np.sqrt(2.0 / m)
            out[f"fc{k}.b"] = np.zeros(n)
        return out

    def init_state(self):
        return {}

    def forward(self, params, state, x, *, train=False, wq=None, aq=None):
        """Logits, the tape for :meth:`backward`, and the (unchanged) state."""
        a = x.reshape(x.shape[0], -1)
        tape, last = [], len(self.sizes) - 2
        for k in range(last + 1):
            name, avjp, wvjp = f"fc{k}", None, None
            w = params[f"{name}.w"]
            if name in self.quantized_layers:
                if aq is not None:
                    a, avjp = aq(name, a)
                if wq is not None:
                    w, wvjp = wq(name, w)
            z = a @ w + params[f"{name}.b"]
            tape.append((a, w, z, avjp, wvjp))
            a = np.maximum(z, 0.0) if k < last else z
        return a, tape, state

    def backward(self, tape, dlogits):
        """Gradients of every parameter and every hook parameter."""
        grads, g = {}, dlogits
        for k in range(len(tape) - 1, -1, -1):
            a, w, z, avjp, wvjp = tape[k]
            if k < len(tape) - 1:
                g = g * (z > 0.0)
            gw, grads[f"fc{k}.b"] = a.T @ g, g.sum(axis=0)
            if wvjp is not None:
                gw, extra = wvjp(gw)
                grads |= extra
            grads[f"fc{k}.w"] = gw
            if k == 0:
                break
            g = g @ w.T
            if avjp is not None:
                g, extra = avjp(g)
                grads |= extra
        return grads


@dataclass(frozen=True)
class Budget:
    """Training budget: epochs, batch size, peak learning rate, momentum."""

    epochs: int
    learning_rate: float
    batch_size: int = 128
    momentum: float = 0.9

    def __post_init__(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer; got {self.epochs!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be finite and > 0; got {self.learning_rate!r}")


def cosine(base, step, total):
    """Cosine decay [1]_ from ``base`` at step 0 to 0 at ``total``."""
    return 0.5 * base * (1.0 + math.cos(math.pi * step / total))


class FloatSites:
    """The no-quantizer stand-in for :class:`quanttheory.nn.recipes.Quantizers` (float training)."""

    frozen: dict = {}

    def hooks(self, params, **_):
        return None, None

    def groups(self, name):
        from .recipes import WEIGHT_DECAY
        return 1.0, None, WEIGHT_DECAY

    def project(self, params):
        return params

    def temperature(self, epoch):
        return 1.0


def _sgd_step(params, grads, velocity, quant, *, decay, lr, momentum):
    """SGD with momentum and weight decay; ``decay`` ∈ [0, 1] is the cosine factor of this step."""
    new, vel = {}, {}
    for k, p in params.items():
        scale, absolute, wd = quant.groups(k)
        rate = decay * (lr * scale if absolute is None else absolute)
        g = grads.get(k, 0.0) + wd * p
        vel[k] = momentum * velocity.get(k, 0.0) + g
        new[k] = p - rate * vel[k]
    return new, vel


def _temperature(quant, epoch):
    rec = getattr(quant, "recipe", None)
    return rec.temperature(epoch) if rec is not None else 1.0


def train(model, params, state, data, quant, budget, order_rng, *, record=None):
    """SGD-with-momentum QAT (or float training, ``quant=FloatSites()``); ``(params, state, history)``.

    Each epoch visits the training split once in an order drawn from ``order_rng``; the
    learning rate follows :func:`cosine` per step; quantizer parameters get the recipe's
    learning rates and weight decays and are projected onto their valid sets after each step.
    ``record(epoch, params, state)`` (optional) is called before training (epoch −1) and after
    every epoch; its dicts form ``history`` (arrays over epochs).
    """
    n = data.y_train.size
    steps_per_epoch = n // budget.batch_size
    total, step, velocity, rows = budget.epochs * steps_per_epoch, 0, {}, []
    if record is not None:
        rows.append(record(-1, params, state))
    for epoch in range(budget.epochs):
        temperature = _temperature(quant, epoch)
        order = order_rng.permutation(n)
        for b in range(steps_per_epoch):
            idx = order[b * budget.batch_size:(b + 1) * budget.batch_size]
            wq, aq = quant.hooks(params, mode="train", temperature=temperature, train=True)
            logits, tape, state = model.forward(params, state, data.x_train[idx], train=True, wq=wq, aq=aq)
            _, dlogits = softmax_cross_entropy(logits, data.y_train[idx])
            grads = model.backward(tape, dlogits)
            params, velocity = _sgd_step(params, grads, velocity, quant, decay=cosine(1.0, step, total),
                                         lr=budget.learning_rate, momentum=budget.momentum)
            params = quant.project(params)
            step += 1
        if record is not None:
            rows.append(record(epoch, params, state))
    history = {k: np.array([r[k] for r in rows]) for k in rows[0]} if rows else {}
    return params, state, history


def logits_of(model, params, state, x, quant, *, mode="eval", temperature=1.0, batch_size=2000):
    """Evaluation-mode logits of ``x`` in batches (deployed map with ``mode="eval"``)."""
    out = []
    for s in range(0, x.shape[0], batch_size):
        wq, aq = quant.hooks(params, mode=mode, temperature=temperature, train=False)
        out.append(model.forward(params, state, x[s:s + batch_size], train=False, wq=wq, aq=aq)[0])
    return np.concatenate(out)


def error_rate(model, params, state, x, y, quant, *, mode="eval", temperature=1.0):
    """Fraction of misclassified rows (argmax ties go to the lowest class)."""
    logits = logits_of(model, params, state, x, quant, mode=mode, temperature=temperature)
    return float(np.mean(np.argmax(logits, axis=1) != y))


def soft_hard(model, params, state, x, y, quant, temperature):
    """``(soft error, deployed error, mean|soft − deployed logits| / mean|deployed logits|)``."""
    hard = logits_of(model, params, state, x, quant, mode="eval")
    soft = logits_of(model, params, state, x, quant, mode="soft", temperature=temperature)
    gap = float(np.mean(np.abs(soft - hard)) / max(float(np.mean(np.abs(hard))), 1e-12))
    return (float(np.mean(np.argmax(soft, 1) != y)), float(np.mean(np.argmax(hard, 1) != y)), gap)


def site_params(params):
    """The quantizer parameters of ``params`` (names with a site: ``"<layer>.<w|a>.<name>"``)."""
    return {k: float(v) for k, v in params.items() if k.count(".") == 2 and k.split(".")[1] in ("w", "a")}


# -- Adam, used by the float training of quanttheory.nn.cnn.fit and quanttheory.nn.mlp ---------------

class AdamState(NamedTuple):
    """Adam moments (same keys and shapes as the parameters) and the step count."""

    mu: dict
    nu: dict
    step: int


def adam_init(params):
    """Zero moments [2]_ Algorithm 1."""
    zeros = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
    return AdamState(zeros, {k: z.copy() for k, z in zeros.items()}, 0)


def adam_update(params, grads, state, *, learning_rate, b1=0.9, b2=0.999, eps=1e-8, scales=None):
    """One Adam step [2]_ Algorithm 1 (bias-corrected moments): ``(new params, new state)``.

    ``scales`` (optional, name → float, default 1) multiplies a parameter's step.
    """
    scales = scales or {}
    count = state.step + 1
    mu = {k: b1 * state.mu[k] + (1 - b1) * grads[k] for k in params}
    nu = {k: b2 * state.nu[k] + (1 - b2) * grads[k] ** 2 for k in params}
    c1, c2 = 1 - b1**count, 1 - b2**count
    new = {k: params[k] - learning_rate * scales.get(k, 1.0) * (mu[k] / c1) / (np.sqrt(nu[k] / c2) + eps)
           for k in params}
    return new, AdamState(mu, nu, count)


__all__ = ["MLP", "Budget", "FloatSites", "train", "error_rate", "soft_hard", "logits_of",
           "softmax_cross_entropy", "site_params", "adam_init", "adam_update", "layers"]
