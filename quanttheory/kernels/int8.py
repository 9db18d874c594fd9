r"""int8 GEMM by SDOT (``kernels/qt_sdot.c``) and the C activation packers (``kernels/qt_pack.c``).

The SDOT kernel is both the int8 baseline the low-bit kernels are measured against and the
exact path for byte codes: 2–4-bit narrow codes (no flush logic: int32 lanes), codebook
indices decoded once into int8 levels (:func:`decode_rows`), and the bit-serial GEMM when
``bits_a·bits_w ≥ 6`` (:func:`quanttheory.kernels.uniform_matmul`). On an AArch64 machine
without the dot-product extension the scalar twin runs instead (:func:`dotprod_available`).
"""

from __future__ import annotations

import numpy as np

from ._lib import INT32_MAX, _check, _fn, _lib, _ptr
from .packing import check_int, padded_bytes


def dotprod_available() -> bool:
    """Whether SDOT runs natively (AArch64 with asimddp) or emulated (SIMDe); else the twin."""
    return bool(_lib().qt_has_dotprod())


def _kp(k: int) -> int:
    return -(-k // 16) * 16


def pad_rows(codes) -> np.ndarray:
    """int8 rows (rows, K) copied into zero-padded rows of ``ceil(K/16)·16`` bytes (C)."""
    x = _check(codes, "codes", np.int8, 2)
    out = np.empty((x.shape[0], _kp(x.shape[1])), dtype=np.int8)
    _lib().qt_pad_rows(_ptr(x), x.shape[0], x.shape[1], out.shape[1], _ptr(out))
    return out


def decode_rows(indices, table) -> np.ndarray:
    """Codebook indices (uint8, (rows, K), each < len(table)) decoded by TBL into int8 levels,
    zero-padded rows of ``ceil(K/16)·16`` bytes (C)."""
    x, t = _check(indices, "indices", np.uint8, 2), _check(table, "table", np.int8, 1)
    if t.size > 16 or x.max() >= t.size:
        raise ValueError(f"table must have 1..16 levels and indices < len(table); got {t.size} levels, "
                         f"max index {x.max()}")
    t16 = np.zeros(16, np.int8)
    t16[:t.size] = t
    out = np.empty((x.shape[0], _kp(x.shape[1])), dtype=np.int8)
    _lib().qt_decode_rows(_ptr(x), x.shape[0], x.shape[1], out.shape[1], _ptr(t16), _ptr(out))
    return out


def _check_int32_bound(a: np.ndarray, w: np.ndarray) -> None:
    """Every partial sum of a row pair is bounded by Σ_k |a_k|·max|w| (and symmetrically): if
    that fits int32, no int32 lane or total can overflow, whatever the order (zero padding
    contributes nothing; K·128² ≤ 2^31 − 1, i.e. K ≤ 131071, always passes)."""
    aa, aw = np.abs(a.astype(np.int64)), np.abs(w.astype(np.int64))
    bound = min(int(aa.sum(axis=1).max()) * int(aw.max()), int(aw.sum(axis=1).max()) * int(aa.max()))
    if bound > INT32_MAX:
        raise ValueError(f"int8 operands too large for int32 accumulation: max_m Σ_k|a_mk|·max|w| = {bound} "
                         f"> {INT32_MAX} (K <= 131071 always fits); split K")


def int8_gemm(a, w, *, scalar: bool = False) -> np.ndarray:
    r"""Exact int8 GEMM :math:`\sum_k a_{mk} w_{nk}` by SDOT into int32 lanes.

    Parameters
    ----------
    a, w : ndarray of int8, shapes (M, K), (N, K)
        Rows are zero-padded to a multiple of 16 bytes here unless they already are
        (:func:`pad_rows`, :func:`decode_rows` output).
    scalar : bool
        Run the plain-C twin.

    Returns
    -------
    out : ndarray of int32, shape (M, N)
    """
    a, w = _check(a, "a", np.int8, 2), _check(w, "w", np.int8, 2)
    if a.shape[1] != w.shape[1]:
        raise ValueError(f"a and w need the same K; got a.shape={a.shape}, w.shape={w.shape}")
    _check_int32_bound(a, w)
    if a.shape[1] % 16:
        a, w = pad_rows(a), pad_rows(w)
    out = np.zeros((a.shape[0], w.shape[0]), dtype=np.int32)
    fn = _fn("sdot_gemm", scalar or not dotprod_available())
    fn(_ptr(a), _ptr(w), a.shape[0], w.shape[0], a.shape[1], _ptr(out))
    return out


def pack_signs_c(x) -> np.ndarray:
    """C (NEON) twin of :func:`quanttheory.packing.pack_signs` for int8 input: bit 1 where x < 0."""
    x = _check(x, "x", np.int8, 2)
    out = np.empty((x.shape[0], padded_bytes(x.shape[1])), dtype=np.uint8)
    _lib().qt_pack_signs(_ptr(x), x.shape[0], x.shape[1], out.shape[1], _ptr(out))
    return out


def pack_bitplanes_c(codes, bits: int) -> np.ndarray:
    """C (NEON) twin of :func:`quanttheory.packing.pack_bitplanes` for uint8 codes < 2**bits."""
    x = _check(codes, "codes", np.uint8, 2)
    bits = check_int(bits, "bits", 1)
    if bits > 8 or x.max() >= 2**bits:
        raise ValueError(f"codes must lie in [0, 2**bits) with bits in 1..8; got bits={bits}, max {x.max()}")
    out = np.empty((bits, x.shape[0], padded_bytes(x.shape[1])), dtype=np.uint8)
    _lib().qt_pack_planes(_ptr(x), x.shape[0], x.shape[1], out.shape[2], bits, _ptr(out))
    return out
