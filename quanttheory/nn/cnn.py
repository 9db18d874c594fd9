r"""A small ConvNet with exact backward passes and quantization hooks (numpy + numba).

Block ``i`` is ``conv{i} → [BN{i}] → ReLU → [pool]``; the head is global average pooling (or
flatten) followed by a dense layer. A 1-D net is the 2-D one with ``H = 1`` and ``1 × k``
kernels. Training and QAT code build on :meth:`CNN.forward` / :meth:`CNN.backward`:

>>> import numpy as np
>>> net = CNN1d(in_shape=(1, 40), channels=(8, 8), kernel=5, n_classes=10)
>>> rng = np.random.default_rng(0)
>>> params, state = net.init(rng), net.init_state()
>>> x, y = rng.standard_normal((4, 1, 40)), np.array([0, 1, 2, 3])
>>> logits, tape, state = net.forward(params, state, x, train=True)
>>> loss, dlogits = softmax_cross_entropy(logits, y)
>>> sorted(net.backward(tape, dlogits)) == sorted(params)
True

Quantization hooks (used by the QAT study; the first conv and the dense layer stay float, as in
DSQ [1]_ §4, APoT [2]_ §4 and QN [3]_ §4): ``wq(layer, w) -> (w_q, vjp)`` maps the weights of
every layer in :attr:`CNN.quantized_layers`, ``aq(layer, a) -> (a_q, vjp)`` the activation that
feeds it; ``vjp(g) -> (g_input, {name: grad})`` and the named gradients are added to the result
of :meth:`CNN.backward`.

References
----------
.. [1] Gong et al. "Differentiable Soft Quantization". ICCV 2019, arXiv:1908.05033.
.. [2] Li, Dong, Wang. "Additive Powers-of-Two Quantization". ICLR 2020, arXiv:1909.13144.
.. [3] Yang et al. "Quantization Networks". CVPR 2019, arXiv:1911.09464.
.. [4] Greydanus. "Scaling down deep learning" (MNIST-1D). arXiv:2011.14439, 2020.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _bn_numba, _conv
from . import _cnn_ops as ops
from ._cnn_fit import accuracy, fit
from ._cnn_ops import softmax_cross_entropy

__all__ = ["CNN", "CNN1d", "CNN2d", "softmax_cross_entropy", "fit", "accuracy"]


@dataclass(frozen=True)
class CNN:
    """Architecture of the ConvNet (immutable; parameters live in dicts, see :meth:`init`).

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, L)`` for a 1-D net, ``(C, H, W)`` for a 2-D one.
    channels : tuple of int
        Output channels of each conv block.
    kernel : int or tuple of int
        Kernel length (1-D) / side (2-D), one for all blocks or one per block.
    n_classes : int
    stride : int, default 1
    padding : "same" or int, default "same"
        "same" pads ``(k − 1) // 2`` on each side (the output size at stride 1 for odd k).
    batch_norm : bool, default True
        BN after every conv (then convs have no bias); False: conv bias ``conv{i}.b``.
    pool : None, "max" or "avg"
        2-wide (2 × 2) pooling after every block except the last.
    head : "gap" or "flatten"
    backend : "numba" or "numpy"
        Who does im2col/col2im and BN + ReLU (the GEMMs are BLAS either way).
    init : "he" or "torch"
        "he": conv weights N(0, 2/fan_in), dense N(0, 1/fan_in), zero biases. "torch": PyTorch's
        ``Conv1d``/``Conv2d``/``Linear`` defaults, weights and biases U(±1/√fan_in) (the
        MNIST-1D reference CNN was trained from these [4]_).
    """

    in_shape: tuple
    channels: tuple
    kernel: int | tuple = 3
    n_classes: int = 10
    stride: int = 1
    padding: str | int = "same"
    batch_norm: bool = True
    pool: str | None = None
    head: str = "gap"
    backend: str = "numba"
    init_scheme: str = "he"

    def __post_init__(self):
        if len(self.in_shape) not in (2, 3) or min(self.in_shape) < 1:
            raise ValueError(f"in_shape must be (C, L) or (C, H, W) of positive sizes; got {self.in_shape!r}")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels must be a non-empty tuple of positive ints; got {self.channels!r}")
        kernels = self.kernels
        if len(kernels) != len(self.channels) or min(kernels) < 1:
            raise ValueError(f"kernel={self.kernel!r} must be a positive int or one per block "
                             f"({len(self.channels)} blocks)")
        if self.pool not in (None, "max", "avg") or self.head not in ("gap", "flatten"):
            raise ValueError(f"pool={self.pool!r} (valid: None, 'max', 'avg'), head={self.head!r} "
                             "(valid: 'gap', 'flatten')")
        if self.init_scheme not in ("he", "torch"):
            raise ValueError(f"init_scheme={self.init_scheme!r}; valid: 'he', 'torch'")
        if self.backend not in _conv.BACKENDS:
            raise ValueError(f"backend={self.backend!r}; valid: {_conv.BACKENDS}")
        if self.padding != "same" and not (isinstance(self.padding, int) and self.padding >= 0):
            raise ValueError(f"padding={self.padding!r}; valid: 'same' or an int >= 0")
        if self.stride < 1 or self.n_classes < 2:
            raise ValueError(f"stride={self.stride!r} must be >= 1 and n_classes={self.n_classes!r} >= 2")
        self.feature_shape  # noqa: B018 - validates that every layer has a non-empty output

    @property
    def dims(self):
        return len(self.in_shape) - 1

    @property
    def kernels(self):
        k = self.kernel
        return tuple(int(v) for v in k) if isinstance(k, tuple | list) else (int(k),) * len(self.channels)

    @property
    def quantized_layers(self):
        """Names of the convs that the ``wq``/``aq`` hooks see (all but the first)."""
        return tuple(f"conv{i}" for i in range(1, len(self.channels)))

    def _geometry(self, i):
        """``(kh, kw), (ph, pw)`` of block ``i``."""
        k = self.kernels[i]
        p = (k - 1) // 2 if self.padding == "same" else int(self.padding)
        return ((1, k), (0, p)) if self.dims == 1 else ((k, k), (p, p))

    @property
    def feature_shape(self):
        """(H, W, C) of the last block's output."""
        h, w = (1, self.in_shape[1]) if self.dims == 1 else self.in_shape[1:]
        for i in range(len(self.channels)):
            (kh, kw), (ph, pw) = self._geometry(i)
            h, w = _conv.out_size(h, kh, self.stride, ph), _conv.out_size(w, kw, self.stride, pw)
            if self.pool and i < len(self.channels) - 1:
                h, w = (h if self.dims == 1 else h // 2), w // 2
                if h < 1 or w < 1:
                    raise ValueError(f"pooling after block {i} leaves an empty map; use fewer blocks or pool=None")
        return h, w, self.channels[-1]

    def _draw(self, rng, shape, fan_in, gain):
        if self.init_scheme == "torch":
            return rng.uniform(-1.0, 1.0, shape) / np.sqrt(fan_in)
        return rng.standard_normal(shape) * np.sqrt(gain / fan_in) if gain else np.zeros(shape)

    def init(self, rng):
        """Parameters drawn per ``init_scheme`` (layer by layer, weight then bias); BN γ = 1, β = 0."""
        params = {}
        c_in = self.in_shape[0]
        for i, c_out in enumerate(self.channels):
            (kh, kw), _ = self._geometry(i)
            shape = (c_out, c_in, kw) if self.dims == 1 else (c_out, c_in, kh, kw)
            params[f"conv{i}.w"] = self._draw(rng, shape, c_in * kh * kw, 2.0)
            if self.batch_norm:
                params[f"bn{i}.gamma"], params[f"bn{i}.beta"] = np.ones(c_out), np.zeros(c_out)
            else:
                params[f"conv{i}.b"] = self._draw(rng, (c_out,), c_in * kh * kw, 0.0)
            c_in = c_out
        h, w, c = self.feature_shape
        features = c if self.head == "gap" else h * w * c
        params["dense.w"] = self._draw(rng, (features, self.n_classes), features, 1.0)
        params["dense.b"] = self._draw(rng, (self.n_classes,), features, 0.0)
        return params

    def init_state(self):
        """BN running statistics: ``bn{i}.mean`` = 0 and ``bn{i}.var`` = 1 (empty without BN)."""
        if not self.batch_norm:
            return {}
        return {k: v for i, c in enumerate(self.channels)
                for k, v in ((f"bn{i}.mean", np.zeros(c)), (f"bn{i}.var", np.ones(c)))}

    def _to_internal(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != tuple(self.in_shape):
            raise ValueError(f"x has shape {x.shape}; expected (N, *{tuple(self.in_shape)})")
        h = x[:, :, None, :] if self.dims == 1 else x
        return np.ascontiguousarray(h.transpose(0, 2, 3, 1))

    def forward(self, params, state, x, *, train=True, wq=None, aq=None):
        """Logits of ``x`` (N, *in_shape). Returns ``(logits (N, K), tape, new_state)``."""
        tape, new_state = [], dict(state)
        h = self._to_internal(x)
        for i in range(len(self.channels)):
            h = self._block(i, params, new_state, h, train, wq, aq, tape)
        if self.head == "gap":
            h, shape = ops.gap_forward(h)
            tape.append(lambda g, _grads, shape=shape: ops.gap_backward(g, shape))
        else:
            shape = h.shape
            h = h.reshape(h.shape[0], -1)
            tape.append(lambda g, _grads, shape=shape: g.reshape(shape))
        logits, cache = ops.dense_forward(h, params["dense.w"], params["dense.b"])
        tape.append(self._dense_back(cache, params["dense.w"]))
        return logits, tape, (new_state if train else dict(state))

    @staticmethod
    def _dense_back(cache, w):
        def back(g, grads):
            dx, grads["dense.w"], grads["dense.b"] = ops.dense_backward(g, cache, w)
            return dx
        return back

    def _block(self, i, params, state, h, train, wq, aq, tape):
        name = f"conv{i}"
        w = params[f"{name}.w"]
        if i > 0 and aq is not None:
            h, avjp = aq(name, h)
            tape.append(_hook_back(avjp))
        wvjp = None
        if i > 0 and wq is not None:
            w, wvjp = wq(name, w)
        (kh, kw), pad = self._geometry(i)
        w4 = np.asarray(w).reshape(w.shape[0], w.shape[1], kh, kw)
        h, cache = _conv.conv_forward(h, w4, params.get(f"{name}.b"), self.stride, pad, self.backend)
        tape.append(self._conv_back(i, cache, w.shape, wvjp))
        h = self._bn_relu(i, params, state, h, train, tape)
        if self.pool and i < len(self.channels) - 1:
            h, pcache = _conv.pool_forward(h, (1, 2) if self.dims == 1 else (2, 2), self.pool)
            tape.append(lambda g, _grads, pcache=pcache: _conv.pool_backward(g, pcache))
        return h

    def _bn_relu(self, i, params, state, h, train, tape):
        if self.batch_norm:
            # numba: one fused BN + ReLU op; numpy: the two reference ops
            fused = self.backend == "numba"
            forward, backward = (_bn_numba.bn_relu_forward, _bn_numba.bn_relu_backward) if fused else (
                ops.bn_forward, ops.bn_backward)
            h, bcache, (state[f"bn{i}.mean"], state[f"bn{i}.var"]) = forward(
                h, params[f"bn{i}.gamma"], params[f"bn{i}.beta"], state[f"bn{i}.mean"], state[f"bn{i}.var"],
                train=train)
            tape.append(_bn_back(i, bcache, backward))
            if fused:
                return h
        h, mask = ops.relu_forward(h)
        tape.append(lambda g, _grads, mask=mask: ops.relu_backward(g, mask))
        return h

    def _conv_back(self, i, cache, w_shape, wvjp):
        name = f"conv{i}"

        def back(g, grads):
            dx, dw, db = _conv.conv_backward(g, cache, need_dx=i > 0)
            dw = dw.reshape(w_shape)
            if wvjp is not None:
                dw, extra = wvjp(dw)
                _merge(grads, extra)
            grads[f"{name}.w"] = dw
            if not self.batch_norm:
                grads[f"{name}.b"] = db
            return dx
        return back

    def backward(self, tape, dlogits):
        """Gradients of the loss w.r.t. every parameter (and every hook parameter), given ∂L/∂logits."""
        grads, g = {}, np.asarray(dlogits, dtype=np.float64)
        for back in reversed(tape):
            g = back(g, grads)
            if g is None:
                break
        return grads


def _bn_back(i, cache, backward):
    def back(g, grads):
        dx, grads[f"bn{i}.gamma"], grads[f"bn{i}.beta"] = backward(g, cache)
        return dx
    return back


def _hook_back(vjp):
    def back(g, grads):
        gx, extra = vjp(g)
        _merge(grads, extra)
        return gx
    return back


def _merge(grads, extra):
    for k, v in (extra or {}).items():
        grads[k] = grads[k] + v if k in grads else np.asarray(v, dtype=np.float64)


def CNN1d(in_shape, channels, kernel=5, n_classes=10, **options) -> CNN:  # noqa: N802 - a constructor
    """A 1-D :class:`CNN` (``in_shape = (C, L)``), e.g. ``CNN1d((1, 40), (32, 32, 32), 5, 10)`` for MNIST-1D."""
    if len(in_shape) != 2:
        raise ValueError(f"CNN1d needs in_shape=(C, L); got {in_shape!r}")
    return CNN(tuple(in_shape), tuple(channels), kernel, n_classes, **options)


def CNN2d(in_shape, channels, kernel=3, n_classes=10, **options) -> CNN:  # noqa: N802 - a constructor
    """A 2-D :class:`CNN` (``in_shape = (C, H, W)``), e.g. ``CNN2d((1, 28, 28), (16, 32, 32), 3, 10)``."""
    if len(in_shape) != 3:
        raise ValueError(f"CNN2d needs in_shape=(C, H, W); got {in_shape!r}")
    return CNN(tuple(in_shape), tuple(channels), kernel, n_classes, **options)
