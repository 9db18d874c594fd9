r"""Quantization-aware training (QAT) of a small numpy MLP with uniform / DSQ / APoT / QN quantizers.

The network is ``input → [Ŵ₁, ReLU, â] → [Ŵ₂, ReLU, â] → float head → softmax``: both hidden
layers have quantized weights Ŵ and quantized ReLU activations â (one quantizer *site* each,
see :mod:`quanttheory.nn.layers`), the input and the head stay in float, as is usual for the
first/last layers in DSQ [1]_, APoT [2]_ and QN [3]_. Training follows the papers' recipe in
miniature: a float network is trained first, then fine-tuned with the quantizers in the loop
(Adam on weights and quantizer parameters together; QN's temperature T = rate × epoch).

Data are generated locally by a random teacher network (no downloads):
:func:`quanttheory.nn.data.teacher_student` with a Gaussian teacher.

References
----------
.. [1] Gong et al. "Differentiable Soft Quantization". ICCV 2019, arXiv:1908.05033.
.. [2] Li, Dong, Wang. "Additive Powers-of-Two Quantization". ICLR 2020, arXiv:1909.13144.
.. [3] Yang et al. "Quantization Networks". CVPR 2019, arXiv:1911.09464.
.. [4] Kingma, Ba. "Adam: A Method for Stochastic Optimization". ICLR 2015, Algorithm 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import log_softmax, softmax

from . import data as nn_data
from . import layers

SITES = ("w1", "a1", "w2", "a2")


def init_mlp(rng, dim, hidden, n_classes):
    """He-initialised float weights ``{"W1", "b1", "W2", "b2", "W3", "b3"}`` (W ~ N(0, 2/fan_in))."""
    sizes = (dim, *hidden, n_classes)
    params = {}
    for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{k}"] = rng.standard_normal((m, n)) * np.sqrt(2.0 / m)
        params[f"b{k}"] = np.zeros(n)
    return params


@dataclass(frozen=True)
class Net:
    """A network's configuration: quantization method, bits, and the frozen site parameters.

    Attributes
    ----------
    method : str
        One of :data:`quanttheory.nn.layers.METHODS`.
    bits : int
        Bits of every quantized weight and activation (2–8).
    frozen : dict
        ``site → {name: value}`` of the parameters that are not trained (QN biases, APoT scale).
    """

    method: str
    bits: int
    frozen: dict


def quantizer_init(method, bits, params, x_batch):
    """Initial quantizer parameters for ``params`` (float weights) and an input batch.

    Returns ``(net, learn)`` where ``learn`` maps ``"<site>.<name>"`` to 0-d float arrays (to be
    trained together with the weights). Activation ranges come from the float network's
    activations on ``x_batch``; layer 2's from layer 1's *quantized* output.
    """
    method, bits = layers.check_method(method, bits)
    frozen, learn = {}, {}
    a = x_batch
    for k in (1, 2):
        w = params[f"W{k}"]
        lw, fw = layers.init_site(method, bits, w, signed=True, weight_scale=np.sqrt(2.0 / w.shape[0]))
        qw = layers.quantize(method, bits, w, lw | fw, signed=True, mode="eval")
        h = np.maximum(a @ qw + params[f"b{k}"], 0.0)
        la, fa = layers.init_site(method, bits, h, signed=False)
        a = layers.quantize(method, bits, h, la | fa, signed=False, mode="eval")
        for site, lv, fv in ((f"w{k}", lw, fw), (f"a{k}", la, fa)):
            frozen[site] = fv
            learn |= {f"{site}.{n}": np.asarray(v, dtype=np.float64) for n, v in lv.items()}
    return Net(method, bits, frozen), learn


def _site(net, params, site):
    learn = {n.split(".", 1)[1]: float(v) for n, v in params.items() if n.startswith(site + ".")}
    return learn | net.frozen[site]


def forward(net, params, x, *, mode="train", temperature=1.0):
    """Logits of shape (n, n_classes) and the cache the backward pass needs.

    ``params`` holds the float weights and the ``"<site>.<name>"`` quantizer parameters;
    ``mode`` selects the quantizers' map (:func:`quanttheory.nn.layers.quantize`).
    """
    cache, a = [], x
    for k in (1, 2):
        w = params[f"W{k}"]
        pw = _site(net, params, f"w{k}")
        qw = layers.quantize(net.method, net.bits, w, pw, signed=True, mode=mode, temperature=temperature)
        z = a @ qw + params[f"b{k}"]
        h = np.maximum(z, 0.0)
        pa = _site(net, params, f"a{k}")
        a_next = layers.quantize(net.method, net.bits, h, pa, signed=False, mode=mode, temperature=temperature)
        cache.append((a, w, pw, qw, z, h, pa))
        a = a_next
    cache.append(a)
    return a @ params["W3"] + params["b3"], cache


def cross_entropy(logits, y):
    """Mean softmax cross-entropy (log-softmax form: no overflow for large logits)."""
    return float(-np.mean(log_softmax(logits, axis=1)[np.arange(y.size), y]))


def loss_and_grads(net, params, x, y, *, mode="train", temperature=1.0):
    """Cross-entropy loss and its gradient w.r.t. every entry of ``params`` (same keys).

    Backward: softmax–cross-entropy, the float head, then per hidden layer the activation
    site, ReLU (derivative 1[z > 0]), the matmul and the weight site, each site through its
    quantizer's partials (:func:`quanttheory.nn.layers.site_vjp`).
    """
    logits, cache = forward(net, params, x, mode=mode, temperature=temperature)
    n = y.size
    g = softmax(logits, axis=1)
    g[np.arange(n), y] -= 1.0
    g /= n
    a_last = cache[-1]
    grads = {"W3": a_last.T @ g, "b3": g.sum(axis=0)}
    ga = g @ params["W3"].T
    kw = {"temperature": temperature}
    for k in (2, 1):
        a_in, w, pw, qw, z, h, pa = cache[k - 1]
        gh, gpa = layers.site_vjp(net.method, net.bits, h, pa, ga, signed=False, **kw)
        gz = gh * (z > 0.0)
        gw, gpw = layers.site_vjp(net.method, net.bits, w, pw, a_in.T @ gz, signed=True, **kw)
        grads[f"W{k}"], grads[f"b{k}"] = gw, gz.sum(axis=0)
        for site, gp in ((f"a{k}", gpa), (f"w{k}", gpw)):
            grads |= {f"{site}.{name}": np.asarray(v) for name, v in gp.items()}
        ga = gz @ qw.T
    return cross_entropy(logits, y), grads


class AdamState(NamedTuple):
    """Adam moments (same keys and shapes as the parameters) and the step count."""

    mu: dict
    nu: dict
    step: int


def adam_init(params):
    """Zero moments [4]_ Algorithm 1."""
    zeros = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
    return AdamState(zeros, {k: z.copy() for k, z in zeros.items()}, 0)


def adam_update(params, grads, state, *, learning_rate, b1=0.9, b2=0.999, eps=1e-8, scales=None):
    """One Adam step [4]_ Algorithm 1 (bias-corrected moments): ``(new params, new state)``.

    ``scales`` (optional, name → float, default 1) multiplies a parameter's step: Adam on
    p / scale (see :func:`quanttheory.nn.layers.step_scales`).
    """
    scales = scales or {}
    count = state.step + 1
    mu = {k: b1 * state.mu[k] + (1 - b1) * grads[k] for k in params}
    nu = {k: b2 * state.nu[k] + (1 - b2) * grads[k] ** 2 for k in params}
    c1, c2 = 1 - b1**count, 1 - b2**count
    new = {k: params[k] - learning_rate * scales.get(k, 1.0) * (mu[k] / c1) / (np.sqrt(nu[k] / c2) + eps)
           for k in params}
    return new, AdamState(mu, nu, count)


def step_scales(net, params):
    """Adam step multipliers of every quantizer parameter, from its current value (weights: 1)."""
    out = {}
    for site in SITES:
        learn = {n.split(".", 1)[1]: float(v) for n, v in params.items() if n.startswith(site + ".")}
        out |= {f"{site}.{n}": v for n, v in layers.step_scales(net.method, learn).items()} if learn else {}
    return out


def project(net, params):
    """Apply each site's validity constraints (:func:`quanttheory.nn.layers.project_site`)."""
    out = dict(params)
    for site in SITES:
        learn = {n.split(".", 1)[1]: float(v) for n, v in params.items() if n.startswith(site + ".")}
        for name, v in layers.project_site(net.method, learn).items():
            out[f"{site}.{name}"] = np.asarray(v, dtype=np.float64)
    return out


def error_rate(net, params, x, y, *, mode="eval", temperature=1.0):
    """Fraction of misclassified rows (ties in the logits go to the lowest class, as argmax)."""
    logits, _ = forward(net, params, x, mode=mode, temperature=temperature)
    return _misclassified(logits, y)


def _misclassified(logits, y):
    return float(np.mean(np.argmax(logits, axis=1) != y))


def _snapshot(net, params, data, temperature):
    hard, _ = forward(net, params, data.x_test, mode="eval", temperature=temperature)
    # only DSQ and QN have a soft map distinct from the deployed one (saves a test-set pass)
    soft = forward(net, params, data.x_test, mode="soft", temperature=temperature)[0] \
        if net.method in layers.SOFT_METHODS else hard
    row = {"test_error": _misclassified(hard, data.y_test),
           "soft_test_error": _misclassified(soft, data.y_test),
           # relative to the logits' own size, so the gap is comparable across methods and epochs
           "soft_hard_gap": float(np.mean(np.abs(soft - hard)) / max(np.mean(np.abs(hard)), 1e-12))}
    return row | {k: float(v) for k, v in params.items() if "." in k}


def fit(net, params, data, rng, *, epochs, batch_size=100, learning_rate=1e-3, qn_rate=5.0):
    """Train ``params`` with Adam on minibatches; ``(params, history)``.

    Each epoch visits the training set once in an order drawn from ``rng``. QN's temperature
    is T = ``qn_rate`` × epoch (epochs counted from 1, [3]_ §4); other methods ignore it.
    Quantizer parameters take steps relative to their initial size
    (:func:`quanttheory.nn.layers.step_scales`) and are projected onto their valid sets after
    every step.

    Returns
    -------
    params : dict
    history : dict of str to ndarray
        ``train_loss``, ``temperature`` of shape (epochs,) (the loss is the epoch mean of the
        training-map minibatch losses); ``test_error`` (deployed map), ``soft_test_error``
        (the soft map: DSQ, QN), ``soft_hard_gap`` (mean |soft − deployed logits| /
        mean |deployed logits| on the test set) and every ``"<site>.<name>"`` quantizer
        parameter, of shape (epochs + 1,), entry 0 before training (evaluated at the first epoch's temperature).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    n = data.y_train.size
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n} (the training-set size); got {batch_size!r}")
    state = adam_init(params)
    scales = step_scales(net, params)
    rows = [_snapshot(net, params, data, qn_rate)]
    losses, temps = [], []
    for epoch in range(1, epochs + 1):
        temperature = qn_rate * epoch
        order = rng.permutation(n)
        batch_losses = []
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = loss_and_grads(net, params, data.x_train[idx], data.y_train[idx],
                                         temperature=temperature)
            params, state = adam_update(params, grads, state, learning_rate=learning_rate, scales=scales)
            params = project(net, params)
            batch_losses.append(loss)
        losses.append(np.mean(batch_losses))
        temps.append(temperature)
        rows.append(_snapshot(net, params, data, temperature))
    history = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return params, history | {"train_loss": np.array(losses), "temperature": np.array(temps)}


@dataclass(frozen=True)
class Setup:
    """Sizes of one quantization-aware-training run (the same for every method)."""

    n_train: int = 2000
    n_test: int = 2000
    dim: int = 16
    n_classes: int = 4
    teacher_hidden: int = 32
    hidden: tuple[int, int] = (64, 64)
    float_epochs: int = 20
    qat_epochs: int = 20
    batch_size: int = 100
    learning_rate: float = 3e-3
    qn_rate: float = 5.0


def run(method, bits, seed, setup=Setup()):
    """Float pre-training then QAT of ``method`` at ``bits``: ``(history, float_history)``.

    Data, initial weights, the float pre-training and the minibatch order all derive from
    ``seed`` alone (``SeedSequence(seed).spawn(3)``), so every method fine-tunes the *same*
    float network on the same data in the same order: differences between methods at one seed
    are paired. ``method="float"`` fine-tunes in float (the baseline with the same budget).
    """
    data_ss, init_ss, order_ss = np.random.SeedSequence(seed).spawn(3)
    data = nn_data.teacher_student(setup.n_train, setup.n_test, dim=setup.dim, hidden=setup.teacher_hidden,
                                   n_classes=setup.n_classes, binary_teacher=False,
                                   rng=np.random.default_rng(data_ss))
    params = init_mlp(np.random.default_rng(init_ss), setup.dim, setup.hidden, setup.n_classes)
    order = np.random.default_rng(order_ss)
    kw = {"batch_size": setup.batch_size, "learning_rate": setup.learning_rate, "qn_rate": setup.qn_rate}
    float_net, _ = quantizer_init("float", bits, params, data.x_train)
    params, float_history = fit(float_net, params, data, order, epochs=setup.float_epochs, **kw)
    net, learn = quantizer_init(method, bits, params, data.x_train[: setup.batch_size * 5])
    _, history = fit(net, params | learn, data, order, epochs=setup.qat_epochs, **kw)
    return history, float_history
