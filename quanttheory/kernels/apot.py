r"""APoT shift-add GEMM (``kernels/qt_shiftadd.c``): the multiplier-free form of APoT products.

APoT levels (Li, Dong, Wang, ICLR 2020, Eq. 5, §2) are sums of powers of two, so on the
integer grid of :func:`quanttheory.kernels.codebook_grid` every level is
:math:`\pm(2^{e_1} + 2^{e_2})` (one or both terms may be absent) and a product with an
activation code is two shifts and an add. :func:`shift_pack` turns codebook indices into that
form (once, at packing); :func:`shiftadd_gemm` multiplies. The result equals
:func:`quanttheory.kernels.codebook_gemm` with the same table exactly.
"""

from __future__ import annotations

import numpy as np

from ._lib import _check, _check_k_limit, _fn, _ptr
from .packing import check_int

ABSENT = -16  # SSHL by -16 zeroes a non-negative int16 lane


def shift_decompose(table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per level: (e1, e2, sign mask) with level = (−1 if mask else 1)·(2^e1 + 2^e2), e = −16
    for an absent term. Raises naming the first level that is not a sum of ≤ 2 powers of two."""
    t = _check(np.ascontiguousarray(table), "table", np.int8, 1).astype(np.int64)
    e1, e2 = np.full(t.size, ABSENT, np.int16), np.full(t.size, ABSENT, np.int16)
    for i, v in enumerate(np.abs(t)):
        bits = [b for b in range(8) if (int(v) >> b) & 1]
        if len(bits) > 2:
            raise ValueError(f"table[{i}] = {t[i]} is not a sum of at most two powers of two (APoT levels are)")
        for j, b in enumerate(bits):
            (e1, e2)[j][i] = b
    return e1, e2, np.where(t < 0, -1, 0).astype(np.int16)


def shift_pack(w_idx, table) -> dict:
    """Weights (N, K) of codebook indices → int16 (e1, e2, sign) rows and ``negc`` (C layout)."""
    w = _check(w_idx, "w_idx", np.uint8, 2)
    e1, e2, sg = shift_decompose(table)
    if w.max() >= e1.size:
        raise ValueError(f"indices must be < len(table) = {e1.size}; got max index {w.max()}")
    kv = w.shape[1] - w.shape[1] % 8
    packed = {"e1": e1[w], "e2": e2[w], "sg": sg[w], "table": np.asarray(table, np.int8)}
    packed["negc"] = (packed["sg"][:, :kv] != 0).sum(axis=1).astype(np.int32)
    return packed


def shiftadd_gemm(a, packed: dict, *, bits_a: int = 4, scalar: bool = False) -> np.ndarray:
    r""":math:`\sum_k a_{mk}\,T[w_{nk}]` by shifts and adds (no multiply).

    Parameters
    ----------
    a : ndarray of uint8, shape (M, K)
        Unsigned activation codes < 2**bits_a.
    packed : dict
        :func:`shift_pack` output for weights of shape (N, K).
    bits_a : int
        1–8; with the largest |level|, every single product must fit an int16 lane.

    Returns
    -------
    out : ndarray of int32, shape (M, N)
    """
    a = _check(a, "a", np.uint8, 2)
    bits_a = check_int(bits_a, "bits_a", 1)
    e1, e2, sg, negc = (np.ascontiguousarray(packed[k]) for k in ("e1", "e2", "sg", "negc"))
    if e1.shape[1] != a.shape[1] or bits_a > 8 or a.max() >= 2**bits_a:
        raise ValueError(f"a must be (M, K={e1.shape[1]}) codes < 2**bits_a (bits_a <= 8); got shape {a.shape}, "
                         f"max {a.max()}, bits_a={bits_a}")
    wmax = int(np.abs(packed["table"].astype(np.int64)).max())
    if (2**bits_a - 1) * wmax > 32767:
        raise ValueError(f"(2**bits_a - 1) * max|level| = {(2**bits_a - 1) * wmax} exceeds an int16 lane")
    _check_k_limit(a.shape[1], max((2**bits_a - 1) * wmax, 1), "these shift-add operands")
    out = np.zeros((a.shape[0], e1.shape[0]), np.int32)
    fn = _fn("shiftadd_gemm", scalar)
    fn(_ptr(a), _ptr(e1), _ptr(e2), _ptr(sg), _ptr(negc), a.shape[0], e1.shape[0], a.shape[1], _ptr(out))
    return out

