r"""Low-bit GEMMs of integer codes: bit-serial (and-popcount), narrow-accumulation (DSQ-style
int8/int16 lanes) and codebook (TBL decode, or decode once + SDOT). See :mod:`quanttheory.kernels`.
"""

from __future__ import annotations

import numpy as np

from ._lib import _LANE_MAX, _check, _check_bits, _check_k_limit, _check_padding, _fn, _out, _ptr
from .packing import check_int, padded_bytes


def bitserial_gemm(a, w, k: int | None = None, *, scalar: bool = False) -> np.ndarray:
    r"""Bit-serial GEMM of unsigned codes: :math:`\sum_{i,j} 2^{i+j}\,\mathrm{popcount}(a_i \wedge w_j)`.

    Parameters
    ----------
    a : ndarray of uint8, shape (bits_a, M, kb)
        :func:`quanttheory.packing.pack_bitplanes` output, bits_a in 1–4.
    w : ndarray of uint8, shape (bits_w, N, kb)
    k : int, optional
        The unpadded K: if given, ``kb`` must be ``padded_bytes(k)`` and every padding bit
        (position >= k) must be 0 (checked; non-zero padding would be counted).

    Returns
    -------
    out : ndarray of int32, shape (M, N)
        :math:`\sum_k u^a_{mk} u^w_{nk}` of the unsigned codes. Zero points / signed codes:
        :func:`uniform_matmul`.
    """
    a, w = _check(a, "a", np.uint8, 3), _check(w, "w", np.uint8, 3)
    ba = _check_bits(a.shape[0], "a.shape[0] (bits)", range(1, 5))
    bw = _check_bits(w.shape[0], "w.shape[0] (bits)", range(1, 5))
    if a.shape[2] != w.shape[2] or a.shape[2] % 16:
        raise ValueError(f"a and w must have the same padded row length (a multiple of 16 bytes); "
                         f"got a.shape={a.shape}, w.shape={w.shape}")
    _check_k_limit(8 * a.shape[2], (2**ba - 1) * (2**bw - 1), f"{ba}x{bw}-bit codes")
    if k is not None:
        k = check_int(k, "k", 1)
        if a.shape[2] != padded_bytes(k):
            raise ValueError(f"planes must have padded_bytes(k) = {padded_bytes(k)} bytes per row for k={k}; "
                             f"got {a.shape[2]}")
        _check_padding(a, "a", k)
        _check_padding(w, "w", k)
    out = _out(a.shape[1], w.shape[1])
    _fn("bitserial_gemm", scalar)(_ptr(a), _ptr(w), a.shape[1], w.shape[1], a.shape[2], ba, bw, _ptr(out))
    return out


#: Measured under qemu-aarch64 (64x64, K = 1024 and 129, packing included): one bit-plane pair
#: of the bit-serial kernel costs ~7.3 instructions per output per 128-bit chunk (W1A1: 17.5
#: MACs/instr), the SDOT kernel ~1.8 per output per 16-byte chunk (8.8 MACs/instr); the ratio
#: of the two is this constant. W1A2/W2A1 at K = 1024: 10.1-10.5 vs SDOT 8.8; W2A2: 5.9.
BITSERIAL_VS_SDOT_CHUNK_COST = 4


def prefer_bitserial(bits_a: int, bits_w: int, k: int) -> bool:
    """Whether the bit-serial GEMM is expected to execute fewer instructions than SDOT int8:
    ``4·bits_a·bits_w·ceil(K/128) <= ceil(K/16)`` (W1A1 at K >= 129, W1A2 from K = 1024 on;
    never for W2A2 or wider, whatever K)."""
    return BITSERIAL_VS_SDOT_CHUNK_COST * bits_a * bits_w * -(-k // 128) <= -(-k // 16)


def uniform_matmul(a_codes, w_codes, *, bits_a: int, bits_w: int, zero_a: int = 0,
                   zero_w: int = 0, method: str = "auto", scalar: bool = False) -> np.ndarray:
    r"""Exact :math:`\sum_k (u^a_{mk} - z_a)(u^w_{nk} - z_w)` via :func:`bitserial_gemm`.

    Signed or offset codes are stored unsigned, ``u = c + z``, and the usual zero-point terms
    are added in int64:
    :math:`\sum (u^a - z_a)(u^w - z_w) = \sum u^a u^w - z_w \sum u^a - z_a \sum u^w + K z_a z_w`.

    Parameters
    ----------
    a_codes, w_codes : array_like of int, shapes (M, K), (N, K)
        Unsigned stored codes in ``[0, 2**bits)``.
    bits_a, bits_w : int
        1–4.
    zero_a, zero_w : int
        Zero points (``int``; floats and bools are rejected, not truncated).
    method : {"auto", "bitserial", "int8"}
        "auto" takes the bit-serial kernel when :func:`prefer_bitserial` says it executes
        fewer AArch64 instructions than the SDOT int8 kernel, else SDOT.

    Returns
    -------
    out : ndarray of int64, shape (M, N)
    """
    from .packing import pack_bitplanes

    zero_a, zero_w = check_int(zero_a, "zero_a"), check_int(zero_w, "zero_w")
    if method not in ("auto", "bitserial", "int8"):
        raise ValueError(f"method must be 'auto', 'bitserial' or 'int8'; got {method!r}")
    ua, uw = np.asarray(a_codes), np.asarray(w_codes)
    pa, pw = pack_bitplanes(ua, bits_a), pack_bitplanes(uw, bits_w)  # validates codes and bits
    if ua.shape[1] != uw.shape[1]:
        raise ValueError(f"a_codes and w_codes need the same K; got {ua.shape} and {uw.shape}")
    k = ua.shape[1]
    if method == "int8" or (method == "auto" and not prefer_bitserial(bits_a, bits_w, k)):
        from .int8 import int8_gemm

        acc = int8_gemm(ua.astype(np.int8), uw.astype(np.int8), scalar=scalar).astype(np.int64)
    else:
        acc = bitserial_gemm(pa, pw, k, scalar=scalar).astype(np.int64)
    sa = ua.astype(np.int64).sum(axis=1)[:, None]
    sw = uw.astype(np.int64).sum(axis=1)[None, :]
    return acc - zero_w * sa - zero_a * sw + k * zero_a * zero_w


def narrow_flush_limit(bits: int, *, symmetric: bool, lane: int) -> int:
    r"""Largest number of multiply-accumulates an int8/int16 lane can take without overflow.

    ``floor(lane_max / max|product|)`` with lane_max = 127 or 32767 and max|product| =
    (2^(b−1) − 1)² for symmetric codes ±(2^(b−1) − 1), 4^(b−1) for the full signed range
    [−2^(b−1), 2^(b−1) − 1] (the range DSQ, Gong et al. ICCV 2019, deploys on ARM with int8
    accumulation).

    Examples
    --------
    >>> [narrow_flush_limit(b, symmetric=False, lane=8) for b in (2, 3, 4)]
    [31, 7, 1]
    """
    bits = _check_bits(bits, "bits", range(2, 5))
    lane = _check_bits(lane, "lane", (8, 16))
    half = 2 ** (bits - 1)
    pmax = (half - 1) ** 2 if symmetric else half * half
    return _LANE_MAX[lane] // pmax


def _check_codes(a: np.ndarray, w: np.ndarray, bits: int, symmetric: bool) -> None:
    half = 2 ** (_check_bits(bits, "bits", range(2, 5)) - 1)
    lo, hi = (-(half - 1), half - 1) if symmetric else (-half, half - 1)
    for name, x in (("a", a), ("w", w)):
        if x.min() < lo or x.max() > hi:
            raise ValueError(f"{name} codes must lie in [{lo}, {hi}] for bits={bits}, symmetric={symmetric}; "
                             f"got range [{x.min()}, {x.max()}]")
    if a.shape[1] != w.shape[1]:
        raise ValueError(f"a and w need the same K; got a.shape={a.shape}, w.shape={w.shape}")
    _check_k_limit(a.shape[1], max(lo * lo, hi * hi), f"{bits}-bit codes")


def narrow_gemm(a, w, *, bits: int, symmetric: bool, lane: int = 16, flush: int | None = None,
                scalar: bool = False) -> np.ndarray:
    r"""Narrow-accumulation GEMM of signed byte codes (DSQ-style): :math:`\sum_k a_{mk} w_{nk}`.

    Products are accumulated in int8 (MLA) or int16 (SMLAL) lanes for ``flush`` 16-byte chunks
    of K, then widened to int32. ``flush`` defaults to, and may not exceed,
    :func:`narrow_flush_limit`; any K is then exact (longer K just flushes more often).
    ``lane=32`` takes the SDOT kernel instead (:func:`quanttheory.kernels.int8_gemm`): int32
    lanes, no flush, fewer instructions on ARMv8.2+.

    Parameters
    ----------
    a, w : ndarray of int8, shapes (M, K), (N, K)
        Codes in [−2^(b−1), 2^(b−1) − 1], or ±(2^(b−1) − 1) if ``symmetric``.
    bits : int
        2–4.
    symmetric : bool
    lane : {8, 16, 32}
    flush : int, optional
        1 ≤ flush ≤ narrow_flush_limit(bits, symmetric, lane); not used with lane = 32.

    Returns
    -------
    out : ndarray of int32, shape (M, N)
    """
    a, w = _check(a, "a", np.int8, 2), _check(w, "w", np.int8, 2)
    if _check_bits(lane, "lane", (8, 16, 32)) == 32:
        _check_codes(a, w, bits, symmetric)
        from .int8 import int8_gemm

        return int8_gemm(a, w, scalar=scalar)
    limit = narrow_flush_limit(bits, symmetric=symmetric, lane=lane)
    flush = limit if flush is None else flush
    if isinstance(flush, bool) or not isinstance(flush, int | np.integer) or not 1 <= flush <= limit:
        raise ValueError(f"flush must be an integer in 1..{limit} for bits={bits}, symmetric={symmetric}, "
                         f"lane={lane} (more would overflow the int{lane} lanes); got flush={flush!r}")
    _check_codes(a, w, bits, symmetric)
    out = _out(a.shape[0], w.shape[0])
    _fn("narrow_gemm", scalar)(_ptr(a), _ptr(w), a.shape[0], w.shape[0], a.shape[1], lane, int(flush),
                               _ptr(out))
    return out


def codebook_flush_limit(table_a, table_w) -> int:
    """Chunks an int16 lane of :func:`codebook_gemm` takes before widening:
    ``floor(32767 / (max|T_a|·max|T_w|))`` (≥ 1, since int8 products are ≤ 128² = 16384)."""
    pmax = int(np.abs(np.asarray(table_a, np.int64)).max()) * int(np.abs(np.asarray(table_w, np.int64)).max())
    return _LANE_MAX[16] // max(pmax, 1)


def codebook_gemm(a, w, table_a, table_w, *, method: str = "tbl", scalar: bool = False) -> np.ndarray:
    r"""Codebook GEMM: :math:`\sum_k T_a[a_{mk}]\,T_w[w_{nk}]` with TBL-decoded 4-bit indices.

    ``method="tbl"``: both operands TBL-decoded in the inner loop, levels multiply-accumulated
    in int16 lanes (SMLAL) and widened every :func:`codebook_flush_limit` chunks, so the result
    is exact for any int8 tables. ``method="sdot"``: each operand decoded once
    (:func:`quanttheory.kernels.decode_rows`; weights at packing time in a deployment), then
    the SDOT int8 kernel (int32 lanes, no flush).

    Parameters
    ----------
    a, w : ndarray of uint8, shapes (M, K), (N, K)
        Indices into the tables, each < len(table).
    table_a, table_w : ndarray of int8, shape (L,), 1 ≤ L ≤ 16
        Integer levels, e.g. from :func:`codebook_grid` (APoT, QN).
    method : {"tbl", "sdot"}

    Returns
    -------
    out : ndarray of int32, shape (M, N)
    """
    a, w = _check(a, "a", np.uint8, 2), _check(w, "w", np.uint8, 2)
    tabs = []
    for name, t, x in (("table_a", table_a, a), ("table_w", table_w, w)):
        t = _check(t, name, np.int8, 1)
        if t.size > 16:
            raise ValueError(f"{name} must have 1..16 levels (one TBL register); got {t.size}")
        if x.max() >= t.size:
            raise ValueError(f"indices must be < len({name}) = {t.size}; got max index {x.max()}")
        tabs.append(np.pad(t, (0, 16 - t.size)))
    if a.shape[1] != w.shape[1]:
        raise ValueError(f"a and w need the same K; got a.shape={a.shape}, w.shape={w.shape}")
    pmax = int(np.abs(tabs[0].astype(np.int64)).max()) * int(np.abs(tabs[1].astype(np.int64)).max())
    _check_k_limit(a.shape[1], max(pmax, 1), "these codebooks")
    if method == "sdot":
        from .int8 import decode_rows, int8_gemm

        return int8_gemm(decode_rows(a, tabs[0]), decode_rows(w, tabs[1]), scalar=scalar)
    if method != "tbl":
        raise ValueError(f"method must be 'tbl' or 'sdot'; got {method!r}")
    out = _out(a.shape[0], w.shape[0])
    _fn("codebook_gemm", scalar)(_ptr(a), _ptr(w), _ptr(tabs[0]), _ptr(tabs[1]), a.shape[0], w.shape[0],
                                 a.shape[1], codebook_flush_limit(*tabs), _ptr(out))
    return out


def codebook_grid(levels, *, max_abs: int = 127) -> tuple[np.ndarray, float]:
    r"""Integer levels on a common grid: ``levels ≈ table * scale`` with int8 ``table``.

    APoT levels (Li et al. ICLR 2020 Eq. 5) are sums of powers of two divided by the largest
    sum, so they are integer multiples of the smallest non-zero level; QN levels (Yang et al.
    CVPR 2019 Eq. 1) are integers. We search scale = l_min / d for d = 1, 2, 4, … and accept
    the first d whose integer table reproduces every level to within 4 ulp.

    Parameters
    ----------
    levels : array_like, shape (L,), 1 ≤ L ≤ 16
    max_abs : int

    Returns
    -------
    table : ndarray of int8, shape (L,)
    scale : float
    """
    lv = np.asarray(levels, dtype=np.float64)
    if lv.ndim != 1 or not 1 <= lv.size <= 16 or not np.all(np.isfinite(lv)):
        raise ValueError(f"levels must be 1-D, finite, with 1..16 entries; got {levels!r}")
    nz = np.abs(lv[lv != 0])
    if nz.size == 0:
        return np.zeros(lv.size, dtype=np.int8), 1.0
    d = 1
    while nz.max() / nz.min() * d <= max_abs:
        scale = nz.min() / d
        t = np.round(lv / scale)
        if np.all(np.abs(t * scale - lv) <= 4 * np.spacing(np.abs(lv).max())):
            return t.astype(np.int8), float(scale)
        d *= 2
    raise ValueError(f"levels {lv.tolist()} are not integer multiples of a common power-of-two "
                     f"grid with |level| <= {max_abs}")
