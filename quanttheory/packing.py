r"""Bit layouts of the GEMM kernels (the one definition; :mod:`quanttheory.kernels` and the C
sources in ``kernels/`` follow it).

Binary (±1) rows
    Bit k of a row is bit ``k % 8`` (LSB first) of byte ``k // 8``; bit 1 encodes −1 and bit 0
    encodes +1 (so ``x < 0`` is the bit). Rows are padded to a multiple of 128 bits with 0 bits
    in *both* operands, so padding adds nothing to ``popcount(a ^ w)`` and
    ``dot = K − 2·popcount(a ^ w)`` (XNOR-Net, Rastegari et al. ECCV 2016 §3.2; the binary
    operands of BinaryConnect, Courbariaux et al. NeurIPS 2015).

Bit-serial (unsigned b-bit codes)
    Plane-major: ``planes[i, r]`` is the binary row of bit ``i`` of the codes of row ``r``,
    same bit order and padding, shape ``(bits, rows, kb)``. Then
    :math:`\sum_k a_k w_k = \sum_{i,j} 2^{i+j}\,\mathrm{popcount}(a_i \wedge w_j)`
    (Umuroglu et al. "Streamlined deployment ... bit-serial matrix multiplication", 2017).

Byte codes (narrow and codebook kernels) need no packing: one code per byte, ``(rows, K)``.
"""

from __future__ import annotations

import numpy as np

#: Rows are padded to this many bits (one 128-bit NEON register).
ROW_BITS = 128


def padded_bytes(k: int) -> int:
    """Bytes per packed row for ``k`` bits: ``ceil(k / 128) * 16`` (at least 16)."""
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1; got k={k}")
    return -(-k // ROW_BITS) * (ROW_BITS // 8)


def _as_2d(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (rows, K) with K >= 1; got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real integer or float array; got dtype {arr.dtype}")
    return arr


def _pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a bool (rows, K) array LSB-first and zero-pad each row to ``padded_bytes(K)``."""
    rows, k = bits.shape
    out = np.zeros((rows, padded_bytes(k)), dtype=np.uint8)
    out[:, : -(-k // 8)] = np.packbits(bits, axis=1, bitorder="little")
    return out


def pack_signs(x) -> np.ndarray:
    """Pack a ±1 matrix into binary rows (bit 1 ⇔ −1).

    Parameters
    ----------
    x : array_like, shape (rows, K)
        Values in {−1, +1} exactly (e.g. :func:`quanttheory.quantizers.binarize` output).

    Returns
    -------
    packed : ndarray of uint8, shape (rows, padded_bytes(K))

    Examples
    --------
    >>> pack_signs([[-1, 1, 1, -1, 1, 1, 1, 1, -1]])[0, :2]
    array([  9,   1], dtype=uint8)
    """
    arr = _as_2d(x, "x")
    bad = (arr != 1) & (arr != -1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(map(str, idx))
        raise ValueError(f"x must contain only -1 and +1; got x[{where}]={arr[idx].item()!r}")
    return _pack_bits(arr < 0)


def unpack_signs(packed, k: int) -> np.ndarray:
    """Inverse of :func:`pack_signs`: int8 (rows, k) in {−1, +1}."""
    p = np.asarray(packed, dtype=np.uint8)
    if p.ndim != 2 or p.shape[1] != padded_bytes(k):
        raise ValueError(f"packed must have shape (rows, {padded_bytes(k)}) for k={k}; got {p.shape}")
    bits = np.unpackbits(p, axis=1, count=k, bitorder="little")
    return (1 - 2 * bits.astype(np.int8)).astype(np.int8)


def pack_bitplanes(codes, bits: int) -> np.ndarray:
    """Pack unsigned ``bits``-bit codes into bit planes, plane-major.

    Parameters
    ----------
    codes : array_like of int, shape (rows, K)
        Integers in ``[0, 2**bits)``.
    bits : int
        1–8.

    Returns
    -------
    planes : ndarray of uint8, shape (bits, rows, padded_bytes(K))

    Examples
    --------
    >>> pack_bitplanes([[3, 1, 2]], 2)[:, 0, 0]
    array([3, 5], dtype=uint8)
    """
    arr = _as_2d(codes, "codes")
    if not isinstance(bits, int | np.integer) or not 1 <= bits <= 8:
        raise ValueError(f"bits must be an integer in 1..8; got bits={bits!r}")
    if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
        raise ValueError("codes must be integers; got non-integer floats")
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi >= 2**bits:
        raise ValueError(f"codes must lie in [0, {2**bits - 1}] for bits={bits}; got range [{lo}, {hi}]")
    u = arr.astype(np.uint8)
    return np.stack([_pack_bits((u >> i) & 1 == 1) for i in range(bits)])


def unpack_bitplanes(planes, k: int) -> np.ndarray:
    """Inverse of :func:`pack_bitplanes`: int64 codes of shape (rows, k)."""
    p = np.asarray(planes, dtype=np.uint8)
    if p.ndim != 3 or p.shape[2] != padded_bytes(k):
        raise ValueError(f"planes must have shape (bits, rows, {padded_bytes(k)}) for k={k}; got {p.shape}")
    out = np.zeros(p.shape[1:2] + (k,), dtype=np.int64)
    for i in range(p.shape[0]):
        out |= np.unpackbits(p[i], axis=1, count=k, bitorder="little").astype(np.int64) << i
    return out


def level_indices(q, levels) -> np.ndarray:
    """Index of each quantized value in a sorted level set: the integer code of ``q``.

    Parameters
    ----------
    q : array_like of float, shape (...)
        Output of a quantizer whose level set is ``levels`` (e.g. ``alpha * apot_levels(...)``).
    levels : array_like of float, shape (L,)
        Sorted, strictly increasing.

    Returns
    -------
    idx : ndarray of int64, shape (...)
        ``levels[idx]`` equals ``q`` to within 4 ulp of the largest level (the quantizers and
        the level formulas may round the same value differently by an ulp); anything farther
        from every level raises ``ValueError``.
    """
    lv = np.asarray(levels, dtype=np.float64)
    x = np.asarray(q, dtype=np.float64)
    if lv.ndim != 1 or lv.size < 1 or np.any(np.diff(lv) <= 0) or not np.all(np.isfinite(lv)):
        raise ValueError(f"levels must be 1-D, finite and strictly increasing; got {levels!r}")
    if x.size == 0:
        return np.zeros(x.shape, dtype=np.int64)
    mids = (lv[1:] + lv[:-1]) / 2.0
    idx = np.searchsorted(mids, x)
    err = np.abs(lv[idx] - x)
    tol = 4 * np.spacing(np.abs(lv).max())
    if np.any(err > tol) or not np.all(np.isfinite(x)):
        bad = np.unravel_index(np.argmax(np.where(np.isfinite(err), err, np.inf)), x.shape)
        raise ValueError(f"q{list(bad)}={x[bad]!r} is not one of the levels {lv.tolist()}")
    return idx.astype(np.int64)
