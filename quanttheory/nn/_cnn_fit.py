"""Adam training loop and batched accuracy for :class:`quanttheory.nn.cnn.CNN` (float or hooked).

The loop is the MNIST-1D reference recipe [1]_ (Adam, constant or cosine-decayed learning rate,
mini-batches drawn without replacement each epoch); the Adam step is
:func:`quanttheory.nn.qat.adam_update`.

References
----------
.. [1] Greydanus. "Scaling down deep learning". arXiv:2011.14439, 2020 (repository notebooks:
   Adam, learning rate 1e-2, batch 100, 8000 steps).
"""

from __future__ import annotations

import numpy as np

from ._cnn_ops import softmax_cross_entropy
from .qat import adam_init, adam_update


def accuracy(net, params, state, x, y, *, wq=None, aq=None, batch_size=1000):
    """Fraction of rows of ``x`` whose eval-mode argmax logit equals ``y`` (ties → lowest class)."""
    hits = 0
    for start in range(0, len(y), batch_size):
        logits, _, _ = net.forward(params, state, x[start:start + batch_size], train=False, wq=wq, aq=aq)
        hits += int(np.sum(np.argmax(logits, axis=1) == y[start:start + batch_size]))
    return hits / max(len(y), 1)


def _learning_rate(base, schedule, step, total):
    if schedule is None:
        return base
    if schedule == "cosine":
        return 0.5 * base * (1.0 + np.cos(np.pi * step / total))
    raise ValueError(f"schedule={schedule!r}; valid: None, 'cosine'")


def fit(net, params, state, data, rng, *, epochs, batch_size=100, learning_rate=1e-2, schedule=None,
        weight_decay=0.0, hooks=None, eval_x=None, eval_y=None):
    """Train ``params`` with Adam for ``epochs`` passes over ``data.x_train``.

    Parameters
    ----------
    net : CNN
    params, state : dict
        From ``net.init(rng)`` / ``net.init_state()`` (plus any hook parameters, which are
        updated like the weights when the hooks return gradients under the same names).
    data : ImageDataset or Dataset
        Uses ``x_train``, ``y_train``.
    rng : numpy.random.Generator
        Draws each epoch's permutation (the only randomness).
    epochs, batch_size : int
    learning_rate : float
    schedule : None or "cosine"
        Constant rate, or cosine decay to 0 over all steps.
    weight_decay : float
        Coupled L2 (added to the gradient of every ``.w`` entry), as ``torch.optim.Adam``.
    hooks : callable, optional
        ``hooks(params) -> (wq, aq)``, rebuilt before every step from the current parameters.
    eval_x, eval_y : ndarray, optional
        If given, the eval-mode accuracy on them is recorded after every epoch.

    Returns
    -------
    params, state, history : dict, dict, dict
        ``history = {"loss": per-epoch mean training loss, "eval_accuracy": per-epoch list}``.
    """
    n = len(data.y_train)
    steps_per_epoch = -(-n // batch_size)
    total, step = epochs * steps_per_epoch, 0
    opt = adam_init(params)
    history = {"loss": [], "eval_accuracy": []}
    for _ in range(epochs):
        order, losses = rng.permutation(n), []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            wq, aq = hooks(params) if hooks is not None else (None, None)
            logits, tape, state = net.forward(params, state, data.x_train[idx], train=True, wq=wq, aq=aq)
            loss, dlogits = softmax_cross_entropy(logits, data.y_train[idx])
            grads = net.backward(tape, dlogits)
            if weight_decay:
                grads = {k: g + weight_decay * params[k] if k.endswith(".w") else g for k, g in grads.items()}
            grads = {k: grads.get(k, np.zeros_like(v)) for k, v in params.items()}
            params, opt = adam_update(params, grads, opt,
                                      learning_rate=_learning_rate(learning_rate, schedule, step, total))
            losses.append(loss)
            step += 1
        history["loss"].append(float(np.mean(losses)))
        if eval_x is not None:
            wq, aq = hooks(params) if hooks is not None else (None, None)
            history["eval_accuracy"].append(accuracy(net, params, state, eval_x, eval_y, wq=wq, aq=aq))
    return params, state, history
