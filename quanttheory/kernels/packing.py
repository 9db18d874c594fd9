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


def check_int(value, name: str, low: int | None = None) -> int:
    """``value`` as an ``int``; floats, bools and strings raise (``k=130.9`` must not run as 130)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer; got {name}={value!r} ({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}; got {name}={value}")
    return int(value)


def padded_bytes(k: int) -> int:
    """Bytes per packed row for ``k`` bits: ``ceil(k / 128) * 16`` (at least 16)."""
    k = check_int(k, "k", 1)
    return -(-k // ROW_BITS) * (ROW_BITS // 8)


def padding_violation(packed: np.ndarray, k: int) -> int | None:
    """First row of ``packed`` (uint8, (..., rows, padded_bytes(k))) with a non-zero padding
    bit (a bit at position >= k), or ``None``. The kernels count padding bits, so such rows
    give wrong results (e.g. rows packed for K=130 read with k=129)."""
    mask = np.zeros(packed.shape[-1], dtype=np.uint8)
    mask[k // 8:] = 0xFF
    if k % 8:
        mask[k // 8] = (0xFF << (k % 8)) & 0xFF
    bad = np.any(packed.reshape(-1, packed.shape[-1]) & mask, axis=1)
    return int(np.argmax(bad)) % packed.shape[-2] if bad.any() else None


def _as_bytes(packed, name: str, ndim: int) -> np.ndarray:
    """``packed`` as uint8 without wrapping: integer values outside 0..255 (e.g. -1) raise."""
    arr = np.asarray(packed)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of bytes; got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"{name} must hold bytes in [0, 255]; got range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.uint8)


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
    p = _as_bytes(packed, "packed", 2)
    if p.shape[1] != padded_bytes(k):
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
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 8:
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
    p = _as_bytes(planes, "planes", 3)
    if p.shape[2] != padded_bytes(k):
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
