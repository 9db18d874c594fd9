r"""Binding to the compiled bit-packed GEMM kernels (``kernels/*.c``).

Every function validates its arguments here, in Python, before a pointer reaches C (dtype,
C-contiguity, shapes, code ranges, bits, K limits, flush intervals): a bad call raises
``TypeError``/``ValueError`` echoing the bad value and listing what is valid, never a crash.
All results are int32 accumulators, shape (M, N), exactly equal to the int64 numpy product
of the integer operands (tests/kernels). ``scalar=True`` runs the plain-C twin instead.

=====================  =============================================  =========================
function               computes                                       for
=====================  =============================================  =========================
binary_gemm            K − 2·popcount(a ⊕ w)                          binary (BinaryConnect)
bitserial_gemm         Σ 2^{i+j} popcount(a_i ∧ w_j)                  uniform, DSQ hard, 1–4 bit
narrow_gemm            Σ a·w in int8/int16 lanes, safe flushes        DSQ ARM deployment, 2–4 bit
codebook_gemm          Σ T_a[a]·T_w[w], TBL decode                    APoT Eq. 5, QN Eq. 1
=====================  =============================================  =========================
"""

from __future__ import annotations

import ctypes
from functools import cache

import numpy as np

from .packing import padded_bytes

INT32_MAX = 2**31 - 1
_LANE_MAX = {8: 127, 16: 32767}
_P = ctypes.c_void_p
_I = ctypes.c_int64


@cache
def _lib() -> ctypes.CDLL:
    import importlib

    # the extension stub (built from kernels/qt_module.c); its .so exports the qt_* symbols
    stub = importlib.import_module(f"{__package__}._qtkernels")
    lib = ctypes.CDLL(stub.__file__)
    lib.qt_backend.restype = ctypes.c_char_p
    sigs = {
        "binary_gemm": [_P, _P, _I, _I, _I, _I, _P],
        "bitserial_gemm": [_P, _P, _I, _I, _I, _I, _I, _P],
        "narrow_gemm": [_P, _P, _I, _I, _I, _I, _I, _P],
        "codebook_gemm": [_P, _P, _P, _P, _I, _I, _I, _I, _P],
    }
    for name, args in sigs.items():
        for fn in (getattr(lib, f"qt_{name}"), getattr(lib, f"qt_{name}_ref")):
            fn.argtypes, fn.restype = args, None
    return lib


def backend() -> str:
    """``"neon"`` when built against the real ``arm_neon.h`` (AArch64), else ``"simde"``."""
    return _lib().qt_backend().decode()


def _fn(name: str, scalar: bool):
    return getattr(_lib(), f"qt_{name}_ref" if scalar else f"qt_{name}")


def _check(x, name: str, dtype, ndim: int) -> np.ndarray:
    """Type/layout check without copying: the kernels read the caller's buffer as is."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of {np.dtype(dtype)}; got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}; got {x.dtype}")
    if x.ndim != ndim or 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array; got shape {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray); got strides {x.strides}")
    return x


def _check_bits(bits, name: str, valid) -> int:
    if not isinstance(bits, int | np.integer) or int(bits) not in valid:
        raise ValueError(f"{name} must be one of {list(valid)}; got {name}={bits!r}")
    return int(bits)


def _check_k_limit(k: int, max_abs_product: int, what: str) -> None:
    # Any partial sum of K products is bounded by K·max|product|; within int32 no lane of the
    # int32 accumulators (nor the final sum) can overflow, whatever the summation order.
    if k * max_abs_product > INT32_MAX:
        kmax = INT32_MAX // max_abs_product
        raise ValueError(f"K={k} is too large for {what}: K·max|product| = {k * max_abs_product} "
                         f"exceeds int32; valid: K <= {kmax}")


def _out(m: int, n: int) -> np.ndarray:
    return np.zeros((m, n), dtype=np.int32)


def _ptr(x: np.ndarray) -> int:
    return x.ctypes.data


def binary_gemm(a, w, k: int, *, scalar: bool = False) -> np.ndarray:
    r"""Binary ±1 GEMM by xor-popcount: :math:`\mathrm{out}_{mn} = K - 2\,\mathrm{popcount}(a_m \oplus w_n)`.

    Parameters
    ----------
    a : ndarray of uint8, shape (M, kb)
        :func:`quanttheory.packing.pack_signs` rows (kb = padded_bytes(k)).
    w : ndarray of uint8, shape (N, kb)
    k : int
        The unpadded K, 1 ≤ K ≤ 2^31 − 1.
    scalar : bool
        Run the plain-C twin.

    Returns
    -------
    out : ndarray of int32, shape (M, N)
        :math:`\sum_k a_{mk} w_{nk}` of the ±1 operands.
    """
    a, w = _check(a, "a", np.uint8, 2), _check(w, "w", np.uint8, 2)
    k = int(k)
    if not 1 <= k <= INT32_MAX or a.shape[1] != padded_bytes(k) or w.shape[1] != a.shape[1]:
        raise ValueError(f"a and w must have padded_bytes(k) columns with 1 <= k <= {INT32_MAX}; "
                         f"got k={k}, a.shape={a.shape}, w.shape={w.shape}")
    out = _out(a.shape[0], w.shape[0])
    _fn("binary_gemm", scalar)(_ptr(a), _ptr(w), a.shape[0], w.shape[0], k, a.shape[1], _ptr(out))
    return out


def bitserial_gemm(a, w, *, scalar: bool = False) -> np.ndarray:
    r"""Bit-serial GEMM of unsigned codes: :math:`\sum_{i,j} 2^{i+j}\,\mathrm{popcount}(a_i \wedge w_j)`.

    Parameters
    ----------
    a : ndarray of uint8, shape (bits_a, M, kb)
        :func:`quanttheory.packing.pack_bitplanes` output, bits_a in 1–4.
    w : ndarray of uint8, shape (bits_w, N, kb)

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
    out = _out(a.shape[1], w.shape[1])
    _fn("bitserial_gemm", scalar)(_ptr(a), _ptr(w), a.shape[1], w.shape[1], a.shape[2], ba, bw, _ptr(out))
    return out


def uniform_matmul(a_codes, w_codes, *, bits_a: int, bits_w: int, zero_a: int = 0,
                   zero_w: int = 0, scalar: bool = False) -> np.ndarray:
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
        Zero points.

    Returns
    -------
    out : ndarray of int64, shape (M, N)
    """
    from .packing import pack_bitplanes

    ua, uw = np.asarray(a_codes), np.asarray(w_codes)
    pa, pw = pack_bitplanes(ua, bits_a), pack_bitplanes(uw, bits_w)
    if ua.shape[1] != uw.shape[1]:
        raise ValueError(f"a_codes and w_codes need the same K; got {ua.shape} and {uw.shape}")
    acc = bitserial_gemm(pa, pw, scalar=scalar).astype(np.int64)
    k = ua.shape[1]
    sa = ua.astype(np.int64).sum(axis=1)[:, None]
    sw = uw.astype(np.int64).sum(axis=1)[None, :]
    return acc - int(zero_w) * sa - int(zero_a) * sw + k * int(zero_a) * int(zero_w)


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


def narrow_gemm(a, w, *, bits: int, symmetric: bool, lane: int = 16, flush: int | None = None,
                scalar: bool = False) -> np.ndarray:
    r"""Narrow-accumulation GEMM of signed byte codes (DSQ-style): :math:`\sum_k a_{mk} w_{nk}`.

    Products are accumulated in int8 (MLA) or int16 (SMLAL) lanes for ``flush`` 16-byte chunks
    of K, then widened to int32. ``flush`` defaults to, and may not exceed,
    :func:`narrow_flush_limit`; any K is then exact (longer K just flushes more often).

    Parameters
    ----------
    a, w : ndarray of int8, shapes (M, K), (N, K)
        Codes in [−2^(b−1), 2^(b−1) − 1], or ±(2^(b−1) − 1) if ``symmetric``.
    bits : int
        2–4.
    symmetric : bool
    lane : {8, 16}
    flush : int, optional
        1 ≤ flush ≤ narrow_flush_limit(bits, symmetric, lane).

    Returns
    -------
    out : ndarray of int32, shape (M, N)
    """
    a, w = _check(a, "a", np.int8, 2), _check(w, "w", np.int8, 2)
    limit = narrow_flush_limit(bits, symmetric=symmetric, lane=lane)
    flush = limit if flush is None else flush
    if not isinstance(flush, int | np.integer) or not 1 <= flush <= limit:
        raise ValueError(f"flush must be an integer in 1..{limit} for bits={bits}, symmetric={symmetric}, "
                         f"lane={lane} (more would overflow the int{lane} lanes); got flush={flush!r}")
    half = 2 ** (bits - 1)
    lo, hi = (-(half - 1), half - 1) if symmetric else (-half, half - 1)
    for name, x in (("a", a), ("w", w)):
        if x.min() < lo or x.max() > hi:
            raise ValueError(f"{name} codes must lie in [{lo}, {hi}] for bits={bits}, symmetric={symmetric}; "
                             f"got range [{x.min()}, {x.max()}]")
    if a.shape[1] != w.shape[1]:
        raise ValueError(f"a and w need the same K; got a.shape={a.shape}, w.shape={w.shape}")
    _check_k_limit(a.shape[1], max(lo * lo, hi * hi), f"{bits}-bit codes")
    out = _out(a.shape[0], w.shape[0])
    _fn("narrow_gemm", scalar)(_ptr(a), _ptr(w), a.shape[0], w.shape[0], a.shape[1], lane, int(flush),
                               _ptr(out))
    return out


def codebook_flush_limit(table_a, table_w) -> int:
    """Chunks an int16 lane of :func:`codebook_gemm` takes before widening:
    ``floor(32767 / (max|T_a|·max|T_w|))`` (≥ 1, since int8 products are ≤ 128² = 16384)."""
    pmax = int(np.abs(np.asarray(table_a, np.int64)).max()) * int(np.abs(np.asarray(table_w, np.int64)).max())
    return _LANE_MAX[16] // max(pmax, 1)


def codebook_gemm(a, w, table_a, table_w, *, scalar: bool = False) -> np.ndarray:
    r"""Codebook GEMM: :math:`\sum_k T_a[a_{mk}]\,T_w[w_{nk}]` with TBL-decoded 4-bit indices.

    Decoded levels are multiply-accumulated in int16 lanes (SMLAL) and widened every
    :func:`codebook_flush_limit` chunks, so the result is exact for any int8 tables.

    Parameters
    ----------
    a, w : ndarray of uint8, shapes (M, K), (N, K)
        Indices into the tables, each < len(table).
    table_a, table_w : ndarray of int8, shape (L,), 1 ≤ L ≤ 16
        Integer levels, e.g. from :func:`codebook_grid` (APoT, QN).

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
