r"""Binary ±1 GEMM (``kernels/qt_binary.c``: 8×4 tiles, ADDP/UADALP reduction, fused output).

Three outputs of the same popcount core, :math:`\mathrm{dot}_{mn} = K - 2\,\mathrm{popcount}(a_m \oplus w_n)`:

* :func:`binary_gemm` — int32 ``dot``;
* :func:`binary_gemm_float` — ``clamp(scale[n]·dot + bias[n], lo, hi)`` in float32 (multiply,
  then add, each rounded: never fused), e.g. a folded batch norm;
* :func:`binary_gemm_bits` — the next binary layer's packed activations: bit (m, n) = 1 (−1)
  iff ``sign[n]·dot < thr[n]``; :func:`sign_thresholds` derives (sign, thr) exactly from a
  per-channel affine map, so ``sign(scale·dot + bias)`` needs no float at run time.
"""

from __future__ import annotations

import ctypes
import math
from fractions import Fraction

import numpy as np

from ._lib import INT32_MAX, _check, _check_padding, _fn, _ptr
from .packing import check_int, padded_bytes

_P = ctypes.c_void_p


class _BinOut(ctypes.Structure):
    """Mirror of ``qt_bin_out`` in kernels/qt_kernels.h."""

    _fields_ = [("N", ctypes.c_int64), ("K", ctypes.c_int64), ("mode", ctypes.c_int64), ("ob", ctypes.c_int64),
                ("out", _P), ("outf", _P), ("outb", _P), ("scale", _P), ("bias", _P),
                ("lo", ctypes.c_float), ("hi", ctypes.c_float), ("sign", _P), ("thr", _P)]


def _operands(a, w, k) -> tuple[np.ndarray, np.ndarray, int]:
    a, w = _check(a, "a", np.uint8, 2), _check(w, "w", np.uint8, 2)
    k = check_int(k, "k")
    if not 1 <= k <= INT32_MAX or a.shape[1] != padded_bytes(k) or w.shape[1] != a.shape[1]:
        raise ValueError(f"a and w must have padded_bytes(k) columns with 1 <= k <= {INT32_MAX}; "
                         f"got k={k}, a.shape={a.shape}, w.shape={w.shape}")
    _check_padding(a, "a", k)
    _check_padding(w, "w", k)
    return a, w, k


def _per_channel(x, name: str, n: int, dtype) -> np.ndarray:
    """A length-n vector (scalars broadcast), padded with zeros to a multiple of 4 entries
    (the C epilogue loads 4 channels at a time)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf" or arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
        raise ValueError(f"{name} must be a real scalar or a vector of N={n} entries; got shape {arr.shape}, "
                         f"dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr!r}")
    out = np.zeros(-(-n // 4) * 4, dtype=dtype)
    out[:n] = np.broadcast_to(arr, (n,)).astype(dtype)
    return out


def _run(a, w, k, mode: int, scalar: bool, **fields) -> None:
    p = _BinOut(N=w.shape[0], K=k, mode=mode, **fields)
    _fn("bgemm", scalar)(_ptr(a), _ptr(w), a.shape[0], a.shape[1], ctypes.byref(p))


def binary_gemm(a, w, k: int, *, scalar: bool = False) -> np.ndarray:
    r"""Binary ±1 GEMM by xor-popcount: :math:`\mathrm{out}_{mn} = K - 2\,\mathrm{popcount}(a_m \oplus w_n)`.

    Parameters
    ----------
    a : ndarray of uint8, shape (M, kb)
        :func:`quanttheory.packing.pack_signs` rows (kb = padded_bytes(k)); padding bits
        (positions >= k) must be 0 (checked, naming the offending row).
    w : ndarray of uint8, shape (N, kb)
    k : int
        The unpadded K, 1 ≤ K ≤ 2^31 − 1 (an ``int``: a float such as 130.9 is rejected).
    scalar : bool
        Run the plain-C twin.

    Returns
    -------
    out : ndarray of int32, shape (M, N)
        :math:`\sum_k a_{mk} w_{nk}` of the ±1 operands.
    """
    a, w, k = _operands(a, w, k)
    out = np.zeros((a.shape[0], w.shape[0]), dtype=np.int32)
    _run(a, w, k, 0, scalar, out=_ptr(out))
    return out


def binary_gemm_float(a, w, k: int, scale, bias, *, lo: float = -np.inf, hi: float = np.inf,
                      scalar: bool = False) -> np.ndarray:
    r"""``clamp(scale[n]·dot[m, n] + bias[n], lo, hi)`` in float32, fused into the GEMM.

    Parameters
    ----------
    a, w, k
        As in :func:`binary_gemm`.
    scale, bias : float or array_like, shape (N,)
        Per output channel, finite (float32).
    lo, hi : float
        Clamp bounds, ``lo <= hi`` (±inf allowed: no clamp).

    Returns
    -------
    out : ndarray of float32, shape (M, N)
        Bit-for-bit equal to ``np.clip(np.float32(dot) * scale + bias, lo, hi)`` in float32.
    """
    a, w, k = _operands(a, w, k)
    n = w.shape[0]
    sc, bi = _per_channel(scale, "scale", n, np.float32), _per_channel(bias, "bias", n, np.float32)
    if not (isinstance(lo, int | float) and isinstance(hi, int | float)) or np.isnan(lo) or np.isnan(hi) \
            or lo > hi:
        raise ValueError(f"lo and hi must be numbers with lo <= hi; got lo={lo!r}, hi={hi!r}")
    out = np.zeros((a.shape[0], n), dtype=np.float32)
    _run(a, w, k, 1, scalar, outf=_ptr(out), scale=_ptr(sc), bias=_ptr(bi), lo=lo, hi=hi)
    return out


def sign_thresholds(scale, bias) -> tuple[np.ndarray, np.ndarray]:
    """Exact integer form of ``scale·dot + bias < 0`` (real arithmetic, integer ``dot``).

    With t = −bias/|scale|: scale > 0 gives dot < t, scale < 0 gives −dot < t, and an integer
    x satisfies x < t iff x < ceil(t); so sign = sign(scale), thr = ceil(t), computed with
    exact rationals (no float rounding at the threshold). scale = 0 is the constant
    ``bias < 0``: sign 0, thr 1 (always) or 0 (never). thr is clipped to ±(2^31 − 1), which
    |dot| ≤ K never reaches.

    Returns
    -------
    sign : ndarray of int32, shape (N,), in {−1, 0, +1}
    thr : ndarray of int32, shape (N,)
    """
    s = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    b = np.broadcast_to(np.asarray(bias, dtype=np.float64), s.shape)
    if s.ndim != 1 or not (np.all(np.isfinite(s)) and np.all(np.isfinite(b))):
        raise ValueError(f"scale and bias must be finite 1-D per-channel values; got {scale!r}, {bias!r}")
    thr = [math.ceil(Fraction(-float(bi)) / Fraction(abs(float(si)))) if si != 0 else int(bi < 0)
           for si, bi in zip(s, b, strict=True)]
    return np.sign(s).astype(np.int32), np.clip(thr, -INT32_MAX, INT32_MAX).astype(np.int32)


def binary_gemm_bits(a, w, k: int, thr, sign=1, *, scalar: bool = False) -> np.ndarray:
    r"""Bit-packed output: bit (m, n) = 1 (the value −1) iff ``sign[n]·dot[m, n] < thr[n]``.

    Parameters
    ----------
    a, w, k
        As in :func:`binary_gemm`.
    thr : int or array_like of int, shape (N,)
    sign : int or array_like of int in {−1, 0, 1}, shape (N,)

    Returns
    -------
    packed : ndarray of uint8, shape (M, padded_bytes(N))
        Rows in the :func:`quanttheory.packing.pack_signs` layout (padding bits 0): the
        activations of a next binary layer with K = N.
    """
    a, w, k = _operands(a, w, k)
    n = w.shape[0]
    for name, v in (("thr", thr), ("sign", sign)):
        arr = np.asarray(v)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integers; got dtype {arr.dtype}")
    if np.any(np.abs(np.asarray(sign)) > 1) or np.any(np.abs(np.asarray(thr, dtype=np.int64)) > INT32_MAX):
        raise ValueError(f"sign must lie in {{-1, 0, 1}} and |thr| <= {INT32_MAX}")
    th, sg = _per_channel(thr, "thr", n, np.int32), _per_channel(sign, "sign", n, np.int32)
    out = np.zeros((a.shape[0], padded_bytes(n)), dtype=np.uint8)
    _run(a, w, k, 2, scalar, outb=_ptr(out), ob=out.shape[1], sign=_ptr(sg), thr=_ptr(th))
    return out
