r"""Deploying a trained quantized MLP on the integer kernels, bit-exactly.

From quantizer output to integer codes (:func:`uniform_codes`, :func:`int8_codes`), then an
integer pipeline whose every GEMM runs on :mod:`quanttheory.kernels` or, with
``backend="numpy"``, as the int64 numpy reference of the same integers. Both backends give
equal integer accumulators, hence equal logits and predictions (tests/kernels/test_deploy.py).

Two models:

* :class:`BinaryMLP` — ``relu(x B/√d) V + c`` with B ∈ {±1}^{d×H} (:mod:`quanttheory.nn.mlp`).
  Inputs are float, so the deployed first layer quantizes x to symmetric int8 codes (one scale
  per batch row) and runs int8 × (±1) on the SDOT kernel; the float head stays float (as in
  Larq Compute Engine, whose first layer is not binarized either).
* :class:`QATMLP` — :mod:`quanttheory.nn.qat` with ``method="uniform"``: layer 1 (float input)
  and the head stay float as in training; layer 2 multiplies the unsigned activation codes of
  â₁ by the signed weight codes of Ŵ₂ exactly (:func:`quanttheory.kernels.uniform_matmul`:
  bit-serial below 6 bit-products, SDOT above), then dequantizes with Δ_a·Δ_w.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..quantizers.uniform import uniform_levels
from .int8 import int8_gemm
from .lowbit import uniform_matmul
from .packing import level_indices

BACKENDS = ("kernels", "numpy")


def uniform_codes(q, *, alpha: float, bits: int, signed: bool) -> tuple[np.ndarray, float]:
    """Integer codes of a :func:`quanttheory.quantizers.uniform` output: ``q = Δ·codes``.

    Returns
    -------
    codes : ndarray of int64
        In [−m, m] (signed, m = 2^(b−1) − 1) or [0, m] (unsigned, m = 2^b − 1).
    delta : float
        ``alpha / m``.
    """
    levels = uniform_levels(bits, signed=signed)
    m = (levels.size - 1) // 2 if signed else levels.size - 1
    idx = level_indices(q, alpha * levels)  # raises if q is not on the grid
    return idx - (m if signed else 0), float(alpha) / m


def int8_codes(x) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 codes of float activations: ``x ≈ scale[:, None] · codes``.

    ``scale = max|x_row| / 127`` (1 for an all-zero row); codes = round-half-even(x / scale).
    """
    x = np.asarray(x, dtype=np.float64)
    amax = np.abs(x).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    return np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8), scale


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")


@dataclass(frozen=True)
class BinaryMLP:
    """A trained binary-first-layer MLP: ``weights`` (d, H) in {±1}, float ``head`` (H, C), ``bias`` (C,)."""

    weights: np.ndarray
    head: np.ndarray
    bias: np.ndarray

    def __post_init__(self):
        w = np.asarray(self.weights)
        if w.ndim != 2 or not np.all(np.abs(w) == 1):
            raise ValueError(f"weights must be a (d, H) matrix of ±1; got shape {w.shape}")

    def accumulators(self, x, backend: str = "kernels") -> tuple[np.ndarray, np.ndarray]:
        """int32 ``codes(x) @ B`` (n, H) and the per-row input scales."""
        _check_backend(backend)
        codes, scale = int8_codes(x)
        wt = np.ascontiguousarray(np.asarray(self.weights).T.astype(np.int8))  # (H, d) rows = outputs
        if backend == "numpy":
            return (codes.astype(np.int64) @ wt.T.astype(np.int64)).astype(np.int32), scale
        return int8_gemm(np.ascontiguousarray(codes), wt), scale

    def logits(self, x, backend: str = "kernels") -> np.ndarray:
        acc, scale = self.accumulators(x, backend)
        pre = acc * (scale[:, None] / np.sqrt(np.asarray(x).shape[1]))
        return np.maximum(pre, 0.0) @ self.head + self.bias

    def predict(self, x, backend: str = "kernels") -> np.ndarray:
        return np.argmax(self.logits(x, backend), axis=1)


@dataclass(frozen=True)
class QATMLP:
    """A :class:`quanttheory.nn.qat.MLP` fine-tuned with the ``"uniform"`` recipe.

    ``model``, ``params`` and ``quant`` (the :class:`quanttheory.nn.recipes.Quantizers` of the
    run). The quantized layer ``fc1`` (uniform weights and input activations) runs on the
    integer kernels; the float first layer ``fc0`` and the float head run in numpy, as trained.
    """

    model: Any
    params: dict
    quant: Any

    def __post_init__(self):
        recipe = getattr(self.quant, "recipe", None)
        if getattr(recipe, "weights", None) != "uniform" or getattr(recipe, "acts", None) != "uniform":
            raise ValueError(f"only the 'uniform' QAT recipe deploys on integer kernels; got "
                             f"{getattr(recipe, 'key', recipe)!r}")
        if tuple(self.model.quantized_layers) != ("fc1",):
            raise ValueError(f"deploy expects one quantized layer fc1 (sizes of length 4); got "
                             f"sizes={self.model.sizes!r}")

    @property
    def bits(self) -> int:
        return int(self.quant.bits)

    def _site(self, site):
        return self.quant.site_params(self.params, site)

    def layer2_codes(self, x):
        """(activation codes of fc1's input (n, H1), Δ_a, weight codes of fc1 (H2, H1), Δ_w)."""
        from ..nn import layers

        p, bits = self.params, self.bits
        a = np.maximum(np.asarray(x).reshape(len(x), -1) @ p["fc0.w"] + p["fc0.b"], 0.0)
        pa, pw = self._site("fc1.a"), self._site("fc1.w")
        qa = layers.quantize("uniform", bits, a, pa, signed=False, mode="eval")
        qw = layers.quantize("uniform", bits, p["fc1.w"], pw, signed=True, mode="eval")
        ca, da = uniform_codes(qa, alpha=pa["alpha"], bits=bits, signed=False)
        cw, dw = uniform_codes(qw, alpha=pw["alpha"], bits=bits, signed=True)
        return ca, da, np.ascontiguousarray(cw.T), dw

    def accumulators(self, x, backend: str = "kernels") -> np.ndarray:
        """int64 ``Σ_k a_codes · w_codes`` of fc1, shape (n, H2)."""
        _check_backend(backend)
        ca, _, cw, _ = self.layer2_codes(x)
        if backend == "numpy":
            return ca @ cw.T
        m = 2 ** (self.bits - 1) - 1  # signed codes stored unsigned: u = c + m, zero point m
        return uniform_matmul(ca, cw + m, bits_a=self.bits, bits_w=self.bits, zero_w=m)

    def logits(self, x, backend: str = "kernels") -> np.ndarray:
        acc = self.accumulators(x, backend)
        _, da, _, dw = self.layer2_codes(x)
        h = np.maximum(da * dw * acc + self.params["fc1.b"], 0.0)
        return h @ self.params["fc2.w"] + self.params["fc2.b"]

    def predict(self, x, backend: str = "kernels") -> np.ndarray:
        return np.argmax(self.logits(x, backend), axis=1)


def deploy(model):
    """A deployed model from a trained one.

    Parameters
    ----------
    model : BinaryMLP, QATMLP, tuple (weights, head, bias) or tuple (qat.MLP, params, Quantizers)

    Returns
    -------
    BinaryMLP or QATMLP
        With ``accumulators(x, backend)``, ``logits(x, backend)``, ``predict(x, backend)``;
        ``backend="kernels"`` (default) or ``"numpy"`` (the int64 reference).
    """
    if isinstance(model, BinaryMLP | QATMLP):
        return model
    if isinstance(model, tuple) and len(model) == 3 and hasattr(model[0], "quantized_layers"):
        return QATMLP(*model)
    if isinstance(model, tuple) and len(model) == 3:
        return BinaryMLP(*(np.asarray(m) for m in model))
    raise TypeError(f"model must be a BinaryMLP, a QATMLP, (weights, head, bias) or "
                    f"(qat.MLP, params, Quantizers); got {type(model).__name__}")
